// Canonicalize: a stored message, whatever format it arrived in, turned into
// the canonical model (mappings/canonical/model.h), and terminology applied
// to it (every coded element gets its standard code ADDED beside the
// original; see ApplyTerminology).
//
// The stored content_type says which reader to use:
//   application/hl7-v2 (and the other ER7 media types, or empty) -> HL7 v2,
//       decoded from MSH-18 (or the stored charset, which intake set from the
//       facility's default when MSH-18 was empty) to UTF-8;
//   application/xml, text/xml, application/cda+xml               -> CDA R2;
//   application/fhir+json, application/json                      -> FHIR R4.
//
// Thread rules: pure functions; safe from any thread. ApplyTerminology reads
// only the snapshot it is given, so a caller that takes one snapshot per
// message sees one consistent map from start to end, whatever reloads do.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/message.h"
#include "core/status.h"
#include "engine/terminology_service.h"
#include "mappings/canonical/model.h"
#include "mappings/cda/code_systems.h"
#include "terminology/terminology.h"

namespace hie {

enum class SourceFormat { kHl7v2, kCda, kFhir };
// By the media type (parameters such as "; charset=utf-8" ignored).
SourceFormat SourceFormatOf(std::string_view content_type);
std::string_view ToString(SourceFormat f);  // "hl7v2" | "cda" | "fhir"

struct CanonicalizeOptions {
  // OID table for CDA input; null: cda::OidTable::BuiltIn().
  std::shared_ptr<const cda::OidTable> oid_table;
};

// Reads `m.raw` per its content_type into the canonical model, with
// facility = m.facility_id, control_id = m.control_id (or the dedupe key)
// and message_type = m.message_type (or what the reader found). Errors are
// the readers' (segment/field, XPath or JSON pointer in `where`);
// kUnsupportedType for an HL7 v2 message type that has no mapping.
Result<canonical::CanonicalMessage> Canonicalize(const MessageRecord& m,
                                                 const CanonicalizeOptions& options = {});

// Extension on a CodeableConcept whose original code could not be translated
// to the standard system its element needs: {"url": kUnmappedExtension,
// "valueString": "<target system name>"} (e.g. "LOINC"). See
// docs/api.md "Destination payloads".
inline constexpr std::string_view kUnmappedExtension = "urn:hie:unmapped";

struct TerminologyOutcome {
  int translated = 0;  // codings added by a concept map
  int normalized = 0;  // codings added because the code was padded differently ("1" -> "01")
  int standard = 0;    // elements already coded in their standard system
  int unmapped = 0;    // elements marked with kUnmappedExtension
};

// Applies `snapshot` to every coded element of msg.bundle (the roles of
// canonical::VisitCodings). Per role the standard system is:
//   sex GB/T 2261.1 · marital-status GB/T 2261.2 · ethnicity GB 3304 ·
//   patient-class CV09.00.404 · payment-method CV07.10.005 ·
//   identifier-type CV02.01.101 (misses not counted: most identifier types
//   are record numbers with no ID-document counterpart) · lab-item LOINC ·
//   lab-panel LOINC · unit UCUM · abnormal-flag HL7 0078 · diagnosis ICD-10.
// Other roles (coded results, categories, charge items) have no national
// target and are left as they are. A role whose standard system the
// snapshot does not know is skipped (nothing to translate to).
// For each element: a coding already in the standard system counts as
// standard (a padded variant gets the normalised code added); otherwise the
// original coding (coding[0]) is looked up as (its system, code), then as
// (local:<facility>, code), then - when it names no system - as a code of
// the standard system itself; the first hit is appended as
// {"system": <standard name>, "code", "display"}. No hit: the element gets
// kUnmappedExtension and, when `unmapped` is given, one UnmappedFind.
// Idempotent: applying twice adds nothing the second time. Applied again
// with a snapshot that now translates an element marked unmapped (a map
// added since), the translation is appended and the mark removed.
TerminologyOutcome ApplyTerminology(canonical::CanonicalMessage& msg,
                                    const TerminologySnapshot& snapshot,
                                    std::vector<UnmappedFind>* unmapped = nullptr);

}  // namespace hie
