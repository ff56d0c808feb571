#include "mappings/canonical/v2_to_canonical.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "mappings/canonical/v2_types.h"
#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/msh.h"

namespace hie::canonical {

using nlohmann::json;
using v2::Comp;
using v2::Reps;
using v2::Sub;
using v2::Text;

namespace {

constexpr std::array<std::string_view, 8> kMappedTypes = {
    "ADT^A01", "ADT^A04", "ADT^A08", "ADT^A28", "ADT^A31", "ADT^A40", "ORU^R01", "DFT^P03"};

// HL7 table 0078 flags (v2.5); anything else is a local flag.
constexpr std::array<std::string_view, 26> kHl70078 = {
    "L", "H", "LL", "HH", "<",  ">",   "N",   "A",  "AA", "U",   "D",   "B",   "W",
    "S", "R", "I",  "MS", "VS", "NEG", "POS", "NR", "RR", "QCF", "TOX", "IND", "null"};

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return s;
}

bool LooksLikeOid(std::string_view s) {
  if (s.size() < 3 || s.find('.') == std::string_view::npos) {
    return false;
  }
  return s.find_first_not_of("0123456789.") == std::string_view::npos;
}

json TypeConcept(std::string_view code) {
  return json{{"coding", json::array({json{{"system", std::string(kIdentifierTypeSystem)},
                                           {"code", std::string(code)}}})}};
}

// "3.5-5.5", "<5", "<=5", ">10", ">=10" -> low/high; the text is always kept.
json ReferenceRange(const std::string& text, const json& unit) {
  json rr = json::object();
  auto quantity = [&](std::string_view num) -> json {
    json q = json::object();
    if (!SetDecimal(q, "value", num)) {
      return nullptr;
    }
    if (unit.is_string()) {
      q["unit"] = unit;
    }
    return q;
  };
  auto set = [&](const char* key, std::string_view num) {
    json q = quantity(num);
    if (!q.is_null()) {
      rr[key] = std::move(q);
    }
  };
  std::string_view t = text;
  if (t.rfind("<=", 0) == 0 || t.rfind(">=", 0) == 0) {
    set(t[0] == '<' ? "high" : "low", t.substr(2));
  } else if (!t.empty() && (t[0] == '<' || t[0] == '>')) {
    set(t[0] == '<' ? "high" : "low", t.substr(1));
  } else {
    size_t dash = t.find('-', 1);
    if (dash == std::string_view::npos) {
      dash = t.find('~', 1);
    }
    if (dash != std::string_view::npos) {
      json lo = quantity(t.substr(0, dash)), hi = quantity(t.substr(dash + 1));
      if (!lo.is_null() && !hi.is_null()) {
        rr["low"] = std::move(lo);
        rr["high"] = std::move(hi);
      }
    }
  }
  rr["text"] = text;
  return rr;
}

class Mapper {
 public:
  Mapper(const Er7Message& m, std::string_view facility, const V2ReadOptions& options)
      : m_(m), d_(m.delimiters()), opt_(options), facility_(facility), bundle_(NewBundle()) {}

  Result<CanonicalMessage> Run() {
    CanonicalMessage out;
    auto msh = m_.FindSegment("MSH");
    if (msh && facility_.empty()) facility_ = Comp(m_.field(*msh, 4), d_, 1);
    out.facility = facility_;
    if (!msh) {
      return Status(ErrorCode::kParseError, "缺少 MSH 段 (missing MSH segment)", "MSH");
    }
    const std::string code = Upper(Comp(m_.field(*msh, 9), d_, 1));
    const std::string trigger = Upper(Comp(m_.field(*msh, 9), d_, 2));
    out.message_type = code + "^" + trigger;
    if (!IsMappedV2Type(out.message_type)) {
      return Status(
          ErrorCode::kUnsupportedType,
          "不支持的消息类型 (unsupported message type): " + out.message_type.substr(0, 20),
          "MSH-9");
    }
    out.control_id = Comp(m_.field(*msh, 10), d_, 1);
    if (out.control_id.empty()) {
      return Status(ErrorCode::kRequiredMissing, "缺少消息控制号 (missing message control id)",
                    "MSH-10");
    }
    if (!m_.FindSegment("PID")) {
      return Status(ErrorCode::kRequiredMissing, "缺少 PID 段 (missing PID segment)", "PID");
    }
    if (out.message_type == "ADT^A40" && !m_.FindSegment("MRG")) {
      return Status(ErrorCode::kRequiredMissing, "合并消息缺少 MRG 段 (missing MRG segment)",
                    "MRG");
    }
    for (seg_ = 0; seg_ < m_.segment_count(); ++seg_) {
      id_ = std::string(m_.segment_id(seg_));
      occ_ = ++occurrences_[id_];
      Status st;
      if (id_ == "MSH") {
        st = MapMsh();
      } else if (id_ == "PID") {
        st = MapPid();
      } else if (id_ == "MRG") {
        st = MapMrg();
      } else if (id_ == "PV1") {
        st = MapPv1();
      } else if (id_ == "OBR") {
        st = MapObr();
      } else if (id_ == "OBX") {
        st = MapObx();
      } else if (id_ == "NTE") {
        MapNte();
      } else if (id_ == "DG1") {
        st = MapDg1();
      } else if (id_ == "FT1") {
        st = MapFt1();
      } else if (!id_.empty() && id_[0] == 'Z') {
        KeepZSegment();
      }
      if (!st.ok()) {
        return st;
      }
    }
    FinishEob();
    out.bundle = std::move(bundle_);
    return out;
  }

 private:
  std::string_view F(size_t n) const { return m_.field(seg_, n); }
  std::string C(size_t n, size_t comp = 1) const { return Comp(F(n), d_, comp); }
  std::string Where(size_t n) const {
    return id_ + (occ_ > 1 ? "[" + std::to_string(occ_) + "]" : "") + "-" + std::to_string(n);
  }
  std::string NewId(const std::string& prefix) { return prefix + std::to_string(++ids_[prefix]); }
  json& Entry(size_t idx) { return bundle_["entry"][idx]["resource"]; }
  size_t Add(json r) {
    AddEntry(bundle_, std::move(r));
    return bundle_["entry"].size() - 1;
  }
  std::string Local() const { return LocalSystem(facility_); }

  // Component 1 of field n as a FHIR time, or nullopt when empty.
  Result<std::optional<std::string>> Time(size_t n, size_t comp = 1) {
    const std::string ts = Comp(F(n), d_, comp);
    if (ts.empty() || ts == "\"\"") {
      return std::optional<std::string>();
    }
    auto t = V2TimeToFhir(ts, Where(n));
    if (!t.ok()) {
      HIE_RETURN_IF_ERROR(Tolerate(t.status()));
      return std::optional<std::string>();
    }
    return std::optional<std::string>(std::move(t).value());
  }
  // In lenient mode records `st` as a warning and returns OK; else `st`.
  Status Tolerate(Status st) {
    if (!opt_.lenient) {
      return st;
    }
    if (opt_.warnings != nullptr) {
      opt_.warnings->push_back(std::move(st));
    }
    return Status::Ok();
  }
  Status SetTime(json& obj, const char* key, size_t n, size_t comp = 1) {
    HIE_ASSIGN_OR_RETURN(auto t, Time(n, comp));
    if (t) {
      obj[key] = *t;
    }
    return Status::Ok();
  }
  void SetCE(json& obj, const char* key, size_t n, std::string_view default_system) {
    json cc =
        v2::ReadCE(Reps(F(n), d_).empty() ? "" : Reps(F(n), d_)[0], d_, facility_, default_system);
    if (!cc.is_null()) {
      obj[key] = std::move(cc);
    }
  }
  static void AddExtension(json& obj, std::string_view url, json value,
                           const char* type = "valueCodeableConcept") {
    if (value.is_null()) {
      return;
    }
    obj["extension"].push_back(json{{"url", std::string(url)}, {type, std::move(value)}});
  }
  json Ref(const char* type, const std::string& id) const {
    return json{{"reference", std::string(type) + "/" + id}};
  }

  Status MapMsh() { return SetTime(bundle_, "timestamp", 7); }

  json Identifiers(std::string_view field) const {
    json out = json::array();
    for (std::string_view rep : Reps(field, d_)) {
      const std::string id = Comp(rep, d_, 1);
      if (id.empty() || id == "\"\"") {
        continue;
      }
      const std::string type = Upper(Comp(rep, d_, 5));
      const std::string ns = Sub(rep, d_, 4, 1), uid = Sub(rep, d_, 4, 2);
      const std::string uid_type = Upper(Sub(rep, d_, 4, 3));
      std::string system;
      if (!uid.empty()) {
        system = (uid_type == "ISO" || LooksLikeOid(uid)) ? "urn:oid:" + uid : uid;
      } else if (!ns.empty()) {
        system = LooksLikeOid(ns) ? "urn:oid:" + ns : LocalSystem(ns);
      }
      json ident = json::object();
      if (type == "NI" || system == kIdCardSystem) {
        ident["system"] = std::string(kIdCardSystem);
      } else if (type == "MR") {
        ident["type"] = TypeConcept("MR");
        ident["system"] = Local();
      } else {
        if (!type.empty()) {
          ident["type"] = TypeConcept(type);
        }
        if (!system.empty()) {
          ident["system"] = system;
        }
      }
      ident["value"] = id;
      out.push_back(std::move(ident));
    }
    return out;
  }

  Status MapPid() {
    json p = {{"resourceType", "Patient"}, {"id", NewId("p")}};
    patient_ = p["id"].get<std::string>();
    encounter_.clear();
    report_ = obs_ = std::nullopt;
    json ids = Identifiers(F(3));
    for (auto& i : Identifiers(F(2))) {
      ids.push_back(std::move(i));
    }
    if (!ids.empty()) {
      p["identifier"] = std::move(ids);
    }
    json names = json::array();
    for (std::string_view rep : Reps(F(5), d_)) {
      json n = v2::ReadXPN(rep, d_);
      if (!n.is_null()) {
        names.push_back(std::move(n));
      }
    }
    if (!names.empty()) {
      p["name"] = std::move(names);
    }
    json telecom = json::array();
    for (size_t f : {13, 14}) {
      for (std::string_view rep : Reps(F(f), d_)) {
        json t = v2::ReadXTN(rep, d_, f == 14);
        if (!t.is_null()) {
          telecom.push_back(std::move(t));
        }
      }
    }
    if (!telecom.empty()) {
      p["telecom"] = std::move(telecom);
    }
    const std::string sex = C(8);
    if (!sex.empty()) {
      std::string system = "HL7 0001", gender = "unknown";
      const std::string u = Upper(sex);
      if (u == "M") {
        gender = "male";
      }
      if (u == "F") {
        gender = "female";
      }
      if (u == "O" || u == "A") {
        gender = "other";
      }
      if (sex.find_first_not_of("0123456789") == std::string::npos) {
        system = "GB/T 2261.1";
        gender = sex == "1" ? "male" : sex == "2" ? "female" : "unknown";
      } else if (sex == "男" || sex == "女") {
        system = Local();
        gender = sex == "男" ? "male" : "female";
      } else if (u.size() > 1) {
        system = Local();
      }
      p["gender"] = gender;
      AddExtension(p, kSexExtension, MakeConcept(system, sex, ""));
    }
    HIE_ASSIGN_OR_RETURN(auto birth, Time(7));
    if (birth) {
      p["birthDate"] = birth->substr(0, 10);
    }
    json addresses = json::array();
    for (std::string_view rep : Reps(F(11), d_)) {
      json a = v2::ReadXAD(rep, d_);
      if (!a.is_null()) {
        addresses.push_back(std::move(a));
      }
    }
    if (!addresses.empty()) {
      p["address"] = std::move(addresses);
    }
    const std::string marital = C(16);
    SetCE(
        p, "maritalStatus", 16,
        marital.find_first_not_of("0123456789") == std::string::npos ? "GB/T 2261.2" : "HL7 0002");
    if (!C(22).empty()) {
      json eth = v2::ReadCE(Reps(F(22), d_)[0], d_, facility_, "GB 3304");
      AddExtension(p, kEthnicityExtension, std::move(eth));
    }
    HIE_ASSIGN_OR_RETURN(auto death, Time(29));
    if (death) {
      p["deceasedDateTime"] = *death;
    }
    Add(std::move(p));
    return Status::Ok();
  }

  Status MapMrg() {
    if (patient_.empty()) {
      return Status(ErrorCode::kSegmentSequence, "MRG 段须跟在 PID 后 (MRG must follow PID)",
                    Where(1));
    }
    json prior = {{"resourceType", "Patient"}, {"id", NewId("p")}, {"active", false}};
    json ids = Identifiers(F(1));
    for (auto& i : Identifiers(F(2))) {
      ids.push_back(std::move(i));
    }
    if (ids.empty()) {
      return Status(ErrorCode::kRequiredMissing,
                    "缺少原患者标识 (missing prior patient identifier)", Where(1));
    }
    prior["identifier"] = std::move(ids);
    json names = json::array();
    for (std::string_view rep : Reps(F(7), d_)) {
      json n = v2::ReadXPN(rep, d_);
      if (!n.is_null()) {
        names.push_back(std::move(n));
      }
    }
    if (!names.empty()) {
      prior["name"] = std::move(names);
    }
    const std::string prior_id = prior["id"].get<std::string>();
    prior["link"] =
        json::array({json{{"other", Ref("Patient", patient_)}, {"type", "replaced-by"}}});
    json* survivor = FindResource(bundle_, "Patient", patient_);
    (*survivor)["link"].push_back(json{{"other", Ref("Patient", prior_id)}, {"type", "replaces"}});
    Add(std::move(prior));
    return Status::Ok();
  }

  Status MapPv1() {
    json e = {{"resourceType", "Encounter"}, {"id", NewId("e")}};
    encounter_ = e["id"].get<std::string>();
    const std::string cls = Upper(C(2));
    const char* act = cls == "I" ? "IMP" : cls == "E" ? "EMER" : cls == "P" ? "PRENC" : "AMB";
    e["status"] = "in-progress";  // "finished" below when PV1-45 gives an end
    e["class"] =
        json{{"system", "http://terminology.hl7.org/CodeSystem/v3-ActCode"}, {"code", act}};
    if (!cls.empty()) {
      AddExtension(e, kPatientClassExtension, MakeConcept("HL7 0004", C(2), ""));
    }
    const std::string fc = C(20);
    if (!fc.empty()) {
      AddExtension(
          e, kPaymentMethodExtension,
          MakeConcept(
              fc.find_first_not_of("0123456789") == std::string::npos ? "CV07.10.005" : "HL7 0064",
              fc, ""));
    }
    const std::string visit = C(19);
    if (!visit.empty()) {
      e["identifier"] =
          json::array({json{{"type", TypeConcept("VN")}, {"system", Local()}, {"value", visit}}});
    }
    if (!patient_.empty()) {
      e["subject"] = Ref("Patient", patient_);
    }
    json participants = json::array();
    for (auto [field, code] : {std::pair<size_t, const char*>{7, "ATND"}, {17, "ADM"}}) {
      for (std::string_view rep : Reps(F(field), d_)) {
        json who = v2::ReadXCN(rep, d_);
        if (who.is_null()) {
          continue;
        }
        json type = json{
            {"coding", json::array({json{
                           {"system", "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"},
                           {"code", code}}})}};
        participants.push_back(json{{"type", json::array({type})}, {"individual", who}});
      }
    }
    if (!participants.empty()) {
      e["participant"] = std::move(participants);
    }
    json period = json::object();
    HIE_RETURN_IF_ERROR(SetTime(period, "start", 44));
    HIE_RETURN_IF_ERROR(SetTime(period, "end", 45));
    if (period.contains("end")) {
      e["status"] = "finished";
    }
    if (!period.empty()) {
      e["period"] = std::move(period);
    }
    json locations = json::array();
    const std::string_view pl = Reps(F(3), d_).empty() ? "" : Reps(F(3), d_)[0];
    for (auto [comp, kind] : {std::pair<size_t, const char*>{1, "wa"}, {2, "ro"}, {3, "bd"}}) {
      const std::string v = Comp(pl, d_, comp);
      if (v.empty()) {
        continue;
      }
      locations.push_back(json{
          {"location", json{{"display", v}}},
          {"physicalType",
           json{{"coding",
                 json::array({json{
                     {"system", "http://terminology.hl7.org/CodeSystem/location-physical-type"},
                     {"code", kind}}})}}}});
    }
    if (!locations.empty()) {
      e["location"] = std::move(locations);
    }
    Add(std::move(e));
    return Status::Ok();
  }

  Status MapObr() {
    json r = {{"resourceType", "DiagnosticReport"}, {"id", NewId("r")}};
    r["status"] = v2::ReportStatusFromV2(Upper(C(25)));
    json ids = json::array();
    for (auto [field, code] : {std::pair<size_t, const char*>{2, "PLAC"}, {3, "FILL"}}) {
      const std::string v = C(field);
      if (!v.empty()) {
        ids.push_back(json{{"type", TypeConcept(code)}, {"system", Local()}, {"value", v}});
      }
    }
    if (!ids.empty()) {
      r["identifier"] = std::move(ids);
    }
    const std::string section = C(24);
    if (!section.empty()) {
      r["category"] = json::array({MakeConcept("HL7 0074", section, "")});
    }
    SetCE(r, "code", 4, Local());
    if (!r.contains("code")) {
      return Status(ErrorCode::kRequiredMissing, "缺少检查项目 (missing universal service id)",
                    Where(4));
    }
    if (!patient_.empty()) {
      r["subject"] = Ref("Patient", patient_);
    }
    if (!encounter_.empty()) {
      r["encounter"] = Ref("Encounter", encounter_);
    }
    HIE_RETURN_IF_ERROR(SetTime(r, "effectiveDateTime", 7));
    HIE_RETURN_IF_ERROR(SetTime(r, "issued", 22));
    if (!Reps(F(16), d_).empty()) {
      AddExtension(r, kOrderingProviderExtension, v2::ReadXCN(Reps(F(16), d_)[0], d_),
                   "valueReference");
    }
    json interpreters = json::array();
    for (std::string_view rep : Reps(F(32), d_)) {
      json who = v2::ReadXCN(rep, d_, /*sub=*/true);
      if (!who.is_null()) {
        interpreters.push_back(std::move(who));
      }
    }
    if (!interpreters.empty()) {
      r["resultsInterpreter"] = std::move(interpreters);
    }
    report_ = Add(std::move(r));
    obs_ = std::nullopt;
    return Status::Ok();
  }

  Status MapObx() {
    json o = {{"resourceType", "Observation"}, {"id", NewId("o")}};
    o["status"] = v2::ObservationStatusFromV2(Upper(C(11)));
    SetCE(o, "code", 3, Local());
    if (!o.contains("code")) {
      return Status(ErrorCode::kRequiredMissing, "缺少观察项目 (missing observation identifier)",
                    Where(3));
    }
    if (!patient_.empty()) {
      o["subject"] = Ref("Patient", patient_);
    }
    if (!encounter_.empty()) {
      o["encounter"] = Ref("Encounter", encounter_);
    }
    // Unit as received, and its text for quantities.
    json unit_text;
    if (!Reps(F(6), d_).empty()) {
      json unit = v2::ReadCE(Reps(F(6), d_)[0], d_, facility_, "");
      if (!unit.is_null()) {
        unit_text = C(6, 2).empty() ? C(6, 1) : C(6, 2);
        if (unit_text.get_ref<const std::string&>().empty()) {
          unit_text = nullptr;
        }
        AddExtension(o, kUnitExtension, std::move(unit));
      }
    }
    HIE_RETURN_IF_ERROR(MapValue(o, unit_text));
    const std::string range = Text(F(7), d_);
    if (!range.empty()) {
      o["referenceRange"] = json::array({ReferenceRange(range, unit_text)});
    }
    json flags = json::array();
    for (std::string_view rep : Reps(F(8), d_)) {
      const std::string flag = Comp(rep, d_, 1);
      if (flag.empty()) {
        continue;
      }
      bool std_flag = false;
      for (std::string_view f : kHl70078) {
        std_flag = std_flag || f == flag;
      }
      flags.push_back(MakeConcept(std_flag ? "HL7 0078" : Local(), flag, ""));
    }
    if (!flags.empty()) {
      o["interpretation"] = std::move(flags);
    }
    HIE_RETURN_IF_ERROR(SetTime(o, "effectiveDateTime", 14));
    if (!o.contains("effectiveDateTime") && report_ &&
        Entry(*report_).contains("effectiveDateTime")) {
      o["effectiveDateTime"] = Entry(*report_)["effectiveDateTime"];
    }
    json performers = json::array();
    for (std::string_view rep : Reps(F(16), d_)) {
      json who = v2::ReadXCN(rep, d_);
      if (!who.is_null()) {
        performers.push_back(std::move(who));
      }
    }
    if (!performers.empty()) {
      o["performer"] = std::move(performers);
    }
    const std::string id = o["id"].get<std::string>();
    obs_ = Add(std::move(o));
    if (report_) {
      Entry(*report_)["result"].push_back(Ref("Observation", id));
    }
    return Status::Ok();
  }

  Status MapValue(json& o, const json& unit_text) {
    const std::string type = Upper(C(2));
    const auto reps = Reps(F(5), d_);
    if (reps.empty()) {
      return Status::Ok();
    }
    auto whole = [&](std::string_view rep) { return Text(rep, d_); };
    auto quantity = [&](std::string_view num, std::string_view comparator) -> json {
      json q = json::object();
      if (!SetDecimal(q, "value", num)) {
        return nullptr;
      }
      if (!comparator.empty()) {
        q["comparator"] = std::string(comparator);
      }
      if (unit_text.is_string()) {
        q["unit"] = unit_text;
        if (!C(6, 1).empty()) {
          q["code"] = C(6, 1);
        }
        if (Upper(C(6, 3)) == "UCUM") {
          q["system"] = std::string(kUcumUri);
        }
      }
      return q;
    };
    // "<0.5", ">=10" with an optional comparator.
    auto compared = [&](const std::string& text) -> json {
      std::string_view t = text;
      for (std::string_view c : {"<=", ">=", "<", ">"}) {
        if (t.rfind(c, 0) == 0) {
          return quantity(t.substr(c.size()), c);
        }
      }
      return quantity(t, "");
    };
    if (type == "NM") {
      json q = compared(C(5));
      if (!q.is_null()) {
        o["valueQuantity"] = std::move(q);
        return Status::Ok();
      }
    } else if (type == "SN") {
      const std::string cmp = C(5, 1), n1 = C(5, 2), sep = C(5, 3), n2 = C(5, 4);
      json v;
      if (sep.empty() && n2.empty()) {
        v = quantity(n1, cmp == "=" ? "" : cmp);
        if (!v.is_null() &&
            (cmp.empty() || cmp == "=" || cmp == "<" || cmp == ">" || cmp == "<=" || cmp == ">=")) {
          o["valueQuantity"] = std::move(v);
          return Status::Ok();
        }
      } else if (cmp.empty() && (sep == "-" || sep == ":" || sep == "/")) {
        json a = quantity(n1, ""), b = quantity(n2, "");
        if (!a.is_null() && !b.is_null()) {
          if (sep == "-") {
            o["valueRange"] = json{{"low", std::move(a)}, {"high", std::move(b)}};
          } else {
            o["valueRatio"] = json{{"numerator", std::move(a)}, {"denominator", std::move(b)}};
          }
          return Status::Ok();
        }
      }
      o["valueString"] = cmp + n1 + sep + n2;  // "1+" and other forms FHIR has no type for
      return Status::Ok();
    } else if (type == "CE" || type == "CWE" || type == "CNE" || type == "CF") {
      json cc = v2::ReadCE(reps[0], d_, facility_, Local());
      if (!cc.is_null()) {
        o["valueCodeableConcept"] = std::move(cc);
      }
      return Status::Ok();
    } else if (type == "DT" || type == "TS" || type == "DTM") {
      auto t = V2TimeToFhir(C(5), Where(5));
      if (t.ok()) {
        o["valueDateTime"] = std::move(t).value();
        return Status::Ok();
      }
      HIE_RETURN_IF_ERROR(Tolerate(t.status()));  // lenient: kept as text below
    }
    // ST, TX, FT and everything else: the text, repetitions on lines.
    std::string text;
    for (size_t i = 0; i < reps.size(); ++i) {
      text += (i ? "\n" : "") + whole(reps[i]);
    }
    if (!text.empty()) {
      o["valueString"] = std::move(text);
    }
    return Status::Ok();
  }

  void MapNte() {
    std::string text;
    const auto reps = Reps(F(3), d_);
    for (size_t i = 0; i < reps.size(); ++i) {
      text += (i ? "\n" : "") + Text(reps[i], d_);
    }
    if (text.empty()) {
      return;
    }
    if (obs_) {
      Entry(*obs_)["note"].push_back(json{{"text", text}});
    } else if (report_) {
      json& r = Entry(*report_);
      r["conclusion"] =
          r.contains("conclusion") ? r["conclusion"].get<std::string>() + "\n" + text : text;
    }
  }

  Status MapDg1() {
    json c = {{"resourceType", "Condition"}, {"id", NewId("c")}};
    SetCE(c, "code", 3, "ICD-10");
    if (!c.contains("code")) {
      const std::string text = Text(F(4), d_);
      if (text.empty()) {
        return Status(ErrorCode::kRequiredMissing, "缺少诊断代码 (missing diagnosis code)",
                      Where(3));
      }
      c["code"] = json{{"text", text}};
    }
    const std::string type = C(6);
    if (!type.empty()) {
      c["category"] = json::array({MakeConcept("HL7 0052", type, "")});
    }
    if (!patient_.empty()) {
      c["subject"] = Ref("Patient", patient_);
    }
    if (!encounter_.empty()) {
      c["encounter"] = Ref("Encounter", encounter_);
    }
    HIE_RETURN_IF_ERROR(SetTime(c, "recordedDate", 5));
    Add(std::move(c));
    return Status::Ok();
  }

  Status MapFt1() {
    if (!eob_) {
      json e = {
          {"resourceType", "ExplanationOfBenefit"},
          {"id", NewId("eob")},
          {"status", "active"},
          {"type",
           json{{"coding",
                 json::array({json{{"system", "http://terminology.hl7.org/CodeSystem/claim-type"},
                                   {"code", "institutional"}}})}}},
          {"use", "claim"},
          {"outcome", "complete"},
          {"provider", json{{"display", facility_}}}};
      if (!patient_.empty()) {
        e["patient"] = Ref("Patient", patient_);
      }
      if (bundle_.contains("timestamp")) {
        e["created"] = bundle_["timestamp"];
      }
      eob_ = Add(std::move(e));
    }
    json& eob = Entry(*eob_);
    const std::string type = Upper(C(6));
    const std::string_view amount_rep = Reps(F(11), d_).empty() ? "" : Reps(F(11), d_)[0];
    const std::string amount = Sub(amount_rep, d_, 1, 1);
    const std::string currency = Sub(amount_rep, d_, 1, 2);
    json money = json::object();
    if (!amount.empty() && !SetDecimal(money, "value", amount)) {
      HIE_RETURN_IF_ERROR(Tolerate(
          Status(ErrorCode::kParseError, "金额不是数字 (amount is not a number)", Where(11))));
    }
    if (!money.empty()) {
      money["currency"] = currency.empty() ? "CNY" : currency;
    }
    json cc = v2::ReadCE(Reps(F(7), d_).empty() ? "" : Reps(F(7), d_)[0], d_, facility_, Local());
    const std::string description = Text(F(8), d_);
    if (cc.is_null() && description.empty()) {
      return Status(ErrorCode::kRequiredMissing, "缺少收费项目 (missing transaction code)",
                    Where(7));
    }
    if (cc.is_null()) {
      cc = json{{"text", description}};
    }
    if (cc.contains("coding") && !cc["coding"][0].contains("display") && !description.empty()) {
      cc["coding"][0]["display"] = description;
    }
    const std::string txid = C(2);
    if (type == "PY" || type == "AJ") {
      json total = json{{"category", std::move(cc)}};
      total["amount"] = money.empty() ? json{{"value", 0}, {"currency", "CNY"}} : money;
      AddExtension(total, kTransactionTypeExtension, type, "valueCode");
      if (!txid.empty()) {
        AddExtension(total, kTransactionIdExtension, txid, "valueString");
      }
      HIE_ASSIGN_OR_RETURN(auto when, Time(4, 1));
      if (when) AddExtension(total, kTransactionDateExtension, *when, "valueDateTime");
      settlements_.push_back(std::move(total));
      return Status::Ok();
    }
    json item = json{{"sequence", eob.contains("item") ? eob["item"].size() + 1 : 1},
                     {"productOrService", std::move(cc)}};
    if (!type.empty()) {
      item["revenue"] = MakeConcept("HL7 0017", type, "");
    }
    json period = json::object();
    HIE_RETURN_IF_ERROR(SetTime(period, "start", 4, 1));
    HIE_RETURN_IF_ERROR(SetTime(period, "end", 4, 2));
    if (!period.empty()) {
      item["servicedPeriod"] = std::move(period);
    }
    const std::string qty = C(10);
    if (!qty.empty()) {
      json q = json::object();
      if (SetDecimal(q, "value", qty)) {
        item["quantity"] = std::move(q);
      } else {
        HIE_RETURN_IF_ERROR(Tolerate(
            Status(ErrorCode::kParseError, "数量不是数字 (quantity is not a number)", Where(10))));
      }
    }
    const std::string unit_price = Sub(Reps(F(12), d_).empty() ? "" : Reps(F(12), d_)[0], d_, 1, 1);
    if (!unit_price.empty()) {
      json p = json::object();
      if (SetDecimal(p, "value", unit_price)) {
        p["currency"] = money.value("currency", "CNY");
        item["unitPrice"] = std::move(p);
      } else {
        HIE_RETURN_IF_ERROR(Tolerate(Status(
            ErrorCode::kParseError, "单价不是数字 (unit price is not a number)", Where(12))));
      }
    }
    if (!money.empty()) {
      item["net"] = money;
    }
    if (!txid.empty()) {
      AddExtension(item, kTransactionIdExtension, txid, "valueString");
    }
    eob["item"].push_back(std::move(item));
    return Status::Ok();
  }

  static long long Cents(const json& money) {
    const std::string v = GetDecimal(money, "value");
    return std::llround(std::strtod(v.c_str(), nullptr) * 100.0);
  }
  static json FromCents(long long c) {
    if (c % 100 == 0) {
      return json(c / 100);
    }
    return json(static_cast<double>(c) / 100.0);
  }

  void FinishEob() {
    if (!eob_) {
      return;
    }
    json& eob = Entry(*eob_);
    long long submitted = 0, paid = 0;
    std::string currency = "CNY";
    if (eob.contains("item")) {
      for (const auto& item : eob["item"]) {
        if (item.contains("net")) {
          submitted += Cents(item["net"]);
          currency = item["net"].value("currency", currency);
        }
      }
    }
    json totals = json::array();
    totals.push_back(
        json{{"category", MakeConcept(kAdjudicationSystem, "submitted", "")},
             {"amount", json{{"value", FromCents(submitted)}, {"currency", currency}}}});
    for (auto& s : settlements_) {
      const json* t = FindExtension(s, kTransactionTypeExtension);
      if (t != nullptr && *t == "PY") {
        paid += Cents(s["amount"]);
      }
      totals.push_back(std::move(s));
    }
    eob["total"] = std::move(totals);
    if (paid != 0) {
      eob["payment"] = json{{"amount", json{{"value", FromCents(paid)}, {"currency", currency}}}};
    }
  }

  void KeepZSegment() {
    std::string text(m_.segment_text(seg_));
    const Er7Delimiters& d = d_;
    if (d.field != '|' || d.component != '^' || d.repetition != '~' || d.escape != '\\' ||
        d.subcomponent != '&') {
      for (char& c : text) {
        if (c == d.field) {
          c = '|';
        } else if (c == d.component) {
          c = '^';
        } else if (d.repetition != '\0' && c == d.repetition) {
          c = '~';
        } else if (d.escape != '\0' && c == d.escape) {
          c = '\\';
        } else if (d.subcomponent != '\0' && c == d.subcomponent) {
          c = '&';
        }
      }
    }
    if (FindInvalidUtf8(text) != std::string::npos) {
      return;
    }
    bundle_["meta"]["extension"].push_back(
        json{{"url", std::string(kV2SegmentExtension)}, {"valueString", std::move(text)}});
  }

  const Er7Message& m_;
  const Er7Delimiters& d_;
  const V2ReadOptions& opt_;
  std::string facility_;
  json bundle_;
  size_t seg_ = 0;
  std::string id_;
  size_t occ_ = 0;
  std::map<std::string, size_t> occurrences_;
  std::map<std::string, size_t> ids_;
  std::string patient_, encounter_;
  std::optional<size_t> report_, obs_, eob_;
  std::vector<json> settlements_;
};

}  // namespace

bool IsMappedV2Type(std::string_view message_type) {
  for (std::string_view t : kMappedTypes) {
    if (t == message_type) {
      return true;
    }
  }
  return false;
}

Result<CanonicalMessage> V2ToCanonical(const Er7Message& msg, std::string_view facility,
                                       const V2ReadOptions& options) {
  if (FindInvalidUtf8(msg.text()) != std::string::npos) {
    return Status(ErrorCode::kUnsupportedCharset,
                  "报文不是 UTF-8，请先按 MSH-18 解码 (message is not UTF-8; decode MSH-18 first)",
                  "MSH-18");
  }
  return Mapper(msg, facility, options).Run();
}

Result<CanonicalMessage> V2ToCanonical(std::string_view raw, std::string_view facility,
                                       const V2ReadOptions& options) {
  if (raw.size() > options.max_bytes) {
    return Status(ErrorCode::kTooLarge,
                  "报文超过上限 (message too large): " + std::to_string(raw.size()) + " bytes",
                  "MSH");
  }
  HIE_ASSIGN_OR_RETURN(MshInfo msh, ReadMsh(raw));
  std::string label = msh.charset.empty() ? options.default_charset : msh.charset;
  auto text = DecodeToUtf8(raw, label);
  if (!text.ok() && !options.default_charset.empty() && label != options.default_charset) {
    text = DecodeToUtf8(raw, options.default_charset);
  }
  if (!text.ok()) {
    return text.status();
  }
  HIE_ASSIGN_OR_RETURN(Er7Message msg, Er7Message::Parse(std::string_view(*text)));
  return V2ToCanonical(msg, facility, options);
}

}  // namespace hie::canonical
