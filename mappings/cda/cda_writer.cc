#include "mappings/cda/cda_writer.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <vector>

#include "mappings/cda/cda_common.h"
#include "mappings/cda/xml_safe.h"

namespace hie::cda {
namespace {

using nlohmann::json;

const json& Null() {
  static const json kNull;
  return kNull;
}
const json& EmptyArray() {
  static const json kEmpty = json::array();
  return kEmpty;
}
// Typed accessors that never throw on a malformed bundle.
const json& Get(const json& j, const char* key) {
  if (!j.is_object()) return Null();
  auto it = j.find(key);
  return it == j.end() ? Null() : *it;
}
const json& Arr(const json& j, const char* key) {
  const json& v = Get(j, key);
  return v.is_array() ? v : EmptyArray();
}
std::string Str(const json& j, const char* key) {
  const json& v = Get(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}
const json& First(const json& j, const char* key) {
  const json& a = Arr(j, key);
  return a.empty() ? Null() : a[0];
}
const json& Ext(const json& j, const char* url) {
  for (const json& e : Arr(j, "extension")) {
    if (Str(e, "url") == url) return e;
  }
  return Null();
}

std::string FormatNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

// obj[key] as HL7 v3 text: the source text kept in "_<key>" (extension
// urn:hie:decimal) when present, else the number. Precondition: obj[key]
// is a number.
std::string DecimalText(const json& obj, const std::string& key) {
  for (const json& e : Arr(Get(obj, ("_" + key).c_str()), "extension")) {
    std::string text = Str(e, "url") == kExtDecimal ? Str(e, "valueString") : std::string();
    char* end = nullptr;
    if (!text.empty() && text.size() < 40 && (std::strtod(text.c_str(), &end), *end == '\0') &&
        text.find_first_not_of("+-.0123456789eE") == std::string::npos) {
      return text;  // the source's own spelling ("7.80")
    }
  }
  const json& v = Get(obj, key.c_str());
  if (v.is_number_integer()) return v.dump();
  return FormatNumber(v.get<double>());
}

struct KindInfo {
  const char* template_id;
  const char* code;
  const char* title;
  const char* default_section;
  const char* record_no_root;
};

KindInfo InfoFor(CdaDocumentKind kind) {
  switch (kind) {
    case CdaDocumentKind::kLabReport:
      return {"2.16.156.10011.2.1.1.27", "C0007", "检验报告", "30954-2", kOidOutpatientNo};
    case CdaDocumentKind::kOutpatientRecord:
      return {"2.16.156.10011.2.1.1.22", "C0002", "门(急)诊病历", "29545-1", kOidOutpatientNo};
    case CdaDocumentKind::kHealthRecordBasic:
      // WS/T 483.1; confirm the template/code against the printed standard
      // and override through CdaWriteOptions if the platform differs.
      return {"2.16.156.10011.2.1.1.1", "B0001", "个人基本健康信息登记", "11348-0",
              kOidHealthRecordNo};
  }
  return {"", "", "", "", ""};
}

// Sections a few common WS 363 data elements belong to (others: the kind's
// default section, unless the observation names one in urn:hie:cda-section).
const char* SectionForDataElement(std::string_view de) {
  // Only elements whose section is unambiguous; extend as templates are
  // confirmed against the printed WS/T 500 parts.
  static const std::pair<const char*, const char*> kMap[] = {
      {"DE04.01.119.00", "10154-3"},  // 主诉
      {"DE02.10.071.00", "10164-2"},  // 现病史
      {"DE02.10.022.00", "48765-2"},  // 过敏史
      {"DE04.50.001.00", "11348-0"},  // ABO 血型
  };

  for (const auto& [code, section] : kMap) {
    if (de == code) return section;
  }
  return nullptr;
}

class Writer {
 public:
  Writer(const json& bundle, CdaDocumentKind kind, const CdaWriteOptions& opt, const OidTable& oids)
      : bundle_(bundle), kind_(kind), info_(InfoFor(kind)), opt_(opt), oids_(oids) {}

  Result<std::string> Write();

 private:
  struct PendingEntry {
    const json* resource;
    int kind;  // 0 lab result, 1 data element / generic observation, 2 condition
  };

  Status Index();
  xmlNode* El(xmlNode* parent, const char* name) {
    return xmlNewChild(parent, ns_, reinterpret_cast<const xmlChar*>(name), nullptr);
  }
  xmlNode* TextEl(xmlNode* parent, const char* name, const std::string& text) {
    return xmlNewTextChild(parent, ns_, reinterpret_cast<const xmlChar*>(name),
                           reinterpret_cast<const xmlChar*>(text.c_str()));
  }
  static void Set(xmlNode* n, const char* name, const std::string& value) {
    xmlSetProp(n, reinterpret_cast<const xmlChar*>(name),
               reinterpret_cast<const xmlChar*>(value.c_str()));
  }
  void SetType(xmlNode* n, const char* type) {
    xmlSetNsProp(n, xsi_, reinterpret_cast<const xmlChar*>("type"),
                 reinterpret_cast<const xmlChar*>(type));
  }
  void CodeAttrs(xmlNode* n, const json& coding);
  void DataElementCode(xmlNode* parent, const char* de, const char* display);
  xmlNode* Concept(xmlNode* parent, const char* name, const json& cc, bool original_text);
  void Ts(xmlNode* parent, const char* name, const std::string& fhir);
  std::string PathOf(const json* resource) const;

  void WriteHeader(xmlNode* root);
  void WritePatient(xmlNode* record_target);
  void WriteAuthorCustodian(xmlNode* root);
  void WriteBody(xmlNode* root);
  Status WriteLabEntry(xmlNode* section, const json& obs);
  Status WriteObservationEntry(xmlNode* section, const json& obs);
  void WriteConditionEntry(xmlNode* section, const json& cond);
  Status WriteValue(xmlNode* obs_el, const json& obs, bool quantity_as_pq);
  void WriteRangesAndFlags(xmlNode* obs_el, const json& obs, bool flags, bool ranges);
  std::string Narrative(const json& obs) const;

  const json& bundle_;
  CdaDocumentKind kind_;
  KindInfo info_;
  const CdaWriteOptions& opt_;
  const OidTable& oids_;
  xmlDoc* doc_ = nullptr;
  xmlNs* ns_ = nullptr;
  xmlNs* xsi_ = nullptr;

  const json* patient_ = nullptr;
  const json* doc_ref_ = nullptr;
  const json* encounter_ = nullptr;
  const json* custodian_ = nullptr;
  std::vector<const json*> reports_;
  std::map<std::string, const json*> observations_by_id_;
  std::vector<const json*> observations_;
  std::vector<const json*> conditions_;
  std::map<const json*, size_t> entry_index_;
  std::string doc_time_;
  Status deferred_error_;
};

std::string Writer::PathOf(const json* resource) const {
  auto it = entry_index_.find(resource);
  return it == entry_index_.end() ? std::string("/entry")
                                  : "/entry/" + std::to_string(it->second) + "/resource";
}

Status Writer::Index() {
  if (!bundle_.is_object() || Str(bundle_, "resourceType") != "Bundle") {
    return Status(ErrorCode::kInvalidArgument, "输入不是 FHIR Bundle (input is not a Bundle)",
                  "/resourceType");
  }
  const json& entries = Arr(bundle_, "entry");
  std::string custodian_ref;
  for (size_t i = 0; i < entries.size(); ++i) {
    const json& r = Get(entries[i], "resource");
    if (!r.is_object()) {
      return Status(ErrorCode::kInvalidArgument, "条目缺少 resource (entry without resource)",
                    "/entry/" + std::to_string(i));
    }
    entry_index_[&r] = i;
    std::string type = Str(r, "resourceType");
    if (type == "Patient" && patient_ == nullptr) patient_ = &r;
    if (type == "DocumentReference" && doc_ref_ == nullptr) doc_ref_ = &r;
    if (type == "Encounter" && encounter_ == nullptr) encounter_ = &r;
    if (type == "Organization" && custodian_ == nullptr) custodian_ = &r;
    if (type == "DiagnosticReport") reports_.push_back(&r);
    if (type == "Condition") conditions_.push_back(&r);
    if (type == "Observation") {
      observations_.push_back(&r);
      observations_by_id_["Observation/" + Str(r, "id")] = &r;
    }
  }
  if (patient_ == nullptr) {
    return Status(ErrorCode::kRequiredMissing, "缺少患者 Patient (required resource missing)",
                  "/entry");
  }
  if (doc_ref_ != nullptr) {
    custodian_ref = Str(Get(*doc_ref_, "custodian"), "reference");
    for (size_t i = 0; i < entries.size() && !custodian_ref.empty(); ++i) {
      const json& r = Get(entries[i], "resource");
      if ("Organization/" + Str(r, "id") == custodian_ref) custodian_ = &r;
    }
  }
  doc_time_ = opt_.effective_time;
  if (doc_time_.empty() && doc_ref_ != nullptr) doc_time_ = Str(*doc_ref_, "date");
  for (const json* r : reports_) {
    if (doc_time_.empty()) doc_time_ = Str(*r, "issued");
    if (doc_time_.empty()) doc_time_ = Str(*r, "effectiveDateTime");
  }
  if (doc_time_.empty()) {
    return Status(ErrorCode::kRequiredMissing,
                  "缺少文档时间 (document time missing: DocumentReference.date or "
                  "CdaWriteOptions.effective_time)",
                  doc_ref_ ? PathOf(doc_ref_) + "/date" : "/entry");
  }
  if (!FhirToTs(doc_time_)) {
    return Status(ErrorCode::kInvalidArgument, "文档时间格式错误 (malformed document time)",
                  doc_ref_ ? PathOf(doc_ref_) + "/date" : "/entry");
  }
  return Status::Ok();
}

void Writer::CodeAttrs(xmlNode* n, const json& coding) {
  std::string code = Str(coding, "code");
  std::string system = Str(coding, "system");
  if (!code.empty()) Set(n, "code", code);
  if (!system.empty()) {
    if (auto oid = oids_.OidForSystem(system)) {
      Set(n, "codeSystem", *oid);
      if (const OidEntry* e = oids_.ByOid(*oid)) Set(n, "codeSystemName", e->display);
    } else {
      Set(n, "codeSystemName", system);  // e.g. local:<facility>, no OID
    }
  }
  if (std::string d = Str(coding, "display"); !d.empty()) Set(n, "displayName", d);
}

void Writer::DataElementCode(xmlNode* parent, const char* de, const char* display) {
  xmlNode* code = El(parent, "code");
  Set(code, "code", de);
  Set(code, "codeSystem", kOidDataElements);
  Set(code, "codeSystemName", "卫生信息数据元目录");
  Set(code, "displayName", display);
}

xmlNode* Writer::Concept(xmlNode* parent, const char* name, const json& cc, bool original_text) {
  xmlNode* n = El(parent, name);
  const json& codings = Arr(cc, "coding");
  if (!codings.empty()) {
    CodeAttrs(n, codings[0]);
  } else {
    Set(n, "nullFlavor", "UNK");
  }
  if (std::string text = Str(cc, "text"); original_text && !text.empty()) {
    TextEl(n, "originalText", text);
  }
  for (size_t i = 1; i < codings.size(); ++i) CodeAttrs(El(n, "translation"), codings[i]);
  return n;
}

void Writer::Ts(xmlNode* parent, const char* name, const std::string& fhir) {
  xmlNode* n = El(parent, name);
  auto ts = FhirToTs(fhir);
  if (ts) {
    Set(n, "value", *ts);
  } else {
    Set(n, "nullFlavor", "UNK");
  }
}

void Writer::WriteHeader(xmlNode* root) {
  Set(El(root, "realmCode"), "code", "CN");
  xmlNode* type_id = El(root, "typeId");
  Set(type_id, "root", "2.16.840.1.113883.1.3");
  Set(type_id, "extension", "POCD_MT000040");
  Set(El(root, "templateId"), "root",
      opt_.template_id.empty() ? info_.template_id : opt_.template_id);
  std::string doc_id = opt_.document_id;
  if (doc_id.empty() && doc_ref_ != nullptr) doc_id = Str(First(*doc_ref_, "identifier"), "value");
  if (doc_id.empty() && !reports_.empty()) doc_id = Str(First(*reports_[0], "identifier"), "value");
  if (doc_id.empty()) doc_id = "1";
  xmlNode* id = El(root, "id");
  Set(id, "root", kOidDocumentId);
  Set(id, "extension", doc_id);
  xmlNode* code = El(root, "code");
  Set(code, "code", opt_.document_code.empty() ? info_.code : opt_.document_code);
  Set(code, "codeSystem", kOidDocumentCodes);
  Set(code, "codeSystemName", "卫生信息共享文档规范编码体系");
  TextEl(root, "title", info_.title);
  Ts(root, "effectiveTime", doc_time_);
  xmlNode* conf = El(root, "confidentialityCode");
  Set(conf, "code", "N");
  Set(conf, "codeSystem", "2.16.840.1.113883.5.25");
  Set(conf, "codeSystemName", "Confidentiality");
  Set(conf, "displayName", "正常访问保密级别");
  Set(El(root, "languageCode"), "code", "zh-CN");
  xmlNode* rt = El(root, "recordTarget");
  Set(rt, "typeCode", "RCT");
  Set(rt, "contextControlCode", "OP");
  WritePatient(rt);
  WriteAuthorCustodian(root);
}

int AgeInYears(const std::string& birth, const std::string& at) {
  if (birth.size() < 10 || at.size() < 10) return -1;
  int by = std::atoi(birth.substr(0, 4).c_str()), bm = std::atoi(birth.substr(5, 2).c_str()),
      bd = std::atoi(birth.substr(8, 2).c_str());
  int ay = std::atoi(at.substr(0, 4).c_str()), am = std::atoi(at.substr(5, 2).c_str()),
      ad = std::atoi(at.substr(8, 2).c_str());
  int age = ay - by - ((am < bm || (am == bm && ad < bd)) ? 1 : 0);
  return age >= 0 && age < 200 ? age : -1;
}

void Writer::WritePatient(xmlNode* record_target) {
  const json& p = *patient_;
  xmlNode* role = El(record_target, "patientRole");
  Set(role, "classCode", "PAT");
  const json* id_card = nullptr;
  for (const json& ident : Arr(p, "identifier")) {
    std::string system = Str(ident, "system");
    std::string value = Str(ident, "value");
    if (value.empty()) continue;
    if (system == std::string("urn:oid:") + kOidIdCard) {
      id_card = &ident;
      continue;
    }
    bool mr = Str(First(Get(ident, "type"), "coding"), "code") == "MR";
    std::string root = Str(Ext(ident, kExtIdRoot), "valueOid");
    if (root.starts_with("urn:oid:")) root = root.substr(8);
    xmlNode* id = El(role, "id");
    if (mr || system.starts_with("local:")) {
      Set(id, "root", root.empty() ? info_.record_no_root : root);
      Set(id, "extension", value);
      if (system.starts_with("local:")) Set(id, "assigningAuthorityName", system);
    } else if (auto oid = oids_.OidForSystem(system)) {
      Set(id, "root", *oid);
      Set(id, "extension", value);
    } else {
      Set(id, "nullFlavor", "UNK");
      Set(id, "extension", value);
      Set(id, "assigningAuthorityName", system);
    }
  }
  if (kind_ == CdaDocumentKind::kLabReport) {
    for (const json* r : reports_) {
      for (const json& ident : Arr(*r, "identifier")) {
        auto oid = oids_.OidForSystem(Str(ident, "system"));
        if (!oid || Str(ident, "value").empty()) continue;
        xmlNode* id = El(role, "id");
        Set(id, "root", *oid);
        Set(id, "extension", Str(ident, "value"));
      }
    }
  }
  if (role->children == nullptr) Set(El(role, "id"), "nullFlavor", "NI");
  // Realm element: patientType (WS/T 500), from Encounter.class.
  if (opt_.realm_elements && encounter_ != nullptr) {
    const json& type =
        First(Get(Ext(*encounter_, kExtPatientClass), "valueCodeableConcept"), "coding");
    if (oids_.OidForSystem(Str(type, "system")) == std::optional<std::string>(kOidPatientType)) {
      CodeAttrs(El(El(role, "patientType"), "patientTypeCode"), type);
    }
  }
  for (const json& a : Arr(p, "address")) {
    xmlNode* addr = El(role, "addr");
    std::string use = Str(a, "use");
    if (use == "home") Set(addr, "use", "H");
    if (use == "work") Set(addr, "use", "WP");
    if (use == "temp") Set(addr, "use", "TMP");
    if (use == "old") Set(addr, "use", "OLD");
    bool parts = false;
    auto part = [&](const char* name, const std::string& v) {
      if (v.empty()) return;
      if (!opt_.realm_elements && std::string_view(name) == "township") return;
      TextEl(addr, name, v);
      parts = true;
    };
    part("houseNumber", Str(Ext(a, kExtHouseNumber), "valueString"));
    part("streetName", Str(Ext(a, kExtStreetName), "valueString"));
    for (const json& line : Arr(a, "line")) {
      if (line.is_string()) part("streetAddressLine", line.get<std::string>());
    }
    part("township", Str(Ext(a, kExtTownship), "valueString"));
    part("county", Str(a, "district"));
    part("city", Str(a, "city"));
    part("state", Str(a, "state"));
    part("postalCode", Str(a, "postalCode"));
    part("country", Str(a, "country"));
    if (!parts && !Str(a, "text").empty()) {
      xmlNodeAddContent(addr, reinterpret_cast<const xmlChar*>(Str(a, "text").c_str()));
    }
  }
  for (const json& t : Arr(p, "telecom")) {
    std::string value = Str(t, "value");
    if (value.empty()) continue;
    std::string system = Str(t, "system");
    xmlNode* tel = El(role, "telecom");
    std::string use = Str(t, "use");
    if (use == "home") Set(tel, "use", "H");
    if (use == "work") Set(tel, "use", "WP");
    if (use == "mobile") Set(tel, "use", "MC");
    if (use == "temp") Set(tel, "use", "TMP");
    // WS/T 500 writes phone numbers bare.
    Set(tel, "value",
        system == "email" ? "mailto:" + value
        : system == "fax" ? "fax:" + value
                          : value);
  }
  xmlNode* person = El(role, "patient");
  Set(person, "classCode", "PSN");
  Set(person, "determinerCode", "INSTANCE");
  if (id_card != nullptr) {
    xmlNode* id = El(person, "id");
    Set(id, "root", kOidIdCard);
    Set(id, "extension", Str(*id_card, "value"));
  }
  for (const json& n : Arr(p, "name")) {
    std::string text = Str(n, "text");
    if (text.empty()) {
      text = Str(n, "family");
      for (const json& g : Arr(n, "given")) {
        if (g.is_string()) text += g.get<std::string>();
      }
    }
    if (!text.empty()) TextEl(person, "name", text);
  }
  // Sex: the original GB/T 2261.1 code when we have it, else from gender.
  xmlNode* sex = El(person, "administrativeGenderCode");
  json sex_coding = First(Get(Ext(p, kExtSex), "valueCodeableConcept"), "coding");
  if (oids_.OidForSystem(Str(sex_coding, "system")) != std::optional<std::string>(kOidSexGb)) {
    std::string g = Str(p, "gender");
    sex_coding = g == "male"     ? json{{"code", "1"}, {"display", "男性"}}
                 : g == "female" ? json{{"code", "2"}, {"display", "女性"}}
                 : g == "other"  ? json{{"code", "9"}, {"display", "未说明的性别"}}
                                 : json{{"code", "0"}, {"display", "未知的性别"}};
    sex_coding["system"] = "GB/T 2261.1";
  }
  CodeAttrs(sex, sex_coding);
  std::string birth = Str(p, "birthDate");
  if (!birth.empty()) Ts(person, "birthTime", birth);
  if (opt_.realm_elements) {
    if (int age = AgeInYears(birth, doc_time_); age >= 0) {
      xmlNode* a = El(person, "age");
      Set(a, "unit", "岁");
      Set(a, "value", std::to_string(age));
    }
  }
  if (Get(p, "maritalStatus").is_object()) {
    Concept(person, "maritalStatusCode", Get(p, "maritalStatus"), false);
  }
}

void Writer::WriteAuthorCustodian(xmlNode* root) {
  xmlNode* author = El(root, "author");
  Set(author, "typeCode", "AUT");
  Set(author, "contextControlCode", "OP");
  Ts(author, "time", doc_time_);
  xmlNode* assigned = El(author, "assignedAuthor");
  Set(assigned, "classCode", "ASSIGNED");
  const json& a = doc_ref_ ? First(*doc_ref_, "author") : Null();
  xmlNode* id = El(assigned, "id");
  const json& ident = Get(a, "identifier");
  if (!Str(ident, "value").empty()) {
    auto oid = oids_.OidForSystem(Str(ident, "system"));
    Set(id, "root", oid ? *oid : kOidAuthorId);
    Set(id, "extension", Str(ident, "value"));
  } else {
    Set(id, "nullFlavor", "NI");
  }
  if (std::string name = Str(a, "display"); !name.empty()) {
    xmlNode* person = El(assigned, "assignedPerson");
    Set(person, "classCode", "PSN");
    Set(person, "determinerCode", "INSTANCE");
    TextEl(person, "name", name);
  }
  xmlNode* custodian = El(root, "custodian");
  Set(custodian, "typeCode", "CST");
  xmlNode* ac = El(custodian, "assignedCustodian");
  Set(ac, "classCode", "ASSIGNED");
  xmlNode* org = El(ac, "representedCustodianOrganization");
  Set(org, "classCode", "ORG");
  Set(org, "determinerCode", "INSTANCE");
  const json& oi = custodian_ ? First(*custodian_, "identifier") : Null();
  xmlNode* oid_el = El(org, "id");
  if (!Str(oi, "value").empty()) {
    auto oid = oids_.OidForSystem(Str(oi, "system"));
    Set(oid_el, "root", oid ? *oid : kOidOrganization);
    Set(oid_el, "extension", Str(oi, "value"));
  } else {
    Set(oid_el, "nullFlavor", "NI");
  }
  if (custodian_ != nullptr && !Str(*custodian_, "name").empty()) {
    TextEl(org, "name", Str(*custodian_, "name"));
  }
  if (encounter_ != nullptr && !Str(Get(*encounter_, "period"), "start").empty()) {
    xmlNode* enc = El(El(root, "componentOf"), "encompassingEncounter");
    for (const json& ei : Arr(*encounter_, "identifier")) {
      auto oid = oids_.OidForSystem(Str(ei, "system"));
      if (!oid || Str(ei, "value").empty()) continue;
      xmlNode* eid = El(enc, "id");
      Set(eid, "root", *oid);
      Set(eid, "extension", Str(ei, "value"));
    }
    xmlNode* et = El(enc, "effectiveTime");
    auto low = FhirToTs(Str(Get(*encounter_, "period"), "start"));
    if (low) Set(El(et, "low"), "value", *low);
    if (auto high = FhirToTs(Str(Get(*encounter_, "period"), "end"))) {
      Set(El(et, "high"), "value", *high);
    }
  }
}

std::string Writer::Narrative(const json& obs) const {
  const json& code = Get(obs, "code");
  std::string label = Str(code, "text");
  if (label.empty()) label = Str(First(code, "coding"), "display");
  if (label.empty()) label = Str(First(code, "coding"), "code");
  std::string value;
  if (const json& q = Get(obs, "valueQuantity"); q.is_object()) {
    const json& v = Get(q, "value");
    value = Str(q, "comparator") + (v.is_number() ? DecimalText(q, "value") : "");
    if (!Str(q, "unit").empty()) value += " " + Str(q, "unit");
  } else if (const json& cc = Get(obs, "valueCodeableConcept"); cc.is_object()) {
    value = Str(cc, "text");
    if (value.empty()) value = Str(First(cc, "coding"), "display");
    if (value.empty()) value = Str(First(cc, "coding"), "code");
  } else {
    value = Str(obs, "valueString");
  }
  std::string flag = Str(First(First(obs, "interpretation"), "coding"), "code");
  std::string range = Str(First(obs, "referenceRange"), "text");
  std::string out = label + ": " + value;
  if (!flag.empty()) out += " (" + flag + ")";
  if (!range.empty()) out += " [" + range + "]";
  return out;
}

void Writer::WriteRangesAndFlags(xmlNode* obs_el, const json& obs, bool flags, bool ranges) {
  if (flags) {
    for (const json& interp : Arr(obs, "interpretation")) {
      Concept(obs_el, "interpretationCode", interp, false);
    }
  }
  if (!ranges) return;
  for (const json& r : Arr(obs, "referenceRange")) {
    xmlNode* range = El(El(obs_el, "referenceRange"), "observationRange");
    if (std::string text = Str(r, "text"); !text.empty()) TextEl(range, "text", text);
    const json& low = Get(r, "low");
    const json& high = Get(r, "high");
    if (!Get(low, "value").is_number() && !Get(high, "value").is_number()) continue;
    xmlNode* v = El(range, "value");
    SetType(v, "IVL_PQ");
    for (const auto& [name, bound] : {std::pair{"low", &low}, std::pair{"high", &high}}) {
      if (!Get(*bound, "value").is_number()) continue;
      xmlNode* b = El(v, name);
      Set(b, "value", DecimalText(*bound, "value"));
      if (!Str(*bound, "unit").empty()) Set(b, "unit", Str(*bound, "unit"));
    }
  }
}

Status Writer::WriteValue(xmlNode* obs_el, const json& obs, bool quantity_as_pq) {
  if (const json& q = Get(obs, "valueQuantity"); q.is_object()) {
    if (!Get(q, "value").is_number()) {
      return Status(ErrorCode::kInvalidArgument, "数值缺失或不是数字 (quantity value not a number)",
                    PathOf(&obs) + "/valueQuantity/value");
    }
    std::string value = DecimalText(q, "value");
    std::string unit = Str(q, "unit");
    std::string comparator = Str(q, "comparator");
    xmlNode* v = El(obs_el, "value");
    if (!comparator.empty()) {
      SetType(v, "IVL_PQ");
      xmlNode* b = El(v, comparator[0] == '<' ? "high" : "low");
      Set(b, "value", value);
      if (!unit.empty()) Set(b, "unit", unit);
      Set(b, "inclusive", comparator.size() == 2 ? "true" : "false");
    } else if (quantity_as_pq) {
      SetType(v, "PQ");
      Set(v, "value", value);
      Set(v, "unit", unit.empty() ? "1" : unit);
    } else {
      SetType(v, "REAL");
      Set(v, "value", value);
    }
  } else if (const json& cc = Get(obs, "valueCodeableConcept"); cc.is_object()) {
    xmlNode* v = Concept(obs_el, "value", cc, true);
    SetType(v, "CD");
  } else if (const json& b = Get(obs, "valueBoolean"); b.is_boolean()) {
    xmlNode* v = El(obs_el, "value");
    SetType(v, "BL");
    Set(v, "value", b.get<bool>() ? "true" : "false");
  } else if (const json& i = Get(obs, "valueInteger"); i.is_number_integer()) {
    xmlNode* v = El(obs_el, "value");
    SetType(v, "INT");
    Set(v, "value", std::to_string(i.get<long long>()));
  } else if (std::string dt = Str(obs, "valueDateTime"); !dt.empty()) {
    xmlNode* v = El(obs_el, "value");
    SetType(v, "TS");
    auto ts = FhirToTs(dt);
    Set(v, ts ? "value" : "nullFlavor", ts ? *ts : "UNK");
  } else if (std::string s = Str(obs, "valueString"); !s.empty()) {
    SetType(TextEl(obs_el, "value", s), "ST");
  }
  return Status::Ok();
}

Status Writer::WriteLabEntry(xmlNode* section, const json& obs) {
  xmlNode* o = El(El(section, "entry"), "observation");
  Set(o, "classCode", "OBS");
  Set(o, "moodCode", "EVN");
  // DE04.30.019.00 检验项目代码, with the item codes as translations.
  xmlNode* code = El(o, "code");
  Set(code, "code", kDeLabItem);
  Set(code, "codeSystem", kOidDataElements);
  Set(code, "codeSystemName", "卫生信息数据元目录");
  Set(code, "displayName", "检验项目代码");
  const json& cc = Get(obs, "code");
  for (const json& coding : Arr(cc, "coding")) CodeAttrs(El(code, "translation"), coding);
  std::string status = Str(obs, "status");
  Set(El(o, "statusCode"), "code",
      status == "preliminary" || status == "registered" ? "active"
      : status == "cancelled"                           ? "aborted"
                                                        : "completed");
  if (std::string t = Str(obs, "effectiveDateTime"); !t.empty()) Ts(o, "effectiveTime", t);
  std::string name = Str(cc, "text");
  if (name.empty()) name = Str(First(cc, "coding"), "display");
  if (name.empty()) name = Str(First(cc, "coding"), "code");
  SetType(TextEl(o, "value", name), "ST");
  if (std::string specimen = Str(Ext(obs, "urn:hie:specimen"), "valueString"); !specimen.empty()) {
    xmlNode* rel = El(o, "entryRelationship");
    Set(rel, "typeCode", "COMP");
    xmlNode* so = El(rel, "observation");
    Set(so, "classCode", "OBS");
    Set(so, "moodCode", "EVN");
    DataElementCode(so, kDeSpecimen, "标本类别");
    SetType(TextEl(so, "value", specimen), "ST");
  }
  bool has_value = Get(obs, "valueQuantity").is_object() ||
                   Get(obs, "valueCodeableConcept").is_object() || !Str(obs, "valueString").empty();
  if (!has_value) {
    WriteRangesAndFlags(o, obs, true, true);
    return Status::Ok();
  }
  xmlNode* rel = El(o, "entryRelationship");
  Set(rel, "typeCode", "COMP");
  xmlNode* r = El(rel, "observation");
  Set(r, "classCode", "OBS");
  Set(r, "moodCode", "EVN");
  const json& q = Get(obs, "valueQuantity");
  if (q.is_object()) {
    DataElementCode(r, kDeLabQuantity, "检验定量结果");
  } else {
    DataElementCode(r, kDeLabResultCode, "检验结果代码");
  }
  HIE_RETURN_IF_ERROR(WriteValue(r, obs, false));
  WriteRangesAndFlags(r, obs, true, false);
  if (q.is_object() && !Str(q, "unit").empty() && Str(q, "comparator").empty()) {
    xmlNode* ur = El(r, "entryRelationship");
    Set(ur, "typeCode", "COMP");
    xmlNode* u = El(ur, "observation");
    Set(u, "classCode", "OBS");
    Set(u, "moodCode", "EVN");
    DataElementCode(u, kDeLabUnit, "检验定量结果计量单位");
    SetType(TextEl(u, "value", Str(q, "unit")), "ST");
  }
  WriteRangesAndFlags(r, obs, false, true);
  return Status::Ok();
}

Status Writer::WriteObservationEntry(xmlNode* section, const json& obs) {
  xmlNode* o = El(El(section, "entry"), "observation");
  Set(o, "classCode", "OBS");
  Set(o, "moodCode", "EVN");
  Concept(o, "code", Get(obs, "code"), true);
  if (std::string t = Str(obs, "effectiveDateTime"); !t.empty()) Ts(o, "effectiveTime", t);
  HIE_RETURN_IF_ERROR(WriteValue(o, obs, true));
  WriteRangesAndFlags(o, obs, true, true);
  return Status::Ok();
}

void Writer::WriteConditionEntry(xmlNode* section, const json& cond) {
  xmlNode* o = El(El(section, "entry"), "observation");
  Set(o, "classCode", "OBS");
  Set(o, "moodCode", "EVN");
  DataElementCode(o, kDeDiagnosis, "诊断代码");
  std::string when = Str(cond, "recordedDate");
  if (when.empty()) when = Str(cond, "onsetDateTime");
  if (!when.empty()) Ts(o, "effectiveTime", when);
  SetType(Concept(o, "value", Get(cond, "code"), true), "CD");
}

void Writer::WriteBody(xmlNode* root) {
  // Which observations are lab results: those a DiagnosticReport lists, and
  // those categorised laboratory.
  std::vector<const json*> labs;
  std::map<const json*, bool> is_lab;
  for (const json* r : reports_) {
    for (const json& ref : Arr(*r, "result")) {
      auto it = observations_by_id_.find(Str(ref, "reference"));
      if (it != observations_by_id_.end() && !is_lab[it->second]) {
        is_lab[it->second] = true;
        labs.push_back(it->second);
      }
    }
  }
  for (const json* o : observations_) {
    std::string cat = Str(First(First(*o, "category"), "coding"), "code");
    if (cat == "laboratory" && !is_lab[o]) {
      is_lab[o] = true;
      labs.push_back(o);
    }
  }
  // Everything else goes to a section by extension, data element or kind.
  std::map<std::string, std::vector<PendingEntry>> by_section;
  for (const json* o : labs) by_section["30954-2"].push_back({o, 0});
  for (const json* o : observations_) {
    if (is_lab[o]) continue;
    std::string section = Str(Ext(*o, kExtSection), "valueCode");
    std::string code = Str(First(Get(*o, "code"), "coding"), "code");
    if (section.empty()) {
      if (const char* s = SectionForDataElement(code)) section = s;
    }
    if (section.empty() && Str(First(First(*o, "category"), "coding"), "code") == "vital-signs") {
      section = "8716-3";
    }
    if (section.empty()) section = info_.default_section;
    by_section[section].push_back({o, 1});
  }
  for (const json* c : conditions_) by_section["29548-5"].push_back({c, 2});
  if (by_section.empty()) by_section[info_.default_section];

  xmlNode* body = El(El(root, "component"), "structuredBody");
  std::vector<std::string> order;
  // 检验报告 puts the diagnosis before the results, as its template does.
  if (kind_ == CdaDocumentKind::kLabReport && by_section.count("29548-5") != 0) {
    order.push_back("29548-5");
  }
  for (const SectionInfo& s : KnownSections()) {
    if (by_section.count(s.loinc) != 0 &&
        std::find(order.begin(), order.end(), s.loinc) == order.end()) {
      order.push_back(s.loinc);
    }
  }
  for (const auto& [code, entries] : by_section) {
    if (FindSection(code) == nullptr) order.push_back(code);
  }
  for (const std::string& code : order) {
    const auto& entries = by_section[code];
    xmlNode* section = El(El(body, "component"), "section");
    xmlNode* sc = El(section, "code");
    Set(sc, "code", code);
    Set(sc, "codeSystem", kOidLoinc);
    Set(sc, "codeSystemName", "LOINC");
    const SectionInfo* info = FindSection(code);
    if (info != nullptr) Set(sc, "displayName", info->display_name);
    TextEl(section, "title", info != nullptr ? info->title : code);
    xmlNode* text = El(section, "text");
    if (entries.empty()) {
      TextEl(text, "paragraph", "无 (none)");
    } else {
      xmlNode* list = El(text, "list");
      for (const PendingEntry& e : entries) {
        std::string line;
        if (e.kind == 2) {
          const json& cc = Get(*e.resource, "code");
          line = Str(First(cc, "coding"), "code") + " " +
                 (Str(cc, "text").empty() ? Str(First(cc, "coding"), "display") : Str(cc, "text"));
        } else {
          line = Narrative(*e.resource);
        }
        TextEl(list, "item", line);
      }
    }
    if (code == "30954-2" && kind_ == CdaDocumentKind::kLabReport && !reports_.empty() &&
        !Str(Get(*reports_[0], "code"), "text").empty()) {
      // DE04.30.018.00 检验类别 carries the report's name.
      xmlNode* o = El(El(section, "entry"), "observation");
      Set(o, "classCode", "OBS");
      Set(o, "moodCode", "EVN");
      DataElementCode(o, kDeLabCategory, "检验类别");
      SetType(TextEl(o, "value", Str(Get(*reports_[0], "code"), "text")), "ST");
    }
    for (const PendingEntry& e : entries) {
      Status st = e.kind == 0   ? WriteLabEntry(section, *e.resource)
                  : e.kind == 1 ? WriteObservationEntry(section, *e.resource)
                                : (WriteConditionEntry(section, *e.resource), Status::Ok());
      if (!st.ok()) {
        deferred_error_ = st;
        return;
      }
    }
  }
}

Result<std::string> Writer::Write() {
  HIE_RETURN_IF_ERROR(Index());
  std::unique_ptr<xmlDoc, XmlDocDeleter> doc(xmlNewDoc(reinterpret_cast<const xmlChar*>("1.0")));
  doc_ = doc.get();
  xmlNode* root = xmlNewNode(nullptr, reinterpret_cast<const xmlChar*>("ClinicalDocument"));
  xmlDocSetRootElement(doc_, root);
  ns_ = xmlNewNs(root, reinterpret_cast<const xmlChar*>(kHl7Ns), nullptr);
  xsi_ = xmlNewNs(root, reinterpret_cast<const xmlChar*>(kXsiNs),
                  reinterpret_cast<const xmlChar*>("xsi"));
  xmlSetNs(root, ns_);
  WriteHeader(root);
  WriteBody(root);
  HIE_RETURN_IF_ERROR(deferred_error_);
  xmlChar* buf = nullptr;
  int size = 0;
  xmlDocDumpFormatMemoryEnc(doc_, &buf, &size, "UTF-8", 1);
  if (buf == nullptr) {
    return Status(ErrorCode::kInternal, "CDA 文档序列化失败 (serialization failed)");
  }
  std::string out(reinterpret_cast<const char*>(buf), static_cast<size_t>(size));
  xmlFree(buf);
  return out;
}

}  // namespace

Result<std::string> WriteCda(const nlohmann::json& bundle, CdaDocumentKind kind,
                             const CdaWriteOptions& options) {
  InitXmlLibrary();
  std::shared_ptr<const OidTable> table = options.oid_table;
  if (!table && !options.oid_systems_csv.empty()) {
    HIE_ASSIGN_OR_RETURN(table, OidTable::LoadFile(options.oid_systems_csv));
  }
  if (!table) table = OidTable::BuiltIn();
  Writer writer(bundle, kind, options, *table);
  return writer.Write();
}

Result<CdaDocumentKind> ParseCdaDocumentKind(std::string_view name) {
  if (name == "lab-report" || name == "C0007") return CdaDocumentKind::kLabReport;
  if (name == "outpatient-record" || name == "C0002") return CdaDocumentKind::kOutpatientRecord;
  if (name == "health-record-basic") return CdaDocumentKind::kHealthRecordBasic;
  return Status(ErrorCode::kInvalidArgument,
                "未知的 CDA 文档类型 (unknown CDA document kind): " + std::string(name));
}

}  // namespace hie::cda
