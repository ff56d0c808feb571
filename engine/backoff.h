// Retry backoff for deliveries: exponential from initial_backoff, doubling
// per attempt, capped at max_backoff, with "equal jitter" (half fixed, half
// random) so a county's worth of queued messages do not retry in lockstep.
// Thread rules: pure function; safe from any thread.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/env.h"

namespace hie {

// Delay before retry number `attempt` (1 = the first retry after one failure).
inline int64_t BackoffMillis(int attempt, int64_t initial_ms, int64_t max_ms, Env& env) {
  if (attempt < 1) attempt = 1;
  int64_t base = initial_ms;
  for (int i = 1; i < attempt && base < max_ms; ++i) base *= 2;
  base = std::min(base, max_ms);
  if (base <= 1) return base;
  int64_t half = base / 2;
  return half + static_cast<int64_t>(env.Random() % static_cast<uint64_t>(base - half + 1));
}

}  // namespace hie
