#include "mappings/cda/xml_safe.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <cstring>
#include <mutex>

namespace hie::cda {
namespace {

// Per-parse state reached from the SAX callbacks through ctxt->_private.
struct ParseState {
  int max_depth = 0;
  size_t max_text = 0;
  size_t text_run = 0;  // text bytes since the last element boundary
  bool refused = false;
  std::string refusal;
  std::string first_error;
  int first_error_line = 0;
};

ParseState* StateOf(void* ctx) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  return ctxt != nullptr ? static_cast<ParseState*>(ctxt->_private) : nullptr;
}

void Refuse(void* ctx, std::string why) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  ParseState* st = StateOf(ctx);
  if (st != nullptr && !st->refused) {
    st->refused = true;
    st->refusal = std::move(why);
    st->first_error_line = xmlSAX2GetLineNumber(ctx);
  }
  xmlStopParser(ctxt);
}

// A DOCTYPE is the door to every entity attack; CDA documents never carry
// one, so the parse stops before the internal subset is read.
void OnInternalSubset(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  Refuse(ctx, "文档不得含有 DOCTYPE 声明 (DOCTYPE / DTD not allowed)");
}

void OnEntityDecl(void* ctx, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
  Refuse(ctx, "文档不得声明实体 (entity declarations not allowed)");
}

void OnStartElementNs(void* ctx, const xmlChar* localname, const xmlChar* prefix,
                      const xmlChar* uri, int nb_namespaces, const xmlChar** namespaces,
                      int nb_attributes, int nb_defaulted, const xmlChar** attributes) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  ParseState* st = StateOf(ctx);
  if (st != nullptr && ctxt->nameNr > st->max_depth) {
    Refuse(ctx, "元素嵌套过深 (element nesting deeper than " + std::to_string(st->max_depth) + ")");
    return;
  }
  if (st != nullptr) st->text_run = 0;
  xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                        nb_defaulted, attributes);
}

void OnEndElementNs(void* ctx, const xmlChar* localname, const xmlChar* prefix,
                    const xmlChar* uri) {
  if (ParseState* st = StateOf(ctx)) st->text_run = 0;
  xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

void OnCharacters(void* ctx, const xmlChar* ch, int len) {
  ParseState* st = StateOf(ctx);
  if (st != nullptr) {
    st->text_run += static_cast<size_t>(len);
    if (st->text_run > st->max_text) {
      Refuse(ctx,
             "文本节点过大 (text node larger than " + std::to_string(st->max_text) + " bytes)");
      return;
    }
  }
  xmlSAX2Characters(ctx, ch, len);
}

void OnStructuredError(void* ctx, xmlErrorPtr err) {
  if (err == nullptr) return;
  ParseState* st = StateOf(ctx);
  if (st == nullptr || !st->first_error.empty()) return;
  if (err->level == XML_ERR_WARNING) return;
  std::string msg = err->message != nullptr ? err->message : "unknown";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  st->first_error = std::move(msg);
  st->first_error_line = err->line;
}

}  // namespace

void InitXmlLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

void XmlDocDeleter::operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }

Result<XmlDocPtr> ParseXmlSafely(std::string_view xml, const XmlLimits& limits) {
  if (xml.size() > limits.max_bytes) {
    return Status(ErrorCode::kTooLarge,
                  "XML 文档过大 (document too large): " + std::to_string(xml.size()) +
                      " 字节 (bytes) > " + std::to_string(limits.max_bytes));
  }
  if (xml.empty()) {
    return Status(ErrorCode::kParseError, "XML 文档为空 (empty document)");
  }
  if (xml.size() > static_cast<size_t>(INT32_MAX)) {
    return Status(ErrorCode::kTooLarge, "XML 文档过大 (document too large)");
  }
  InitXmlLibrary();
  std::unique_ptr<xmlParserCtxt, void (*)(xmlParserCtxtPtr)> ctxt(xmlNewParserCtxt(),
                                                                  xmlFreeParserCtxt);
  if (!ctxt) return Status(ErrorCode::kInternal, "无法创建 XML 解析器 (cannot create parser)");
  ParseState state;
  state.max_depth = limits.max_depth;
  state.max_text = limits.max_text_bytes;
  xmlSAXHandler* sax = ctxt->sax;
  sax->internalSubset = OnInternalSubset;
  sax->externalSubset = nullptr;
  sax->entityDecl = OnEntityDecl;
  sax->resolveEntity = nullptr;
  sax->startElementNs = OnStartElementNs;
  sax->endElementNs = OnEndElementNs;
  sax->characters = OnCharacters;
  sax->ignorableWhitespace = OnCharacters;
  sax->serror = OnStructuredError;
  sax->error = nullptr;
  sax->warning = nullptr;
  sax->fatalError = nullptr;
  ctxt->_private = &state;
  ctxt->vctxt.error = nullptr;
  ctxt->vctxt.warning = nullptr;

  // No XML_PARSE_NOENT (no entity substitution), no DTDLOAD/DTDATTR/DTDVALID,
  // no XML_PARSE_HUGE (keeps libxml2's own caps on text nodes and names).
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  xmlDocPtr raw = xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()),
                                    "document.xml", nullptr, options);
  XmlDocPtr doc(raw);
  if (state.refused) {
    return Status(ErrorCode::kParseError, state.refusal,
                  "line " + std::to_string(state.first_error_line));
  }
  if (!doc || !ctxt->wellFormed) {
    std::string detail = state.first_error.empty() ? "unknown error" : state.first_error;
    return Status(ErrorCode::kParseError, "XML 格式错误 (XML not well-formed): " + detail,
                  state.first_error_line > 0 ? "line " + std::to_string(state.first_error_line)
                                             : std::string());
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return Status(ErrorCode::kParseError, "文档不得含有 DOCTYPE 声明 (DOCTYPE / DTD not allowed)");
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) {
    return Status(ErrorCode::kParseError, "XML 文档没有根元素 (no root element)");
  }
  return doc;
}

bool IsHl7(const xmlNode* node, std::string_view name) {
  if (node == nullptr || node->type != XML_ELEMENT_NODE) return false;
  if (name != reinterpret_cast<const char*>(node->name)) return false;
  return node->ns == nullptr || node->ns->href == nullptr ||
         std::strcmp(reinterpret_cast<const char*>(node->ns->href), kHl7Ns) == 0;
}

const xmlNode* Child(const xmlNode* node, std::string_view name) {
  if (node == nullptr) return nullptr;
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (IsHl7(c, name)) return c;
  }
  return nullptr;
}

std::vector<const xmlNode*> Children(const xmlNode* node, std::string_view name) {
  std::vector<const xmlNode*> out;
  if (node == nullptr) return out;
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (IsHl7(c, name)) out.push_back(c);
  }
  return out;
}

std::vector<const xmlNode*> ElementChildren(const xmlNode* node) {
  std::vector<const xmlNode*> out;
  if (node == nullptr) return out;
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) out.push_back(c);
  }
  return out;
}

const xmlNode* Path(const xmlNode* node, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    node = Child(node, n);
    if (node == nullptr) return nullptr;
  }
  return node;
}

std::string Attr(const xmlNode* node, const char* name) {
  if (node == nullptr) return {};
  xmlChar* v = xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

bool HasAttr(const xmlNode* node, const char* name) {
  return node != nullptr &&
         xmlHasNsProp(node, reinterpret_cast<const xmlChar*>(name), nullptr) != nullptr;
}

std::string XsiType(const xmlNode* node) {
  if (node == nullptr) return {};
  xmlChar* v = xmlGetNsProp(node, reinterpret_cast<const xmlChar*>("type"),
                            reinterpret_cast<const xmlChar*>(kXsiNs));
  if (v == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  size_t colon = out.find(':');
  return colon == std::string::npos ? out : out.substr(colon + 1);
}

std::string Text(const xmlNode* node) {
  if (node == nullptr) return {};
  xmlChar* v = xmlNodeGetContent(node);
  if (v == nullptr) return {};
  std::string raw(reinterpret_cast<const char*>(v));
  xmlFree(v);
  std::string out;
  out.reserve(raw.size());
  bool space = false;
  for (char c : raw) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string XPathOf(const xmlNode* node) {
  std::vector<std::string> parts;
  for (const xmlNode* n = node; n != nullptr && n->type == XML_ELEMENT_NODE; n = n->parent) {
    std::string part = reinterpret_cast<const char*>(n->name);
    int index = 0;
    int same = 0;
    if (n->parent != nullptr && n->parent->type == XML_ELEMENT_NODE) {
      for (const xmlNode* s = n->parent->children; s != nullptr; s = s->next) {
        if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, n->name)) continue;
        ++same;
        if (s == n) index = same;
      }
    }
    if (same > 1) part += "[" + std::to_string(index) + "]";
    parts.push_back(std::move(part));
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += "/" + *it;
  return out;
}

}  // namespace hie::cda
