// SqliteTxn: the WriteTxn of the SQLite store's writer connection, handed
// to each WriteFn (and to the redo replay) inside the open transaction.
//
// Thread rules: the writer thread only, like the connection.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sqlite/sqlite_conn.h"
#include "store/sqlite/sqlite_ops.h"
#include "store/store.h"

namespace hie::sqlite {

class SqliteTxn final : public WriteTxn {
 public:
  explicit SqliteTxn(Conn& c) : c_(c) {}

  Result<std::optional<DedupeHit>> FindByDedupeKey(const std::string& facility_id,
                                                   const std::string& dedupe_key) override {
    return sqlite::FindByDedupeKey(c_, facility_id, dedupe_key);
  }
  Result<int64_t> InsertMessage(const NewMessage& m) override {
    auto id = sqlite::InsertMessage(c_, m);
    if (id.ok()) next_trace_[*id] = 1;
    return id;
  }
  Status SetResponse(int64_t message_id, const std::string& response) override {
    return sqlite::SetResponse(c_, message_id, response);
  }
  Result<int64_t> InsertRejected(const RejectedInput& r) override {
    return sqlite::InsertRejected(c_, r);
  }
  Result<MessageRecord> GetMessage(int64_t id) override { return sqlite::GetMessage(c_, id); }
  Status UpdateStatus(int64_t id, MessageStatus status, int64_t at_ms,
                      const Status& error) override {
    return sqlite::UpdateStatus(c_, id, status, at_ms, error);
  }
  Status UpdateMeta(int64_t id, const std::string& message_type,
                    const std::string& patient_key) override {
    return sqlite::UpdateMeta(c_, id, message_type, patient_key);
  }
  Status AppendTrace(int64_t message_id, const TraceEvent& e) override {
    auto it = next_trace_.find(message_id);
    if (it == next_trace_.end()) return sqlite::AppendTrace(c_, message_id, e);
    Status st = sqlite::AppendTraceAt(c_, message_id, it->second, e);
    if (st.ok()) ++it->second;
    return st;
  }
  // After a rollback the numbers kept may be wrong (a rowid may be reused).
  void ForgetTraceNumbers() { next_trace_.clear(); }
  Result<int64_t> InsertDelivery(int64_t message_id, const std::string& destination_id,
                                 const std::string& patient_key, int64_t at_ms) override {
    return sqlite::InsertDelivery(c_, message_id, destination_id, patient_key, at_ms);
  }
  Result<std::vector<DeliveryRecord>> DeliveriesOf(int64_t message_id) override {
    return sqlite::DeliveriesOf(c_, message_id);
  }
  Result<DeliveryRecord> GetDelivery(int64_t delivery_id) override {
    return sqlite::GetDelivery(c_, delivery_id);
  }
  Status UpdateDelivery(int64_t delivery_id, DeliveryState state, int attempts,
                        int64_t next_attempt_at_ms, const std::string& last_error,
                        int64_t at_ms) override {
    return sqlite::UpdateDelivery(c_, delivery_id, state, attempts, next_attempt_at_ms, last_error,
                                  at_ms);
  }
  Status RecordAttempt(const DeliveryAttempt& a) override { return sqlite::RecordAttempt(c_, a); }
  Status SetDestinationPaused(const std::string& destination_id, bool paused) override {
    return sqlite::SetDestinationPaused(c_, destination_id, paused);
  }

 private:
  Conn& c_;
  // Next trace step of the messages this batch inserted (they have no rows
  // yet beyond what was appended here), so their trace needs no lookup.
  std::unordered_map<int64_t, int64_t> next_trace_;
};

}  // namespace hie::sqlite
