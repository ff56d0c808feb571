#include "engine/intake.h"

#include <charconv>
#include <memory>

#include "core/log.h"
#include "engine/document_input.h"
#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/msh.h"
#include "mappings/hl7v2/pid.h"
#include "store/byte_codec.h"

namespace hie {
namespace {

constexpr size_t kMaxRejectedRawBytes = 16 << 20;

bool IsHl7ContentType(std::string_view ct) {
  // Compare the media type only, ignoring parameters such as charset.
  std::string_view media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return media.empty() || media == "application/hl7-v2" || media == "x-application/hl7-v2+er7" ||
         media == "application/hl7-v2+er7" || media == "text/plain";
}

// Message codes whose content is about one patient: PID is required.
bool NeedsPid(std::string_view message_type) {
  std::string_view code = message_type.substr(0, message_type.find('^'));
  return code == "ADT" || code == "ORU" || code == "DFT" || code == "ORM" || code == "OML" ||
         code == "SIU" || code == "MDM" || code == "VXU";
}

// "PID-3", parsed once.
const Er7Path& Pid3Path() {
  static const Er7Path path = *Er7Path::Parse("PID-3");
  return path;
}

// YYYYMMDDHHMMSS (UTC) of `ms`: the digits of FormatTimeMillis up to the
// seconds. Formatted once per second per thread (every ACK of that second
// carries the same stamp).
std::string Timestamp14(int64_t ms) {
  thread_local int64_t cached_secs = 0;
  thread_local std::string cached;
  const int64_t secs = ms / 1000;  // as FormatTimeMillis truncates
  if (cached.empty() || secs != cached_secs) {
    std::string iso = FormatTimeMillis(ms);  // 2026-11-22T07:18:18.123Z
    std::string out;
    for (char c : iso.substr(0, 19)) {
      if (c >= '0' && c <= '9') out.push_back(c);
    }
    cached = std::move(out);
    cached_secs = secs;
  }
  return cached;
}

}  // namespace

Intake::Intake(const Config& config, Store& store, Env& env, MetricsRegistry& metrics,
               OnCommitted on_committed, TerminologyService* terminology)
    : config_(config),
      store_(store),
      env_(env),
      on_committed_(std::move(on_committed)),
      terminology_(terminology),
      router_(config) {
  filtered_ = &metrics.GetCounter("hie_messages_filtered_total", "Messages no route matched");
  routed_ = &metrics.GetCounter("hie_messages_routed_total", "Messages queued for delivery");
  received_mllp_ = &metrics.GetCounter("hie_messages_received_total",
                                       "Inputs that reached the hub, by source", "source=\"mllp\"");
  received_http_ = &metrics.GetCounter("hie_messages_received_total",
                                       "Inputs that reached the hub, by source", "source=\"http\"");
  accepted_ = &metrics.GetCounter("hie_messages_accepted_total",
                                  "Messages committed to the store (AA or AE)");
  duplicates_ = &metrics.GetCounter("hie_messages_duplicate_total",
                                    "Repeats answered from the first answer, not processed again");
  rejected_ = &metrics.GetCounter("hie_messages_rejected_total",
                                  "Inputs refused (AR / 4xx) and kept in the error store");
  intake_seconds_ = &metrics.GetHistogram(
      "hie_intake_seconds", "Time from a complete input to its answer (includes the commit)",
      {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1});
}

std::string Intake::NextAckId() {
  // "H<now ms>-<sequence>", written without temporaries.
  char buf[24];
  std::string id;
  id.reserve(1 + 20 + 1 + 20);
  id.push_back('H');
  id.append(buf, std::to_chars(buf, buf + sizeof buf, env_.NowMillis()).ptr);
  id.push_back('-');
  id.append(buf, std::to_chars(buf, buf + sizeof buf, ++ack_seq_).ptr);
  return id;
}

void Intake::Reject(IntakeInput in, const Status& why, const std::string& facility,
                    const std::string& control_id, const std::string& ack, Done done) {
  rejected_->Inc();
  auto rec = std::make_shared<RejectedInput>();
  rec->received_at_ms = env_.NowMillis();
  rec->source = in.source;
  rec->peer = in.peer;
  rec->facility_id = facility;
  rec->control_id = control_id;
  rec->content_type = in.content_type;
  rec->error_code = std::string(ApiCode(why.code()));
  rec->error_text = why.message();
  rec->error_where = why.where();
  rec->raw_size = static_cast<int64_t>(in.size ? in.size : in.raw.size());
  if (in.raw.size() > kMaxRejectedRawBytes) in.raw.resize(kMaxRejectedRawBytes);
  rec->raw = std::move(in.raw);
  HIE_LOG_INFO("拒收 (rejected) {} from {} facility={} control_id={}: {}", rec->source, rec->peer,
               facility, control_id, MaskPhi(why.ToString()));
  auto answer = std::make_shared<IntakeAnswer>();
  answer->kind = IntakeAnswer::Kind::kRejected;
  answer->status = MessageStatus::kError;
  answer->error = why;
  answer->ack = ack;
  store_.Write(
      [rec, answer](WriteTxn& txn) -> Status {
        HIE_ASSIGN_OR_RETURN(answer->rejected_id, txn.InsertRejected(*rec));
        return Status::Ok();
      },
      [answer, done = std::move(done)](const Status& st) {
        if (!st.ok())
          HIE_LOG_ERROR("无法保存拒收的输入 (cannot keep rejected input): {}", st.ToString());
        done(*answer);
      });
}

void Intake::Submit(IntakeInput in, Done done) {
  const int64_t start_ns = env_.MonoNanos();
  (in.source == "mllp" ? received_mllp_ : received_http_)->Inc();
  std::string ts = Timestamp14(env_.NowMillis());

  auto ack_for = [&](const MshInfo* msh, AckCode code, const Status& st) {
    return BuildAck(msh, code, st, NextAckId(), ts);
  };

  if (in.truncated) {
    Status why(ErrorCode::kParseError,
               "连接在报文传输中断开，报文不完整 (connection closed mid-frame: truncated message)",
               "MLLP");
    Reject(std::move(in), why, "", "", "", std::move(done));
    return;
  }
  if (!in.content_type.empty() || in.source == "http") {
    if (const DocumentFormat f = DocumentFormatOf(in.content_type); f != DocumentFormat::kNone) {
      SubmitDocument(std::move(in), f, start_ns, std::move(done));  // intake_documents.cc
      return;
    }
    if (!IsHl7ContentType(in.content_type)) {
      Status why(ErrorCode::kUnsupportedMedia,
                 "不支持的内容类型 (unsupported Content-Type) \"" + in.content_type +
                     "\"；请使用 application/hl7-v2、application/xml (CDA) 或 "
                     "application/fhir+json (FHIR)",
                 "Content-Type");
      // Copies: `in` is moved into the call.
      std::string facility = in.facility_header, key = in.idempotency_key;
      Reject(std::move(in), why, facility, key, "", std::move(done));
      return;
    }
  }

  // On the heap from the start: the refused-ACK callback below keeps it
  // without copying.
  auto msh_info = std::make_shared<MshInfo>();
  const Status msh_status = ReadMsh(in.raw, msh_info.get());
  const MshInfo* msh = msh_status.ok() ? msh_info.get() : nullptr;
  std::string facility = msh ? msh->sending_facility : std::string();
  std::string control_id = msh ? msh->control_id : std::string();

  if (in.oversized) {
    // The limit of the connector it came through.
    const bool http = in.source == "http";
    Status why(
        ErrorCode::kTooLarge,
        "消息过大 (message too large): " + std::to_string(in.size) +
            " 字节 (bytes)，上限 (limit) " +
            std::to_string(http ? config_.http_max_body_bytes : config_.mllp_max_message_bytes) +
            (http ? " (http.max_body_bytes)" : " (mllp.max_message_bytes)"),
        http ? "Content-Length" : "MLLP");
    std::string ack = ack_for(msh, AckCode::kAR, why);
    Reject(std::move(in), why, facility, control_id, ack, std::move(done));
    return;
  }
  if (!msh) {
    std::string ack = ack_for(nullptr, AckCode::kAR, msh_status);
    std::string header = in.facility_header;  // `in` is moved into the call
    Reject(std::move(in), msh_status, header, "", ack, std::move(done));
    return;
  }
  if (!in.facility_header.empty()) {
    if (!facility.empty() && facility != in.facility_header) {
      Status why(ErrorCode::kInvalidArgument,
                 "X-Facility-Id \"" + in.facility_header + "\" 与 MSH-4 \"" + facility +
                     "\" 不一致 (sending facility mismatch)",
                 "MSH-4");
      std::string header = in.facility_header;  // `in` is moved into the call
      Reject(std::move(in), why, header, control_id, ack_for(msh, AckCode::kAR, why),
             std::move(done));
      return;
    }
    facility = in.facility_header;
  }
  if (facility.empty()) {
    Status why(ErrorCode::kRequiredMissing, "缺少发送机构 MSH-4 (sending facility missing)",
               "MSH-4");
    Reject(std::move(in), why, "", control_id, ack_for(msh, AckCode::kAR, why), std::move(done));
    return;
  }
  const FacilityConfig* fac = config_.FindFacility(facility);
  if (fac == nullptr) {
    Status why(
        ErrorCode::kUnknownFacility,
        "未登记的发送机构 (unknown facility) \"" + facility + "\"：请在配置 facilities 中添加",
        "MSH-4");
    Reject(std::move(in), why, facility, control_id, ack_for(msh, AckCode::kAR, why),
           std::move(done));
    return;
  }
  if (msh->message_code == "ACK") {
    Status why(ErrorCode::kUnsupportedType,
               "收到的是应答 ACK，不是可处理的消息 (an ACK is not a message to process)", "MSH-9");
    Reject(std::move(in), why, facility, control_id, ack_for(msh, AckCode::kAR, why),
           std::move(done));
    return;
  }
  if (!msh->version.empty() && msh->version[0] != '2') {
    Status why(ErrorCode::kUnsupportedVersion,
               "不支持的 HL7 版本 (unsupported version) \"" + msh->version + "\"，仅支持 2.x",
               "MSH-12");
    Reject(std::move(in), why, facility, control_id, ack_for(msh, AckCode::kAR, why),
           std::move(done));
    return;
  }
  std::string charset = msh->charset.empty() ? fac->charset : msh->charset;
  auto text = DecodeToUtf8(in.raw, charset);
  if (!text.ok()) {
    Status why = text.status();
    Reject(std::move(in), why, facility, control_id, ack_for(msh, AckCode::kAR, why),
           std::move(done));
    return;
  }
  auto parsed = Er7Message::Parse(*text);
  if (!parsed.ok()) {
    Status why = parsed.status();
    Reject(std::move(in), why, facility, control_id, ack_for(msh, AckCode::kAR, why),
           std::move(done));
    return;
  }

  // Content checks that do not stop us from keeping the message: AE.
  Status content_error;
  if (NeedsPid(msh->message_type)) {
    if (!parsed->FindSegment("PID").has_value()) {
      content_error = Status(ErrorCode::kRequiredMissing,
                             "缺少患者信息段 PID (required segment missing)", "PID");
    } else if (parsed->Get(Pid3Path()).empty()) {
      content_error = Status(ErrorCode::kRequiredMissing,
                             "缺少患者标识 PID-3 (patient identifier list missing)", "PID-3");
    }
  }

  auto m = std::make_shared<NewMessage>();
  m->facility_id = facility;
  m->dedupe_key = in.idempotency_key.empty() ? control_id : in.idempotency_key;
  m->control_id = control_id;
  m->message_type = msh->message_type;
  m->content_type = in.content_type.empty() ? "application/hl7-v2" : in.content_type;
  m->source = in.source;
  m->peer = in.peer;
  m->charset = charset.empty() ? "UNICODE UTF-8" : charset;
  m->patient_key = PatientKey(*parsed, facility);
  if (m->patient_key.empty()) m->patient_key = "msg:" + facility + ":" + m->dedupe_key;
  m->received_at_ms = env_.NowMillis();
  if (content_error.ok()) {
    m->response = ack_for(msh, AckCode::kAA, Status::Ok());
  } else {
    m->status = MessageStatus::kError;
    m->error_code = std::string(ApiCode(content_error.code()));
    m->error_text = content_error.message();
    m->error_where = content_error.where();
    m->response = ack_for(msh, AckCode::kAE, content_error);
  }
  m->raw = std::move(in.raw);

  // Route now: the outbox rows commit with the message (one write, not two).
  auto decision = std::make_shared<RouteDecision>();
  if (content_error.ok()) {
    RouteInput ri;
    ri.message_type = m->message_type;
    ri.facility_id = facility;
    ri.facility_kind = fac->kind;
    *decision = router_.Route(ri);
    m->status =
        decision->destination_ids.empty() ? MessageStatus::kFiltered : MessageStatus::kQueued;
  }

  const std::string label = m->message_type;
  Commit(
      std::move(m), std::move(decision), content_error, label,
      [this, msh_info = std::move(msh_info), ts = std::move(ts)](const Status& why) {
        return BuildAck(msh_info.get(), AckCode::kAR, why, NextAckId(), ts);
      },
      start_ns, std::move(done));
}

namespace {

// The one write of an accepted input, run live (Intake::Commit) and when the
// store redoes its intent (Intake::ReplayIntent): both must do the same.
Status IntakeWrite(const NewMessage& m, const Status& content_error, const RouteDecision& decision,
                   const std::string& label, WriteTxn& txn, IntakeAnswer& answer) {
  // Insert first: both stores answer a repeated (facility, dedupe key)
  // with kConflict and no rollback, so a new message (the common case)
  // costs one index lookup, not two.
  auto inserted = txn.InsertMessage(m);
  if (!inserted.ok() && inserted.status().code() == ErrorCode::kConflict) {
    // A repeat (or another hub node on the same database took this key
    // meanwhile): answer as the first was answered.
    HIE_ASSIGN_OR_RETURN(auto again, txn.FindByDedupeKey(m.facility_id, m.dedupe_key));
    if (again) {
      answer.kind = IntakeAnswer::Kind::kDuplicate;
      answer.message_id = again->message_id;
      answer.status = again->status;
      answer.ack = again->response;
      return Status::Ok();
    }
  }
  if (!inserted.ok()) return inserted.status();
  answer.message_id = *inserted;
  const int64_t id = answer.message_id;
  TraceEvent ev;
  ev.at_ms = m.received_at_ms;
  ev.step = "received";
  ev.outcome = content_error.ok() ? "ok" : "error";
  ev.detail = content_error.ok()
                  ? "已接收并持久化 (received and committed) via " + m.source +
                        (label == m.message_type ? std::string() : ": " + label)
                  : "已接收但内容有误，停止处理 (accepted with error, not processed): " +
                        content_error.ToString();
  HIE_RETURN_IF_ERROR(txn.AppendTrace(id, ev));
  if (content_error.ok()) {
    TraceEvent rt;
    rt.at_ms = m.received_at_ms;
    rt.step = "routed";
    if (decision.destination_ids.empty()) {
      rt.outcome = "filtered";
      rt.detail = "没有匹配的路由 (no route matched) for " + label;
    } else {
      std::string routes, dests;
      for (const auto& r : decision.route_ids) routes += (routes.empty() ? "" : ", ") + r;
      for (const auto& d : decision.destination_ids) {
        dests += (dests.empty() ? "" : ", ") + d;
        HIE_RETURN_IF_ERROR(txn.InsertDelivery(id, d, m.patient_key, m.received_at_ms).status());
      }
      rt.outcome = "queued";
      rt.detail = "路由 (routes) [" + routes + "] → 已进入发送队列 (queued for) [" + dests + "]";
    }
    HIE_RETURN_IF_ERROR(txn.AppendTrace(id, rt));
  }
  answer.kind =
      content_error.ok() ? IntakeAnswer::Kind::kAccepted : IntakeAnswer::Kind::kAcceptedWithError;
  answer.status = m.status;
  answer.error = content_error;
  answer.ack = m.response;
  return Status::Ok();
}

// The intent of an accepted input's write: what IntakeWrite reads.
std::string EncodeIntent(const NewMessage& m, const Status& content_error,
                         const RouteDecision& decision, const std::string& label) {
  std::string out;
  out.reserve(m.raw.size() + m.response.size() + 512);
  ByteWriter w(out);
  WriteNewMessage(w, m);
  w.i64(static_cast<int64_t>(content_error.code()))
      .str(content_error.message())
      .str(content_error.where())
      .str(label)
      .i64(static_cast<int64_t>(decision.route_ids.size()));
  for (const auto& r : decision.route_ids) w.str(r);
  w.i64(static_cast<int64_t>(decision.destination_ids.size()));
  for (const auto& d : decision.destination_ids) w.str(d);
  return out;
}

}  // namespace

Status Intake::ReplayIntent(std::string_view bytes, WriteTxn& txn) {
  ByteReader r(bytes);
  NewMessage m = ReadNewMessage(r);
  const auto code = static_cast<ErrorCode>(r.i64());
  std::string message = r.str();
  std::string where = r.str();
  Status content_error =
      code == ErrorCode::kOk ? Status::Ok() : Status(code, std::move(message), std::move(where));
  std::string label = r.str();
  RouteDecision decision;
  for (int64_t i = 0, n = r.i64(); r.ok() && i < n; ++i) decision.route_ids.push_back(r.str());
  for (int64_t i = 0, n = r.i64(); r.ok() && i < n; ++i) {
    decision.destination_ids.push_back(r.str());
  }
  if (!r.ok()) {
    return Status(ErrorCode::kStoreError, "接收记录损坏 (intake intent corrupt)", "redo log");
  }
  IntakeAnswer answer;
  return IntakeWrite(m, content_error, decision, label, txn, answer);
}

void Intake::Commit(std::shared_ptr<NewMessage> m, std::shared_ptr<RouteDecision> decision,
                    Status content_error, std::string label,
                    std::function<std::string(const Status&)> refused_ack, int64_t start_ns,
                    Done done) {
  auto answer = std::make_shared<IntakeAnswer>();
  Store::PendingWrite w;
  if (store_.UsesIntents()) {  // else a copy of the message for nothing
    w.intent.kind = kIntent;
    w.intent.bytes = EncodeIntent(*m, content_error, *decision, label);
  }
  w.fn = [m, answer, content_error, decision, label](WriteTxn& txn) -> Status {
    *answer = IntakeAnswer();  // a fn may run twice
    return IntakeWrite(*m, content_error, *decision, label, txn, *answer);
  };
  w.done = [this, m, answer, decision, done = std::move(done), start_ns,
            refused_ack = std::move(refused_ack)](const Status& st) {
    if (!st.ok()) {
      // Nothing was committed: say so (AR), the sender will resend.
      IntakeAnswer fail;
      fail.kind = IntakeAnswer::Kind::kRejected;
      fail.status = MessageStatus::kError;
      fail.error = Status(
          ErrorCode::kStoreError,
          "存储失败，消息未被接收，请重发 (store failed, not accepted; resend): " + st.message());
      fail.ack = refused_ack ? refused_ack(fail.error) : std::string();
      HIE_LOG_ERROR("提交失败 (commit failed): {}", st.ToString());
      done(fail);
      return;
    }
    if (answer->kind == IntakeAnswer::Kind::kDuplicate) {
      duplicates_->Inc();
    } else {
      accepted_->Inc();
    }
    intake_seconds_->Observe(static_cast<double>(env_.MonoNanos() - start_ns) / 1e9);
    done(*answer);
    if (terminology_ != nullptr && answer->kind != IntakeAnswer::Kind::kDuplicate) {
      // After the ACK, off this thread: every coded element is checked.
      terminology_->Audit({answer->message_id, m->facility_id, m->content_type, m->charset,
                           m->message_type, m->control_id,
                           std::shared_ptr<const std::string>(m, &m->raw)});
    }
    if (answer->kind == IntakeAnswer::Kind::kAccepted) {
      if (on_accepted_) on_accepted_(answer->message_id);
      if (decision->destination_ids.empty()) {
        filtered_->Inc();
      } else {
        routed_->Inc();
        on_committed_(decision->destination_ids);
      }
    }
  };
  if (write_sink_) {
    write_sink_(std::move(w));
  } else {
    std::vector<Store::PendingWrite> one;
    one.push_back(std::move(w));
    store_.WriteMany(std::move(one));
  }
}

}  // namespace hie
