// WriteCoalescer: gathers the store writes that the event loop makes in one
// turn (one per message read) and hands them to the store together, so the
// writer wakes once per turn and its group commit holds every message that
// arrived together, instead of waking at the first and committing the rest
// in a second batch with a second fsync.
//
// Thread rules: Write() from any thread; the first write queued since the
// last flush defers one flush to the io_context, which runs after the
// handlers already queued (the rest of the turn), on an io thread already
// awake. Writes are handed on in
// the order queued. The io_context must outlive the coalescer and keep
// running until it is destroyed (Hub stops the sources first).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "core/posted_batch.h"
#include "store/store.h"

namespace hie {

class WriteCoalescer {
 public:
  WriteCoalescer(Store& store, boost::asio::io_context& io);
  WriteCoalescer(const WriteCoalescer&) = delete;
  WriteCoalescer& operator=(const WriteCoalescer&) = delete;

  void Write(Store::PendingWrite w);

 private:
  struct Shared {
    explicit Shared(Store& s) : store(s) {}
    Store& store;
    PostedBatch<Store::PendingWrite> pending;
  };
  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;  // held by posted flushes
};

}  // namespace hie
