#include "engine/document_input.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "mappings/canonical/model.h"
#include "mappings/cda/cda_reader.h"

namespace hie {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

// The encoding named by the XML declaration, "UTF-8" when there is none.
std::string XmlDeclaredEncoding(std::string_view xml) {
  if (xml.starts_with("\xEF\xBB\xBF")) xml.remove_prefix(3);
  if (!xml.starts_with("<?xml")) return "UTF-8";
  std::string_view decl = xml.substr(0, xml.find("?>"));
  size_t p = decl.find("encoding");
  if (p == std::string_view::npos) return "UTF-8";
  p = decl.find_first_of("\"'", p);
  if (p == std::string_view::npos) return "UTF-8";
  const char quote = decl[p];
  size_t e = decl.find(quote, p + 1);
  if (e == std::string_view::npos || e == p + 1 || e - p > 40) return "UTF-8";
  return std::string(decl.substr(p + 1, e - p - 1));
}

const json* FirstResource(const json& bundle, std::string_view type) {
  if (!bundle.contains("entry") || !bundle["entry"].is_array()) return nullptr;
  for (const auto& e : bundle["entry"]) {
    if (e.is_object() && e.contains("resource") && Str(e["resource"], "resourceType") == type)
      return &e["resource"];
  }
  return nullptr;
}

std::string FirstCode(const json& cc) {
  if (!cc.is_object() || !cc.contains("coding") || !cc["coding"].is_array()) return {};
  for (const auto& c : cc["coding"]) {
    std::string code = Str(c, "code");
    if (!code.empty()) return code;
  }
  return {};
}

// The top-level identity of a FHIR text, read by a SAX pass that keeps no
// DOM: resourceType, id, identifier.system/value (a Bundle's identifier is
// one object), meta.versionId, meta.lastUpdated.
class TopLevelIdentity : public nlohmann::json_sax<json> {
 public:
  std::string resource_type, id, identifier_system, identifier_value, version_id, last_updated;

  bool null() override { return Pop(); }
  bool boolean(bool) override { return Pop(); }
  bool number_integer(number_integer_t) override { return Pop(); }
  bool number_unsigned(number_unsigned_t) override { return Pop(); }
  bool number_float(number_float_t, const string_t&) override { return Pop(); }
  bool binary(binary_t&) override { return Pop(); }
  bool string(string_t& v) override {
    if (depth_ == 1) {
      if (key_ == "resourceType") resource_type = v;
      if (key_ == "id") id = v;
    } else if (depth_ == 2 && parent_ == "identifier" && !parent_is_array_) {
      if (key_ == "system") identifier_system = v;
      if (key_ == "value") identifier_value = v;
    } else if (depth_ == 2 && parent_ == "meta") {
      if (key_ == "versionId") version_id = v;
      if (key_ == "lastUpdated") last_updated = v;
    }
    return Pop();
  }
  bool start_object(std::size_t) override {
    Enter(false);
    return true;
  }
  bool end_object() override { return Leave(); }
  bool start_array(std::size_t) override {
    Enter(true);
    return true;
  }
  bool end_array() override { return Leave(); }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  void Enter(bool array) {
    ++depth_;
    if (depth_ == 2) {
      parent_ = key_;
      parent_is_array_ = array;
    }
    key_.clear();
  }
  bool Leave() {
    --depth_;
    if (depth_ == 1) parent_.clear();
    key_.clear();
    return true;
  }
  bool Pop() {
    key_.clear();
    return true;
  }
  int depth_ = 0;
  std::string key_, parent_;
  bool parent_is_array_ = false;
};

Result<DocumentSummary> ReadCdaInput(std::string_view raw, std::string_view facility,
                                     const DocumentReadOptions& options) {
  cda::CdaOptions co;
  co.limits = options.xml_limits;
  co.oid_table = options.oid_table;
  co.facility = std::string(facility);
  HIE_ASSIGN_OR_RETURN(json bundle, cda::ReadCda(raw, co));
  DocumentSummary s;
  s.format = DocumentFormat::kCda;
  s.facility = std::string(facility);
  s.charset = XmlDeclaredEncoding(raw);
  const json* doc = FirstResource(bundle, "DocumentReference");
  const json* ident = nullptr;
  if (doc != nullptr && doc->contains("identifier") && (*doc)["identifier"].is_array() &&
      !(*doc)["identifier"].empty()) {
    ident = &(*doc)["identifier"][0];
  }
  if (ident == nullptr) {
    return Status(
        ErrorCode::kRequiredMissing,
        "缺少文档标识 ClinicalDocument/id (document id missing)：CDA R2 要求每份文档有唯一 "
        "id (root, extension)",
        "/ClinicalDocument/id");
  }
  // Back from the identifier the reader made to id/@root and id/@extension.
  std::string system = Str(*ident, "system"), value = Str(*ident, "value"), root, ext;
  if (system == "urn:ietf:rfc:3986") {
    root = value.starts_with("urn:oid:") ? value.substr(8) : value;
  } else {
    root = system.starts_with("urn:oid:") ? system.substr(8) : system;
    ext = value;
  }
  s.content_key = "cda:" + root + (ext.empty() ? "" : "^" + ext);
  s.control_id = ext.empty() ? root : ext;
  s.document_type = doc->contains("type") ? FirstCode((*doc)["type"]) : std::string();
  s.message_type = MessageTypeForDocumentCode(s.document_type);
  if (s.message_type.empty()) {
    s.message_type = FirstResource(bundle, "DiagnosticReport") != nullptr ? "ORU^R01" : "MDM^T02";
  }
  s.patient_key = PatientKeyOfBundle(bundle, facility);
  return s;
}

Result<DocumentSummary> ReadFhirInput(std::string_view raw, std::string_view facility,
                                      const DocumentReadOptions& options) {
  HIE_ASSIGN_OR_RETURN(canonical::CanonicalMessage msg,
                       canonical::ReadFhir(raw, facility, options.fhir));
  DocumentSummary s;
  s.format = DocumentFormat::kFhir;
  s.facility = msg.facility;
  s.charset = "UTF-8";
  s.message_type = msg.message_type;
  s.control_id = msg.control_id;
  if (const json* doc = FirstResource(msg.bundle, "DocumentReference");
      doc != nullptr && doc->contains("type")) {
    s.document_type = FirstCode((*doc)["type"]);
  }
  s.patient_key = PatientKeyOfBundle(msg.bundle, s.facility);
  // The text parsed above; this pass only picks the top-level identity.
  TopLevelIdentity top;
  if (!json::sax_parse(raw.begin(), raw.end(), &top, nlohmann::detail::input_format_t::json,
                       /*strict=*/true)) {
    return Status(ErrorCode::kParseError, "JSON 无法解析 (invalid JSON)", "");
  }
  if (top.resource_type == "Bundle" && !top.identifier_value.empty()) {
    s.content_key = "fhir:Bundle:" + top.identifier_system + "|" + top.identifier_value;
  } else if (top.resource_type != "Bundle" && !top.id.empty() &&
             (!top.version_id.empty() || !top.last_updated.empty())) {
    s.content_key =
        "fhir:" + top.resource_type + "/" + top.id +
        (top.version_id.empty() ? "@" + top.last_updated : "/_history/" + top.version_id);
  } else {
    s.content_key = "fhir:sha256:" + Sha256Hex(raw);
  }
  if (s.control_id.empty() && !top.id.empty()) s.control_id = top.resource_type + "/" + top.id;
  if (s.facility != facility) {
    s.facility_where = top.identifier_system.starts_with("urn:hie:local:")
                           ? "/identifier/system"
                           : "MessageHeader.sender.identifier.value";
  }
  return s;
}

}  // namespace

DocumentFormat DocumentFormatOf(std::string_view content_type) {
  std::string media = Lower(content_type.substr(0, content_type.find(';')));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.erase(0, 1);
  if (media == "application/xml" || media == "text/xml" || media == "application/cda+xml" ||
      media == "application/hl7-cda+xml")
    return DocumentFormat::kCda;
  if (media == "application/fhir+json" || media == "application/json" ||
      media == "application/json+fhir")
    return DocumentFormat::kFhir;
  return DocumentFormat::kNone;
}

std::string MessageTypeForDocumentCode(std::string_view code) {
  if (code == "C0007" || code == "C0006") return "ORU^R01";
  if (code == "C0002" || code == "C0003") return "ADT^A04";
  if (code.size() == 5 && code[0] == 'B' && std::all_of(code.begin() + 1, code.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    return "ADT^A04";
  return {};
}

std::string PatientKeyOfBundle(const json& bundle, std::string_view facility) {
  const json* p = FirstResource(bundle, "Patient");
  if (p == nullptr || !p->contains("identifier") || !(*p)["identifier"].is_array()) return {};
  std::string ni, first_id, first_system;
  for (const auto& ident : (*p)["identifier"]) {
    std::string value = Str(ident, "value");
    if (value.empty()) continue;
    const std::string type = ident.contains("type") ? FirstCode(ident["type"]) : std::string();
    const std::string system = Str(ident, "system");
    if (type == "MR") return "MR:" + std::string(facility) + ":" + value;
    if ((type == "NI" || system == canonical::kIdCardSystem) && ni.empty()) ni = value;
    if (first_id.empty()) {
      first_id = value;
      first_system = system;
    }
  }
  if (!ni.empty()) return "NI:" + ni;
  if (!first_id.empty()) return "ID:" + first_system + ":" + first_id;
  return {};
}

Result<DocumentSummary> ReadDocumentInput(DocumentFormat format, std::string_view raw,
                                          std::string_view facility,
                                          const DocumentReadOptions& options) {
  switch (format) {
    case DocumentFormat::kCda:
      return ReadCdaInput(raw, facility, options);
    case DocumentFormat::kFhir:
      return ReadFhirInput(raw, facility, options);
    case DocumentFormat::kNone:
      break;
  }
  return Status(ErrorCode::kUnsupportedMedia, "不是 CDA 或 FHIR 文档 (not a CDA or FHIR document)",
                "Content-Type");
}

std::string DocumentTypeOfRecord(const MessageRecord& m) {
  if (DocumentFormatOf(m.content_type) == DocumentFormat::kNone) return {};
  auto j = nlohmann::json::parse(m.response, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("document_type") && j["document_type"].is_string())
    return j["document_type"].get<std::string>();
  return {};
}

}  // namespace hie
