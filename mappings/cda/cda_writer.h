// WriteCda: the canonical model (a FHIR R4 Bundle, see cda_reader.h for the
// shapes) -> a CDA R2 document shaped by WS/T 500-2016 / WS/T 483-2016.
//
// Kinds written:
//   kLabReport          检验报告 (WS/T 500 C0007, template 2.16.156.10011.2.1.1.27)
//   kOutpatientRecord   门(急)诊病历 (WS/T 500 C0002, template 2.16.156.10011.2.1.1.22)
//   kHealthRecordBasic  个人基本健康信息登记 (WS/T 483.1; template and code in
//                       CdaWriteOptions when the defaults do not fit)
//
// Lab results are written as WS/T 500 检验 entries: DE04.30.019.00 (item),
// with the standard item codes WS/T 500 lacks (LOINC, the facility's code)
// as <translation>s of that code, the result as DE04.30.015.00 (+ unit in
// DE04.30.016.00) or DE04.30.017.00, and the reference range and abnormal
// flag as <referenceRange> / <interpretationCode>. The document carries the
// WS/T 500 realm elements (township, patientType, age); once those are set
// aside it validates against the CDA R2 schema. Output is UTF-8.
//
// Thread rules: reentrant; options are read-only.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "mappings/cda/code_systems.h"

namespace hie::cda {

enum class CdaDocumentKind { kLabReport, kOutpatientRecord, kHealthRecordBasic };

struct CdaWriteOptions {
  // OID table; when null, `oid_systems_csv` is loaded (prefer loading once
  // and sharing), else OidTable::BuiltIn().
  std::shared_ptr<const OidTable> oid_table;
  std::string oid_systems_csv;
  // Document id extension under 2.16.156.10011.1.1; empty -> the
  // DocumentReference identifier, else the DiagnosticReport's, else "1".
  std::string document_id;
  // Document time (FHIR dateTime); empty -> DocumentReference.date,
  // DiagnosticReport.issued/effectiveDateTime; one of them is required.
  std::string effective_time;
  // Override the template OID / document type code of the kind.
  std::string template_id;
  std::string document_code;
  // Write the realm elements (age, patientType, township). Off gives a
  // document that validates against the stock CDA schema as it is.
  bool realm_elements = true;
};

// Errors: kConfigError (OID table unreadable), kInvalidArgument with a JSON pointer in `where` (not
// a Bundle, malformed resource), kRequiredMissing (no Patient, no document time).
Result<std::string> WriteCda(const nlohmann::json& bundle, CdaDocumentKind kind,
                             const CdaWriteOptions& options);

// "lab-report" / "outpatient-record" / "health-record-basic" -> kind.
Result<CdaDocumentKind> ParseCdaDocumentKind(std::string_view name);

}  // namespace hie::cda
