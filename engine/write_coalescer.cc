#include "engine/write_coalescer.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace hie {

WriteCoalescer::WriteCoalescer(Store& store, boost::asio::io_context& io)
    : io_(io), shared_(std::make_shared<Shared>(store)) {}

void WriteCoalescer::Write(Store::WriteFn fn, Store::DoneFn done) {
  bool post = false;
  {
    std::lock_guard lock(shared_->mu);
    shared_->pending.push_back(Store::PendingWrite{std::move(fn), std::move(done)});
    post = !shared_->flush_posted;
    shared_->flush_posted = true;
  }
  if (post) boost::asio::post(io_, [s = shared_] { s->Flush(); });
}

void WriteCoalescer::Shared::Flush() {
  std::vector<Store::PendingWrite> batch;
  {
    std::lock_guard lock(mu);
    batch.swap(pending);
    flush_posted = false;
  }
  store.WriteMany(std::move(batch));
}

}  // namespace hie
