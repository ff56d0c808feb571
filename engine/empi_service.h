// The EMPI service (issue 5): one person across every facility. After each
// ADT (A01/A04/A05/A08/A28/A31/A40) or ORU^R01 message is durably committed
// (the ACK never waits for it), a worker reads the message back from the
// store, takes its patient from PID (CDA / FHIR: the canonical model's
// Patient, engine/empi_canonical.cc), and resolves it to an EMPI id with the
// MatchIndex: auto-link, review (a new person plus review-queue candidates)
// or new person. Every source record is kept (the facility's MR number is its
// key: an update of the same record stays with its person); the golden record
// follows survivorship rules (engine/empi_records.h). ADT^A40 moves the prior
// record (MRG-1) to the surviving patient's person. Resolution is idempotent:
// a message already resolved (reprocess, recovery) is skipped, and what one
// message changes commits in one EmpiStore::Apply together with the
// message -> record map. At start the index is loaded from the store
// (streamed), and messages committed after the last resolved one (a crash
// between the commit and the resolution) are resolved again.
//
// Several nodes (issue 7, shared PostgreSQL): one node at a time holds the
// resolver role (EmpiStore::TryResolverRole). The resolver keeps the index
// and, besides its own queue, scans the store every second for committed
// messages of every node not yet resolved; on taking the role over it
// reloads the index. Other nodes keep no index: their messages are left to
// the resolver (trace "deferred"), PIX and person reads come from the store,
// PDQ and write operations answer kUnavailable naming the resolver.
//
// The shared record (issue 6, engine/record_extract.h): with empi.record on,
// the message's lab results, encounters, diagnoses and documents are read
// from it (canonical model, terminology of the current snapshot) and written
// in the SAME Apply as its resolution, on the source record it resolved to;
// a message resolved before is skipped, so its rows are never doubled.
// CDA documents of other kinds (typed MDM^T02) are resolved too, so every
// received document enters the record.
//
// Operations (link, unlink, merge, unmerge, review accept/reject) and A40
// each append a history row (the audit trail) with who did it. Logs carry
// message ids and EMPI ids only, never names, ID numbers or phones.
//
// Thread rules: every public method is safe from any thread. Writes
// (resolution and operations) are serialized by one mutex; queries read the
// index under a shared lock and the store's committed state.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>

#include "core/env.h"
#include "core/metrics.h"
#include "core/status.h"
#include "empi/match_index.h"
#include "empi/record_normalizer.h"
#include "engine/config.h"
#include "engine/empi_records.h"
#include "engine/terminology_service.h"
#include "store/empi_store.h"
#include "store/store.h"

namespace hie {

// The weights the hub uses when empi.weights is empty (empi/data/, embedded).
std::string_view BuiltinEmpiWeights();

class EmpiService {
 public:
  EmpiService(const Config& config, Store& store, std::unique_ptr<EmpiStore> empi,
              std::shared_ptr<const empi::FsModel> model, Env& env, MetricsRegistry& metrics);
  ~EmpiService();

  // Start-up (may fail): ICU normalizer, the index streamed from the store.
  Status Load();
  // Starts the worker; it first resolves what a crash left unresolved.
  void Start();
  // Finishes the message in hand; the rest is resolved at the next start.
  void Stop();

  // ADT A01/A04/A05/A08/A28/A31/A40, ORU^R01 and MDM^T02 (documents).
  static bool Resolves(std::string_view message_type);
  // The terminology the shared record's rows are translated with (null:
  // none, original codes only). Call before Start.
  void SetTerminology(const TerminologyService* terminology) { terminology_ = terminology; }
  // A message was committed: queue it (never blocks; a full queue is left
  // to the store scan). Messages of other types are skipped by the worker.
  void OnCommitted(int64_t message_id);
  // Resolves one message now (the worker's step; tests). OK when skipped.
  Status ResolveMessage(int64_t message_id);
  // Messages queued and not yet resolved.
  size_t pending() const;
  size_t persons_indexed() const;
  // This node holds the resolver role (always on a single-node store).
  bool resolver() const { return resolver_.load(); }

  // --- queries (CONTRACT §4) ---
  // PIX: authority "NI" (ID card) or a facility id (its MR numbers).
  Result<nlohmann::json> Pix(const std::string& authority, const std::string& value);
  // PDQ: ranked by match weight; name required, birth_date / sex optional.
  Result<nlohmann::json> Pdq(const std::string& name, const std::string& birth_date,
                             const std::string& sex, int limit);
  Result<nlohmann::json> Person(int64_t person_id);

  // --- the shared record's read side (engine/rest_record.cc,
  // engine/empi_record_read.cc): whose rows a read of `person_id` answers ---
  struct RecordSubject {
    int64_t requested = 0;  // the id asked for
    int64_t person = 0;     // the person answered: a merged one redirects to its survivor
    std::string state;      // of `person`: active | retired
    std::vector<EmpiSourceRow> sources;  // linked to `person` now
  };
  // kNotFound for an unknown person.
  Result<RecordSubject> RecordSubjectOf(int64_t person_id);
  // The person a source record is linked to now; nullopt for an unknown source.
  Result<std::optional<int64_t>> PersonOfSource(int64_t source_id);
  // empi_id, state, merged_into, golden, identifiers (no sources, no history).
  Result<nlohmann::json> Demographics(int64_t person_id) { return PersonSummary(person_id); }

  // --- review queue and operations; `actor` goes into the history ---
  Result<nlohmann::json> Reviews(const std::string& state, int64_t before_id, int limit);
  Result<nlohmann::json> DecideReview(int64_t review_id, bool accept, const std::string& actor);
  Result<nlohmann::json> Link(int64_t person_id, int64_t source_id, const std::string& actor);
  Result<nlohmann::json> Unlink(int64_t person_id, int64_t source_id, const std::string& actor);
  // Moves every source of `merged` to `survivor`; returns the merge id.
  Result<nlohmann::json> Merge(int64_t survivor, int64_t merged, const std::string& actor);
  // Undoes the merge `merge_id`: its sources go back to the merged person.
  Result<nlohmann::json> Unmerge(int64_t merge_id, const std::string& actor);

 private:
  // What one operation changes; Commit completes the persons touched
  // (golden record, state) and writes it all with one Apply.
  struct Plan {
    std::vector<EmpiSourceRow> sources;  // final state of each changed source
    std::set<int64_t> content_changed;   // source ids whose normalized form changed
    std::vector<EmpiReviewRow> reviews;
    std::vector<EmpiHistoryRow> history;
    std::vector<std::pair<int64_t, int64_t>> messages;
    std::map<int64_t, EmpiPersonRow> persons;  // new persons / explicit state changes
    std::set<int64_t> touched;                 // persons whose golden record to redo
    bool sync = true;                          // see EmpiWrite::sync
    RecordWrite record;                        // the shared record's rows (EmpiWrite::record)
  };
  Status Commit(Plan& plan);
  Result<EmpiPersonRow> PersonForPlan(Plan& plan, int64_t id);
  EmpiPersonRow NewPerson(Plan& plan);
  EmpiHistoryRow History(const std::string& op, int64_t person, const std::string& actor);
  Status ResolveLocked(int64_t message_id);
  Status MoveSource(Plan& plan, EmpiSourceRow source, int64_t to_person, const std::string& how);
  Result<nlohmann::json> SourceJson(const EmpiSourceRow& s, bool full);
  Result<nlohmann::json> PersonSummary(int64_t person_id);
  void Trace(int64_t message_id, const std::string& outcome, const std::string& detail);
  void WorkerLoop();
  void ScanUnresolved(int64_t after_id);
  // Shared store: keeps or takes the resolver role, then scans.
  void Tick();
  Status LoadIndex();
  Status NotResolver() const;

  const Config& config_;
  Store& store_;
  const TerminologyService* terminology_ = nullptr;
  std::unique_ptr<EmpiStore> empi_;
  std::shared_ptr<const empi::FsModel> model_;
  Env& env_;

  mutable std::shared_mutex index_mu_;
  empi::MatchIndex index_;

  std::mutex ops_mu_;  // resolution and operations, one at a time
  std::unique_ptr<empi::RecordNormalizer> norm_;
  std::mutex query_norm_mu_;
  std::unique_ptr<empi::RecordNormalizer> query_norm_;
  EmpiMaxIds next_;  // last ids used

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int64_t> queue_;
  std::deque<std::chrono::steady_clock::time_point> arrived_;  // when each of queue_ came
  std::chrono::steady_clock::time_point last_arrival_{};       // the latest OnCommitted
  const size_t capacity_ = 10000;
  int64_t rescan_after_ = -1;                             // >= 0: scan the store for ids above it
  std::chrono::steady_clock::time_point rescan_since_{};  // when rescan_after_ was set
  bool stopping_ = false;
  std::thread worker_;

  // --- several nodes (shared store) ---
  const std::string node_;            // this node's name, for the others
  std::atomic<bool> resolver_{true};  // false until the role is taken (shared)
  std::string holder_;                // who resolves instead (under mu_)
  int64_t scanned_ = 0;               // highest message id a scan saw (worker)
  std::set<int64_t> handled_;         // ids handled above the scan floor (worker)

  Counter* resolved_auto_;
  Counter* resolved_review_;
  Counter* resolved_new_;
  Counter* resolved_update_;
  Counter* skipped_;
  Counter* errors_;
  Histogram* seconds_;
  Counter* record_rows_[4];  // lab results, encounters, diagnoses, documents
  Counter* record_errors_;
};

}  // namespace hie

namespace hie {

// Everything the hub needs for the EMPI: the weights (empi.weights, or the
// built-in ones), the EMPI tables of the store at `store_uri` (opened and
// migrated already), the index loaded. kConfigError for a bad weights file.
// `terminology` (may be null) translates the shared record's rows.
Result<std::unique_ptr<EmpiService>> OpenEmpiService(
    const Config& config, const std::string& store_uri, Store& store, Env& env,
    MetricsRegistry& metrics, const TerminologyService* terminology = nullptr);

}  // namespace hie
