// Retranslation (issue 4, `hie terminology retranslate --since DATE`,
// POST /api/v1/terminology/retranslate): after county IT adds a map, the
// shared record's results stored before it get their standard codes, so a
// late map does not leave old results unshareable.
//
// One pass walks the lab results, diagnoses and documents recorded since
// the given time that may lack a standard code (store/record_translations.h),
// in pages of kPage rows by id (memory bounded), re-applies ApplyTerminology
// (engine/canonicalize.h) with the terminology current at that page to each
// row's FHIR resource (documents: the canonical JSON), takes the standard
// code, display and unit from the result and writes back the rows that
// changed, a page per transaction. It is a translation added beside the
// original, not a new clinical version: ids, versions and supersession stay
// as they are; the original code, value and unit are never touched.
// Idempotent (a second pass with the same maps changes nothing) and safe to
// stop and run again at any point (every page commits on its own). Beside
// live traffic: the EMPI worker keeps inserting rows meanwhile (a row
// recorded during the pass was translated with the current maps anyway);
// the work runs on a thread of its own at nice 10, each page's transaction
// is short, and codes still unmapped are not counted again in the unmapped
// register (that counts arrivals).
//
// Thread rules: every method is safe from any thread; one pass at a time
// (Start while one runs is refused); Stop from the hub's main thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/env.h"
#include "core/metrics.h"
#include "core/status.h"
#include "engine/terminology_service.h"
#include "store/record_translations.h"

namespace hie {

struct RetranslateCounts {
  int64_t scanned = 0;  // rows looked at
  int64_t updated = 0;  // rows whose standard fields or JSON changed
  int64_t failed = 0;   // rows whose JSON could not be read (left as they are)
};

struct RetranslateProgress {
  std::string state = "idle";  // idle | running | done | failed | stopped
  int64_t since_ms = 0;
  int64_t started_ms = 0, finished_ms = 0;
  uint64_t generation = 0;  // terminology generation of the last page
  RetranslateCounts lab_results, diagnoses, documents;
  std::string error;  // failed: why
  int64_t scanned() const { return lab_results.scanned + diagnoses.scanned + documents.scanned; }
  int64_t updated() const { return lab_results.updated + diagnoses.updated + documents.updated; }
};

// Re-applies `snapshot` to one stored row in place (row.json and the
// standard fields). Returns whether anything changed; an error when the
// JSON cannot be read. Pure; exposed for tests.
Result<bool> RetranslateRow(RecordKind kind, TranslatableRow& row,
                            const TerminologySnapshot& snapshot);

class Retranslator {
 public:
  static constexpr int kPage = 200;

  // `store` is owned; `terminology` and `metrics` (may be null) must outlive this.
  Retranslator(std::unique_ptr<RecordTranslations> store, TerminologyService& terminology, Env& env,
               MetricsRegistry* metrics);
  ~Retranslator();  // Stop()
  Retranslator(const Retranslator&) = delete;
  Retranslator& operator=(const Retranslator&) = delete;

  // Starts a pass over rows recorded since `since_ms` on a thread of its
  // own; kConflict when one is running. Returns the progress at start.
  Result<RetranslateProgress> Start(int64_t since_ms);
  // Runs a pass on the calling thread (tests); kConflict when one runs.
  Result<RetranslateProgress> RunNow(int64_t since_ms);
  // The running or last pass.
  RetranslateProgress Progress() const;
  // Asks a running pass to stop after its page and waits for it. Idempotent.
  void Stop();

 private:
  bool Begin(int64_t since_ms);
  void Pass();
  Status PassKind(RecordKind kind, RetranslateCounts RetranslateProgress::*counts);

  std::unique_ptr<RecordTranslations> store_;
  TerminologyService& terminology_;
  Env& env_;
  Counter* updated_total_ = nullptr;
  mutable std::mutex mu_;
  RetranslateProgress progress_;
  bool running_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace hie
