#include "store/sqlite/redo_ops.h"

#include <cstdint>

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
};

class Enc {
 public:
  explicit Enc(std::string& out) : o_(out) {}
  Enc& op(Op v) { return u8(static_cast<uint8_t>(v)); }
  Enc& u8(uint8_t v) {
    o_.push_back(static_cast<char>(v));
    return *this;
  }
  Enc& i64(int64_t v) {
    auto u = static_cast<uint64_t>(v);
    for (int i = 0; i < 8; ++i) o_.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
    return *this;
  }
  Enc& str(const std::string& s) {
    i64(static_cast<int64_t>(s.size()));
    o_.append(s);
    return *this;
  }

 private:
  std::string& o_;
};

class Dec {
 public:
  explicit Dec(std::string_view in) : in_(in) {}
  bool done() const { return pos_ >= in_.size(); }
  bool ok() const { return ok_; }
  uint8_t u8() {
    if (pos_ + 1 > in_.size()) return Fail<uint8_t>();
    return static_cast<uint8_t>(in_[pos_++]);
  }
  int64_t i64() {
    if (pos_ + 8 > in_.size()) return Fail<int64_t>();
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in_[pos_ + i]);
    pos_ += 8;
    return static_cast<int64_t>(v);
  }
  std::string str() {
    int64_t n = i64();
    if (!ok_ || n < 0 || static_cast<uint64_t>(n) > in_.size() - pos_) return Fail<std::string>();
    std::string s(in_.substr(pos_, static_cast<size_t>(n)));
    pos_ += static_cast<size_t>(n);
    return s;
  }

 private:
  template <typename T>
  T Fail() {
    ok_ = false;
    pos_ = in_.size();
    return T{};
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

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
  Enc(ops_)
      .op(Op::kInsertMessage)
      .i64(*id)
      .str(m.facility_id)
      .str(m.dedupe_key)
      .str(m.control_id)
      .str(m.message_type)
      .str(m.content_type)
      .str(m.source)
      .str(m.peer)
      .str(m.charset)
      .str(m.patient_key)
      .str(m.raw)
      .str(m.response)
      .i64(m.received_at_ms)
      .i64(static_cast<int64_t>(m.status))
      .str(m.error_code)
      .str(m.error_text)
      .str(m.error_where);
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

Status ReplayOps(std::string_view ops, WriteTxn& txn) {
  Dec d(ops);
  while (!d.done()) {
    auto op = static_cast<Op>(d.u8());
    switch (op) {
      case Op::kInsertMessage: {
        int64_t want = d.i64();
        NewMessage m;
        m.facility_id = d.str();
        m.dedupe_key = d.str();
        m.control_id = d.str();
        m.message_type = d.str();
        m.content_type = d.str();
        m.source = d.str();
        m.peer = d.str();
        m.charset = d.str();
        m.patient_key = d.str();
        m.raw = d.str();
        m.response = d.str();
        m.received_at_ms = d.i64();
        m.status = static_cast<MessageStatus>(d.i64());
        m.error_code = d.str();
        m.error_text = d.str();
        m.error_where = d.str();
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
