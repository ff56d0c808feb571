#include "engine/write_coalescer.h"

#include <boost/asio/defer.hpp>
#include <utility>

namespace hie {

WriteCoalescer::WriteCoalescer(Store& store, boost::asio::io_context& io)
    : io_(io), shared_(std::make_shared<Shared>(store)) {}

void WriteCoalescer::Write(Store::PendingWrite w) {
  shared_->pending.AddAndPost(std::move(w), [&io = io_, s = shared_] {
    // defer, not post: from an io thread the flush is a continuation of the
    // running handler, queued behind the turn's handlers without waking
    // another io thread to run it (a wake that cost ~45 us of every round
    // at one connection). From any other thread it is a post.
    boost::asio::defer(io, [s] { s->store.WriteMany(s->pending.Take()); });
  });
}

}  // namespace hie
