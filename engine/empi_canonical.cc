// The patient of a CDA or FHIR message (read into the canonical model,
// engine/canonicalize.h) as the record the EMPI takes: the first active
// Patient resource; identifiers (ID card under urn:oid:2.16.156.10011.1.3,
// the facility's record number typed MR), name, birth date, gender, address
// and phone. See engine/empi_records.h.
// Thread rules: pure functions; safe from any thread.
#include <string>

#include "engine/empi_records.h"

namespace hie {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string TypeCode(const json& ident) {
  if (!ident.contains("type")) return {};
  const json& t = ident["type"];
  if (t.contains("coding") && t["coding"].is_array()) {
    for (const auto& c : t["coding"]) {
      std::string code = Str(c, "code");
      if (!code.empty()) return code;
    }
  }
  return Str(t, "text");
}

// "local:<facility>", "urn:hie:local:<facility>" or a bare authority.
std::string Authority(const std::string& system) {
  for (std::string_view p : {"urn:hie:local:", "local:", "urn:oid:"}) {
    if (system.rfind(p, 0) == 0) return system.substr(p.size());
  }
  return system;
}

const json* FirstPatient(const json& bundle) {
  const json* first = nullptr;
  if (!bundle.contains("entry") || !bundle["entry"].is_array()) return nullptr;
  for (const auto& e : bundle["entry"]) {
    if (!e.contains("resource")) continue;
    const json& r = e["resource"];
    if (Str(r, "resourceType") != "Patient") continue;
    if (first == nullptr) first = &r;
    if (!(r.contains("active") && r["active"].is_boolean() && !r["active"].get<bool>())) return &r;
  }
  return first;
}

}  // namespace

Result<PatientInput> ExtractPatient(const canonical::CanonicalMessage& msg,
                                    const std::string& facility_id) {
  const json* p = FirstPatient(msg.bundle);
  if (p == nullptr) {
    return Status(ErrorCode::kRequiredMissing, "文档中没有患者 (no Patient in the document)",
                  "Patient");
  }
  PatientInput in;
  if (p->contains("identifier") && (*p)["identifier"].is_array()) {
    for (const auto& i : (*p)["identifier"]) {
      const std::string value = Str(i, "value"), system = Str(i, "system");
      if (value.empty()) continue;
      PatientIdentifier id;
      id.value = value;
      id.authority = system == canonical::kIdCardSystem ? "NI" : Authority(system);
      id.type = system == canonical::kIdCardSystem ? "NI" : TypeCode(i);
      in.identifiers.push_back(id);
    }
  }
  for (const auto& i : in.identifiers) {
    if (i.type == "NI" && in.id_number.empty()) in.id_number = i.value;
  }
  // The facility's record number: typed MR, this facility's first.
  for (const auto& i : in.identifiers) {
    if (i.type == "MR" && i.authority == facility_id) {
      in.local_id = i.value;
      break;
    }
  }
  for (const auto& i : in.identifiers) {
    if (in.local_id.empty() && i.type == "MR") in.local_id = i.value;
  }
  empi::PersonRecord& r = in.record;
  r.id_number = in.id_number;
  if (p->contains("name") && (*p)["name"].is_array() && !(*p)["name"].empty()) {
    const json& n = (*p)["name"][0];
    std::string given;
    if (n.contains("given") && n["given"].is_array()) {
      for (const auto& g : n["given"]) {
        if (g.is_string()) given += g.get<std::string>();
      }
    }
    const std::string family = Str(n, "family");
    if (!family.empty() && !given.empty()) {
      r.surname = family;
      r.given_name = given;
      r.name = family + given;
    } else {
      r.name = Str(n, "text");
      if (r.name.empty()) r.name = family + given;
    }
  }
  r.birth_date = Str(*p, "birthDate");
  if (r.birth_date.size() > 10) r.birth_date.resize(10);  // a dateTime
  const std::string gender = Str(*p, "gender");
  r.sex = gender == "male" ? "M" : gender == "female" ? "F" : "";
  if (p->contains("address") && (*p)["address"].is_array() && !(*p)["address"].empty()) {
    const json& a = (*p)["address"][0];
    r.address = Str(a, "text");
    if (r.address.empty()) {
      for (const char* k : {"state", "city", "district"}) r.address += Str(a, k);
      if (a.contains("line") && a["line"].is_array()) {
        for (const auto& l : a["line"]) {
          if (l.is_string()) r.address += l.get<std::string>();
        }
      }
    }
  }
  if (p->contains("telecom") && (*p)["telecom"].is_array()) {
    for (const auto& t : (*p)["telecom"]) {
      const std::string sys = Str(t, "system");
      if (sys.empty() || sys == "phone") {
        r.phone = Str(t, "value");
        if (!r.phone.empty()) break;
      }
    }
  }
  if (in.identifiers.empty() && r.name.empty()) {
    return Status(ErrorCode::kRequiredMissing,
                  "患者既无标识也无姓名 (the Patient names nobody: no identifier, no name)",
                  "Patient");
  }
  return in;
}

}  // namespace hie
