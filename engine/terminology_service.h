// The hub's terminology service: owns the process-wide Terminology holder
// (terminology/terminology.h), loads `terminology.dir` at start, reloads it on
// SIGHUP or POST /api/v1/terminology/reload (a rejected reload keeps the old
// maps), and checks the codes of each accepted message (HL7 v2, CDA, FHIR) so
// that codes that do not translate land in the unmapped register (CONTRACT
// §4, §6).
//
// The check runs after the commit and after the ACK, off the intake path:
// intake hands each committed message to Audit() (a queue append, no
// parsing), and one low-priority worker thread reads it into the canonical
// model, applies the current snapshot to every coded element
// (engine/canonicalize.h, ApplyTerminology) and counts each miss with the
// facility and the message id. While messages keep arriving it checks at most
// one every 50 ms (at idle CPU priority), and at full speed once intake has
// been quiet for 100 ms, so a burst keeps its ingest rate and the register
// catches up in the gaps. Under a backlog the queue keeps the raw bytes
// only up to a memory budget and after that only the message id (the worker
// reads the message back from the store), so a burst never costs memory
// without bound and no message goes unchecked. HL7 v2 messages of a type the
// canonical model does not map (ORM, SIU, ...) get the older ER7 check
// (CheckMessage: OBX-3 and PID-8).
//
// The unmapped register is persisted (StartPersist): loaded from the store at
// start, and what changed is written by a flusher thread every second (and
// at StopPersist) in one small transaction, never per message and never on
// the ACK path. A crash loses at most the occurrences of the last unflushed
// second. The flusher runs at normal priority: it holds the database's write
// lock briefly and must not be starved while holding it.
//
// Thread rules: every method is safe from any thread. Load/Reload serialise
// among themselves; CheckMessage/RecordUnmapped/Audit never take the reload
// lock. StartAudit/StopAudit/StartPersist/StopPersist from the hub's main
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <thread>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "core/status.h"
#include "mappings/hl7v2/er7.h"
#include "store/store.h"
#include "store/unmapped_store.h"
#include "terminology/terminology.h"

namespace hie {

// What a load or reload found, for the API, the CLI and the log.
struct TerminologyLoadReport {
  LoadStats stats;
  size_t systems = 0;
  size_t concepts = 0;
  size_t mappings = 0;
  double millis = 0;        // how long loading and swapping took
  uint64_t generation = 0;  // the holder's generation after the swap
};

// A committed message whose codes are to be checked (see Audit).
struct AuditItem {
  int64_t message_id = 0;
  std::string facility_id, content_type, charset, message_type, control_id;
  std::shared_ptr<const std::string> raw;  // null: read back from the store
};

// A code of one message that did not translate.
struct UnmappedFind {
  std::string system;  // e.g. "local:CWS001", "HL7 0001"
  std::string code;
  std::string display;
  std::string target_system;  // "LOINC", "GB/T 2261.1"
};

class TerminologyService {
 public:
  // `dir` empty: no terminology configured (nothing translates, reload is
  // refused). `facilities` are the configured facility ids whose local:
  // systems are resolved once per snapshot. `metrics` may be null.
  TerminologyService(std::string dir, std::vector<std::string> facilities, Env& env,
                     MetricsRegistry* metrics);
  ~TerminologyService();  // stops the audit worker (StopAudit)
  TerminologyService(const TerminologyService&) = delete;
  TerminologyService& operator=(const TerminologyService&) = delete;

  // Loads `dir` (at hub start). Error: kConfigError with where = "file:line"
  // (or the directory) and nothing loaded.
  Result<TerminologyLoadReport> Load();
  // Loads `dir` again and swaps; on error keeps the current snapshot and
  // returns kConfigError with where = "file:line". Logs either way.
  Result<TerminologyLoadReport> Reload();

  bool configured() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  Terminology& terminology() { return terminology_; }
  std::shared_ptr<const TerminologySnapshot> Current() const { return terminology_.Current(); }
  const UnmappedRegister& unmapped() const { return terminology_.unmapped(); }

  // Looks up the codes of a parsed HL7 v2 message from `facility` and appends
  // the ones that do not translate to `out`:
  //   ORU^R01: every OBX-3 (code^text^system) as (local:F, code) -> LOINC;
  //            an OBX-3 already coded in LOINC (OBX-3.3 "LN"/"LOINC") counts as mapped.
  //   any message with PID-8: HL7 0001 -> GB/T 2261.1, or already a GB/T 2261.1
  //            code, or (local:F, code) -> GB/T 2261.1; otherwise unmapped as HL7 0001.
  // Lookups only; allocates only for misses. Does nothing when no dir is configured.
  void CheckMessage(const Er7Message& msg, std::string_view message_type,
                    std::string_view facility, std::vector<UnmappedFind>* out) const;

  // Counts each find in the unmapped register (after the commit).
  void RecordUnmapped(const std::vector<UnmappedFind>& finds, std::string_view facility,
                      int64_t message_id);

  // Checks one committed message now, on the calling thread: canonical model
  // + ApplyTerminology with the current snapshot, misses recorded with
  // m.facility_id and m.id. Returns how many codes were unmapped.
  size_t CheckCommitted(const MessageRecord& m);

  // Starts the audit worker; `store` (must outlive StopAudit) reads back
  // messages queued without their bytes. Before StartAudit, Audit() checks
  // on the calling thread.
  void StartAudit(Store* store);
  // Stops the worker: what is still queued is checked for up to 2 s (then
  // dropped, with a log line); later Audit() calls are dropped. Idempotent.
  void StopAudit();
  // Queues a committed message for the check. Never blocks, never parses.
  void Audit(AuditItem item);
  // Blocks until every message queued so far has been checked (tests, drain).
  void WaitAuditIdle();

  // Persistence of the unmapped register: loads `store`'s rows into the
  // register (entries that the current maps translate are pruned, and so
  // deleted at the first flush), then flushes every `interval` on a thread
  // of its own. `sync`: each flush reaches the disk (durability full).
  // Error: the load failed (the hub refuses to start; nothing started).
  Status StartPersist(std::unique_ptr<UnmappedStore> store, bool sync,
                      std::chrono::milliseconds interval = std::chrono::seconds(1));
  // Writes what changed since the last flush now (also the flusher's step).
  // On error the changes stay in memory for the next flush.
  Status FlushUnmapped();
  // Flushes, then takes the table's totals into the register (what other
  // hub nodes on the same PostgreSQL counted). The flusher does this every
  // kRefreshEvery flushes when the store is shared.
  Status RefreshUnmapped();
  // Stops the flusher, flushes a last time and closes the store. Idempotent.
  void StopPersist();

 private:
  void PersistLoop(std::chrono::milliseconds interval);
  Status FlushLocked();  // persist_mu_ held
  static constexpr int kRefreshEvery = 10;
  void AuditLoop();
  void AuditOne(const AuditItem& item);

  // Heterogeneous lookup: find a facility by string_view without a copy.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // System ids of one snapshot, so a message costs no name lookups.
  struct Resolved {
    std::shared_ptr<const TerminologySnapshot> snapshot;
    SystemId loinc = kNoSystem;
    SystemId hl7_sex = kNoSystem;
    SystemId gb_sex = kNoSystem;
    // facility id -> local:<id>
    std::unordered_map<std::string, SystemId, NameHash, std::equal_to<>> local;
  };
  void Resolve();
  TerminologyLoadReport Report(double millis) const;

  const std::string dir_;
  const std::vector<std::string> facilities_;
  Env& env_;
  Terminology terminology_;
  std::atomic<std::shared_ptr<const Resolved>> resolved_;
  std::mutex load_mu_;
  // The audit queue (raw bytes kept up to kAuditRawBudget bytes in total).
  static constexpr size_t kAuditRawBudget = 64u << 20;
  static constexpr size_t kAuditMaxItems = 1u << 20;
  // Pacing of the check during a burst (see AuditLoop).
  static constexpr std::chrono::milliseconds kAuditQuiet{100};
  static constexpr std::chrono::milliseconds kAuditBusyPace{50};
  static constexpr std::chrono::milliseconds kAuditDrainBudget{2000};
  Store* audit_store_ = nullptr;
  std::mutex audit_mu_;
  std::condition_variable audit_cv_;       // worker waits for items
  std::condition_variable audit_idle_cv_;  // WaitAuditIdle waits for an empty queue
  std::deque<AuditItem> audit_queue_;
  size_t audit_raw_bytes_ = 0;
  size_t audit_busy_ = 0;  // items taken but not yet finished
  int audit_flush_ = 0;    // WaitAuditIdle callers: check at full speed
  std::chrono::steady_clock::time_point audit_last_enqueue_{};
  bool audit_stopping_ = false;
  bool audit_running_ = false;
  bool audit_stopped_ = false;  // StopAudit ran: later Audit() calls are dropped
  std::thread audit_thread_;
  // Persistence of the register (StartPersist).
  std::mutex persist_mu_;  // one flush at a time; guards persist_store_
  std::unique_ptr<UnmappedStore> persist_store_;
  bool persist_sync_ = false;
  std::mutex persist_wait_mu_;
  std::condition_variable persist_cv_;
  bool persist_stopping_ = false;
  std::thread persist_thread_;
  Counter* flush_failed_ = nullptr;
  Counter* audited_ = nullptr;
  Counter* audit_dropped_ = nullptr;
  Counter* unmapped_total_ = nullptr;
  Counter* reloads_ok_ = nullptr;
  Counter* reloads_failed_ = nullptr;
};

}  // namespace hie
