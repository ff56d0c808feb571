// What the EMPI service reads from a message and keeps of a record: the
// patient of a PID segment (and the prior identity of an ADT^A40's MRG) as
// an empi::PersonRecord with its identifiers; JSON forms of the raw and the
// normalized record (stored with each source record, so the index loads at
// start without ICU); the per-field evidence of a comparison; and the golden
// record by survivorship rules.
// Thread rules: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "empi/compare.h"
#include "empi/model.h"
#include "empi/types.h"
#include "mappings/canonical/model.h"
#include "mappings/hl7v2/er7.h"
#include "store/empi_store.h"

namespace hie {

struct PatientIdentifier {
  std::string value, authority, type;  // CX-1, CX-4.1, CX-5
};

struct PatientInput {
  empi::PersonRecord record;  // record_id left empty (the service assigns it)
  std::string local_id;       // the first PID-3 of type MR (or untyped of this facility)
  std::string id_number;      // the first PID-3 of type NI, as sent
  std::vector<PatientIdentifier> identifiers;
  std::string prior_local_id;  // ADT^A40: MRG-1 of type MR (or the first MRG-1)
};

// Reads PID (and MRG). kRequiredMissing when there is no PID, or it names
// nobody (no identifier and no name).
Result<PatientInput> ExtractPatient(const Er7Message& msg, const std::string& facility_id);
// The same from a CDA or FHIR message read into the canonical model
// (engine/empi_canonical.cc): its first active Patient. No prior identity.
Result<PatientInput> ExtractPatient(const canonical::CanonicalMessage& msg,
                                    const std::string& facility_id);

// The key of a source record: "MR|<facility>|<MR>", else "NI|<facility>|<ID>",
// else "MSG|<message id>".
std::string SourceKey(const std::string& facility, const PatientInput& in, int64_t message_id);

nlohmann::json RawToJson(const empi::PersonRecord& r);
std::string NormToJson(const empi::NormalizedRecord& r);
Result<empi::NormalizedRecord> NormFromJson(const std::string& text);

std::string_view SexCode(empi::Sex s);            // "M" | "F" | ""
std::string BirthText(const empi::BirthDate& b);  // YYYY[-MM[-DD]] or ""

// {"id": {"level": 1, "label": "...", "weight": 9.1}, "name": ...}
nlohmann::json Evidence(const empi::FsModel& model, const empi::ComparisonVector& v);

// Survivorship over a person's sources (the normalized form of each alongside):
// ID card: a card reader's valid one first, else the most recent valid,
// self-consistent one; birth date and sex from that card when it is valid,
// else the most recent informative date / known sex; name: the most complete
// (Chinese characters, surname and given name, longest), the most recent
// among equals; address and phone: the most recent. Each field says which
// source it came from.
nlohmann::json GoldenRecord(int64_t person_id, const std::vector<EmpiSourceRow>& sources,
                            const std::vector<empi::NormalizedRecord>& norms);

// "E" + decimal id, and back (0 when not an EMPI id).
std::string EmpiId(int64_t person_id);
int64_t ParseEmpiId(std::string_view text);

}  // namespace hie
