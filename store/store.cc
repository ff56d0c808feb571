#include "store/store.h"

#include <future>

namespace hie {

Status Store::WriteSync(WriteFn fn) {
  std::promise<Status> p;
  auto f = p.get_future();
  Write(std::move(fn), [&p](const Status& s) { p.set_value(s); });
  return f.get();
}

}  // namespace hie
