// Renders a stored message in a destination's format (docs/api.md,
// "Destination payloads"):
//   hl7v2 - HL7 v2 input: the message as received, decoded to UTF-8 with
//           MSH-18 rewritten to UNICODE UTF-8 (every other byte kept);
//           CDA/FHIR input: canonical -> HL7 v2 (canonical_to_v2.h), with
//           the standard codes as alternate codes (CE-4..6).
//   json  - a FHIR R4 Bundle (type collection) of the canonical model with
//           the terminology translations added (fhir.h, ToFhir).
//   cda   - a WS/T 500 / WS/T 483 document written from the canonical model:
//           检验报告 C0007 for a lab result (ORU^R01, a lab CDA or FHIR
//           DiagnosticReport), 门(急)诊病历 C0002 for an outpatient or
//           emergency visit (ADT^A01/A04 with PV1-2 O/E), 个人基本健康信息登记
//           (WS/T 483) for a registration without a visit (ADT^A28/A31/A08,
//           or A04 without PV1). A CDA document that arrived as CDA is
//           forwarded as it came. Anything else (DFT^P03, ADT^A40, an
//           inpatient admission) has no CDA form: kUnsupportedType, and the
//           delivery ends ERROR with that reason.
// Terminology: one snapshot is taken per render and used from start to end.
//
// Thread rules: a Renderer is immutable after construction; Render is safe
// from any thread at once.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/message.h"
#include "core/status.h"
#include "engine/canonicalize.h"
#include "engine/config.h"
#include "engine/terminology_service.h"
#include "mappings/canonical/model.h"
#include "mappings/cda/cda_writer.h"
#include "mappings/cda/code_systems.h"

namespace hie {

struct RenderedPayload {
  std::string content_type;  // for HTTP
  std::string body;
  std::string file_extension;  // ".hl7", ".json", ".xml"
};

// The message's text in UTF-8, decoded from its stored charset (HL7 v2:
// MSH-18 rewritten to UNICODE UTF-8).
Result<std::string> MessageTextUtf8(const MessageRecord& m);

// Which CDA document a canonical message becomes; kUnsupportedType (with a
// Chinese + English reason naming the message type) when it has none.
Result<cda::CdaDocumentKind> CdaKindFor(const canonical::CanonicalMessage& msg);

class Renderer {
 public:
  // `terminology` may be null or unconfigured: codes go out as received.
  explicit Renderer(const TerminologyService* terminology = nullptr,
                    std::shared_ptr<const cda::OidTable> oid_table = nullptr);

  // Takes the current terminology snapshot once and renders with it.
  Result<RenderedPayload> Render(const MessageRecord& m, DestinationFormat format) const;
  // Renders with the given snapshot (tests; a caller holding one already).
  Result<RenderedPayload> Render(const MessageRecord& m, DestinationFormat format,
                                 const TerminologySnapshot& snapshot) const;

  // The canonical model of `m` with `snapshot` applied (what json and cda
  // destinations are written from).
  Result<canonical::CanonicalMessage> CanonicalWithTerminology(
      const MessageRecord& m, const TerminologySnapshot& snapshot) const;

  // The CDA document (C0007 lab report, C0002 outpatient record, WS/T 483
  // registration; CdaKindFor) of a canonical message that already has the
  // terminology applied — the cda format above, and the shared record's
  // generated documents (GET /api/v1/documents/{id}). `fallback_time_ms`:
  // the document time when the model has none (after MSH-7);
  // `fallback_document_id` when it has no report or document id.
  Result<std::string> CdaFromCanonical(const canonical::CanonicalMessage& msg,
                                       int64_t fallback_time_ms,
                                       const std::string& fallback_document_id) const;

 private:
  const TerminologyService* terminology_;
  std::shared_ptr<const cda::OidTable> oid_table_;
};

}  // namespace hie
