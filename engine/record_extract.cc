#include "engine/record_extract.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/env.h"
#include "engine/canonicalize.h"
#include "engine/document_input.h"
#include "engine/recognition.h"
#include "engine/transform.h"
#include "mappings/cda/xml_safe.h"

namespace hie {
namespace {

using nlohmann::json;

bool Starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string S(const json& o, const char* key) {
  if (!o.is_object()) return {};
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Ms(const json& o, const char* key) {
  const std::string t = S(o, key);
  if (t.empty()) return 0;
  const int64_t ms = ParseTimeMillis(t);
  return ms > 0 ? ms : 0;
}

std::vector<json*> All(json& bundle, std::string_view type) {
  std::vector<json*> out;
  if (!bundle.contains("entry") || !bundle["entry"].is_array()) return out;
  for (auto& e : bundle["entry"]) {
    if (!e.is_object() || !e.contains("resource") || !e["resource"].is_object()) continue;
    json& r = e["resource"];
    if (S(r, "resourceType") == type) out.push_back(&r);
  }
  return out;
}

// "Observation/o1" -> "o1".
std::string RefId(const json& ref) {
  const std::string r = S(ref, "reference");
  const size_t slash = r.find('/');
  return slash == std::string::npos ? r : r.substr(slash + 1);
}

const json* Coding0(const json& cc) {
  if (!cc.is_object() || !cc.contains("coding") || !cc["coding"].is_array() ||
      cc["coding"].empty()) {
    return nullptr;
  }
  return &cc["coding"][0];
}

// The first coding of `cc` in `system` (coding[0] included).
const json* CodingIn(const json& cc, std::string_view system) {
  if (!cc.is_object() || !cc.contains("coding") || !cc["coding"].is_array()) return nullptr;
  for (const auto& c : cc["coding"]) {
    if (S(c, "system") == system) return &c;
  }
  return nullptr;
}

// Original system, code, display (coding[0]; text when uncoded).
void Original(const json& cc, std::string& system, std::string& code, std::string& display) {
  if (const json* c = Coding0(cc)) {
    system = S(*c, "system");
    code = S(*c, "code");
    display = S(*c, "display");
  }
  if (display.empty()) display = S(cc, "text");
}

void Standard(const json& cc, std::string_view system, std::string& code, std::string& display) {
  if (const json* c = CodingIn(cc, system)) {
    code = S(*c, "code");
    display = S(*c, "display");
  }
}

// The value as text, and its kind.
void ValueOf(const json& o, std::string& value, std::string& type) {
  if (o.contains("valueQuantity") && o["valueQuantity"].is_object()) {
    const json& q = o["valueQuantity"];
    type = "quantity";
    value = S(q, "comparator") + canonical::GetDecimal(q, "value");
  } else if (o.contains("valueString")) {
    type = "string";
    value = S(o, "valueString");
  } else if (o.contains("valueCodeableConcept")) {
    type = "coded";
    std::string sys, code, display;
    Original(o["valueCodeableConcept"], sys, code, display);
    value = display.empty() ? code : display;
  } else if (o.contains("valueRange") && o["valueRange"].is_object()) {
    type = "range";
    const json& r = o["valueRange"];
    value = (r.contains("low") ? canonical::GetDecimal(r["low"], "value") : std::string()) + "-" +
            (r.contains("high") ? canonical::GetDecimal(r["high"], "value") : std::string());
  } else if (o.contains("valueRatio") && o["valueRatio"].is_object()) {
    type = "ratio";
    const json& r = o["valueRatio"];
    value =
        (r.contains("numerator") ? canonical::GetDecimal(r["numerator"], "value") : std::string()) +
        ":" +
        (r.contains("denominator") ? canonical::GetDecimal(r["denominator"], "value")
                                   : std::string());
  } else if (o.contains("valueDateTime")) {
    type = "datetime";
    value = S(o, "valueDateTime");
  } else if (o.contains("valueInteger") || o.contains("valueBoolean")) {
    type = "string";
    value = o.contains("valueInteger") ? o["valueInteger"].dump() : o["valueBoolean"].dump();
  }
}

std::string RangeText(const json& o) {
  if (!o.contains("referenceRange") || !o["referenceRange"].is_array() ||
      o["referenceRange"].empty()) {
    return {};
  }
  const json& r = o["referenceRange"][0];
  if (std::string t = S(r, "text"); !t.empty()) return t;
  const std::string lo = r.contains("low") ? canonical::GetDecimal(r["low"], "value") : "";
  const std::string hi = r.contains("high") ? canonical::GetDecimal(r["high"], "value") : "";
  if (lo.empty() && hi.empty()) return {};
  return lo + "-" + hi;
}

// A Quantity's unit with no "unit as received" extension (CDA, FHIR) gets
// one, so the terminology gives it its UCUM form like an OBX-6 unit.
void AddUnitExtensions(json& bundle) {
  for (json* o : All(bundle, "Observation")) {
    if (!o->contains("valueQuantity") || !(*o)["valueQuantity"].is_object()) continue;
    if (canonical::FindExtension(*o, canonical::kUnitExtension) != nullptr) continue;
    const std::string unit = S((*o)["valueQuantity"], "unit");
    if (unit.empty()) continue;
    if (!o->contains("extension") || !(*o)["extension"].is_array()) {
      (*o)["extension"] = json::array();
    }
    (*o)["extension"].push_back(
        {{"url", std::string(canonical::kUnitExtension)},
         {"valueCodeableConcept", {{"coding", json::array({{{"code", unit}}})}}}});
  }
}

// HL7 v2 fields the canonical model does not carry, by OBX / OBR ordinal.
struct V2Extras {
  std::map<int, std::string> performing;  // OBX ordinal -> OBX-23 organization id
  std::map<int, std::string> specimen;    // OBR ordinal -> OBR-15 / SPM-4 text
};

V2Extras ReadV2Extras(const Er7Message& m) {
  V2Extras x;
  const Er7Delimiters& d = m.delimiters();
  auto comp = [&](std::string_view field, size_t n) {
    return Er7Piece(Er7Piece(field, d.repetition, 1), d.component, n);
  };
  int obr = 0, obx = 0;
  for (size_t i = 0; i < m.segment_count(); ++i) {
    const std::string_view id = m.segment_id(i);
    if (id == "OBR") {
      ++obr;
      const std::string_view source = comp(m.field(i, 15), 1);  // SPS-1 (CE in subcomponents)
      std::string_view text = Er7Piece(source, d.subcomponent, 2);
      if (text.empty()) text = Er7Piece(source, d.subcomponent, 1);
      if (!text.empty()) x.specimen[obr] = m.Unescape(text);
    } else if (id == "SPM" && obr > 0) {
      std::string_view text = comp(m.field(i, 4), 2);
      if (text.empty()) text = comp(m.field(i, 4), 1);
      if (!text.empty()) x.specimen[obr] = m.Unescape(text);
    } else if (id == "OBX") {
      ++obx;
      const std::string_view org = m.field(i, 23);
      std::string_view who = comp(org, 10);  // XON-10 organization identifier
      if (who.empty()) who = comp(org, 3);   // XON-3 (v2.3)
      if (who.empty()) who = comp(org, 1);   // the name
      if (!who.empty()) x.performing[obx] = m.Unescape(who);
    }
  }
  return x;
}

int Ordinal(const std::string& id, char prefix) {
  if (id.size() < 2 || id[0] != prefix) return 0;
  int n = 0;
  for (size_t i = 1; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    n = n * 10 + (id[i] - '0');
  }
  return n;
}

std::string ReportId(const json& report, const std::string& fallback) {
  if (report.contains("identifier") && report["identifier"].is_array()) {
    for (const char* type : {"FILL", "PLAC"}) {
      for (const auto& i : report["identifier"]) {
        if (i.contains("type") && CodingIn(i["type"], canonical::kIdentifierTypeSystem) &&
            S(*CodingIn(i["type"], canonical::kIdentifierTypeSystem), "code") == type &&
            !S(i, "value").empty()) {
          return S(i, "value");
        }
      }
    }
    for (const auto& i : report["identifier"]) {
      if (!S(i, "value").empty()) return S(i, "value");
    }
  }
  return fallback;
}

std::string VisitNumber(const json& enc) {
  if (!enc.contains("identifier") || !enc["identifier"].is_array()) return {};
  for (const auto& i : enc["identifier"]) {
    const json* t =
        i.contains("type") ? CodingIn(i["type"], canonical::kIdentifierTypeSystem) : nullptr;
    if (t != nullptr && S(*t, "code") == "VN" && !S(i, "value").empty()) return S(i, "value");
  }
  for (const auto& i : enc["identifier"]) {
    if (!S(i, "value").empty()) return S(i, "value");
  }
  return {};
}

std::string Display(const json& who) {
  if (who.is_object()) return S(who, "display");
  return {};
}

bool IsType(std::string_view message_type, std::initializer_list<const char*> types) {
  for (const char* t : types) {
    if (Starts(message_type, t)) return true;
  }
  return false;
}

// ClinicalDocument/setId and versionNumber of a received CDA.
struct CdaIdentity {
  std::string set_id;  // root^extension, "" none
  std::string title;
  int64_t version = 0;  // versionNumber/@value, 0 none or unreadable
};

CdaIdentity ReadCdaIdentity(std::string_view raw) {
  CdaIdentity out;
  auto doc = cda::ParseXmlSafely(raw, cda::XmlLimits{});
  if (!doc.ok()) return out;
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  if (const xmlNode* s = cda::Child(root, "setId")) {
    const std::string r = cda::Attr(s, "root"), e = cda::Attr(s, "extension");
    out.set_id = e.empty() ? r : r + "^" + e;
  }
  out.title = cda::Text(cda::Child(root, "title"));
  if (const xmlNode* v = cda::Child(root, "versionNumber")) {
    const std::string value = cda::Attr(v, "value");
    int64_t n = 0;
    bool digits = !value.empty() && value.size() <= 9;
    for (char ch : value) {
      if (ch < '0' || ch > '9') digits = false;
      if (digits) n = n * 10 + (ch - '0');
    }
    if (digits) out.version = n;
  }
  return out;
}

// Marks an Encounter whose period.start is the message's event time (a
// registration without PV1-44), not a start the facility sent.
constexpr std::string_view kStartFromEventExtension = "urn:hie:period-start-from-event-time";

// The event time of an HL7 v2 message: EVN-6 (event occurred), else EVN-2
// (recorded), else MSH-7; 0 when none is readable.
int64_t V2EventMs(const Er7Message& m) {
  const Er7Delimiters& d = m.delimiters();
  auto at = [&](std::string_view field) -> int64_t {
    const std::string_view ts =
        Er7Piece(Er7Piece(field, d.repetition, 1), d.component, 1);
    if (ts.empty() || ts == "\"\"") return 0;
    auto t = canonical::V2TimeToFhir(ts, "EVN");
    if (!t.ok()) return 0;
    const int64_t ms = ParseTimeMillis(*t);
    return ms > 0 ? ms : 0;
  };
  for (size_t i = 0; i < m.segment_count(); ++i) {
    if (m.segment_id(i) != "EVN") continue;
    if (int64_t ms = at(m.field(i, 6)); ms != 0) return ms;
    if (int64_t ms = at(m.field(i, 2)); ms != 0) return ms;
    break;
  }
  for (size_t i = 0; i < m.segment_count(); ++i) {
    if (m.segment_id(i) == "MSH") return at(m.field(i, 7));
  }
  return 0;
}

class Extractor {
 public:
  Extractor(const RecordInput& in, canonical::CanonicalMessage& c)
      : in_(in), m_(*in.message), c_(c), facility_(m_.facility_id) {}

  Status Run(RecordWrite& w) {
    json& b = c_.bundle;
    V2Extras extras;
    if (in_.er7 != nullptr) extras = ReadV2Extras(*in_.er7);
    const std::string control = m_.control_id.empty() ? std::to_string(m_.id) : m_.control_id;
    // A received CDA: its versionNumber orders every row it adds.
    const bool is_cda = SourceFormatOf(m_.content_type) == SourceFormat::kCda;
    CdaIdentity ident;
    if (is_cda) ident = ReadCdaIdentity(m_.raw);
    source_version_ = ident.version;

    // Encounters (their visit identity is also what diagnoses are keyed by).
    std::map<std::string, std::string> visit_of;     // Encounter id -> visit number
    std::map<std::string, std::string> identity_of;  // Encounter id -> visit identity
    const bool registration = IsType(c_.message_type, {"ADT^A01", "ADT^A04"});
    for (json* e : All(b, "Encounter")) {
      if (registration) StartFromEventTime(*e);
      visit_of[S(*e, "id")] = VisitNumber(*e);
      identity_of[S(*e, "id")] = VisitIdentity(*e);
    }
    if (IsType(c_.message_type, {"ADT^A01", "ADT^A04", "ADT^A05", "ADT^A08"})) {
      for (json* e : All(b, "Encounter")) {
        w.encounters.push_back(EncounterOf(*e, identity_of[S(*e, "id")]));
      }
    }

    // Lab results: the Observations of each report.
    std::map<std::string, bool> taken;
    for (json* r : All(b, "DiagnosticReport")) {
      const std::string report_id = ReportId(*r, control);
      const int obr = Ordinal(S(*r, "id"), 'r');
      std::map<std::string, int> seen;  // item code -> occurrences in this report
      if (!r->contains("result") || !(*r)["result"].is_array()) continue;
      for (const auto& ref : (*r)["result"]) {
        const std::string oid = RefId(ref);
        const json* o = canonical::FindResource(b, "Observation", oid);
        if (o == nullptr || taken[oid]) continue;
        taken[oid] = true;
        w.lab_results.push_back(LabOf(*o, r, report_id, seen, extras, obr));
      }
    }
    if (IsType(c_.message_type, {"ORU^R01"})) {
      std::map<std::string, int> seen;
      for (json* o : All(b, "Observation")) {
        if (taken[S(*o, "id")]) continue;
        w.lab_results.push_back(LabOf(*o, nullptr, control, seen, extras, 0));
      }
    }

    // Diagnoses.
    for (json* cnd : All(b, "Condition")) {
      DiagnosisRow d = Base<DiagnosisRow>();
      Original(cnd->value("code", json::object()), d.code_system, d.code, d.display);
      Standard(cnd->value("code", json::object()), "ICD-10", d.std_code, d.std_display);
      if (cnd->contains("clinicalStatus")) {
        if (const json* c = Coding0((*cnd)["clinicalStatus"])) d.clinical_status = S(*c, "code");
      }
      std::string visit;
      if (cnd->contains("encounter")) {
        d.visit_number = visit_of[RefId((*cnd)["encounter"])];
        visit = identity_of[RefId((*cnd)["encounter"])];
      }
      d.recorded_ms = Ms(*cnd, "recordedDate");
      if (d.recorded_ms == 0) d.recorded_ms = m_.received_at_ms;
      d.item_key = facility_ + "|" + (visit.empty() ? "msg" + std::to_string(m_.id) : visit) +
                   "|" + (d.code.empty() ? d.display : d.code);
      d.resource = cnd->dump();
      w.diagnoses.push_back(std::move(d));
    }

    // Documents.
    const std::string canonical_json = canonical::ToJson(c_).dump();
    if (is_cda) {
      HIE_ASSIGN_OR_RETURN(std::string text, MessageTextUtf8(m_));
      DocumentRow d = Base<DocumentRow>();
      const auto refs = All(b, "DocumentReference");
      const json* ref = refs.empty() ? nullptr : refs.front();
      d.type_code = DocumentTypeOfRecord(m_);
      if (d.type_code.empty() && ref != nullptr && ref->contains("type")) {
        if (const json* c = Coding0((*ref)["type"])) d.type_code = S(*c, "code");
      }
      d.title = !ident.title.empty() ? ident.title : ref != nullptr ? S(*ref, "description") : "";
      if (ref != nullptr && ref->contains("identifier") && (*ref)["identifier"].is_array() &&
          !(*ref)["identifier"].empty()) {
        d.document_id = S((*ref)["identifier"][0], "value");
      }
      if (d.document_id.empty()) d.document_id = control;
      d.item_key = facility_ + "|" + (ident.set_id.empty() ? d.document_id : ident.set_id);
      d.effective_ms = ref != nullptr ? Ms(*ref, "date") : 0;
      if (d.effective_ms == 0) d.effective_ms = m_.received_at_ms;
      d.content = std::move(text);
      d.canonical = canonical_json;
      w.documents.push_back(std::move(d));
    } else if (!w.lab_results.empty() || !w.encounters.empty()) {
      auto kind = CdaKindFor(c_);
      if (kind.ok() && *kind == cda::CdaDocumentKind::kLabReport && !w.lab_results.empty()) {
        DocumentRow d = Base<DocumentRow>();
        d.type_code = "C0007";
        d.title = "检验报告";
        d.document_id = w.lab_results.front().report_id;
        d.item_key = facility_ + "|C0007|" + d.document_id;
        d.effective_ms = w.lab_results.front().issued_ms != 0 ? w.lab_results.front().issued_ms
                                                              : w.lab_results.front().effective_ms;
        d.canonical = canonical_json;
        w.documents.push_back(std::move(d));
      } else if (!w.encounters.empty() &&
                 ((kind.ok() && *kind == cda::CdaDocumentKind::kOutpatientRecord) ||
                  OutpatientUpdate(w.encounters.front()))) {
        // The visit's outpatient record, keyed by the visit identity, so an
        // ADT^A08 of the visit writes its next version.
        DocumentRow d = Base<DocumentRow>();
        d.type_code = "C0002";
        d.title = "门(急)诊病历";
        const EncounterRow& e = w.encounters.front();
        d.document_id = e.visit_number.empty() ? control : e.visit_number;
        d.item_key = facility_ + "|C0002|" + e.item_key.substr(facility_.size() + 1);
        // The visit's start (an A08 without one keeps the superseded
        // version's, in the store), not when the hub stored it.
        d.effective_ms = e.start_ms;
        if (OutpatientUpdate(e)) {
          // Written as the outpatient record it updates: the A08's content,
          // typed as the visit's registration (an A08 alone is a WS/T 483
          // basic-record update for a cda destination, engine/transform.h).
          canonical::CanonicalMessage as_visit = c_;
          as_visit.message_type = "ADT^A04";
          d.canonical = canonical::ToJson(as_visit).dump();
        } else {
          d.canonical = canonical_json;
        }
        w.documents.push_back(std::move(d));
      }
    }
    return Status::Ok();
  }

 private:
  template <typename R>
  R Base() const {
    R r;
    r.message_id = m_.id;
    r.source_id = in_.source_id;
    r.facility_id = facility_;
    r.recorded_at_ms = in_.now_ms;
    r.source_version = source_version_;
    return r;
  }

  // An ADT^A08 of an outpatient or emergency visit.
  bool OutpatientUpdate(const EncounterRow& e) const {
    return IsType(c_.message_type, {"ADT^A08"}) &&
           (e.encounter_class == "AMB" || e.encounter_class == "EMER");
  }

  // When the event happened: EVN-6, else EVN-2, else MSH-7 (HL7 v2); the
  // message time of other formats; else when the hub received it.
  int64_t EventMs() const {
    int64_t ms = in_.er7 != nullptr ? V2EventMs(*in_.er7) : 0;
    if (ms == 0) ms = Ms(c_.bundle, "timestamp");
    return ms != 0 ? ms : m_.received_at_ms;
  }

  // A registration (A01/A04) without a visit start (PV1-44) starts at the
  // event time; the Encounter says so (kStartFromEventExtension).
  void StartFromEventTime(json& e) const {
    if (e.contains("period") && e["period"].is_object() && !S(e["period"], "start").empty()) {
      return;
    }
    const int64_t ms = EventMs();
    if (ms <= 0) return;
    if (!e.contains("period") || !e["period"].is_object()) e["period"] = json::object();
    e["period"]["start"] = FormatTimeMillis(ms);
    if (!e.contains("extension") || !e["extension"].is_array()) e["extension"] = json::array();
    e["extension"].push_back(
        {{"url", std::string(kStartFromEventExtension)}, {"valueBoolean", true}});
  }

  // The identity of a visit: its visit number (PV1-19); without one, the
  // facility's patient record (the EMPI source), the encounter class and
  // the visit's day in China time (from its start, else the event time) —
  // one visit per facility, patient, class and day, so an A04 and the A08
  // that updates it are one encounter.
  std::string VisitIdentity(const json& e) const {
    if (std::string vn = VisitNumber(e); !vn.empty()) return vn;
    int64_t at = e.contains("period") ? Ms(e["period"], "start") : 0;
    if (at == 0) at = EventMs();
    const std::string cls =
        e.contains("class") && e["class"].is_object() ? S(e["class"], "code") : std::string();
    return "src" + std::to_string(in_.source_id) + "|" + (cls.empty() ? "?" : cls) + "|" +
           FormatDay(ChinaDay(at));
  }

  EncounterRow EncounterOf(const json& e, const std::string& identity) const {
    EncounterRow r = Base<EncounterRow>();
    r.visit_number = VisitNumber(e);
    r.item_key = facility_ + "|" + identity;
    if (e.contains("class") && e["class"].is_object()) r.encounter_class = S(e["class"], "code");
    r.status = S(e, "status");
    if (e.contains("location") && e["location"].is_array() && !e["location"].empty()) {
      r.department = Display(e["location"][0].value("location", json::object()));
    }
    if (e.contains("participant") && e["participant"].is_array()) {
      for (const auto& p : e["participant"]) {
        const std::string who = Display(p.value("individual", json::object()));
        bool attending = false;
        if (p.contains("type") && p["type"].is_array()) {
          for (const auto& t : p["type"]) {
            const json* c = Coding0(t);
            attending = attending || (c != nullptr && S(*c, "code") == "ATND");
          }
        }
        if (!who.empty() && (attending || r.attending.empty())) r.attending = who;
        if (attending && !who.empty()) break;
      }
    }
    if (e.contains("period") && e["period"].is_object()) {
      r.start_ms = Ms(e["period"], "start");
      r.end_ms = Ms(e["period"], "end");
    }
    r.resource = e.dump();
    return r;
  }

  LabResultRow LabOf(const json& o, const json* report, const std::string& report_id,
                     std::map<std::string, int>& seen, const V2Extras& extras, int obr) const {
    LabResultRow r = Base<LabResultRow>();
    r.status = S(o, "status");
    const json code = o.value("code", json::object());
    Original(code, r.code_system, r.code, r.display);
    Standard(code, "LOINC", r.std_code, r.std_display);
    ValueOf(o, r.value, r.value_type);
    if (const json* u = canonical::FindExtension(o, canonical::kUnitExtension)) {
      std::string sys, ucode, udisplay;
      Original(*u, sys, ucode, udisplay);
      r.unit = ucode.empty() ? udisplay : ucode;
      std::string sdisplay;
      Standard(*u, "UCUM", r.std_unit, sdisplay);
    }
    if (o.contains("valueQuantity") && o["valueQuantity"].is_object()) {
      const json& q = o["valueQuantity"];
      if (r.unit.empty()) r.unit = S(q, "unit");
      if (r.std_unit.empty() && S(q, "system") == canonical::kUcumUri) r.std_unit = S(q, "code");
    }
    r.reference_range = RangeText(o);
    if (o.contains("interpretation") && o["interpretation"].is_array() &&
        !o["interpretation"].empty()) {
      const json& flag = o["interpretation"][0];
      const json* c = CodingIn(flag, "HL7 0078");
      if (c == nullptr) c = Coding0(flag);
      if (c != nullptr) r.abnormal_flag = S(*c, "code");
    }
    const int obx = Ordinal(S(o, "id"), 'o');
    if (auto it = extras.specimen.find(obr); obr > 0 && it != extras.specimen.end()) {
      r.specimen = it->second;
    } else if (o.contains("specimen")) {
      r.specimen = Display(o["specimen"]);
    }
    if (auto it = extras.performing.find(obx);
        in_.er7 != nullptr && it != extras.performing.end()) {
      r.performing_facility = it->second;
    }
    std::string verifier;
    if (o.contains("performer") && o["performer"].is_array()) {
      for (const auto& p : o["performer"]) {
        if (p.contains("reference") && Starts(S(p, "reference"), "Organization/") &&
            r.performing_facility.empty()) {
          const json* org = canonical::FindResource(c_.bundle, "Organization", RefId(p));
          if (org != nullptr && org->contains("identifier") && org->at("identifier").is_array() &&
              !org->at("identifier").empty()) {
            r.performing_facility = S(org->at("identifier")[0], "value");
          }
        } else if (verifier.empty()) {
          verifier = Display(p);
        }
      }
    }
    if (r.performing_facility.empty()) r.performing_facility = facility_;
    if (verifier.empty() && report != nullptr && report->contains("resultsInterpreter") &&
        (*report)["resultsInterpreter"].is_array() && !(*report)["resultsInterpreter"].empty()) {
      verifier = Display((*report)["resultsInterpreter"][0]);
    }
    r.verifier = verifier;
    r.report_id = report_id;
    r.effective_ms = Ms(o, "effectiveDateTime");
    if (report != nullptr) {
      r.issued_ms = Ms(*report, "issued");
      if (r.effective_ms == 0) r.effective_ms = Ms(*report, "effectiveDateTime");
    }
    if (r.effective_ms == 0) r.effective_ms = r.issued_ms != 0 ? r.issued_ms : m_.received_at_ms;
    const std::string item = r.code.empty() ? r.display : r.code;
    r.item_key = facility_ + "|" + report_id + "|" + item + "|" + std::to_string(++seen[item]);
    r.resource = o.dump();
    return r;
  }

  const RecordInput& in_;
  const MessageRecord& m_;
  canonical::CanonicalMessage& c_;
  const std::string facility_;
  int64_t source_version_ = 0;
};

}  // namespace

bool V2HasRecord(std::string_view message_type, const Er7Message& er7) {
  if (Starts(message_type, "ORU^R01")) return er7.CountSegments("OBX") > 0;
  if (IsType(message_type, {"ADT^A01", "ADT^A04", "ADT^A05", "ADT^A08"})) {
    return er7.CountSegments("PV1") > 0 || er7.CountSegments("DG1") > 0;
  }
  if (IsType(message_type, {"ADT^A28", "ADT^A31"})) return er7.CountSegments("DG1") > 0;
  return false;
}

Result<RecordWrite> ExtractRecord(const RecordInput& in, const TerminologySnapshot& snapshot) {
  RecordWrite w;
  const MessageRecord& m = *in.message;
  if (in.er7 != nullptr && !V2HasRecord(m.message_type, *in.er7)) return w;
  std::optional<canonical::CanonicalMessage> local;
  std::optional<canonical::CanonicalMessage>& c = in.canonical != nullptr ? *in.canonical : local;
  if (!c) {
    HIE_ASSIGN_OR_RETURN(auto read, Canonicalize(m));
    c = std::move(read);
  }
  AddUnitExtensions(c->bundle);
  ApplyTerminology(*c, snapshot);
  Extractor x(in, *c);
  HIE_RETURN_IF_ERROR(x.Run(w));
  return w;
}

}  // namespace hie
