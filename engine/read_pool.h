// A few threads for the shared record's reads (engine/rest_record.h), so a
// slow query (a summary on a busy PostgreSQL) never holds an event-loop
// thread that MLLP intake and the other endpoints share. Bounded: when
// `max_queued` reads wait, Post refuses and the caller answers 503.
// Thread rules: Post is safe from any thread; Stop (and the destructor) from
// the owner: it runs what is queued, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hie {

class ReadPool {
 public:
  ReadPool(int threads, size_t max_queued);
  ~ReadPool();

  // False when the queue is full or the pool stopped (fn is not run).
  bool Post(std::function<void()> fn);
  void Stop();

 private:
  void Loop();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hie
