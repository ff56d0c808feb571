// UnmappedRegister: every code that arrived and could not be translated,
// with how often, when first and last, and one sample message id, so county
// IT can see what to add to a map (GET /api/v1/terminology/unmapped) and
// download the blanks as a concept-map CSV to fill in.
// Thread rules: all methods are safe from any thread. Record() takes one of
// 16 shard mutexes, so concurrent traffic rarely contends; the register is
// bounded (max_entries) so a sender spraying garbage cannot exhaust memory.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hie {

class TerminologySnapshot;

struct UnmappedEntry {
  std::string system;  // source system as received, e.g. "local:WSY01"
  std::string code;
  std::string display;            // text that came with the code (first non-empty seen)
  std::string facility;           // sending facility
  std::string target_system;      // what the hub tried to translate to; may be empty
  std::string sample_message_id;  // the first message that carried it
  uint64_t count = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

class UnmappedRegister {
 public:
  explicit UnmappedRegister(size_t max_entries = 100'000);

  // Counts one occurrence. A new (system, code, facility, target) beyond
  // max_entries is dropped and counted in dropped().
  void Record(std::string_view system, std::string_view code, std::string_view display,
              std::string_view facility, std::string_view message_id, int64_t now_ms,
              std::string_view target_system = {});

  // All entries, most frequent first (then system, code, facility).
  std::vector<UnmappedEntry> Snapshot() const;

  // The register as a concept-map CSV (the CONTRACT §6 header) with empty
  // target_code/target_display, one row per (system, code, target system),
  // most frequent first. `#` comment lines on top say what to do with it.
  std::string ToConceptMapCsv() const;

  // Drops entries that `snapshot` now translates (after county IT fixed a
  // map and the hub reloaded). Entries without a target system are kept.
  // Returns how many were dropped.
  size_t PruneResolved(const TerminologySnapshot& snapshot);

  void Clear();
  size_t size() const;
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, UnmappedEntry> entries;
  };
  size_t max_entries_;
  std::atomic<size_t> total_{0};
  std::atomic<uint64_t> dropped_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace hie
