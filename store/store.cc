#include "store/store.h"

#include <future>

namespace hie {

void Store::WriteMany(std::vector<PendingWrite> writes) {
  for (PendingWrite& w : writes) Write(std::move(w.fn), std::move(w.done));
}

Status Store::WriteSync(WriteFn fn) {
  std::promise<Status> p;
  auto f = p.get_future();
  Write(std::move(fn), [&p](const Status& s) { p.set_value(s); });
  return f.get();
}

}  // namespace hie
