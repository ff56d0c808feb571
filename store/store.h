// The store: where every message, its trace, its deliveries and every
// rejected input live. Engine code talks only to these interfaces, never to
// SQL of one dialect; store/sqlite (embedded default) and store/postgres
// (production, several nodes) implement them, store/open.h opens either by
// URI, and store/store_contract_test.cc holds every backend to the same
// behaviour.
//
// Writes run as callbacks inside a transaction the store owns (Orthanc's
// model): Store::Write queues a WriteFn; the store's single writer thread
// takes every queued WriteFn, runs each in its own savepoint inside ONE
// transaction (group commit), commits, makes the commit durable, and only
// then calls each DoneFn. So the MLLP ACK that a DoneFn releases is never
// ahead of the fsync. (SQLite's durable mode makes a batch durable by its
// record in a redo log, synced on a syncer thread while the next batch runs,
// and commits SQLite itself every few milliseconds; see store/sqlite/redo_log.h.
// Reads see every write whose DoneFn ran.)
//
// Thread rules: Store methods are safe from any thread. A WriteTxn is valid
// only inside its WriteFn, on the writer thread; never keep it. WriteFns must
// not block on other writes (they would deadlock the writer). DoneFns run on
// a store thread (the writer's or the syncer's), in commit order, and must
// be quick and never wait for another write: post real work elsewhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/message.h"
#include "core/metrics.h"
#include "core/status.h"

namespace hie {

// The answer recorded for a (facility, dedupe key) seen before.
struct DedupeHit {
  int64_t message_id = 0;
  MessageStatus status = MessageStatus::kReceived;
  std::string response;
};

class WriteTxn {
 public:
  virtual ~WriteTxn() = default;

  // --- intake ---
  // The message already stored under (facility, dedupe_key), if any.
  virtual Result<std::optional<DedupeHit>> FindByDedupeKey(const std::string& facility_id,
                                                           const std::string& dedupe_key) = 0;
  // Inserts a message; returns its id. (facility, dedupe_key) must be new:
  // a duplicate is kConflict. An empty dedupe_key is never deduplicated.
  virtual Result<int64_t> InsertMessage(const NewMessage& m) = 0;
  // Stores the answer given for a message (set after the id is known).
  virtual Status SetResponse(int64_t message_id, const std::string& response) = 0;
  virtual Result<int64_t> InsertRejected(const RejectedInput& r) = 0;

  // --- pipeline ---
  virtual Result<MessageRecord> GetMessage(int64_t id) = 0;  // with raw
  // Sets status and updated_at; a non-OK `error` fills error_code/text/where,
  // an OK one clears them.
  virtual Status UpdateStatus(int64_t id, MessageStatus status, int64_t at_ms,
                              const Status& error) = 0;
  // Sets the fields the pipeline learns by parsing (type, patient key).
  virtual Status UpdateMeta(int64_t id, const std::string& message_type,
                            const std::string& patient_key) = 0;
  virtual Status AppendTrace(int64_t message_id, const TraceEvent& e) = 0;

  // --- outbox ---
  // A QUEUED delivery due at `at_ms`; returns its id.
  virtual Result<int64_t> InsertDelivery(int64_t message_id, const std::string& destination_id,
                                         const std::string& patient_key, int64_t at_ms) = 0;
  virtual Result<std::vector<DeliveryRecord>> DeliveriesOf(int64_t message_id) = 0;
  virtual Result<DeliveryRecord> GetDelivery(int64_t delivery_id) = 0;
  // Overwrites state, attempts, next_attempt_at, last_error; updated_at=at_ms.
  virtual Status UpdateDelivery(int64_t delivery_id, DeliveryState state, int attempts,
                                int64_t next_attempt_at_ms, const std::string& last_error,
                                int64_t at_ms) = 0;
  // Appends an attempt. The store numbers it (1 + the delivery's earlier
  // attempts, also across reprocessing, when the retry budget restarts);
  // a.number is ignored.
  virtual Status RecordAttempt(const DeliveryAttempt& a) = 0;
  virtual Status SetDestinationPaused(const std::string& destination_id, bool paused) = 0;
};

struct MessageFilter {
  std::optional<MessageStatus> status;
  std::string facility_id;   // exact; empty = any
  std::string message_type;  // exact or with '*' wildcards ("ADT^*"); empty = any
  int64_t since_ms = 0;      // received_at >= since; 0 = any
  int64_t before_id = 0;     // paging cursor: id < before_id; 0 = from newest
  int limit = 50;            // 1..1000
};

// Retention (config `retention:`): what to remove, as epoch-ms cutoffs. 0
// keeps that kind forever.
struct RetentionCutoffs {
  // Content: raw bodies of messages received before it (the metadata stays,
  // raw reads back empty) and rejected inputs received before it (removed).
  int64_t content_before_ms = 0;
  // Metadata: messages received before it with their trace, deliveries,
  // attempts and dedupe keys (a resend of such a message is new).
  int64_t metadata_before_ms = 0;
};

// What one ApplyRetention call did.
struct RetentionReport {
  int64_t bodies_removed = 0;      // raw bodies blanked (PostgreSQL: in DEFAULT partitions)
  int64_t messages_removed = 0;    // messages deleted with all of theirs (PG: DEFAULT partitions)
  int64_t rejected_removed = 0;    // rejected inputs deleted (PostgreSQL: DEFAULT partitions)
  int64_t partitions_dropped = 0;  // PostgreSQL: whole monthly partitions dropped
  std::vector<std::string> partitions;  // PostgreSQL: their names
  int64_t keys_removed = 0;             // PostgreSQL: dedupe keys deleted
  // QUEUED deliveries whose message is older than a cutoff: such a message
  // (raw and metadata) is never removed while its delivery waits.
  int64_t held_back = 0;
  bool interrupted = false;  // `stop` was set before the work was done
};

// A write the store can redo from bytes: `bytes` hold everything its fn
// reads besides the database, and the replayer registered for `kind` in
// StoreOptions::replayers does exactly what the fn does. The SQLite store in
// durable mode then logs the intent before it runs the fn, so the fsync
// runs while SQLite executes the batch instead of after it (at 8
// connections the batch's execution was about a third of the time before an
// ACK). A replayer must be deterministic: the same database state and bytes
// give the same writes and the same row ids.
struct WriteIntent {
  uint8_t kind = 0;  // 0: none, the store records what the fn does instead
  std::string bytes;
};
using IntentReplayer = std::function<Status(std::string_view bytes, WriteTxn& txn)>;

struct StoreOptions {
  std::string path;          // SQLite: database file; PostgreSQL: connection URI
  bool durable_full = true;  // fsync before a commit counts (false: crash-safe only)
  int max_batch = 2048;      // WriteFns per group commit at most
  // SQLite durable mode: how long its transaction may stay open across
  // batches (they are durable in the redo log meanwhile); tests raise it.
  // Each commit writes every page it changed to the WAL once, so a longer
  // interval writes (and checkpoints) an index page once instead of at
  // every commit: 50 ms against 10 ms gave +15% msgs/s and half the p99 at
  // 64 connections. A read still sees every completed write (it asks for
  // a commit first).
  int commit_interval_ms = 50;
  // SQLite: the WAL length in 4 KiB frames at which the writer starts the
  // WAL over once the checkpointer has copied it (checkpointer.h); tests
  // lower it.
  int wal_restart_frames = 16384;
  Env* env = nullptr;                  // clock; Env::Default() when null
  MetricsRegistry* metrics = nullptr;  // commit batch size/latency when set
  // PostgreSQL (several nodes on one database): how long a delivery that
  // DueDeliveries handed out stays claimed by this node if it never reports
  // back (the node died). Must exceed the longest send. SQLite ignores it.
  int64_t claim_lease_ms = 300'000;
  // PostgreSQL: this node's stable name on its claims (the hub uses host and
  // data dir). Claims an earlier run under the same name left are released
  // at open. Empty: a fresh random name, claims of a dead run wait out the
  // lease.
  std::string node_id;
  // Write intents this program can redo, by kind (see WriteIntent). SQLite
  // refuses to open a store whose redo log holds an intent of a kind missing
  // here.
  std::map<uint8_t, IntentReplayer> replayers;
};

class Store {
 public:
  using WriteFn = std::function<Status(WriteTxn&)>;
  using DoneFn = std::function<void(const Status&)>;

  virtual ~Store() = default;

  // Queues `fn` for the next group commit. `done` gets OK once the commit is
  // durable; or fn's own error (its savepoint rolled back, the rest of the
  // batch unaffected); or the commit's error. Never called before the commit.
  // `fn` may run more than once (a batch is run again when one of its fns
  // fails, or on a serialization failure): it must start over each time and
  // act only through the txn and on state it owns.
  virtual void Write(WriteFn fn, DoneFn done) = 0;
  // Write() and wait. Must not be called from the writer thread.
  Status WriteSync(WriteFn fn);
  // Several Write()s at once, in order: one hand-off to the writer instead of
  // one per write (the event loop queues a turn's messages together).
  struct PendingWrite {
    WriteFn fn;
    DoneFn done;
    WriteIntent intent;  // optional: lets the store log the write before running it
  };
  virtual void WriteMany(std::vector<PendingWrite> writes);
  // Whether this store makes use of WriteIntents (SQLite with durability
  // full); writers may skip building them otherwise. Fixed once open.
  virtual bool UsesIntents() const { return false; }

  // --- reads: snapshot reads, any thread ---
  virtual Result<MessageRecord> GetMessage(int64_t id) = 0;  // with raw; kNotFound
  // GetMessage for a reader that needs no write newer than what the store
  // has committed: a dispatcher reading the message of a delivery row it
  // has just read (both were inserted together). The SQLite store then does
  // not ask its writer to commit the transaction it holds open, which under
  // load turned every delivery into a commit of its own.
  virtual Result<MessageRecord> GetCommittedMessage(int64_t id) { return GetMessage(id); }
  virtual Result<std::vector<MessageRecord>> ListMessages(
      const MessageFilter& f) = 0;                                           // newest first, no raw
  virtual Result<std::vector<TraceEvent>> GetTrace(int64_t message_id) = 0;  // in order
  virtual Result<std::vector<DeliveryRecord>> GetDeliveries(int64_t message_id) = 0;
  virtual Result<std::vector<DeliveryAttempt>> GetAttempts(int64_t delivery_id) = 0;
  virtual Result<std::vector<RejectedInput>> ListRejected(int64_t before_id,
                                                          int limit) = 0;  // newest first, no raw
  virtual Result<RejectedInput> GetRejected(int64_t id) = 0;               // with raw

  // --- work and recovery: streamed in pages, memory bounded ---
  // Ids of messages in `status` with id > after_id, ascending, at most limit.
  virtual Result<std::vector<int64_t>> MessageIdsWithStatus(MessageStatus status, int64_t after_id,
                                                            int limit) = 0;
  // QUEUED deliveries of `destination_id` that are the oldest unfinished
  // (QUEUED) delivery of their patient_key and due (next_attempt_at <= now),
  // ascending by id, at most `limit`, skipping ids in `exclude` (in flight).
  // An ERROR delivery does not hold up later ones of the same patient.
  // Stores shared by several nodes (PostgreSQL) also CLAIM what they return
  // for this Store: no other Store returns a claimed delivery until
  // UpdateDelivery (or Close) releases it or claim_lease_ms passes; claims
  // on ids in `exclude` are extended. This Store may return its own claims
  // again when they are not excluded.
  virtual Result<std::vector<DeliveryRecord>> DueDeliveries(const std::string& destination_id,
                                                            int64_t now_ms, int limit,
                                                            const std::set<int64_t>& exclude) = 0;
  // Earliest next_attempt_at among QUEUED heads (the oldest QUEUED delivery
  // of each patient_key) of the destination, if any; in-flight heads count.
  virtual Result<std::optional<int64_t>> NextDueAt(const std::string& destination_id) = 0;
  // Count of QUEUED deliveries per destination.
  virtual Result<std::map<std::string, int64_t>> QueueDepths() = 0;
  virtual Result<std::set<std::string>> PausedDestinations() = 0;

  // --- retention: a long call, from one maintenance thread at a time ---
  // Removes what the cutoffs name, in steps that never hold writers up for
  // long (SQLite: small batches on the writer thread; PostgreSQL: whole
  // monthly partitions dropped, each in its own short transaction). Never
  // removes a message that has a QUEUED delivery (nor, on PostgreSQL, the
  // months from that message's on: partitions go whole). Returns early, with
  // `interrupted`, once *stop is true. Safe to run again at any time.
  virtual Result<RetentionReport> ApplyRetention(const RetentionCutoffs& cutoffs,
                                                 const std::atomic<bool>* stop) = 0;

  // Finishes queued writes, stops the writer. Idempotent.
  virtual void Close() = 0;
};

// Opens (creating and migrating as needed) the SQLite store at options.path.
Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options);

}  // namespace hie
