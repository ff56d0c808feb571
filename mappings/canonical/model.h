// The canonical model: what every wire format (HL7 v2, CDA R2, FHIR R4 JSON)
// is read into and written from. It is a FHIR R4 Bundle held as JSON, plus
// the source message's facility, control id and HL7 v2 message type.
//
// Conventions (shared by every codec in mappings/; keep them):
// - bundle: {"resourceType":"Bundle","type":"collection","entry":[{"resource":{..}}]}.
//   Optional "timestamp" (MSH-7) and "meta":{"extension":[..]} for things of
//   the source format with no FHIR home (HL7 v2 Z-segments: url
//   "urn:hie:v2-segment", valueString = the raw segment in the standard
//   delimiters |^~\&).
// - Every resource has an "id": p1.. (Patient), e1.. (Encounter), o1..
//   (Observation), r1.. (DiagnosticReport), c1.. (Condition), d1..
//   (DocumentReference), eob1.. (ExplanationOfBenefit), org1..
//   (Organization); references are relative ("Patient/p1").
// - Patient.identifier: ID card {"system":"urn:oid:2.16.156.10011.1.3",
//   "value":..}; the facility's record number {"type":{"coding":[{"system":
//   "http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},
//   "system":"local:<facility>","value":..}; other identifiers keep their v2
//   type code (v2-0203) and authority as system. name [{"text","family",
//   "given":[..]}] (a Chinese name given whole is split after its surname;
//   text is family+given for Chinese names). gender is the FHIR code; the sex
//   as received is kept in extension {"url":"urn:hie:sex",
//   "valueCodeableConcept":..}. birthDate, telecom, address {text, line,
//   district, city, state, postalCode, country}, maritalStatus, ethnicity in
//   extension "urn:hie:ethnicity".
// - ADT^A40: the surviving patient is the Patient whose link has type
//   "replaces"; each prior identity (MRG) is a further Patient with
//   "active":false and link [{"other":{"reference":"Patient/pN"},
//   "type":"replaced-by"}]. The EMPI merges the replaced-by Patient's
//   identifiers into the surviving one.
// - Coded elements are CodeableConcepts whose coding[0] is the ORIGINAL as
//   received: system named as the terminology library names systems
//   ("local:<facility>" for local codes, "LOINC", "ICD-10", "UCUM",
//   "GB/T 2261.1", "HL7 0001" for HL7 v2 table 0001, or a bare OID) with the
//   original code and display; a source's alternate code (CE-4..6) is
//   coding[1]; "text" holds the original text when there is no code (or
//   CWE-9). Terminology translation appends codings; never replace coding[0].
//   VisitCodings lists them all with a role.
// - Times are FHIR date/dateTime strings. HL7 v2 timestamps without a zone
//   are taken as China time, +08:00; times given to minute or hour precision
//   get ":00" seconds (FHIR requires them).
// - Observation: status, code, value[x] (valueQuantity {value, unit, system,
//   code}, comparator for SN "<5"; valueString; valueCodeableConcept;
//   valueRange; valueRatio; valueDateTime), the unit as received in
//   extension "urn:hie:unit" (CodeableConcept), referenceRange [{low?, high?,
//   text}], interpretation (HL7 0078 flags), effectiveDateTime, subject,
//   encounter, performer [{display, identifier}], note [{text}]. A decimal
//   whose JSON number would print differently (e.g. "5.10") keeps its
//   source text in "_value": {"extension":[{"url":"urn:hie:decimal",
//   "valueString":"5.10"}]} beside "value".
// - Encounter (PV1): status in-progress/finished (finished when an end is
//   known), class (v3-ActCode IMP/AMB/EMER/PRENC) with the patient class as
//   received in extension "urn:hie:patient-class" (HL7 0004), the payment
//   method in extension "urn:hie:payment-method" (CV07.10.005 for digit
//   codes, else HL7 0064), identifier type VN, period, participant
//   (ATND/ADM), location with physicalType wa/ro/bd.
// - DiagnosticReport (OBR): identifiers typed PLAC/FILL, code, category
//   (HL7 0074), status, effectiveDateTime, issued, resultsInterpreter, the
//   ordering provider in extension "urn:hie:ordering-provider"
//   (valueReference), conclusion (NTE after OBR), result[].
// - Condition (DG1): code (ICD-10 unless CE-3 says otherwise), category
//   (HL7 0052 diagnosis type), recordedDate, subject, encounter.
// - People (performer, participant.individual, resultsInterpreter) are
//   inline {"display": name, "identifier": {"value": id}}, not resources.
// - ExplanationOfBenefit (DFT^P03): item[] for charges (FT1 types other than
//   PY/AJ), total[] with the computed "submitted" total (category system
//   http://terminology.hl7.org/CodeSystem/adjudication) and one entry per
//   settlement row (FT1 type PY/AJ; category = FT1-7 as received; the
//   type, FT1-2 and FT1-4 in extensions "urn:hie:transaction-type",
//   "urn:hie:transaction-id", "urn:hie:transaction-date"), payment
//   {amount} = sum of the PY rows. Money is {"value", "currency":"CNY"}.
//
// Thread rules: plain value types and pure functions; a CanonicalMessage is
// not shared between threads while being modified.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace hie::canonical {

struct CanonicalMessage {
  std::string facility;      // the sending facility's id (config facilities[].id)
  std::string control_id;    // MSH-10, or the FHIR Bundle identifier / Idempotency-Key
  std::string message_type;  // HL7 v2 "CODE^TRIGGER", e.g. "ORU^R01"
  nlohmann::json bundle;     // FHIR R4 Bundle, type "collection"

  bool operator==(const CanonicalMessage&) const = default;
};

// Well-known URIs and system names.
inline constexpr std::string_view kIdCardSystem = "urn:oid:2.16.156.10011.1.3";
inline constexpr std::string_view kIdentifierTypeSystem =
    "http://terminology.hl7.org/CodeSystem/v2-0203";
inline constexpr std::string_view kSexExtension = "urn:hie:sex";
inline constexpr std::string_view kEthnicityExtension = "urn:hie:ethnicity";
inline constexpr std::string_view kUnitExtension = "urn:hie:unit";
inline constexpr std::string_view kPatientClassExtension = "urn:hie:patient-class";
inline constexpr std::string_view kPaymentMethodExtension = "urn:hie:payment-method";
inline constexpr std::string_view kOrderingProviderExtension = "urn:hie:ordering-provider";
inline constexpr std::string_view kTransactionIdExtension = "urn:hie:transaction-id";
inline constexpr std::string_view kTransactionTypeExtension = "urn:hie:transaction-type";
inline constexpr std::string_view kTransactionDateExtension = "urn:hie:transaction-date";
inline constexpr std::string_view kDecimalExtension = "urn:hie:decimal";
inline constexpr std::string_view kV2SegmentExtension = "urn:hie:v2-segment";
inline constexpr std::string_view kAdjudicationSystem =
    "http://terminology.hl7.org/CodeSystem/adjudication";
inline constexpr std::string_view kUcumUri = "http://unitsofmeasure.org";

// "local:<facility>".
std::string LocalSystem(std::string_view facility);

// An empty bundle of type collection.
nlohmann::json NewBundle();
// Appends {"resource": resource} to bundle.entry.
void AddEntry(nlohmann::json& bundle, nlohmann::json resource);
// The resource with this resourceType and id, or nullptr.
nlohmann::json* FindResource(nlohmann::json& bundle, std::string_view type, std::string_view id);
const nlohmann::json* FindResource(const nlohmann::json& bundle, std::string_view type,
                                   std::string_view id);
// The value of extension `url` in obj.extension, or nullptr.
const nlohmann::json* FindExtension(const nlohmann::json& obj, std::string_view url);

// A CodeableConcept {"coding":[{"system","code","display"}]}; empty parts
// are left out; with no code, `display` becomes "text".
nlohmann::json MakeConcept(std::string_view system, std::string_view code,
                           std::string_view display);

// A JSON number for a decimal string, with its original text kept as
// described above. Writes obj[key] (and obj["_" + key] when needed). False
// when `text` is not a decimal.
bool SetDecimal(nlohmann::json& obj, const std::string& key, std::string_view text);
// The decimal text of obj[key]: the kept original or the number printed.
std::string GetDecimal(const nlohmann::json& obj, const std::string& key);

// HL7 v2 TS/DTM ("YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]"; '-', ':', ' ' and
// 'T' separators tolerated) -> FHIR date/dateTime; no zone = +08:00.
// Errors are kParseError with `where` = `where`.
Result<std::string> V2TimeToFhir(std::string_view ts, std::string_view where);
// FHIR date/dateTime -> HL7 v2 DTM ("2023-11-05T10:30:00+08:00" ->
// "20231105103000+0800"; "Z" -> "+0000").
Result<std::string> FhirTimeToV2(std::string_view t, std::string_view where);

// Calls fn(role, json_pointer, cc) for every coded element of the
// bundle. Roles: "sex", "marital-status", "ethnicity", "identifier-type"
// (Patient.identifier[].type), "patient-class",
// "payment-method", "lab-panel", "service-section", "lab-item",
// "coded-result", "unit", "abnormal-flag", "diagnosis", "diagnosis-type",
// "charge-item", "transaction-type", "settlement-category", "document-type",
// "document-class". The pointer is relative to the bundle
// ("/entry/2/resource/code"). Only well-formed concepts are visited: an
// object whose "coding", when present, is an array (so fn may push_back).
// fn may append codings; it must not add or remove entries.
using CodingVisitor =
    std::function<void(std::string_view role, const std::string& pointer, nlohmann::json& cc)>;
void VisitCodings(nlohmann::json& bundle, const CodingVisitor& fn);

// {"facility","control_id","message_type","bundle"}: the form golden files
// and the store keep.
nlohmann::json ToJson(const CanonicalMessage& msg);
Result<CanonicalMessage> FromJson(const nlohmann::json& j);

}  // namespace hie::canonical
