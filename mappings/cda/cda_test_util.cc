#include "mappings/cda/cda_test_util.h"

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include <fstream>
#include <sstream>

#include "mappings/cda/xml_safe.h"

namespace hie::cda::testing {
namespace {

void StripNode(xmlNode* node) {
  xmlNode* child = node->children;
  while (child != nullptr) {
    xmlNode* next = child->next;
    if (IsHl7(child, "township") || IsHl7(child, "patientType") || IsHl7(child, "age")) {
      xmlUnlinkNode(child);
      xmlFreeNode(child);
    } else if (child->type == XML_ELEMENT_NODE) {
      StripNode(child);
    }
    child = next;
  }
}

void CollectSchemaError(void* ctx, xmlErrorPtr err) {
  auto* out = static_cast<std::string*>(ctx);
  if (err == nullptr || out->size() > 2000) return;
  *out += "line " + std::to_string(err->line) + ": " + (err->message ? err->message : "?");
}

}  // namespace

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

Result<std::string> StripRealmElements(const std::string& xml) {
  HIE_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXmlSafely(xml, XmlLimits{}));
  StripNode(xmlDocGetRootElement(doc.get()));
  xmlChar* buf = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc.get(), &buf, &size, "UTF-8");
  std::string out(reinterpret_cast<const char*>(buf), static_cast<size_t>(size));
  xmlFree(buf);
  return out;
}

Status ValidateAgainstCdaSchema(const std::string& xml) {
  static xmlSchemaPtr schema = [] {
    std::string path = std::string(HIE_CORPUS_DIR) + "/cda-schema/CDA.xsd";
    xmlSchemaParserCtxtPtr pctxt = xmlSchemaNewParserCtxt(path.c_str());
    std::string errors;
    xmlSchemaSetParserStructuredErrors(pctxt, CollectSchemaError, &errors);
    xmlSchemaPtr s = xmlSchemaParse(pctxt);
    xmlSchemaFreeParserCtxt(pctxt);
    return s;
  }();
  if (schema == nullptr) return Status(ErrorCode::kInternal, "cannot load CDA.xsd");
  HIE_ASSIGN_OR_RETURN(std::string stripped, StripRealmElements(xml));
  HIE_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXmlSafely(stripped, XmlLimits{}));
  xmlSchemaValidCtxtPtr vctxt = xmlSchemaNewValidCtxt(schema);
  std::string errors;
  xmlSchemaSetValidStructuredErrors(vctxt, CollectSchemaError, &errors);
  int rc = xmlSchemaValidateDoc(vctxt, doc.get());
  xmlSchemaFreeValidCtxt(vctxt);
  if (rc != 0) {
    return Status(ErrorCode::kInvalidArgument, "schema: " + errors);
  }
  return Status::Ok();
}

}  // namespace hie::cda::testing
