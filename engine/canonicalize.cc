// Canonicalize (reading a stored message by its content type) and
// ApplyTerminology (standard codes added beside the originals).
#include "engine/canonicalize.h"

#include <array>

#include "mappings/canonical/fhir.h"
#include "mappings/canonical/v2_to_canonical.h"
#include "mappings/cda/cda_reader.h"

namespace hie {
namespace {

using nlohmann::json;

std::string_view MediaType(std::string_view ct) {
  std::string_view media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  return media;
}

bool EqualsCi(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// The HL7 v2 type a CDA document corresponds to (CONTRACT §2): a lab report
// as ORU^R01, anything else about a patient as ADT^A04.
std::string TypeOfCda(const json& bundle) {
  if (bundle.contains("entry") && bundle["entry"].is_array()) {
    for (const auto& e : bundle["entry"]) {
      if (e.is_object() && e.contains("resource") && e["resource"].is_object() &&
          e["resource"].value("resourceType", "") == "DiagnosticReport") {
        return "ORU^R01";
      }
    }
  }
  return "ADT^A04";
}

// ---- terminology ----

struct Role {
  std::string_view role;
  std::string_view target;  // standard system (terminology name)
  bool count_misses;
};

constexpr std::array<Role, 11> kRoles = {{
    {"sex", "GB/T 2261.1", true},
    {"marital-status", "GB/T 2261.2", true},
    {"ethnicity", "GB 3304", true},
    {"patient-class", "CV09.00.404", true},
    {"payment-method", "CV07.10.005", true},
    {"identifier-type", "CV02.01.101", false},
    {"lab-item", "LOINC", true},
    {"lab-panel", "LOINC", true},
    {"unit", "UCUM", true},
    {"abnormal-flag", "HL7 0078", true},
    {"diagnosis", "ICD-10", true},
}};

const Role* FindRole(std::string_view role) {
  for (const Role& r : kRoles) {
    if (r.role == role) return &r;
  }
  return nullptr;
}

std::string_view StrOf(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

// A coding's system as the terminology library names it: "urn:oid:X" -> X.
SystemId ResolveSystem(const TerminologySnapshot& snap, std::string_view system) {
  if (system.empty()) return kNoSystem;
  if (system.substr(0, 8) == "urn:oid:") system.remove_prefix(8);
  return snap.FindSystem(system);
}

bool HasUnmappedMark(const json& cc) {
  return canonical::FindExtension(cc, kUnmappedExtension) != nullptr;
}

// A translation found now (a map added since, `hie terminology
// retranslate`): the element is no longer unmapped.
void ClearUnmappedMark(json& cc) {
  auto ext = cc.find("extension");
  if (ext == cc.end() || !ext->is_array()) return;
  for (size_t i = 0; i < ext->size(); ++i) {
    if (StrOf((*ext)[i], "url") == kUnmappedExtension) {
      ext->erase(i);
      break;
    }
  }
  if (ext->empty()) cc.erase(ext);
}

json MakeCoding(std::string_view system, std::string_view code, std::string_view display) {
  json c = json::object();
  c["system"] = std::string(system);
  c["code"] = std::string(code);
  if (!display.empty()) c["display"] = std::string(display);
  return c;
}

struct Applier {
  const TerminologySnapshot& snap;
  SystemId local;  // local:<facility>, or kNoSystem
  std::string local_name;  // "local:<facility>"
  std::vector<UnmappedFind>* unmapped;
  TerminologyOutcome out;

  void One(const Role& role, json& cc) {
    const SystemId target = snap.FindSystem(role.target);
    if (target == kNoSystem) return;  // the snapshot has nothing to translate to
    auto codings_it = cc.find("coding");
    if (codings_it == cc.end() || !codings_it->is_array() || codings_it->empty()) return;
    json& codings = *codings_it;
    const std::string& target_name = snap.System(target)->name;

    // Already standard? (the sender's own code, an alternate code, or an
    // earlier translation).
    for (size_t i = 0; i < codings.size(); ++i) {
      const json& c = codings[i];
      if (ResolveSystem(snap, StrOf(c, "system")) != target) continue;
      const std::string_view code = StrOf(c, "code");
      if (code.empty()) continue;
      const std::string norm = snap.NormalizeCode(target, code);
      if (norm != code) {
        bool present = false;
        for (const json& o : codings) {
          present |= ResolveSystem(snap, StrOf(o, "system")) == target && StrOf(o, "code") == norm;
        }
        if (!present) {
          const Concept* known = snap.FindConcept(target, norm);
          codings.push_back(
              MakeCoding(target_name, norm, known ? known->display : std::string_view()));
          ClearUnmappedMark(cc);
          ++out.normalized;
          return;
        }
      }
      ClearUnmappedMark(cc);
      ++out.standard;
      return;
    }

    const json& original = codings[0];
    const std::string_view code = StrOf(original, "code");
    if (code.empty()) return;
    const std::string_view system_name = StrOf(original, "system");
    const SystemId source = ResolveSystem(snap, system_name);
    std::array<SystemId, 3> candidates = {source, local == source ? kNoSystem : local,
                                          system_name.empty() ? target : kNoSystem};
    for (SystemId s : candidates) {
      if (s == kNoSystem) continue;
      TranslateResult r = snap.Translate(s, code, target);
      if (!r.found) continue;
      std::string_view display = r.display;
      if (display.empty()) {
        if (const Concept* c = snap.FindConcept(target, r.code)) display = c->display;
      }
      codings.push_back(MakeCoding(target_name, r.code, display));
      ClearUnmappedMark(cc);
      if (s == target) {
        ++out.standard;
      } else {
        ++out.translated;
      }
      return;
    }

    if (!role.count_misses) return;
    ++out.unmapped;
    if (!HasUnmappedMark(cc)) {
      if (!cc.contains("extension") || !cc["extension"].is_array()) cc["extension"] = json::array();
      cc["extension"].push_back(
          json{{"url", std::string(kUnmappedExtension)}, {"valueString", target_name}});
    }
    if (unmapped != nullptr) {
      // A code that names no system (a bare unit "10E9/L") is the sender's own
      // spelling: registered under local:<facility>, where a filled-in row of
      // the exported CSV is looked up.
      unmapped->push_back({system_name.empty() ? local_name : std::string(system_name),
                           std::string(code), std::string(StrOf(original, "display")),
                           target_name});
    }
  }
};

}  // namespace

SourceFormat SourceFormatOf(std::string_view content_type) {
  const std::string_view media = MediaType(content_type);
  if (EqualsCi(media, "application/xml") || EqualsCi(media, "text/xml") ||
      EqualsCi(media, "application/cda+xml")) {
    return SourceFormat::kCda;
  }
  if (EqualsCi(media, "application/fhir+json") || EqualsCi(media, "application/json")) {
    return SourceFormat::kFhir;
  }
  return SourceFormat::kHl7v2;
}

std::string_view ToString(SourceFormat f) {
  switch (f) {
    case SourceFormat::kHl7v2: return "hl7v2";
    case SourceFormat::kCda: return "cda";
    case SourceFormat::kFhir: return "fhir";
  }
  return "hl7v2";
}

Result<canonical::CanonicalMessage> Canonicalize(const MessageRecord& m,
                                                 const CanonicalizeOptions& options) {
  canonical::CanonicalMessage out;
  switch (SourceFormatOf(m.content_type)) {
    case SourceFormat::kHl7v2: {
      canonical::V2ReadOptions ro;
      // Intake stored MSH-18, or the facility's default when MSH-18 was empty.
      ro.default_charset = m.charset;
      // A value the sender got wrong (a bad timestamp) is left out rather
      // than holding up every delivery; intake already checked the structure.
      ro.lenient = true;
      HIE_ASSIGN_OR_RETURN(out, canonical::V2ToCanonical(m.raw, m.facility_id, ro));
      break;
    }
    case SourceFormat::kCda: {
      cda::CdaOptions co;
      co.oid_table = options.oid_table ? options.oid_table : cda::OidTable::BuiltIn();
      co.facility = m.facility_id;
      HIE_ASSIGN_OR_RETURN(out.bundle, cda::ReadCda(m.raw, co));
      out.facility = m.facility_id;
      out.message_type = TypeOfCda(out.bundle);
      break;
    }
    case SourceFormat::kFhir: {
      HIE_ASSIGN_OR_RETURN(out, canonical::ReadFhir(m.raw, m.facility_id));
      break;
    }
  }
  // The hub's view wins: intake identified the facility and the message.
  out.facility = m.facility_id;
  if (!m.message_type.empty()) out.message_type = m.message_type;
  const std::string& control = m.control_id.empty() ? m.dedupe_key : m.control_id;
  if (!control.empty()) out.control_id = control;
  if (out.control_id.empty()) out.control_id = "hie-" + std::to_string(m.id);
  return out;
}

TerminologyOutcome ApplyTerminology(canonical::CanonicalMessage& msg,
                                    const TerminologySnapshot& snapshot,
                                    std::vector<UnmappedFind>* unmapped) {
  const std::string local_name = canonical::LocalSystem(msg.facility);
  Applier a{snapshot, msg.facility.empty() ? kNoSystem : snapshot.FindSystem(local_name),
            local_name, unmapped, {}};
  canonical::VisitCodings(msg.bundle, [&](std::string_view role, const std::string&, json& cc) {
    if (const Role* r = FindRole(role)) a.One(*r, cc);
  });
  return a.out;
}

}  // namespace hie
