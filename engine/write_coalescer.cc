#include "engine/write_coalescer.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace hie {

WriteCoalescer::WriteCoalescer(Store& store, boost::asio::io_context& io)
    : io_(io), shared_(std::make_shared<Shared>(store)) {}

void WriteCoalescer::Write(Store::PendingWrite w) {
  shared_->pending.AddAndPost(std::move(w), [&io = io_, s = shared_] {
    boost::asio::post(io, [s] { s->store.WriteMany(s->pending.Take()); });
  });
}

}  // namespace hie
