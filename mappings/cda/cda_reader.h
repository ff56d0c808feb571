// ReadCda: a CDA R2 document (WS/T 500 / WS/T 483 or C-CDA) -> the canonical
// model, a FHIR R4 Bundle of type "collection" (see DESIGN.md, mappings/).
//
//   header recordTarget   -> Patient p1 (ID card under 2.16.156.10011.1.3,
//                            GB/T 2261.1 sex kept in extension urn:hie:sex,
//                            addresses incl. the WS/T 500 realm parts
//                            township/streetName/houseNumber as extensions)
//   custodian             -> Organization org1
//   code/title/time/author/templateId/sections -> DocumentReference d1
//   WS/T 500 patientType  -> Encounter e1 (class v3-ActCode, the type as
//                            received in extension urn:hie:patient-class)
//   result organizers and WS/T 500 检验 entries -> Observation o1.. and
//                            DiagnosticReport r1..
//   vital signs and WS 363 (DE..) entries -> Observation o..
//   WS/T 500 诊断 entries (DE05.01.024.00) -> Condition c1..
//
// Decimals keep their source spelling in "_value" (urn:hie:decimal) when
// the JSON number prints differently ("7.80"), as mappings/canonical does.
//
// Code-system mismatches (an element whose codeSystem differs from the one
// its template expects, or a codeSystemName naming another known system)
// never fail the read: they are collected as warnings, returned through
// `warnings` and also attached to DocumentReference.extension
// (url urn:hie:cda-warning) so they travel with the data.
//
// Thread rules: reentrant; CdaOptions is read-only and may be shared.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "mappings/cda/code_systems.h"
#include "mappings/cda/xml_safe.h"

namespace hie::cda {

struct CdaOptions {
  XmlLimits limits;
  // OID -> code-system table. When null, `oid_systems_csv` is loaded (per
  // call: prefer loading once with OidTable::LoadFile and sharing it); when
  // both are empty, OidTable::BuiltIn().
  std::shared_ptr<const OidTable> oid_table;
  std::string oid_systems_csv;
  // Facility the document came from ("local:<facility>" systems for its
  // record numbers); empty -> record numbers keep their OID system.
  std::string facility;
  // Zone for times without one.
  std::string default_zone = "+08:00";
};

struct CdaWarning {
  std::string where;    // XPath
  std::string message;  // Chinese with the English term
};

// Reads one ClinicalDocument. Errors: kTooLarge, kParseError (not
// well-formed, hostile, root not ClinicalDocument), kRequiredMissing
// (no recordTarget/patientRole), kInvalidArgument (malformed values), each
// with `where` = the XPath of the offending element.
Result<nlohmann::json> ReadCda(std::string_view xml, const CdaOptions& options,
                               std::vector<CdaWarning>* warnings = nullptr);

}  // namespace hie::cda
