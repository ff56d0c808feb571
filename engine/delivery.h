// Delivery: one Dispatcher per destination streams its due outbox rows from
// the store (bounded: never more than `concurrency` in flight, never the
// whole queue in memory), sends them through the destination's connector,
// and records every attempt. Order is FIFO per (destination, patient): the
// store hands out only the oldest unfinished delivery of each patient, and a
// patient's next delivery waits until the one in flight is recorded.
// Different patients go in parallel; each destination has its own threads,
// so one slow or dead destination never holds up another.
// Thread rules: public methods are safe from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "engine/config.h"
#include "engine/transform.h"
#include "store/store.h"

namespace hie {

// What one send attempt came to.
struct SendResult {
  enum class Kind { kSent, kRetry, kPermanent };
  Kind kind = Kind::kSent;
  std::string detail;  // status line, ACK summary or error text
};

// Sends one rendered message (the Dispatcher renders it with the Renderer
// before); one Sender per worker thread (keeps its connection).
// Implementations: HTTP, MLLP, file.
class Sender {
 public:
  virtual ~Sender() = default;
  virtual SendResult Send(const MessageRecord& m, const DeliveryRecord& d,
                          const RenderedPayload& payload) = 0;
};

std::unique_ptr<Sender> MakeSender(const DestinationConfig& dest, const std::string& hub_name);

class Dispatcher {
 public:
  // `renderer` must outlive the Dispatcher. A message that cannot be rendered
  // in the destination's format (e.g. DFT^P03 to a cda destination) ends
  // ERROR at once with the reason.
  Dispatcher(const DestinationConfig& dest, const std::string& hub_name, Store& store, Env& env,
             MetricsRegistry& metrics, bool paused, const Renderer& renderer);
  ~Dispatcher();

  void Start();
  void Stop();  // finishes and records in-flight sends, then returns
  void Wake();  // new work may be due
  void SetPaused(bool paused);
  bool paused() const { return paused_.load(); }
  const DestinationConfig& config() const { return dest_; }

 private:
  void Loop();
  void WorkerLoop();
  void Deliver(const DeliveryRecord& d, Sender& sender);

  const DestinationConfig dest_;
  const std::string hub_name_;
  Store& store_;
  Env& env_;
  const Renderer& renderer_;
  std::atomic<bool> paused_;

  std::mutex mu_;
  std::condition_variable cv_;         // the loop waits here
  std::condition_variable work_cv_;    // workers wait here
  std::deque<DeliveryRecord> work_;
  std::set<int64_t> in_flight_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread loop_;
  std::vector<std::thread> workers_;

  Counter* sent_;
  Counter* retried_;
  Counter* failed_;
  Histogram* send_seconds_;
};

// All dispatchers of a hub, by destination id.
class DeliveryService {
 public:
  DeliveryService(const Config& config, Store& store, Env& env, MetricsRegistry& metrics,
                  const Renderer& renderer);
  void Start();
  void Stop();
  void Wake(const std::string& destination_id);
  Status SetPaused(const std::string& destination_id, bool paused);
  Dispatcher* Find(const std::string& destination_id);
  const std::map<std::string, std::unique_ptr<Dispatcher>>& all() const { return dispatchers_; }

 private:
  Store& store_;
  std::map<std::string, std::unique_ptr<Dispatcher>> dispatchers_;
};

}  // namespace hie
