// The access log: every read of a person's data (the person, lab results,
// documents, the summary, the access list itself) is written here BEFORE
// the data is answered, for the auditors. This class is the ONE seam every
// such read goes through (engine/rest_record.cc); a later hash-chained
// audit log hangs on it.
//
// Group commit: Record() queues the event and returns at once; one writer
// thread takes everything queued (up to kMaxBatch) and appends it with one
// RecordStore::AppendAccess (one transaction, durable on return), then runs
// each event's `done` with the outcome. Concurrent reads thus share a
// commit instead of paying one each. If the append fails (or the queue is
// full, or the log is stopped) `done` gets the error and the read must fail
// (503): an auditor never misses a read that was answered.
//
// Thread rules: Record() is safe from any thread and never blocks on the
// store; `done` runs on the writer thread (keep it short: respond and go).
// Start/Stop from the owner's thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "core/status.h"
#include "store/record_store.h"

namespace hie {

class AccessLog {
 public:
  static constexpr size_t kMaxBatch = 512;
  static constexpr size_t kMaxQueued = 20000;

  AccessLog(RecordStore& store, Env& env, MetricsRegistry& metrics);
  ~AccessLog();  // Stop()

  void Start();
  // Writes what is queued, then fails whatever arrives later (kUnavailable).
  void Stop();

  // Stamps `ev.at_ms` (Env) and queues it; `done(OK)` once it is durable,
  // `done(error)` when it could not be written.
  void Record(AccessEventRow ev, std::function<void(Status)> done);
  // Several events of one read (PIX/PDQ answering several persons): `done`
  // once, after all of them, with the first error if any failed. No events:
  // done(OK) at once.
  void RecordAll(std::vector<AccessEventRow> evs, std::function<void(Status)> done);
  // Record and wait (CLI tools, tests).
  Status RecordSync(AccessEventRow ev);

 private:
  struct Pending {
    AccessEventRow ev;
    std::function<void(Status)> done;
  };
  void Loop();

  RecordStore& store_;
  Env& env_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool started_ = false, stopping_ = false;
  std::thread writer_;

  Counter* written_;
  Counter* failed_;
  Histogram* batch_;
  Histogram* seconds_;
};

}  // namespace hie
