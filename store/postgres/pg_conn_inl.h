// The template body of pg::WithConn (see pg_conn.h). Not for direct use.
// Thread rules: those of WithConn.
#pragma once

#include <chrono>
#include <thread>

namespace hie::pg {

template <typename F>
auto WithConn(Pool& pool, const char* where, F&& f) -> decltype(f(std::declval<Conn&>())) {
  constexpr int kAttempts = 4;
  Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
    auto lease = pool.Acquire();
    if (!lease.ok()) {
      last = lease.status();
      continue;
    }
    Failure kind = Failure::kStatement;
    try {
      return f(lease->conn());
    } catch (const std::exception& e) {
      last = StatusFromException(e, where, &kind);
    }
    if (kind != Failure::kRetry && kind != Failure::kBroken) return last;
  }
  return last;
}

}  // namespace hie::pg
