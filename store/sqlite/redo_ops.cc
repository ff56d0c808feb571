#include "store/sqlite/redo_ops.h"

#include <cstdint>

#include "store/byte_codec.h"

namespace hie::sqlite {
namespace {

enum class Op : uint8_t {
  kInsertMessage = 1,
  kSetResponse,
  kInsertRejected,
  kUpdateStatus,
  kUpdateMeta,
  kAppendTrace,
  kInsertDelivery,
  kUpdateDelivery,
  kRecordAttempt,
  kSetDestinationPaused,
  kIntent,  // u8 kind, str bytes
  kCancel,  // i64 record seq, i64 count, count x i64 index (-1: all)
};

// The ops' own encoding: an op code, then its arguments (byte_codec.h).
class Enc : public ByteWriter {
 public:
  explicit Enc(std::string& out) : ByteWriter(out) {}
  Enc& op(Op v) {
    u8(static_cast<uint8_t>(v));
    return *this;
  }
  Enc& i64(int64_t v) {
    ByteWriter::i64(v);
    return *this;
  }
  Enc& str(std::string_view v) {
    ByteWriter::str(v);
    return *this;
  }
};
using Dec = ByteReader;

Status Corrupt(const std::string& what) {
  return Status(ErrorCode::kStoreError, "写入日志内容损坏 (redo log record corrupt): " + what,
                "redo log");
}

Status Diverged(const char* what, int64_t want, int64_t got) {
  return Status(ErrorCode::kStoreError,
                std::string("写入日志重放结果不一致 (redo replay diverged): ") + what + " id " +
                    std::to_string(got) + " != " + std::to_string(want),
                "redo log");
}

}  // namespace

Result<int64_t> RecordingTxn::InsertMessage(const NewMessage& m) {
  auto id = in_.InsertMessage(m);
  if (!id.ok()) return id;
  Enc e(ops_);
  e.op(Op::kInsertMessage).i64(*id);
  WriteNewMessage(e, m);
  return id;
}

Status RecordingTxn::SetResponse(int64_t message_id, const std::string& response) {
  Status st = in_.SetResponse(message_id, response);
  if (st.ok()) Enc(ops_).op(Op::kSetResponse).i64(message_id).str(response);
  return st;
}

Result<int64_t> RecordingTxn::InsertRejected(const RejectedInput& r) {
  auto id = in_.InsertRejected(r);
  if (!id.ok()) return id;
  Enc(ops_)
      .op(Op::kInsertRejected)
      .i64(*id)
      .i64(r.received_at_ms)
      .str(r.source)
      .str(r.peer)
      .str(r.facility_id)
      .str(r.control_id)
      .str(r.content_type)
      .str(r.error_code)
      .str(r.error_text)
      .str(r.error_where)
      .str(r.raw)
      .i64(r.raw_size);
  return id;
}

Status RecordingTxn::UpdateStatus(int64_t id, MessageStatus status, int64_t at_ms,
                                  const Status& error) {
  Status st = in_.UpdateStatus(id, status, at_ms, error);
  if (st.ok()) {
    Enc(ops_)
        .op(Op::kUpdateStatus)
        .i64(id)
        .i64(static_cast<int64_t>(status))
        .i64(at_ms)
        .i64(static_cast<int64_t>(error.code()))
        .str(error.message())
        .str(error.where());
  }
  return st;
}

Status RecordingTxn::UpdateMeta(int64_t id, const std::string& message_type,
                                const std::string& patient_key) {
  Status st = in_.UpdateMeta(id, message_type, patient_key);
  if (st.ok()) Enc(ops_).op(Op::kUpdateMeta).i64(id).str(message_type).str(patient_key);
  return st;
}

Status RecordingTxn::AppendTrace(int64_t message_id, const TraceEvent& e) {
  Status st = in_.AppendTrace(message_id, e);
  if (st.ok()) {
    Enc(ops_)
        .op(Op::kAppendTrace)
        .i64(message_id)
        .i64(e.at_ms)
        .str(e.step)
        .str(e.outcome)
        .str(e.detail);
  }
  return st;
}

Result<int64_t> RecordingTxn::InsertDelivery(int64_t message_id, const std::string& destination_id,
                                             const std::string& patient_key, int64_t at_ms) {
  auto id = in_.InsertDelivery(message_id, destination_id, patient_key, at_ms);
  if (!id.ok()) return id;
  Enc(ops_)
      .op(Op::kInsertDelivery)
      .i64(*id)
      .i64(message_id)
      .str(destination_id)
      .str(patient_key)
      .i64(at_ms);
  return id;
}

Status RecordingTxn::UpdateDelivery(int64_t delivery_id, DeliveryState state, int attempts,
                                    int64_t next_attempt_at_ms, const std::string& last_error,
                                    int64_t at_ms) {
  Status st =
      in_.UpdateDelivery(delivery_id, state, attempts, next_attempt_at_ms, last_error, at_ms);
  if (st.ok()) {
    Enc(ops_)
        .op(Op::kUpdateDelivery)
        .i64(delivery_id)
        .i64(static_cast<int64_t>(state))
        .i64(attempts)
        .i64(next_attempt_at_ms)
        .str(last_error)
        .i64(at_ms);
  }
  return st;
}

Status RecordingTxn::RecordAttempt(const DeliveryAttempt& a) {
  Status st = in_.RecordAttempt(a);
  if (st.ok()) {
    Enc(ops_)
        .op(Op::kRecordAttempt)
        .i64(a.delivery_id)
        .i64(a.at_ms)
        .i64(a.duration_ms)
        .u8(a.ok ? 1 : 0)
        .str(a.outcome)
        .str(a.response);
  }
  return st;
}

Status RecordingTxn::SetDestinationPaused(const std::string& destination_id, bool paused) {
  Status st = in_.SetDestinationPaused(destination_id, paused);
  if (st.ok()) Enc(ops_).op(Op::kSetDestinationPaused).str(destination_id).u8(paused ? 1 : 0);
  return st;
}

void AppendIntentOp(std::string& ops, uint8_t kind, std::string_view bytes) {
  Enc(ops).op(Op::kIntent).u8(kind).str(bytes);
}

void AppendCancelOp(std::string& ops, uint64_t seq, const std::vector<int64_t>& indexes) {
  Enc e(ops);
  e.op(Op::kCancel).i64(static_cast<int64_t>(seq)).i64(static_cast<int64_t>(indexes.size()));
  for (int64_t i : indexes) e.i64(i);
}

void CollectCancels(std::string_view ops, std::set<std::pair<uint64_t, int64_t>>* out) {
  Dec d(ops);
  if (d.done() || static_cast<Op>(d.u8()) != Op::kCancel) return;
  const auto seq = static_cast<uint64_t>(d.i64());
  const int64_t n = d.i64();
  for (int64_t i = 0; i < n && d.ok(); ++i) {
    const int64_t index = d.i64();
    if (d.ok()) out->insert({seq, index});
  }
}

Status ReplayOps(std::string_view ops, WriteTxn& txn, const ReplayContext* ctx) {
  Dec d(ops);
  int64_t intent_index = 0;
  while (!d.done()) {
    auto op = static_cast<Op>(d.u8());
    switch (op) {
      case Op::kIntent: {
        const uint8_t kind = d.u8();
        std::string bytes = d.str();
        if (!d.ok()) return Corrupt("Intent");
        const int64_t index = intent_index++;
        if (ctx != nullptr && ctx->cancelled != nullptr &&
            (ctx->cancelled->count({ctx->seq, index}) > 0 ||
             ctx->cancelled->count({ctx->seq, -1}) > 0)) {
          break;  // its fn failed when it ran: it was never done
        }
        const IntentReplayer* replay = nullptr;
        if (ctx != nullptr && ctx->replayers != nullptr) {
          auto it = ctx->replayers->find(kind);
          if (it != ctx->replayers->end()) replay = &it->second;
        }
        if (replay == nullptr || !*replay) {
          return Status(ErrorCode::kStoreError,
                        "写入日志含本程序无法重放的记录 (redo log holds a write intent of kind " +
                            std::to_string(kind) + " that this program cannot replay)",
                        "redo log");
        }
        HIE_RETURN_IF_ERROR((*replay)(bytes, txn));
        break;
      }
      case Op::kCancel: {
        (void)d.i64();
        const int64_t n = d.i64();
        for (int64_t i = 0; i < n && d.ok(); ++i) (void)d.i64();
        if (!d.ok()) return Corrupt("Cancel");
        break;
      }
      case Op::kInsertMessage: {
        int64_t want = d.i64();
        NewMessage m = ReadNewMessage(d);
        if (!d.ok()) return Corrupt("InsertMessage");
        HIE_ASSIGN_OR_RETURN(int64_t got, txn.InsertMessage(m));
        if (got != want) return Diverged("message", want, got);
        break;
      }
      case Op::kSetResponse: {
        int64_t id = d.i64();
        std::string r = d.str();
        if (!d.ok()) return Corrupt("SetResponse");
        HIE_RETURN_IF_ERROR(txn.SetResponse(id, r));
        break;
      }
      case Op::kInsertRejected: {
        int64_t want = d.i64();
        RejectedInput r;
        r.received_at_ms = d.i64();
        r.source = d.str();
        r.peer = d.str();
        r.facility_id = d.str();
        r.control_id = d.str();
        r.content_type = d.str();
        r.error_code = d.str();
        r.error_text = d.str();
        r.error_where = d.str();
        r.raw = d.str();
        r.raw_size = d.i64();
        if (!d.ok()) return Corrupt("InsertRejected");
        HIE_ASSIGN_OR_RETURN(int64_t got, txn.InsertRejected(r));
        if (got != want) return Diverged("rejected", want, got);
        break;
      }
      case Op::kUpdateStatus: {
        int64_t id = d.i64();
        auto status = static_cast<MessageStatus>(d.i64());
        int64_t at = d.i64();
        auto code = static_cast<ErrorCode>(d.i64());
        std::string msg = d.str();
        std::string where = d.str();
        if (!d.ok()) return Corrupt("UpdateStatus");
        Status err = code == ErrorCode::kOk ? Status::Ok() : Status(code, msg, where);
        HIE_RETURN_IF_ERROR(txn.UpdateStatus(id, status, at, err));
        break;
      }
      case Op::kUpdateMeta: {
        int64_t id = d.i64();
        std::string type = d.str();
        std::string key = d.str();
        if (!d.ok()) return Corrupt("UpdateMeta");
        HIE_RETURN_IF_ERROR(txn.UpdateMeta(id, type, key));
        break;
      }
      case Op::kAppendTrace: {
        int64_t id = d.i64();
        TraceEvent e;
        e.at_ms = d.i64();
        e.step = d.str();
        e.outcome = d.str();
        e.detail = d.str();
        if (!d.ok()) return Corrupt("AppendTrace");
        HIE_RETURN_IF_ERROR(txn.AppendTrace(id, e));
        break;
      }
      case Op::kInsertDelivery: {
        int64_t want = d.i64();
        int64_t message_id = d.i64();
        std::string dest = d.str();
        std::string key = d.str();
        int64_t at = d.i64();
        if (!d.ok()) return Corrupt("InsertDelivery");
        HIE_ASSIGN_OR_RETURN(int64_t got, txn.InsertDelivery(message_id, dest, key, at));
        if (got != want) return Diverged("delivery", want, got);
        break;
      }
      case Op::kUpdateDelivery: {
        int64_t id = d.i64();
        auto state = static_cast<DeliveryState>(d.i64());
        auto attempts = static_cast<int>(d.i64());
        int64_t next = d.i64();
        std::string err = d.str();
        int64_t at = d.i64();
        if (!d.ok()) return Corrupt("UpdateDelivery");
        HIE_RETURN_IF_ERROR(txn.UpdateDelivery(id, state, attempts, next, err, at));
        break;
      }
      case Op::kRecordAttempt: {
        DeliveryAttempt a;
        a.delivery_id = d.i64();
        a.at_ms = d.i64();
        a.duration_ms = d.i64();
        a.ok = d.u8() != 0;
        a.outcome = d.str();
        a.response = d.str();
        if (!d.ok()) return Corrupt("RecordAttempt");
        HIE_RETURN_IF_ERROR(txn.RecordAttempt(a));
        break;
      }
      case Op::kSetDestinationPaused: {
        std::string dest = d.str();
        bool paused = d.u8() != 0;
        if (!d.ok()) return Corrupt("SetDestinationPaused");
        HIE_RETURN_IF_ERROR(txn.SetDestinationPaused(dest, paused));
        break;
      }
      default:
        return Corrupt("unknown op " + std::to_string(static_cast<int>(op)));
    }
  }
  return Status::Ok();
}

}  // namespace hie::sqlite
