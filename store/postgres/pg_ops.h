// Every SQL statement of the PostgreSQL store, as prepared statements (the
// Statements() table, declared on each connection when it opens) and free
// functions over a libpqxx transaction. Keeping the SQL here keeps
// pg_store.cc about threads, batching and retries only.
//
// Error rules: these functions THROW libpqxx exceptions on database errors
// (the caller, at the store boundary, turns them into Status) and RETURN a
// Status for outcomes the interface names (kNotFound, kConflict on a
// duplicate dedupe key).
// Thread rules: those of the transaction passed in (one thread at a time).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "core/message.h"
#include "core/status.h"
#include "store/store.h"

namespace hie::pg {

struct Statement {
  const char* name;
  const char* sql;
};
const std::vector<Statement>& Statements();

using Tx = pqxx::transaction_base;

// --- writes (writer transaction) ---
Result<std::optional<DedupeHit>> FindByDedupeKey(Tx& t, const std::string& facility_id,
                                                 const std::string& dedupe_key);
Result<int64_t> InsertMessage(Tx& t, const NewMessage& m);
Status SetResponse(Tx& t, int64_t message_id, const std::string& response);
Result<int64_t> InsertRejected(Tx& t, const RejectedInput& r);
Status UpdateStatus(Tx& t, int64_t id, MessageStatus status, int64_t at_ms, const Status& error);
Status UpdateMeta(Tx& t, int64_t id, const std::string& message_type,
                  const std::string& patient_key);
// lock: first take the message's trace lock (a transaction advisory lock),
// so that two transactions appending to one message number in turn (the
// second's count sees the first's row); not needed for a message this
// transaction inserted.
Status AppendTrace(Tx& t, int64_t message_id, const TraceEvent& e, bool lock = true);
// Trace rows numbered by the caller (the messages a transaction inserted:
// seq 1, 2, ... known without a read), all in one statement.
struct TraceRow {
  int64_t message_id = 0;
  int seq = 0;
  TraceEvent e;
};
void InsertTraces(Tx& t, const std::vector<TraceRow>& rows);
Result<int64_t> InsertDelivery(Tx& t, int64_t message_id, const std::string& destination_id,
                               const std::string& patient_key, int64_t at_ms);
// Also drops any claim on the delivery (its sender reported back).
Status UpdateDelivery(Tx& t, int64_t delivery_id, DeliveryState state, int attempts,
                      int64_t next_attempt_at_ms, const std::string& last_error, int64_t at_ms);
Status RecordAttempt(Tx& t, const DeliveryAttempt& a);
Status SetDestinationPaused(Tx& t, const std::string& destination_id, bool paused);

// --- reads (any transaction) ---
// lock=true (in a write): SELECT ... FOR UPDATE, held until commit.
Result<MessageRecord> GetMessage(Tx& t, int64_t id, bool lock = false);
Result<std::vector<MessageRecord>> ListMessages(Tx& t, const MessageFilter& f);
Result<std::vector<TraceEvent>> GetTrace(Tx& t, int64_t message_id);
// lock=true (in a write): locks the message row first, so two nodes each
// finishing one delivery of a message cannot both see the other's QUEUED.
Result<std::vector<DeliveryRecord>> DeliveriesOf(Tx& t, int64_t message_id, bool lock = false);
Result<DeliveryRecord> GetDelivery(Tx& t, int64_t delivery_id, bool lock = false);
Result<std::vector<DeliveryAttempt>> GetAttempts(Tx& t, int64_t delivery_id);
Result<std::vector<RejectedInput>> ListRejected(Tx& t, int64_t before_id, int limit);
Result<RejectedInput> GetRejected(Tx& t, int64_t id);
Result<std::vector<int64_t>> MessageIdsWithStatus(Tx& t, MessageStatus status, int64_t after_id,
                                                  int limit);
Result<std::optional<int64_t>> NextDueAt(Tx& t, const std::string& destination_id);
Result<std::map<std::string, int64_t>> QueueDepths(Tx& t);
Result<std::set<std::string>> PausedDestinations(Tx& t);

// --- claims (own short transaction; commit after) ---
// Claims for `owner` the due heads of the destination that no live claim of
// another owner holds (FOR UPDATE SKIP LOCKED: concurrent claimers never
// wait on each other nor take the same row), skipping `exclude`; the claim
// lasts lease_ms of the database's clock. Also extends owner's claims on
// the ids in `exclude` (those are in flight). Ascending by id.
Result<std::vector<DeliveryRecord>> ClaimDue(Tx& t, const std::string& destination_id,
                                             int64_t now_ms, int limit,
                                             const std::set<int64_t>& exclude,
                                             const std::string& owner, int64_t lease_ms);
// Drops every claim of `owner` (a node closing cleanly).
Status ReleaseClaims(Tx& t, const std::string& owner);

// --- partitions (0002_partitions.sql) ---
// Monthly partitions from the month of now_ms through months_ahead later;
// returns how many were created (0 when another node is doing it).
Result<int> EnsurePartitions(Tx& t, int64_t now_ms, int months_ahead);
// The same for one table, waiting at most 200 ms for its lock (a busy table
// is skipped: 0003_retention.sql). The store runs it a table per
// transaction so that no transaction holds two parents' locks.
std::vector<std::string> PartitionedTables(Tx& t);
Result<int> EnsureTablePartitions(Tx& t, const std::string& table, int64_t now_ms,
                                  int months_ahead);

// "ADT^*" -> a LIKE pattern (ESCAPE '\') matching '*' as any run and
// everything else literally. Exposed for tests.
std::string WildcardToLike(const std::string& pattern);
// {1,2,3}: a bigint[] literal.
std::string IdArray(const std::set<int64_t>& ids);
// {"a","b\"c"}: a text[] literal (every element quoted, \ and " escaped).
std::string TextArray(const std::vector<std::string>& items);

}  // namespace hie::pg
