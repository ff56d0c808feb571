// Env: the seam between the hub and the machine's clock and randomness, so
// tests can run on a fake clock. Everything that reads time or draws random
// numbers on a message path takes an Env&.
// Thread rules: all methods are safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

namespace hie {

class Env {
 public:
  virtual ~Env() = default;
  // Wall-clock time in milliseconds since the Unix epoch (stored, shown).
  virtual int64_t NowMillis() = 0;
  // Monotonic time in nanoseconds (latencies, timeouts); never goes back.
  virtual int64_t MonoNanos() = 0;
  // A uniformly distributed 64-bit random number (jitter, ids).
  virtual uint64_t Random() = 0;

  // The process-wide real environment.
  static Env& Default();
};

// A clock that moves only when told; randomness from a fixed seed.
class FakeEnv final : public Env {
 public:
  explicit FakeEnv(int64_t start_millis = 1'700'000'000'000, uint64_t seed = 42)
      : now_ms_(start_millis), rng_(seed) {}
  int64_t NowMillis() override { return now_ms_.load(); }
  int64_t MonoNanos() override { return now_ms_.load() * 1'000'000; }
  uint64_t Random() override {
    std::lock_guard lock(mu_);
    return rng_();
  }
  void Advance(int64_t millis) { now_ms_ += millis; }
  void Set(int64_t millis) { now_ms_ = millis; }

 private:
  std::atomic<int64_t> now_ms_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

// Formats epoch milliseconds as RFC 3339 UTC, e.g. "2026-11-22T07:18:18.123Z".
std::string FormatTimeMillis(int64_t millis);
// Parses RFC 3339 / ISO 8601 ("2026-11-22", "2026-11-22T07:18:18Z",
// "...+08:00") into epoch milliseconds; -1 when unreadable.
int64_t ParseTimeMillis(std::string_view text);
// What a `since` takes (the API's ?since=, retranslate's body): epoch
// milliseconds (digits), a bare date "2026-11-22" meaning midnight China
// time (UTC+8: a county thinks in its own days), or RFC 3339 as given;
// -1 when empty or unreadable.
int64_t ParseSinceMillis(std::string_view text);

}  // namespace hie
