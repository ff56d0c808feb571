// Document inputs at intake: a CDA R2 document (application/xml, text/xml,
// application/cda+xml) or FHIR R4 JSON (application/fhir+json,
// application/json) read just far enough to commit it: which HL7 v2 message
// type it corresponds to (routing by message_type), its document type
// (routing by document_type), a stable dedupe key from its content, the
// control id shown in lists, and the per-patient ordering key.
//
// The readers are the codec libraries (mappings/cda/cda_reader.h,
// mappings/canonical/fhir.h); this file only summarizes what they return.
// The canonical model itself is not kept: the raw bytes are, and delivery
// reads them again (engine/canonicalize.h).
//
// Decisions (docs/architecture.md, "CDA and FHIR intake"):
//   message type   C0007 检验报告, C0006 检查报告 -> ORU^R01;
//                  C0002 门(急)诊病历, C0003 急诊留观病历 -> ADT^A04 (an
//                  outpatient / emergency visit: PID, PV1, DG1);
//                  B.... (WS/T 483 health record, B0001 个人基本健康信息登记)
//                  -> ADT^A04; any other document -> ORU^R01 when it holds
//                  a DiagnosticReport, else MDM^T02 (a clinical document).
//                  FHIR: as mappings/canonical/fhir.h reads it (meta.tag,
//                  MessageHeader.eventCoding, else from the resources).
//   document type  CDA: ClinicalDocument/code/@code as sent ("C0007",
//                  or a LOINC code for C-CDA); FHIR: the first
//                  DocumentReference.type coding code, else "".
//   dedupe key     (used when there is no Idempotency-Key header)
//                  CDA: "cda:" + id/@root [+ "^" + id/@extension]; a
//                  document without ClinicalDocument/id is refused (CDA R2
//                  requires it).
//                  FHIR: "fhir:Bundle:" + identifier.system + "|" + value
//                  for a Bundle with an identifier; "fhir:" + Type/id +
//                  "/_history/" + meta.versionId (or "@" + meta.lastUpdated)
//                  for a resource that has an id and a version; otherwise
//                  "fhir:sha256:" + the SHA-256 of the body, so a
//                  byte-identical resend is a repeat but an update of the
//                  same resource id is not dropped.
//   patient key    like mappings/hl7v2/pid.h: the first Patient's first
//                  identifier typed MR -> "MR:<facility>:<value>", else the
//                  ID card (urn:oid:2.16.156.10011.1.3 or type NI) ->
//                  "NI:<value>", else the first identifier ->
//                  "ID:<system>:<value>"; "" when there is none.
//
// Thread rules: pure functions; safe from any thread.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/message.h"
#include "core/status.h"
#include "mappings/canonical/fhir.h"
#include "mappings/cda/code_systems.h"
#include "mappings/cda/xml_safe.h"

namespace hie {

enum class DocumentFormat { kNone, kCda, kFhir };
// By the media type (parameters ignored, case-insensitive); kNone for HL7 v2
// and anything else.
DocumentFormat DocumentFormatOf(std::string_view content_type);

struct DocumentSummary {
  DocumentFormat format = DocumentFormat::kNone;
  std::string message_type;    // "ORU^R01"
  std::string document_type;   // "C0007"; "" when the document names none
  std::string content_key;     // dedupe key from the content (see above)
  std::string control_id;      // CDA id/@extension (else @root); FHIR Bundle identifier value,
                               // MessageHeader.id or Bundle.id; a resource's "Type/id"
  std::string facility;        // the facility the content names (FHIR), else the one given
  std::string facility_where;  // where the content names it: "/identifier/system" or
                               // "MessageHeader.sender.identifier.value"; "" when not
  std::string patient_key;     // "" when no Patient identifier
  std::string charset;         // "UTF-8", or the XML declaration's encoding
};

struct DocumentReadOptions {
  cda::XmlLimits xml_limits;
  canonical::FhirReadOptions fhir;
  std::shared_ptr<const cda::OidTable> oid_table;  // null: built in
};

// Reads `raw` as `format` for a sender identified as `facility` (may be
// empty for FHIR whose content names it). Errors are the readers': kParseError,
// kRequiredMissing, kInvalidArgument, kUnsupportedType, kTooLarge, with
// `where` = the XPath (CDA; "line N" when not well-formed) or the JSON
// pointer (FHIR; "" = the whole text), messages in Chinese with the English term.
Result<DocumentSummary> ReadDocumentInput(DocumentFormat format, std::string_view raw,
                                          std::string_view facility,
                                          const DocumentReadOptions& options = {});

// The HL7 v2 type for a CDA document code ("C0007" -> "ORU^R01"); "" when
// the code alone does not say (the caller looks at the content).
std::string MessageTypeForDocumentCode(std::string_view code);

// The patient key of a canonical bundle's first Patient (see above).
std::string PatientKeyOfBundle(const nlohmann::json& bundle, std::string_view facility);

// The document type intake recorded for a stored CDA/FHIR message (kept in
// its response record, see intake_documents.cc); "" for HL7 v2.
std::string DocumentTypeOfRecord(const MessageRecord& m);

}  // namespace hie
