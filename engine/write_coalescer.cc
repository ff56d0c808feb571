#include "engine/write_coalescer.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace hie {

WriteCoalescer::WriteCoalescer(Store& store, boost::asio::io_context& io)
    : io_(io), shared_(std::make_shared<Shared>(store)) {}

void WriteCoalescer::Write(Store::WriteFn fn, Store::DoneFn done) {
  if (shared_->pending.Add(Store::PendingWrite{std::move(fn), std::move(done)})) {
    boost::asio::post(io_, [s = shared_] { s->store.WriteMany(s->pending.Take()); });
  }
}

}  // namespace hie
