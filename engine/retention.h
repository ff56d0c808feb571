// Retention in the running hub: applies `retention:` (RetentionConfig) to the
// store once at start and every check_interval, on a thread of its own, via
// Store::ApplyRetention; counts what went in /metrics and logs one line per
// run that removed or held back anything.
// Thread rules: Start/Stop from the hub's main thread; Stop interrupts a run
// between two of its steps and joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/env.h"
#include "core/metrics.h"
#include "engine/config.h"
#include "store/store.h"

namespace hie {

class RetentionRunner {
 public:
  RetentionRunner(const RetentionConfig& config, Store& store, Env& env, MetricsRegistry& metrics);
  ~RetentionRunner();

  void Start();
  void Stop();

  // The cutoffs at `now_ms` (0 for a kind kept forever).
  static RetentionCutoffs CutoffsAt(const RetentionConfig& config, int64_t now_ms);

 private:
  void Loop();
  void RunOnce();

  const RetentionConfig config_;
  Store& store_;
  Env& env_;
  Counter& runs_;
  Counter& failures_;
  Counter& messages_;
  Counter& bodies_;
  Counter& rejected_;
  Counter& partitions_;
  Counter& keys_;
  Gauge& held_back_;
  Gauge& last_run_;

  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace hie
