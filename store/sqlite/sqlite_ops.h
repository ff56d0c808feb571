// Every SQL statement of the SQLite store, as free functions on a Conn.
// The writer thread calls the write ones (inside its transaction and the
// WriteFn's savepoint); reader-pool connections call the read ones. Keeping
// the SQL here keeps sqlite_store.cc about threads and batching only.
// Thread rules: those of the Conn passed in (one thread at a time).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/message.h"
#include "core/status.h"
#include "store/sqlite/sqlite_conn.h"
#include "store/store.h"

namespace hie::sqlite {

// --- writes (writer connection) ---
Result<std::optional<DedupeHit>> FindByDedupeKey(Conn& c, const std::string& facility_id,
                                                 const std::string& dedupe_key);
Result<int64_t> InsertMessage(Conn& c, const NewMessage& m);
Status SetResponse(Conn& c, int64_t message_id, const std::string& response);
Result<int64_t> InsertRejected(Conn& c, const RejectedInput& r);
Status UpdateStatus(Conn& c, int64_t id, MessageStatus status, int64_t at_ms, const Status& error);
Status UpdateMeta(Conn& c, int64_t id, const std::string& message_type,
                  const std::string& patient_key);
Status AppendTrace(Conn& c, int64_t message_id, const TraceEvent& e);
// With the step number known (the writer numbers the trace of a message it
// inserted itself), no lookup of the last one.
Status AppendTraceAt(Conn& c, int64_t message_id, int64_t seq, const TraceEvent& e);
Result<int64_t> InsertDelivery(Conn& c, int64_t message_id, const std::string& destination_id,
                               const std::string& patient_key, int64_t at_ms);
Status UpdateDelivery(Conn& c, int64_t delivery_id, DeliveryState state, int attempts,
                      int64_t next_attempt_at_ms, const std::string& last_error, int64_t at_ms);
Status RecordAttempt(Conn& c, const DeliveryAttempt& a);
Status SetDestinationPaused(Conn& c, const std::string& destination_id, bool paused);

// --- reads (any connection) ---
Result<MessageRecord> GetMessage(Conn& c, int64_t id);
Result<std::vector<MessageRecord>> ListMessages(Conn& c, const MessageFilter& f);
Result<std::vector<TraceEvent>> GetTrace(Conn& c, int64_t message_id);
Result<std::vector<DeliveryRecord>> DeliveriesOf(Conn& c, int64_t message_id);
Result<DeliveryRecord> GetDelivery(Conn& c, int64_t delivery_id);
Result<std::vector<DeliveryAttempt>> GetAttempts(Conn& c, int64_t delivery_id);
Result<std::vector<RejectedInput>> ListRejected(Conn& c, int64_t before_id, int limit);
Result<RejectedInput> GetRejected(Conn& c, int64_t id);
Result<std::vector<int64_t>> MessageIdsWithStatus(Conn& c, MessageStatus status, int64_t after_id,
                                                  int limit);
Result<std::vector<DeliveryRecord>> DueDeliveries(Conn& c, const std::string& destination_id,
                                                  int64_t now_ms, int limit,
                                                  const std::set<int64_t>& exclude);
Result<std::optional<int64_t>> NextDueAt(Conn& c, const std::string& destination_id);
Result<std::map<std::string, int64_t>> QueueDepths(Conn& c);
Result<std::set<std::string>> PausedDestinations(Conn& c);

// "ADT^*" -> a GLOB pattern matching '*' as any run and everything else
// literally ('?' and '[' escaped). Exposed for tests.
std::string WildcardToGlob(const std::string& pattern);

}  // namespace hie::sqlite
