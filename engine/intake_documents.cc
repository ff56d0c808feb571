// Intake of CDA R2 and FHIR R4 documents over HTTP (POST /api/v1/messages
// with Content-Type application/xml, text/xml, application/fhir+json or
// application/json). The same rules as HL7 v2 (intake.cc): a refused input
// is kept raw in the error store with its reason, an accepted one is
// answered only after the durable commit, a repeat gets the first answer.
// What the document is (message type, document type, dedupe key, patient
// key) comes from engine/document_input.h.
// Thread rules: as Intake (intake.h).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "engine/document_input.h"
#include "engine/intake.h"

namespace hie {

void Intake::SubmitDocument(IntakeInput in, DocumentFormat format, int64_t start_ns, Done done) {
  const char* kind = format == DocumentFormat::kCda ? "CDA" : "FHIR";
  // Copies: `in` is moved into Reject.
  const std::string header = in.facility_header;
  const std::string key = in.idempotency_key;
  if (in.oversized) {
    Status why(ErrorCode::kTooLarge,
               std::string(kind) + " 文档过大 (document too large): " + std::to_string(in.size) +
                   " 字节 (bytes)，上限 (limit) " + std::to_string(config_.http_max_body_bytes) +
                   " (http.max_body_bytes)",
               "Content-Length");
    Reject(std::move(in), why, header, key, "", std::move(done));
    return;
  }
  // A named sender is checked before its document is parsed.
  const FacilityConfig* fac = nullptr;
  if (!header.empty()) {
    fac = config_.FindFacility(header);
    if (fac == nullptr) {
      Status why(
          ErrorCode::kUnknownFacility,
          "未登记的发送机构 (unknown facility) \"" + header + "\"：请在配置 facilities 中添加",
          "X-Facility-Id");
      Reject(std::move(in), why, header, key, "", std::move(done));
      return;
    }
  } else if (format == DocumentFormat::kCda) {
    Status why(ErrorCode::kRequiredMissing,
               "缺少请求头 X-Facility-Id (sending facility missing)：CDA 文档须注明发送机构",
               "X-Facility-Id");
    Reject(std::move(in), why, "", key, "", std::move(done));
    return;
  }

  DocumentReadOptions options;
  options.xml_limits.max_bytes = std::max<size_t>(config_.http_max_body_bytes, 1);
  options.fhir.max_bytes = options.xml_limits.max_bytes;
  auto summary = ReadDocumentInput(format, in.raw, header, options);
  if (!summary.ok()) {
    Reject(std::move(in), summary.status(), header, key, "", std::move(done));
    return;
  }
  DocumentSummary& s = *summary;
  // FHIR content may name its sender (Bundle.identifier.system
  // urn:hie:local:<F>, MessageHeader.sender): it must agree with the header.
  if (s.facility != header) {
    if (!header.empty()) {
      Status why(ErrorCode::kInvalidArgument,
                 "X-Facility-Id \"" + header + "\" 与文档中的发送机构 \"" + s.facility + "\" (" +
                     s.facility_where + ") 不一致 (sending facility mismatch)",
                 "X-Facility-Id");
      Reject(std::move(in), why, header, key, "", std::move(done));
      return;
    }
    fac = config_.FindFacility(s.facility);
    if (fac == nullptr) {
      Status why(
          ErrorCode::kUnknownFacility,
          "未登记的发送机构 (unknown facility) \"" + s.facility + "\"：请在配置 facilities 中添加",
          s.facility_where);
      Reject(std::move(in), why, s.facility, key, "", std::move(done));
      return;
    }
  }
  if (fac == nullptr) {
    Status why(ErrorCode::kRequiredMissing,
               "缺少发送机构 (sending facility missing)：请设置请求头 X-Facility-Id",
               "X-Facility-Id");
    Reject(std::move(in), why, "", key, "", std::move(done));
    return;
  }

  auto m = std::make_shared<NewMessage>();
  m->facility_id = fac->id;
  m->dedupe_key = key.empty() ? s.content_key : key;
  m->control_id = s.control_id.empty() ? m->dedupe_key : s.control_id;
  m->message_type = s.message_type;
  m->content_type = in.content_type;
  m->source = in.source;
  m->peer = in.peer;
  m->charset = s.charset;
  m->patient_key =
      s.patient_key.empty() ? "msg:" + fac->id + ":" + m->dedupe_key : std::move(s.patient_key);
  m->received_at_ms = env_.NowMillis();
  // What intake made of the document: kept as the message's answer record,
  // read back by the pipeline (document type) and GET /messages/{id}.
  m->response = nlohmann::json{{"format", format == DocumentFormat::kCda ? "cda" : "fhir"},
                               {"message_type", s.message_type},
                               {"document_type", s.document_type}}
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  m->raw = std::move(in.raw);

  RouteInput ri;
  ri.message_type = m->message_type;
  ri.facility_id = m->facility_id;
  ri.facility_kind = fac->kind;
  ri.document_type = s.document_type;
  auto decision = std::make_shared<RouteDecision>(router_.Route(ri));
  m->status = decision->destination_ids.empty() ? MessageStatus::kFiltered : MessageStatus::kQueued;

  std::string label = std::string(kind) + " " + m->message_type;
  if (!s.document_type.empty()) label += " (文档类型 document_type " + s.document_type + ")";
  Commit(std::move(m), std::move(decision), Status::Ok(), std::move(label), nullptr, start_ns,
         std::move(done));
}

}  // namespace hie
