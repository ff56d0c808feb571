// Safe XML parsing for documents from outside (CDA R2) and small helpers to
// walk the HL7 v3 namespace with libxml2.
//
// ParseXmlSafely never loads a DTD, never resolves external entities, never
// touches the network, refuses any DOCTYPE (CDA has none; this shuts out
// XXE and entity-expansion bombs before a single entity is declared), and
// bounds the document size and the element depth. libxml2's own error
// output is collected into the returned Status; nothing goes to stderr.
//
// Thread rules: all functions are reentrant; a parsed document belongs to
// the caller and may be read from one thread at a time.
#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hie::cda {

inline constexpr const char* kHl7Ns = "urn:hl7-org:v3";
inline constexpr const char* kXsiNs = "http://www.w3.org/2001/XMLSchema-instance";

struct XmlLimits {
  size_t max_bytes = 16 * 1024 * 1024;      // whole document
  int max_depth = 128;                      // element nesting
  size_t max_text_bytes = 8 * 1024 * 1024;  // one text node (embedded PDFs fit)
};

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const;
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

// Initialises libxml2 once per process (thread-safe; called by the codec).
void InitXmlLibrary();

// Parses `xml` (UTF-8, or the encoding its XML declaration names).
// Errors: kTooLarge (size), kParseError (not well-formed, DOCTYPE, depth),
// with `where` = "line N" where libxml2 reports one.
Result<XmlDocPtr> ParseXmlSafely(std::string_view xml, const XmlLimits& limits);

// --- walking helpers (elements in the HL7 v3 namespace or in none) ---

// True if `node` is an element named `name` in the HL7 namespace (or none).
bool IsHl7(const xmlNode* node, std::string_view name);
// First child element called `name`, or nullptr.
const xmlNode* Child(const xmlNode* node, std::string_view name);
// All child elements called `name`, in document order.
std::vector<const xmlNode*> Children(const xmlNode* node, std::string_view name);
// All child elements, in document order.
std::vector<const xmlNode*> ElementChildren(const xmlNode* node);
// Follows a path of child names, e.g. {"patientRole","patient","name"}.
const xmlNode* Path(const xmlNode* node, std::initializer_list<std::string_view> names);
// Attribute without a namespace; "" when absent.
std::string Attr(const xmlNode* node, const char* name);
bool HasAttr(const xmlNode* node, const char* name);
// xsi:type without its prefix ("PQ"), "" when absent.
std::string XsiType(const xmlNode* node);
// Text content of the element and its descendants, whitespace collapsed.
std::string Text(const xmlNode* node);
// "/ClinicalDocument/recordTarget/patientRole/id[1]": element names from the
// root, with a 1-based index wherever an element has same-named siblings.
std::string XPathOf(const xmlNode* node);

}  // namespace hie::cda
