// UnmappedRegister: every code that arrived and could not be translated,
// with how often, when first and last, and one sample message id, so county
// IT can see what to add to a map (GET /api/v1/terminology/unmapped) and
// download the blanks as a concept-map CSV to fill in.
// Persistence (the hub's, engine/terminology_service.h): once change tracking
// is on, the register remembers per entry the occurrences not yet handed out
// and the entries pruned since, and TakeChanges() hands them out (a flusher
// writes them to the store about once a second); Load() merges stored
// entries back at start. Without tracking nothing extra is kept.
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

  // --- persistence ---------------------------------------------------------
  // What changed since the last TakeChanges: `added` holds, per entry with
  // new occurrences, its key, display, sample, first/last seen and in
  // `count` the occurrences since the last take; `removed` the keys pruned
  // (PruneResolved) since. A key both pruned and seen again is in both (the
  // removal applies first).
  struct Changes {
    std::vector<UnmappedEntry> removed;
    std::vector<UnmappedEntry> added;
    bool empty() const { return removed.empty() && added.empty(); }
  };
  // From now on Record and PruneResolved keep what TakeChanges returns.
  void EnableChangeTracking();
  Changes TakeChanges();
  // Puts back what TakeChanges returned and could not be written (the next
  // take returns it again, merged with what came since).
  void ReturnChanges(Changes changes);
  // Merges a stored entry (count = its stored total): added to an entry of
  // the same key, else inserted within max_entries (else dropped and
  // counted). Not a change: TakeChanges does not return it.
  void Load(const UnmappedEntry& stored);

  // Takes a stored entry's totals when other hub nodes write the same table:
  // count = the stored count + this register's occurrences not yet handed
  // out (so call it right after a successful write of TakeChanges), first /
  // last seen widened, the stored display and sample taken (the table's
  // first, the same on every node); a new key is inserted within
  // max_entries. Not a change.
  void Refresh(const UnmappedEntry& stored);

  void Clear();  // memory only (not tracked as removals)
  size_t size() const;
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 16;
  struct Slot {
    UnmappedEntry e;
    uint64_t pending = 0;  // occurrences not yet handed out by TakeChanges
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Slot> entries;
    std::vector<std::string> dirty;      // keys whose pending went 0 -> n (tracking)
    std::vector<UnmappedEntry> removed;  // pruned since the last take (tracking)
  };
  Shard& ShardOf(const std::string& key);
  // Inserts a new slot within the bound; nullptr when full (counted).
  Slot* Insert(Shard& shard, std::string key, const UnmappedEntry& e);
  size_t max_entries_;
  std::atomic<bool> tracking_{false};
  std::atomic<size_t> total_{0};
  std::atomic<uint64_t> dropped_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace hie
