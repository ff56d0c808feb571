#include "mappings/cda/cda_reader.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "mappings/cda/cda_common.h"

namespace hie::cda {
namespace {

using nlohmann::json;

bool IsDeCode(std::string_view code) {
  return code.size() > 2 && code[0] == 'D' && code[1] == 'E' && code[2] >= '0' && code[2] <= '9';
}

// Sets obj[key] to the number HL7 v3 wrote ("6.8", "-1", "5.10", "1e3"):
// an integer when it has no fraction, else a double; when the JSON number
// would print differently from the source, the source text is kept beside it
// as "_<key>": {"extension":[{"url":"urn:hie:decimal","valueString":..}]}
// (the canonical model's convention). False when `text` is no number.
bool SetDecimal(json* obj, const std::string& key, const std::string& text) {
  if (text.empty() || text.size() > 40) return false;
  json value;
  const bool integral = text.find_first_of(".eE") == std::string::npos;
  int64_t i = 0;
  const char* begin = text.c_str() + (text[0] == '+' ? 1 : 0);
  auto [iend, iec] = std::from_chars(begin, text.c_str() + text.size(), i);
  if (integral && iec == std::errc() && iend == text.c_str() + text.size()) {
    value = i;
  } else {
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(d)) return false;
    value = d;
  }
  const std::string printed = value.dump();
  (*obj)[key] = std::move(value);
  if (printed != text) {
    (*obj)["_" + key] = {
        {"extension", json::array({{{"url", kExtDecimal}, {"valueString", text}}})}};
  }
  return true;
}

class Reader {
 public:
  Reader(const CdaOptions& options, const OidTable& oids) : opt_(options), oids_(oids) {}

  Result<json> Read(const xmlNode* root);
  std::vector<CdaWarning>& warnings() { return warnings_; }

 private:
  void Warn(const xmlNode* node, std::string message) {
    warnings_.push_back({XPathOf(node), std::move(message)});
  }
  static Status Error(ErrorCode code, const xmlNode* node, std::string message) {
    return Status(code, std::move(message), XPathOf(node));
  }

  json Coding(const xmlNode* cd) const;
  json Concept(const xmlNode* cd) const;
  void CheckSystem(const xmlNode* cd, std::initializer_list<const char*> expected,
                   const char* what);
  void CheckSystemName(const xmlNode* cd);
  Result<std::string> Time(const xmlNode* node, bool required = false);
  Result<json> Identifier(const xmlNode* id);

  Status ReadPatient(const xmlNode* root);
  json ReadName(const xmlNode* name) const;
  json ReadAddr(const xmlNode* addr) const;
  json ReadTelecom(const xmlNode* tel) const;
  Status ReadGender(const xmlNode* code, json* patient);
  Status ReadCustodian(const xmlNode* root);
  Status ReadEncounter(const xmlNode* root, const xmlNode* patient_role);
  Status ReadDocument(const xmlNode* root);
  Status ReadSection(const xmlNode* section, const std::string& parent_code);
  Status ReadEntry(const xmlNode* stmt, const std::string& section_code);
  Result<std::string> ReadResultObservation(const xmlNode* obs, const char* category,
                                            const std::string& section_code);
  Status ReadValue(const xmlNode* value, json* obs);
  Status ReadRanges(const xmlNode* obs, json* out);
  Status ReadWsLabPart(const xmlNode* obs, json* lab);
  Status ReadDiagnosis(const xmlNode* obs);
  Status ReadDataElement(const xmlNode* obs, const std::string& section_code);
  std::string Add(json resource, const char* prefix, int* counter);
  json Subject() const { return {{"reference", "Patient/p1"}}; }

  const CdaOptions& opt_;
  const OidTable& oids_;
  std::vector<CdaWarning> warnings_;
  bool chinese_realm_ = false;
  json entries_ = json::array();
  json patient_;
  json doc_ref_;
  json encounter_;
  json sections_ = json::array();
  json ws_report_ids_ = json::array();  // identifiers for the WS/T 500 lab report
  std::vector<std::string> ws_lab_results_;
  std::string ws_lab_category_;
  int current_lab_ = -1;  // entry index of the WS/T 500 lab item flat entries belong to
  int n_obs_ = 0, n_rep_ = 0, n_cond_ = 0;
  bool has_org_ = false;
};

std::string Reader::Add(json resource, const char* prefix, int* counter) {
  std::string id = std::string(prefix) + std::to_string(++*counter);
  resource["id"] = id;
  entries_.push_back({{"resource", std::move(resource)}});
  return id;
}

json Reader::Coding(const xmlNode* cd) const {
  json c = json::object();
  std::string code = Attr(cd, "code");
  std::string system = Attr(cd, "codeSystem");
  std::string system_name = Attr(cd, "codeSystemName");
  if (!system.empty()) {
    c["system"] = oids_.SystemForOid(system);
  } else if (!system_name.empty()) {
    // No OID: keep the name ("local:<facility>" written by this hub).
    c["system"] = system_name;
  }
  if (!code.empty()) c["code"] = code;
  std::string display = Attr(cd, "displayName");
  if (!display.empty()) c["display"] = display;
  return c;
}

json Reader::Concept(const xmlNode* cd) const {
  json cc = json::object();
  if (cd == nullptr) return cc;
  json codings = json::array();
  if (HasAttr(cd, "code")) codings.push_back(Coding(cd));
  for (const xmlNode* t : Children(cd, "translation")) {
    if (HasAttr(t, "code")) codings.push_back(Coding(t));
  }
  if (!codings.empty()) cc["coding"] = codings;
  if (const xmlNode* ot = Child(cd, "originalText")) {
    std::string text = Text(ot);
    if (!text.empty()) cc["text"] = text;
  }
  return cc;
}

void Reader::CheckSystem(const xmlNode* cd, std::initializer_list<const char*> expected,
                         const char* what) {
  if (cd == nullptr || !HasAttr(cd, "code")) return;
  std::string system = Attr(cd, "codeSystem");
  for (const char* e : expected) {
    if (system == e) return;
  }
  std::string want;
  for (const char* e : expected) want += (want.empty() ? "" : " / ") + std::string(e);
  Warn(cd, std::string(what) + " 的编码体系与模板不符 (code system mismatch): 期望 (expected) " +
               want + ", 实际 (found) " + (system.empty() ? "(none)" : system));
}

void Reader::CheckSystemName(const xmlNode* cd) {
  std::string system = Attr(cd, "codeSystem");
  std::string name = Attr(cd, "codeSystemName");
  if (system.empty() || name.empty()) return;
  const OidEntry* named = oids_.ByName(name);
  if (named != nullptr && named->oid != system) {
    Warn(cd, "codeSystemName “" + name + "” 指向另一编码体系 (codeSystemName names another code " +
                 "system): " + named->oid + " ≠ " + system);
  }
}

Result<std::string> Reader::Time(const xmlNode* node, bool required) {
  if (node == nullptr) return std::string();
  std::string value = Attr(node, "value");
  const xmlNode* at = node;
  if (value.empty()) {
    for (const char* part : {"low", "center", "high"}) {
      if (const xmlNode* p = Child(node, part); p != nullptr && HasAttr(p, "value")) {
        value = Attr(p, "value");
        at = p;
        break;
      }
    }
  }
  if (value.empty()) return std::string();
  auto fhir = TsToFhir(value, opt_.default_zone);
  if (!fhir) {
    if (!required) {
      Warn(at, "时间格式错误，已忽略 (malformed time ignored): " + value);
      return std::string();
    }
    return Error(ErrorCode::kInvalidArgument, at, "时间格式错误 (malformed time): " + value);
  }
  return *fhir;
}

Result<json> Reader::Identifier(const xmlNode* id) {
  std::string root = Attr(id, "root");
  std::string ext = Attr(id, "extension");
  if (root.empty()) {
    if (ext.empty() || HasAttr(id, "nullFlavor")) return json();
    return Error(ErrorCode::kInvalidArgument, id, "标识缺少 root (identifier without root)");
  }
  if (ext.empty()) {
    if (!LooksLikeOid(root)) return json{{"system", "urn:ietf:rfc:3986"}, {"value", root}};
    return json{{"system", "urn:ietf:rfc:3986"}, {"value", "urn:oid:" + root}};
  }
  return json{{"system", LooksLikeOid(root) ? "urn:oid:" + root : root}, {"value", ext}};
}

json Reader::ReadName(const xmlNode* name) const {
  json n = json::object();
  static const std::pair<const char*, const char*> kUses[] = {
      {"L", "official"}, {"P", "nickname"},  {"A", "anonymous"}, {"BR", "maiden"},
      {"C", "old"},      {"OR", "official"}, {"ASGN", "usual"},  {"TEMP", "temp"}};
  std::string use = Attr(name, "use");
  for (const auto& [code, fhir] : kUses) {
    if (use.substr(0, use.find(' ')) == code) n["use"] = fhir;
  }
  std::vector<std::string> given;
  std::string family;
  bool structured = false;
  for (const xmlNode* part : ElementChildren(name)) {
    std::string_view local = reinterpret_cast<const char*>(part->name);
    std::string text = Text(part);
    if (local == "given") {
      structured = true;
      if (!text.empty()) given.push_back(text);
    } else if (local == "family") {
      structured = true;
      if (!text.empty()) family += family.empty() ? text : " " + text;
    } else if (local == "prefix" || local == "suffix") {
      structured = true;
      if (!text.empty()) n[local == "prefix" ? "prefix" : "suffix"].push_back(text);
    }
  }
  if (!structured) {
    std::string text = Text(name);
    if (text.empty()) return json();
    n["text"] = text;
    std::string f, g;
    SplitChineseName(text, &f, &g);
    if (!f.empty()) {
      n["family"] = f;
      n["given"] = json::array({g});
    }
    return n;
  }
  if (!family.empty()) n["family"] = family;
  if (!given.empty()) n["given"] = given;
  std::string text;
  for (const auto& g : given) text += (text.empty() ? "" : " ") + g;
  if (!family.empty()) text += (text.empty() ? "" : " ") + family;
  if (!text.empty()) n["text"] = text;
  return n;
}

json Reader::ReadAddr(const xmlNode* addr) const {
  json a = json::object();
  std::string use = Attr(addr, "use");
  use = use.substr(0, use.find(' '));
  if (use == "H" || use == "HP" || use == "HV") a["use"] = "home";
  if (use == "WP" || use == "DIR" || use == "PUB") a["use"] = "work";
  if (use == "TMP") a["use"] = "temp";
  if (use == "OLD" || use == "BAD") a["use"] = "old";
  bool parts = false;
  for (const xmlNode* p : ElementChildren(addr)) {
    std::string_view local = reinterpret_cast<const char*>(p->name);
    std::string text = Text(p);
    if (local == "useablePeriod") continue;
    parts = true;
    if (text.empty()) continue;
    if (local == "streetAddressLine") a["line"].push_back(text);
    if (local == "city") a["city"] = text;
    if (local == "state") a["state"] = text;
    if (local == "postalCode") a["postalCode"] = text;
    if (local == "country") a["country"] = text;
    if (local == "county") a["district"] = text;
    // WS/T 500 parts (township is a realm element unknown to the CDA schema).
    if (local == "township")
      a["extension"].push_back({{"url", kExtTownship}, {"valueString", text}});
    if (local == "streetName") {
      a["extension"].push_back({{"url", kExtStreetName}, {"valueString", text}});
    }
    if (local == "houseNumber") {
      a["extension"].push_back({{"url", kExtHouseNumber}, {"valueString", text}});
    }
  }
  if (!parts) {
    std::string text = Text(addr);
    if (!text.empty()) a["text"] = text;
  }
  return a.empty() || (a.size() == 1 && a.contains("use")) ? json() : a;
}

json Reader::ReadTelecom(const xmlNode* tel) const {
  std::string value = Attr(tel, "value");
  if (value.empty()) return json();
  json t = json::object();
  if (value.starts_with("tel:")) {
    t["system"] = "phone";
    value = value.substr(4);
  } else if (value.starts_with("mailto:")) {
    t["system"] = "email";
    value = value.substr(7);
  } else if (value.starts_with("fax:")) {
    t["system"] = "fax";
    value = value.substr(4);
  } else if (value.starts_with("http:") || value.starts_with("https:")) {
    t["system"] = "url";
  } else {
    t["system"] = value.find('@') != std::string::npos ? "email" : "phone";
  }
  t["value"] = value;
  std::string use = Attr(tel, "use");
  use = use.substr(0, use.find(' '));
  if (use == "HP" || use == "H" || use == "HV") t["use"] = "home";
  if (use == "WP") t["use"] = "work";
  if (use == "MC") t["use"] = "mobile";
  if (use == "TMP") t["use"] = "temp";
  return t;
}

Status Reader::ReadGender(const xmlNode* code_node, json* patient) {
  if (code_node == nullptr) return Status::Ok();
  std::string code = Attr(code_node, "code");
  std::string system = Attr(code_node, "codeSystem");
  if (code.empty()) return Status::Ok();
  if (chinese_realm_) {
    CheckSystem(code_node, {kOidSexGb}, "性别代码 administrativeGenderCode");
  } else {
    CheckSystem(code_node, {kOidSexGb, kOidSexHl7}, "administrativeGenderCode");
  }
  CheckSystemName(code_node);
  std::string gender;
  bool gb = system == kOidSexGb || (system.empty() && code.size() == 1 &&
                                    std::isdigit(static_cast<unsigned char>(code[0])));
  if (system.empty() && gb) system = kOidSexGb;
  if (gb) {
    gender = code == "1"                    ? "male"
             : code == "2"                  ? "female"
             : (code == "0" || code == "9") ? "unknown"
                                            : "";
  } else {
    gender = code == "M" ? "male" : code == "F" ? "female" : code == "UN" ? "other" : "";
  }
  if (gender.empty()) {
    Warn(code_node, "无法识别的性别代码 (unknown sex code): " + code);
    gender = "unknown";
  }
  (*patient)["gender"] = gender;
  json coding = Coding(code_node);
  if (!coding.contains("system")) coding["system"] = oids_.SystemForOid(system);
  (*patient)["extension"].push_back(
      {{"url", kExtSex}, {"valueCodeableConcept", {{"coding", json::array({coding})}}}});
  return Status::Ok();
}

Status Reader::ReadPatient(const xmlNode* root) {
  const xmlNode* record_target = Child(root, "recordTarget");
  const xmlNode* role = Child(record_target, "patientRole");
  if (role == nullptr) {
    return Status(
        ErrorCode::kRequiredMissing,
        "缺少患者信息 recordTarget/patientRole (required element missing)",
        record_target ? XPathOf(record_target) + "/patientRole" : "/ClinicalDocument/recordTarget");
  }
  patient_ = {{"resourceType", "Patient"}};
  const xmlNode* person = Child(role, "patient");
  // The ID card (patient/id in WS/T 500) first, then the role's numbers.
  std::vector<const xmlNode*> ids = Children(person, "id");
  for (const xmlNode* id : Children(role, "id")) ids.push_back(id);
  for (const xmlNode* id : ids) {
    HIE_ASSIGN_OR_RETURN(json ident, Identifier(id));
    if (ident.is_null()) continue;
    std::string root_oid = Attr(id, "root");
    if (root_oid == kOidIdCard) {
      const std::string& v = ident["value"].get_ref<const std::string&>();
      if (v.size() != 18 && v.size() != 15) {
        Warn(id, "身份证号长度不是 15 或 18 位 (ID card number length is not 15 or 18)");
      }
    } else if (root_oid == kOidLabReportNo || root_oid == "2.16.156.10011.1.24" ||
               root_oid == "2.16.156.10011.1.14") {
      // Report, request and specimen numbers belong to the lab report.
      ws_report_ids_.push_back(ident);
      continue;
    } else if (root_oid.starts_with("2.16.156.10011.1.")) {
      std::string authority = Attr(id, "assigningAuthorityName");
      if (authority.starts_with("local:")) {
        ident["system"] = authority;
      } else if (!opt_.facility.empty()) {
        ident["system"] = "local:" + opt_.facility;
      }
      ident["type"] = {
          {"coding", json::array({{{"system", "http://terminology.hl7.org/CodeSystem/v2-0203"},
                                   {"code", "MR"}}})}};
      ident["extension"] =
          json::array({{{"url", kExtIdRoot}, {"valueOid", "urn:oid:" + root_oid}}});
    }
    patient_["identifier"].push_back(std::move(ident));
  }
  for (const xmlNode* addr : Children(role, "addr")) {
    if (json a = ReadAddr(addr); !a.is_null()) patient_["address"].push_back(std::move(a));
  }
  for (const xmlNode* tel : Children(role, "telecom")) {
    if (json t = ReadTelecom(tel); !t.is_null()) patient_["telecom"].push_back(std::move(t));
  }
  if (person != nullptr) {
    for (const xmlNode* name : Children(person, "name")) {
      if (json n = ReadName(name); !n.is_null()) patient_["name"].push_back(std::move(n));
    }
    HIE_RETURN_IF_ERROR(ReadGender(Child(person, "administrativeGenderCode"), &patient_));
    HIE_ASSIGN_OR_RETURN(std::string birth, Time(Child(person, "birthTime"), true));
    if (!birth.empty()) patient_["birthDate"] = birth.substr(0, 10);
    if (const xmlNode* marital = Child(person, "maritalStatusCode"); HasAttr(marital, "code")) {
      patient_["maritalStatus"] = Concept(marital);
    }
  }
  HIE_RETURN_IF_ERROR(ReadEncounter(root, role));
  return Status::Ok();
}

Status Reader::ReadEncounter(const xmlNode* root, const xmlNode* patient_role) {
  // WS/T 500 realm element: patientRole/patientType/patientTypeCode
  // (some templates spell it patienttypeCode).
  const xmlNode* type = Child(patient_role, "patientType");
  const xmlNode* type_code = Child(type, "patientTypeCode");
  if (type_code == nullptr) type_code = Child(type, "patienttypeCode");
  const xmlNode* enc = Path(root, {"componentOf", "encompassingEncounter"});
  if (type_code == nullptr && enc == nullptr) return Status::Ok();
  encounter_ = {{"resourceType", "Encounter"}, {"status", "finished"}, {"subject", Subject()}};
  // class is v3-ActCode as the canonical model has it; the WS 364 patient
  // type as received goes to extension urn:hie:patient-class.
  std::string act = "AMB";
  if (HasAttr(type_code, "code")) {
    CheckSystem(type_code, {kOidPatientType}, "患者类型代码 patientTypeCode");
    std::string code = Attr(type_code, "code");
    act = code == "2" ? "EMER" : code == "3" ? "IMP" : "AMB";
    encounter_["extension"] =
        json::array({{{"url", kExtPatientClass},
                      {"valueCodeableConcept", {{"coding", json::array({Coding(type_code)})}}}}});
  }
  encounter_["class"] = {{"system", "http://terminology.hl7.org/CodeSystem/v3-ActCode"},
                         {"code", act}};
  if (enc != nullptr) {
    for (const xmlNode* id : Children(enc, "id")) {
      HIE_ASSIGN_OR_RETURN(json ident, Identifier(id));
      if (!ident.is_null()) encounter_["identifier"].push_back(std::move(ident));
    }
    if (const xmlNode* code = Child(enc, "code"); HasAttr(code, "code")) {
      encounter_["type"].push_back(Concept(code));
    }
    if (const xmlNode* et = Child(enc, "effectiveTime")) {
      HIE_ASSIGN_OR_RETURN(std::string start, Time(Child(et, "low") ? Child(et, "low") : et));
      HIE_ASSIGN_OR_RETURN(std::string end, Time(Child(et, "high")));
      if (!start.empty()) encounter_["period"]["start"] = start;
      if (!end.empty()) encounter_["period"]["end"] = end;
    }
  }
  return Status::Ok();
}

Status Reader::ReadCustodian(const xmlNode* root) {
  const xmlNode* org =
      Path(root, {"custodian", "assignedCustodian", "representedCustodianOrganization"});
  if (org == nullptr) return Status::Ok();
  json o = {{"resourceType", "Organization"}, {"id", "org1"}};
  for (const xmlNode* id : Children(org, "id")) {
    HIE_ASSIGN_OR_RETURN(json ident, Identifier(id));
    if (!ident.is_null()) o["identifier"].push_back(std::move(ident));
  }
  if (std::string name = Text(Child(org, "name")); !name.empty()) o["name"] = name;
  for (const xmlNode* tel : Children(org, "telecom")) {
    if (json t = ReadTelecom(tel); !t.is_null()) o["telecom"].push_back(std::move(t));
  }
  for (const xmlNode* addr : Children(org, "addr")) {
    if (json a = ReadAddr(addr); !a.is_null()) o["address"].push_back(std::move(a));
  }
  entries_.push_back({{"resource", std::move(o)}});
  has_org_ = true;
  return Status::Ok();
}

Status Reader::ReadValue(const xmlNode* value, json* obs) {
  if (value == nullptr ||
      (HasAttr(value, "nullFlavor") && !HasAttr(value, "value") && !HasAttr(value, "code"))) {
    return Status::Ok();
  }
  std::string type = XsiType(value);
  auto quantity = [&](const xmlNode* pq, json* out) -> Status {
    std::string v = Attr(pq, "value");
    if (!SetDecimal(out, "value", v)) {
      return Error(ErrorCode::kInvalidArgument, pq, "数值格式错误 (malformed number): " + v);
    }
    if (std::string unit = Attr(pq, "unit"); !unit.empty() && unit != "1") (*out)["unit"] = unit;
    return Status::Ok();
  };
  if (type == "PQ" || type == "REAL" || type == "INT" || type == "MO") {
    json q = json::object();
    HIE_RETURN_IF_ERROR(quantity(value, &q));
    if (type == "MO" && HasAttr(value, "currency")) q["unit"] = Attr(value, "currency");
    (*obs)["valueQuantity"] = q;
  } else if (type == "IVL_PQ") {
    const xmlNode* low = Child(value, "low");
    const xmlNode* high = Child(value, "high");
    json q = json::object();
    // "<5" / "<=5" come as an interval with only (or a zero) low bound.
    bool low_open = low == nullptr || Attr(low, "value").empty() || Attr(low, "value") == "0";
    if (high != nullptr && HasAttr(high, "value") && low_open) {
      HIE_RETURN_IF_ERROR(quantity(high, &q));
      q["comparator"] = Attr(high, "inclusive") == "false" ? "<" : "<=";
    } else if (low != nullptr && HasAttr(low, "value") &&
               (high == nullptr || !HasAttr(high, "value"))) {
      HIE_RETURN_IF_ERROR(quantity(low, &q));
      q["comparator"] = Attr(low, "inclusive") == "false" ? ">" : ">=";
    } else {
      (*obs)["valueString"] = Text(value);
      return Status::Ok();
    }
    (*obs)["valueQuantity"] = q;
  } else if (type == "CD" || type == "CE" || type == "CV" || type == "CO") {
    CheckSystemName(value);
    json cc = Concept(value);
    if (!cc.empty()) (*obs)["valueCodeableConcept"] = cc;
  } else if (type == "BL") {
    (*obs)["valueBoolean"] = Attr(value, "value") == "true";
  } else if (type == "TS") {
    HIE_ASSIGN_OR_RETURN(std::string t, Time(value, true));
    if (!t.empty()) (*obs)["valueDateTime"] = t;
  } else {
    // ST, ED, SC and untyped values.
    std::string text = Text(value);
    if (!text.empty()) (*obs)["valueString"] = text;
  }
  return Status::Ok();
}

Status Reader::ReadRanges(const xmlNode* obs, json* out) {
  for (const xmlNode* interp : Children(obs, "interpretationCode")) {
    if (!HasAttr(interp, "code")) continue;
    CheckSystem(interp, {kOidInterpretation}, "interpretationCode");
    (*out)["interpretation"].push_back(Concept(interp));
  }
  for (const xmlNode* rr : Children(obs, "referenceRange")) {
    const xmlNode* range = Child(rr, "observationRange");
    if (range == nullptr) continue;
    json r = json::object();
    if (const xmlNode* v = Child(range, "value")) {
      for (const char* bound : {"low", "high"}) {
        const xmlNode* b = Child(v, bound);
        if (b == nullptr || !HasAttr(b, "value")) continue;
        json q = json::object();
        if (!SetDecimal(&q, "value", Attr(b, "value"))) {
          return Error(ErrorCode::kInvalidArgument, b,
                       "参考范围数值格式错误 (malformed reference range): " + Attr(b, "value"));
        }
        r[bound] = std::move(q);
        if (std::string unit = Attr(b, "unit"); !unit.empty() && unit != "1") {
          r[bound]["unit"] = unit;
        }
      }
      if (r.empty() && !Text(v).empty()) r["text"] = Text(v);
    }
    if (const xmlNode* text = Child(range, "text"); text != nullptr && !Text(text).empty()) {
      r["text"] = Text(text);
    }
    if (!r.empty()) (*out)["referenceRange"].push_back(std::move(r));
  }
  return Status::Ok();
}

Result<std::string> Reader::ReadResultObservation(const xmlNode* obs, const char* category,
                                                  const std::string& section_code) {
  json o = {{"resourceType", "Observation"}, {"subject", Subject()}};
  std::string status = Attr(Child(obs, "statusCode"), "code");
  o["status"] = status == "active"                             ? "preliminary"
                : status == "aborted" || status == "cancelled" ? "cancelled"
                                                               : "final";
  o["category"] = json::array(
      {{{"coding",
         json::array({{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                       {"code", category}}})}}});
  const xmlNode* code = Child(obs, "code");
  CheckSystemName(code);
  json cc = Concept(code);
  if (cc.empty()) {
    if (std::string t = Text(Child(obs, "text")); !t.empty()) cc["text"] = t;
  }
  o["code"] = cc;
  HIE_ASSIGN_OR_RETURN(std::string when, Time(Child(obs, "effectiveTime")));
  if (!when.empty()) o["effectiveDateTime"] = when;
  for (const xmlNode* id : Children(obs, "id")) {
    HIE_ASSIGN_OR_RETURN(json ident, Identifier(id));
    if (!ident.is_null()) o["identifier"].push_back(std::move(ident));
  }
  HIE_RETURN_IF_ERROR(ReadValue(Child(obs, "value"), &o));
  HIE_RETURN_IF_ERROR(ReadRanges(obs, &o));
  if (std::string_view(category) != "laboratory" && !section_code.empty()) {
    o["extension"].push_back({{"url", kExtSection}, {"valueCode", section_code}});
  }
  return Add(std::move(o), "o", &n_obs_);
}

Status Reader::ReadWsLabPart(const xmlNode* obs, json* lab) {
  std::string de = Attr(Child(obs, "code"), "code");
  if (de == kDeLabQuantity || de == kDeLabResultCode) {
    HIE_RETURN_IF_ERROR(ReadValue(Child(obs, "value"), lab));
    HIE_RETURN_IF_ERROR(ReadRanges(obs, lab));
  } else if (de == kDeLabUnit) {
    if (std::string unit = Text(Child(obs, "value"));
        !unit.empty() && lab->contains("valueQuantity")) {
      (*lab)["valueQuantity"]["unit"] = unit;
    }
  } else if (de == kDeSpecimen) {
    if (std::string s = Text(Child(obs, "value")); !s.empty()) {
      (*lab)["extension"].push_back({{"url", "urn:hie:specimen"}, {"valueString", s}});
    }
  }
  for (const xmlNode* rel : Children(obs, "entryRelationship")) {
    if (const xmlNode* inner = Child(rel, "observation")) {
      HIE_RETURN_IF_ERROR(ReadWsLabPart(inner, lab));
    }
  }
  return Status::Ok();
}

Status Reader::ReadDiagnosis(const xmlNode* obs) {
  const xmlNode* value = Child(obs, "value");
  json c = {{"resourceType", "Condition"}, {"subject", Subject()}};
  CheckSystem(value, {kOidIcd10Cn, "2.16.156.10011.2.3.3.11", "2.16.840.1.113883.6.3"},
              "诊断代码 (diagnosis code)");
  CheckSystemName(value);
  json cc = Concept(value);
  if (cc.empty()) {
    if (std::string t = Text(value); !t.empty()) cc["text"] = t;
  }
  if (cc.empty()) return Status::Ok();
  c["code"] = cc;
  HIE_ASSIGN_OR_RETURN(std::string when, Time(Child(obs, "effectiveTime")));
  if (!when.empty()) c["recordedDate"] = when;
  Add(std::move(c), "c", &n_cond_);
  return Status::Ok();
}

Status Reader::ReadDataElement(const xmlNode* obs, const std::string& section_code) {
  const xmlNode* code = Child(obs, "code");
  CheckSystem(code, {kOidDataElements}, "数据元编码 (data element code)");
  CheckSystemName(code);
  json o = {{"resourceType", "Observation"}, {"status", "final"}, {"subject", Subject()}};
  o["code"] = Concept(code);
  HIE_ASSIGN_OR_RETURN(std::string when, Time(Child(obs, "effectiveTime")));
  if (!when.empty()) o["effectiveDateTime"] = when;
  HIE_RETURN_IF_ERROR(ReadValue(Child(obs, "value"), &o));
  HIE_RETURN_IF_ERROR(ReadRanges(obs, &o));
  if (!section_code.empty()) {
    o["extension"].push_back({{"url", kExtSection}, {"valueCode", section_code}});
  }
  // WS/T 500 nests further data elements under entryRelationship; each
  // becomes its own Observation (a value-less grouping element is dropped).
  std::vector<const xmlNode*> nested;
  for (const xmlNode* rel : Children(obs, "entryRelationship")) {
    const xmlNode* inner = Child(rel, "observation");
    if (inner != nullptr && IsDeCode(Attr(Child(inner, "code"), "code"))) nested.push_back(inner);
  }
  bool has_value = o.contains("valueString") || o.contains("valueQuantity") ||
                   o.contains("valueCodeableConcept") || o.contains("valueBoolean") ||
                   o.contains("valueDateTime");
  if (has_value || nested.empty()) Add(std::move(o), "o", &n_obs_);
  for (const xmlNode* inner : nested) {
    HIE_RETURN_IF_ERROR(ReadDataElement(inner, section_code));
  }
  return Status::Ok();
}

Status Reader::ReadEntry(const xmlNode* stmt, const std::string& section_code) {
  const bool results = section_code == "30954-2";
  if (IsHl7(stmt, "organizer")) {
    const char* category = results                    ? "laboratory"
                           : section_code == "8716-3" ? "vital-signs"
                                                      : "exam";
    std::vector<std::string> refs;
    for (const xmlNode* comp : Children(stmt, "component")) {
      const xmlNode* obs = Child(comp, "observation");
      if (obs == nullptr) continue;
      HIE_ASSIGN_OR_RETURN(std::string id, ReadResultObservation(obs, category, section_code));
      refs.push_back(id);
    }
    if (!results || refs.empty()) return Status::Ok();
    json r = {{"resourceType", "DiagnosticReport"}, {"subject", Subject()}};
    std::string status = Attr(Child(stmt, "statusCode"), "code");
    r["status"] = status == "active" ? "partial" : "final";
    r["category"] =
        json::array({{{"coding", json::array({{{"system", "HL7 0074"}, {"code", "LAB"}}})}}});
    json cc = Concept(Child(stmt, "code"));
    r["code"] = cc.empty() ? json{{"text", "Results"}} : cc;
    for (const xmlNode* id : Children(stmt, "id")) {
      HIE_ASSIGN_OR_RETURN(json ident, Identifier(id));
      if (!ident.is_null()) r["identifier"].push_back(std::move(ident));
    }
    HIE_ASSIGN_OR_RETURN(std::string when, Time(Child(stmt, "effectiveTime")));
    if (!when.empty()) r["effectiveDateTime"] = when;
    for (const auto& id : refs) r["result"].push_back({{"reference", "Observation/" + id}});
    Add(std::move(r), "r", &n_rep_);
    return Status::Ok();
  }
  if (IsHl7(stmt, "act") && section_code == "11450-4") {
    // C-CDA problem concern: the problems are its observations' values.
    for (const xmlNode* rel : Children(stmt, "entryRelationship")) {
      const xmlNode* obs = Child(rel, "observation");
      if (obs == nullptr) continue;
      json cc = Concept(Child(obs, "value"));
      if (cc.empty()) continue;
      json c = {{"resourceType", "Condition"}, {"subject", Subject()}, {"code", cc}};
      if (const xmlNode* et = Child(obs, "effectiveTime")) {
        HIE_ASSIGN_OR_RETURN(std::string onset, Time(Child(et, "low") ? Child(et, "low") : et));
        if (!onset.empty()) c["onsetDateTime"] = onset;
      }
      Add(std::move(c), "c", &n_cond_);
    }
    return Status::Ok();
  }
  if (!IsHl7(stmt, "observation")) return Status::Ok();
  const xmlNode* code = Child(stmt, "code");
  std::string c = Attr(code, "code");
  if (IsDeCode(c) || Attr(code, "codeSystem") == kOidDataElements) {
    if (c == kDeLabItem) {
      CheckSystem(code, {kOidDataElements}, "数据元编码 (data element code)");
      // The item code WS/T 500 lacks travels as translations of the DE code.
      std::string status = Attr(Child(stmt, "statusCode"), "code");
      json lab = {{"resourceType", "Observation"},
                  {"status", status == "active"                             ? "preliminary"
                             : status == "aborted" || status == "cancelled" ? "cancelled"
                                                                            : "final"},
                  {"subject", Subject()}};
      lab["category"] = json::array(
          {{{"coding",
             json::array({{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                           {"code", "laboratory"}}})}}});
      json cc = json::object();
      for (const xmlNode* t : Children(code, "translation")) {
        if (HasAttr(t, "code")) cc["coding"].push_back(Coding(t));
      }
      if (std::string name = Text(Child(stmt, "value")); !name.empty()) cc["text"] = name;
      lab["code"] = cc;
      HIE_ASSIGN_OR_RETURN(std::string when, Time(Child(stmt, "effectiveTime")));
      if (!when.empty()) lab["effectiveDateTime"] = when;
      HIE_RETURN_IF_ERROR(ReadRanges(stmt, &lab));
      for (const xmlNode* rel : Children(stmt, "entryRelationship")) {
        if (const xmlNode* inner = Child(rel, "observation")) {
          HIE_RETURN_IF_ERROR(ReadWsLabPart(inner, &lab));
        }
      }
      std::string id = Add(std::move(lab), "o", &n_obs_);
      ws_lab_results_.push_back(id);
      current_lab_ = static_cast<int>(entries_.size()) - 1;
      return Status::Ok();
    }
    if ((c == kDeLabQuantity || c == kDeLabResultCode || c == kDeLabUnit) && current_lab_ >= 0) {
      // Flat WS/T 500 layout: result entries follow their item entry.
      return ReadWsLabPart(stmt, &entries_[current_lab_]["resource"]);
    }
    if (c == kDeDiagnosis) return ReadDiagnosis(stmt);
    if (c == kDeLabCategory && section_code == "30954-2") {
      ws_lab_category_ = Text(Child(stmt, "value"));  // names the lab report
      return Status::Ok();
    }
    return ReadDataElement(stmt, section_code);
  }
  const char* category = results                     ? "laboratory"
                         : section_code == "8716-3"  ? "vital-signs"
                         : section_code == "29762-2" ? "social-history"
                                                     : "exam";
  return ReadResultObservation(stmt, category, section_code).status();
}

Status Reader::ReadSection(const xmlNode* section, const std::string& parent_code) {
  const xmlNode* code = Child(section, "code");
  std::string section_code = Attr(code, "code");
  if (!HasAttr(code, "code")) {
    Warn(code ? code : section, "章节缺少 LOINC 编码 (section without LOINC code)");
  } else {
    // LOINC; DICOM section codes (DCM) are legitimate in imaging reports.
    CheckSystem(code, {kOidLoinc, "1.2.840.10008.2.16.4"}, "章节编码 (section code)");
    CheckSystemName(code);
  }
  json ext = {{"url", kExtSection}, {"extension", json::array()}};
  if (HasAttr(code, "code"))
    ext["extension"].push_back({{"url", "code"}, {"valueCoding", Coding(code)}});
  if (std::string title = Text(Child(section, "title")); !title.empty()) {
    ext["extension"].push_back({{"url", "title"}, {"valueString", title}});
  }
  if (std::string text = Text(Child(section, "text")); !text.empty()) {
    ext["extension"].push_back({{"url", "text"}, {"valueString", text}});
  }
  if (!parent_code.empty()) {
    ext["extension"].push_back({{"url", "parent"}, {"valueCode", parent_code}});
  }
  sections_.push_back(std::move(ext));
  current_lab_ = -1;
  for (const xmlNode* entry : Children(section, "entry")) {
    for (const xmlNode* stmt : ElementChildren(entry)) {
      HIE_RETURN_IF_ERROR(ReadEntry(stmt, section_code));
    }
  }
  current_lab_ = -1;
  for (const xmlNode* comp : Children(section, "component")) {
    if (const xmlNode* sub = Child(comp, "section")) {
      HIE_RETURN_IF_ERROR(ReadSection(sub, section_code));
    }
  }
  return Status::Ok();
}

Status Reader::ReadDocument(const xmlNode* root) {
  doc_ref_ = {{"resourceType", "DocumentReference"}, {"id", "d1"}, {"status", "current"}};
  doc_ref_["subject"] = Subject();
  for (const xmlNode* t : Children(root, "templateId")) {
    std::string tid = Attr(t, "root");
    if (!Attr(t, "extension").empty()) tid += ":" + Attr(t, "extension");
    if (!tid.empty())
      doc_ref_["extension"].push_back({{"url", kExtTemplate}, {"valueString", tid}});
  }
  if (const xmlNode* id = Child(root, "id")) {
    HIE_ASSIGN_OR_RETURN(json ident, Identifier(id));
    if (!ident.is_null()) doc_ref_["identifier"].push_back(std::move(ident));
  }
  const xmlNode* code = Child(root, "code");
  std::string title = Text(Child(root, "title"));
  if (std::string c = Attr(code, "code");
      c.size() == 5 && c[0] == 'C' && std::isdigit(static_cast<unsigned char>(c[1]))) {
    CheckSystem(code, {kOidDocumentCodes}, "文档类型编码 (document type code)");
  }
  CheckSystemName(code);
  json type = Concept(code);
  if (!title.empty()) {
    type["text"] = title;
    doc_ref_["description"] = title;
  }
  if (!type.empty()) doc_ref_["type"] = type;
  const xmlNode* eff = Child(root, "effectiveTime");
  HIE_ASSIGN_OR_RETURN(std::string date, Time(eff, true));
  if (!date.empty()) doc_ref_["date"] = date;
  if (const xmlNode* conf = Child(root, "confidentialityCode"); HasAttr(conf, "code")) {
    doc_ref_["securityLabel"].push_back(Concept(conf));
  }
  for (const xmlNode* author : Children(root, "author")) {
    const xmlNode* assigned = Child(author, "assignedAuthor");
    json a = json::object();
    if (std::string name = Text(Path(assigned, {"assignedPerson", "name"})); !name.empty()) {
      a["display"] = name;
    } else if (std::string org = Text(Path(assigned, {"representedOrganization", "name"}));
               !org.empty()) {
      a["display"] = org;
    } else if (std::string dev = Text(Path(assigned, {"assignedAuthoringDevice", "softwareName"}));
               !dev.empty()) {
      a["display"] = dev;
    }
    if (const xmlNode* id = Child(assigned, "id")) {
      HIE_ASSIGN_OR_RETURN(json ident, Identifier(id));
      if (!ident.is_null()) a["identifier"] = std::move(ident);
    }
    if (!a.empty()) doc_ref_["author"].push_back(std::move(a));
  }
  if (has_org_) doc_ref_["custodian"] = {{"reference", "Organization/org1"}};
  json attachment = {{"contentType", "application/hl7-cda+xml"}};
  if (std::string lang = Attr(Child(root, "languageCode"), "code"); !lang.empty()) {
    attachment["language"] = lang;
  }
  if (!title.empty()) attachment["title"] = title;
  const xmlNode* body = Child(root, "component");
  if (const xmlNode* non_xml = Child(body, "nonXMLBody")) {
    const xmlNode* text = Child(non_xml, "text");
    if (std::string media = Attr(text, "mediaType"); !media.empty()) {
      attachment["contentType"] = media;
    }
    if (const xmlNode* ref = Child(text, "reference")) {
      attachment["url"] = Attr(ref, "value");
    } else if (Attr(text, "representation") == "B64") {
      std::string data;
      for (char ch : Text(text)) {
        if (ch != ' ') data.push_back(ch);
      }
      attachment["data"] = data;
    } else if (std::string plain = Text(text); !plain.empty()) {
      attachment["data"] = plain;  // plain text body kept as is
    }
  }
  doc_ref_["content"] = json::array({{{"attachment", attachment}}});
  if (const xmlNode* structured = Child(body, "structuredBody")) {
    for (const xmlNode* comp : Children(structured, "component")) {
      if (const xmlNode* section = Child(comp, "section")) {
        HIE_RETURN_IF_ERROR(ReadSection(section, ""));
      }
    }
  }
  return Status::Ok();
}

Result<json> Reader::Read(const xmlNode* root) {
  if (!IsHl7(root, "ClinicalDocument")) {
    return Error(ErrorCode::kParseError, root,
                 "根元素不是 ClinicalDocument (root element is not ClinicalDocument)");
  }
  if (root->ns == nullptr) {
    Warn(root, "缺少 HL7 v3 命名空间 (missing namespace urn:hl7-org:v3)");
  }
  chinese_realm_ = Attr(Child(root, "realmCode"), "code") == "CN";
  for (const xmlNode* t : Children(root, "templateId")) {
    if (Attr(t, "root").starts_with("2.16.156.10011.")) chinese_realm_ = true;
  }
  HIE_RETURN_IF_ERROR(ReadPatient(root));
  HIE_RETURN_IF_ERROR(ReadCustodian(root));
  HIE_RETURN_IF_ERROR(ReadDocument(root));
  if (!ws_lab_results_.empty()) {
    json r = {{"resourceType", "DiagnosticReport"}, {"status", "final"}, {"subject", Subject()}};
    r["category"] =
        json::array({{{"coding", json::array({{{"system", "HL7 0074"}, {"code", "LAB"}}})}}});
    r["code"] = !ws_lab_category_.empty()   ? json{{"text", ws_lab_category_}}
                : doc_ref_.contains("type") ? doc_ref_["type"]
                                            : json{{"text", "检验报告"}};
    if (!ws_report_ids_.empty()) r["identifier"] = ws_report_ids_;
    if (doc_ref_.contains("date")) r["issued"] = doc_ref_["date"];
    for (const auto& id : ws_lab_results_)
      r["result"].push_back({{"reference", "Observation/" + id}});
    Add(std::move(r), "r", &n_rep_);
  }
  for (auto& s : sections_) doc_ref_["extension"].push_back(std::move(s));
  for (const auto& w : warnings_) {
    doc_ref_["extension"].push_back(
        {{"url", kExtWarning}, {"valueString", w.message + " (" + w.where + ")"}});
  }
  json out = {{"resourceType", "Bundle"}, {"type", "collection"}};
  json list = json::array();
  patient_["id"] = "p1";
  list.push_back({{"resource", std::move(patient_)}});
  if (!encounter_.is_null()) {
    encounter_["id"] = "e1";
    list.push_back({{"resource", std::move(encounter_)}});
  }
  list.push_back({{"resource", std::move(doc_ref_)}});
  for (auto& e : entries_) list.push_back(std::move(e));
  out["entry"] = std::move(list);
  return out;
}

}  // namespace

Result<nlohmann::json> ReadCda(std::string_view xml, const CdaOptions& options,
                               std::vector<CdaWarning>* warnings) {
  std::shared_ptr<const OidTable> table = options.oid_table;
  if (!table && !options.oid_systems_csv.empty()) {
    HIE_ASSIGN_OR_RETURN(table, OidTable::LoadFile(options.oid_systems_csv));
  }
  if (!table) table = OidTable::BuiltIn();
  HIE_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXmlSafely(xml, options.limits));
  Reader reader(options, *table);
  HIE_ASSIGN_OR_RETURN(json bundle, reader.Read(xmlDocGetRootElement(doc.get())));
  if (warnings != nullptr) *warnings = std::move(reader.warnings());
  return bundle;
}

}  // namespace hie::cda
