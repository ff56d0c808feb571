// HL7 v2 data types (CE/CWE, CX, XPN, XAD, XTN, XCN, TS) to and from their
// canonical JSON shapes, shared by v2_to_canonical and canonical_to_v2 so
// that the two directions stay mirror images. Internal to mappings/canonical.
// Thread rules: pure functions, safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mappings/hl7v2/er7.h"

namespace hie::canonical::v2 {

// Coding system named in CE-3 -> the terminology library's name: "" ->
// `default_system`; "L", "LOCAL", "99xxx" -> "local:<facility>"; "LN" ->
// "LOINC"; "I10"/"ICD10" -> "ICD-10"; "HL70001" -> "HL7 0001"; others as
// given (OIDs, "GB/T 2261.1", ...).
std::string SystemFromV2(std::string_view name, std::string_view facility,
                         std::string_view default_system);
// The reverse, for CE-3: "local:*" -> "L", "LOINC" -> "LN", "ICD-10" ->
// "I10", "HL7 0001" -> "HL70001", others as they are.
std::string SystemToV2(std::string_view system);

// Reading. `rep` is one repetition, still escaped.
std::vector<std::string_view> Reps(std::string_view field, const Er7Delimiters& d);
std::string Comp(std::string_view rep, const Er7Delimiters& d, size_t n);
std::string Sub(std::string_view rep, const Er7Delimiters& d, size_t comp, size_t sub);
// Unescaped text of `raw` as it is (not split, not trimmed); bytes that are
// not UTF-8 (from \Xhh\ escapes) become U+FFFD.
std::string Text(std::string_view raw, const Er7Delimiters& d);
// CE/CWE -> CodeableConcept (see model.h); null when the element is empty.
nlohmann::json ReadCE(std::string_view rep, const Er7Delimiters& d, std::string_view facility,
                      std::string_view default_system);
// XCN (or CNN as subcomponents when `sub` is true) -> {"display","identifier":{"value"}};
// null when empty.
nlohmann::json ReadXCN(std::string_view rep, const Er7Delimiters& d, bool sub = false);
// A person's name from family and given parts; Chinese names given whole in
// `family` are split after the surname. Null when both are empty.
nlohmann::json MakeHumanName(const std::string& family, const std::vector<std::string>& given);
nlohmann::json ReadXPN(std::string_view rep, const Er7Delimiters& d);
nlohmann::json ReadXAD(std::string_view rep, const Er7Delimiters& d);
nlohmann::json ReadXTN(std::string_view rep, const Er7Delimiters& d, bool work);

// Writing: an element from escaped components (trailing empty ones dropped).
std::string JoinComps(std::vector<std::string> comps, char sep);
std::string Esc(std::string_view plain);  // escaped with the standard delimiters
std::string WriteCE(const nlohmann::json& cc);
std::string WriteXCN(const nlohmann::json& ref, bool sub = false);
std::string WriteXPN(const nlohmann::json& name);
std::string WriteXAD(const nlohmann::json& address);
std::string WriteXTN(const nlohmann::json& telecom);

// Result status codes: OBX-11 (HL7 0085) <-> Observation.status and OBR-25
// (HL7 0123) <-> DiagnosticReport.status. Reading: empty OBX-11 -> "final",
// unknown codes -> "unknown". Writing: unknown -> "N" (OBX-11) / "" (OBR-25).
std::string ObservationStatusFromV2(std::string_view code);
std::string ObservationStatusToV2(std::string_view status);
std::string ReportStatusFromV2(std::string_view code);
std::string ReportStatusToV2(std::string_view status);

// True when `s` contains a code point from the CJK blocks.
bool HasCjk(std::string_view s);
// The string value of j[key], "" when absent or not a string.
std::string Str(const nlohmann::json& j, const char* key);

}  // namespace hie::canonical::v2
