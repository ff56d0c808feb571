// The pipeline: routes messages left RECEIVED (reprocess, or a crash between
// an older version's steps; intake routes new messages itself). For
// each it decides the destinations and writes the outbox rows in the same
// transaction as the status change (QUEUED, or FILTERED when no route
// matches). Work arrives from intake in memory; when that queue is full, or
// after a restart, a scanner streams RECEIVED messages from the store in id
// order, so memory stays bounded whatever the backlog and nothing is lost.
// Thread rules: Enqueue/Start/Stop from any thread; workers are internal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "engine/config.h"
#include "engine/intake.h"
#include "engine/router.h"
#include "store/store.h"

namespace hie {

class Pipeline {
 public:
  // `on_queued(destination_id)` wakes the delivery of a destination.
  Pipeline(const Config& config, Store& store, Env& env, MetricsRegistry& metrics,
           std::function<void(const std::string&)> on_queued);
  ~Pipeline();

  void Start();  // starts workers and a recovery scan of RECEIVED messages
  // Stops taking work; finishes the item each worker holds. Queued items stay
  // RECEIVED in the store and are picked up at the next start.
  void Stop();
  // Never blocks: when the in-memory queue is full the item is left to the
  // store scanner.
  void Enqueue(WorkItem item);
  // Re-runs a message (reprocess): it must already be RECEIVED in the store.
  void EnqueueById(int64_t message_id);
  size_t pending() const;

 private:
  void WorkerLoop();
  void ScannerLoop();
  void Process(const WorkItem& item);

  const Config& config_;
  Store& store_;
  Env& env_;
  Router router_;
  std::function<void(const std::string&)> on_queued_;
  const size_t capacity_ = 10000;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable scan_cv_;
  std::deque<WorkItem> queue_;
  std::unordered_set<int64_t> queued_ids_;
  bool scan_needed_ = true;  // a scan at start recovers unfinished work
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread scanner_;

  Counter* filtered_;
  Counter* routed_;
  Counter* errors_;
};

}  // namespace hie
