// FHIR R4 JSON codec: FHIR Bundles (type message, transaction or collection)
// or single resources <-> the canonical model (model.h).
//
// Reading:
// - The text is refused before parsing when larger than max_bytes
//   (kTooLarge) or nested deeper than max_depth (kParseError); parsing uses
//   nlohmann::json's SAX parser, without exceptions, and keeps the text of
//   decimals whose number would print differently ("value": 5.10) in
//   "_value" as model.h describes. Errors name the JSON pointer (or the byte
//   offset of a syntax error).
// - Resources get canonical ids (p1, e1, o1, r1, c1, d1, eob1, org1, ...)
//   and every reference to them (by fullUrl, "Type/id" or an absolute URL
//   ending in Type/id) is rewritten to "Type/<new id>"; other references are
//   kept. MessageHeader is not kept as a resource.
// - facility: Bundle.identifier.system "urn:hie:local:<F>" (as written by
//   WriteFhir), else MessageHeader.sender.identifier.value, else the
//   `facility` argument; the engine should compare it with X-Facility-Id.
//   control_id: Bundle.identifier.value, else MessageHeader.id, else
//   Bundle.id, else "". message_type: meta.tag "urn:hie:message-type", else
//   MessageHeader.eventCoding (HL7 v2 event), else from the content
//   (ExplanationOfBenefit -> DFT^P03, DiagnosticReport/Observation ->
//   ORU^R01, a replaced-by Patient -> ADT^A40, DocumentReference ->
//   MDM^T02, else ADT^A04).
// - Coding systems are mapped from FHIR URIs to the terminology library's
//   names (SystemFromFhir); identifiers of type MR get system
//   "local:<facility>".
// Writing: a Bundle of type collection (or message, with a MessageHeader
//   first), coding systems as FHIR URIs (SystemToFhir), "local:F"
//   identifier systems as "urn:hie:local:F", the control id in
//   Bundle.identifier and the message type in meta.tag, so that reading what
//   was written gives the same CanonicalMessage.
//
// Thread rules: pure functions, safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"
#include "mappings/canonical/model.h"

namespace hie::canonical {

struct FhirReadOptions {
  size_t max_bytes = 16u << 20;
  size_t max_depth = 64;  // arrays and objects
  size_t max_entries = 20000;
};

Result<CanonicalMessage> ReadFhir(std::string_view json_text, std::string_view facility,
                                  const FhirReadOptions& options = {});
// The same for a document already parsed (its depth is checked too).
Result<CanonicalMessage> ReadFhirDocument(const nlohmann::json& doc, std::string_view facility,
                                          const FhirReadOptions& options = {});

struct FhirWriteOptions {
  bool message_bundle = false;  // type "message" with a MessageHeader first
};

nlohmann::json ToFhir(const CanonicalMessage& msg, const FhirWriteOptions& options = {});
// ToFhir as text (compact; invalid UTF-8 replaced, never throws).
std::string WriteFhir(const CanonicalMessage& msg, const FhirWriteOptions& options = {});

// "LOINC" -> "http://loinc.org", "ICD-10" -> "http://hl7.org/fhir/sid/icd-10",
// "UCUM" -> "http://unitsofmeasure.org", "HL7 0001" ->
// "http://terminology.hl7.org/CodeSystem/v2-0001", "local:F" ->
// "urn:hie:local:F", a bare OID or a national system with a known OID
// ("GB/T 2261.1") -> "urn:oid:...", other URIs as they are, other names ->
// "urn:hie:system:<name, percent-encoded>".
std::string SystemToFhir(std::string_view system);
// The reverse (a known national OID gives its name).
std::string SystemFromFhir(std::string_view uri);

// Depth of nesting of arrays/objects in JSON text (strings skipped); stops
// counting once `limit` is exceeded. Linear, no allocation.
size_t JsonDepth(std::string_view text, size_t limit);

}  // namespace hie::canonical
