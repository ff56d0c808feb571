// The logical operations of the redo log (redo_log.h): every mutating
// WriteTxn call, encoded with its arguments and the id it produced, so that
// replaying a batch on the database state it was run against performs the
// same writes and yields the same ids.
//
// RecordingTxn wraps the writer's WriteTxn: each successful mutating call is
// forwarded and appended to the current fn's buffer; the writer keeps the
// buffer only when the fn succeeds (its savepoint released). Replay decodes
// a record and calls the same methods on a plain WriteTxn, checking that
// every insert gets the id it got the first time.
//
// Thread rules: writer thread only, like the WriteTxn it wraps.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store.h"

namespace hie::sqlite {

class RecordingTxn final : public WriteTxn {
 public:
  explicit RecordingTxn(WriteTxn& inner) : in_(inner) {}

  // The operations recorded since the last Take(); clears them.
  std::string Take() { return std::move(ops_); }
  void Discard() { ops_.clear(); }

  Result<std::optional<DedupeHit>> FindByDedupeKey(const std::string& facility_id,
                                                   const std::string& dedupe_key) override {
    return in_.FindByDedupeKey(facility_id, dedupe_key);
  }
  Result<int64_t> InsertMessage(const NewMessage& m) override;
  Status SetResponse(int64_t message_id, const std::string& response) override;
  Result<int64_t> InsertRejected(const RejectedInput& r) override;
  Result<MessageRecord> GetMessage(int64_t id) override { return in_.GetMessage(id); }
  Status UpdateStatus(int64_t id, MessageStatus status, int64_t at_ms,
                      const Status& error) override;
  Status UpdateMeta(int64_t id, const std::string& message_type,
                    const std::string& patient_key) override;
  Status AppendTrace(int64_t message_id, const TraceEvent& e) override;
  Result<int64_t> InsertDelivery(int64_t message_id, const std::string& destination_id,
                                 const std::string& patient_key, int64_t at_ms) override;
  Result<std::vector<DeliveryRecord>> DeliveriesOf(int64_t message_id) override {
    return in_.DeliveriesOf(message_id);
  }
  Result<DeliveryRecord> GetDelivery(int64_t delivery_id) override {
    return in_.GetDelivery(delivery_id);
  }
  Status UpdateDelivery(int64_t delivery_id, DeliveryState state, int attempts,
                        int64_t next_attempt_at_ms, const std::string& last_error,
                        int64_t at_ms) override;
  Status RecordAttempt(const DeliveryAttempt& a) override;
  Status SetDestinationPaused(const std::string& destination_id, bool paused) override;

 private:
  WriteTxn& in_;
  std::string ops_;
};

// Intents (store.h WriteIntent) logged before their batch runs: a record of
// intent ops, then, only if some of its fns failed, a record holding one
// cancel op that names them (by their order in the record; -1: all).
void AppendIntentOp(std::string& ops, uint8_t kind, std::string_view bytes);
void AppendCancelOp(std::string& ops, uint64_t seq, const std::vector<int64_t>& indexes);
// The intents a record cancels, as (record seq, index); none for a record
// that is not a cancel record.
void CollectCancels(std::string_view ops, std::set<std::pair<uint64_t, int64_t>>* out);

struct ReplayContext {
  const std::map<uint8_t, IntentReplayer>* replayers = nullptr;
  uint64_t seq = 0;  // the record's
  const std::set<std::pair<uint64_t, int64_t>>* cancelled = nullptr;
};

// Performs the operations of one record on `txn`, in order; intents through
// ctx's replayers (an intent without a replayer, or without ctx, is an error).
Status ReplayOps(std::string_view ops, WriteTxn& txn, const ReplayContext* ctx = nullptr);

}  // namespace hie::sqlite
