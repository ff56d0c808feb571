// Terminology: code systems, value sets and concept maps loaded from the CSV
// files under `terminology.dir` (CONTRACT §6), and translation between them.
//
// A TerminologySnapshot is built once by TerminologyBuilder and is then
// read-only: any number of threads may call its const methods without locks.
// Translate/Lookup do not allocate: systems are canonicalised to a small
// integer SystemId (aliases and OIDs name the same system), codes are looked
// up with string_view keys in an open-addressing hash index, and padding
// normalisation ("1" vs "01") writes into a stack buffer. Results hold
// string_views into the snapshot, valid while the caller holds the snapshot's
// shared_ptr.
//
// Terminology is the process-wide holder: it swaps whole snapshots atomically
// (reload = build a new snapshot, then swap), so a reader that took Current()
// once sees one consistent map for its whole batch, never a mix. It also owns
// the unmapped-code register, which survives reloads.
//
// File kinds (detected by header) and the padding rules are documented in
// terminology/data/README.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "terminology/unmapped.h"

namespace hie {

using SystemId = uint32_t;
inline constexpr SystemId kNoSystem = 0xFFFFFFFFu;

// How codes of a system are normalised before comparison, so that "1",
// "01" and "001" meet. Applies only to codes made of ASCII digits.
//   code_width > 0 : strip leading zeros, then left-pad with zeros to width
//                    (GB 3304 width 2: "1" -> "01"; "001" -> "01").
//   code_width < 0 : "numeric": strip leading zeros ("007" -> "7").
//   code_width = 0 : codes compared exactly (LOINC, ICD-10, local codes).
struct SystemInfo {
  std::string name;                  // canonical short name, e.g. "GB/T 2261.1"
  std::string oid;                   // e.g. "2.16.156.10011.2.3.3.4"; may be empty
  std::string title;                 // e.g. "生理性别代码表"
  std::vector<std::string> aliases;  // other names accepted for this system
  std::string edition;               // e.g. "2003"
  int code_width = 0;
  bool local = false;  // "local:<facility>"
};

// One code of a code system. Views point into the owning snapshot.
struct Concept {
  SystemId system = kNoSystem;
  std::string_view code;
  std::string_view display;     // Chinese display
  std::string_view display_en;  // English display, may be empty
  std::string_view parent;      // parent code (hierarchies: 21 -> 20), may be empty
  std::string_view status;      // "active" (empty = active), "deprecated", "example"
  std::string_view unit;        // UCUM unit for lab items, may be empty
};

struct TranslateResult {
  bool found = false;
  std::string_view code;           // target code
  std::string_view display;        // target display (from the map or the code system)
  std::string_view target_system;  // canonical name of the target system
};

// Counts and non-fatal findings of a load; shown by the CLI and the API.
struct LoadStats {
  size_t files = 0;
  size_t systems = 0;
  size_t concepts = 0;
  size_t mappings = 0;
  size_t value_set_members = 0;
  size_t pending_rows = 0;            // concept-map rows with an empty target (to fill in)
  std::vector<std::string> warnings;  // "file:line: text"
  std::vector<std::string> file_names;
};

class TerminologySnapshot {
 public:
  // An empty snapshot (no systems, nothing translates).
  static std::shared_ptr<const TerminologySnapshot> Empty();

  // Canonical id of a system named by short name, alias or OID (ASCII
  // case-insensitive); kNoSystem when unknown. Ids are valid only within this
  // snapshot: resolve again after a reload.
  SystemId FindSystem(std::string_view name) const;
  const SystemInfo* System(SystemId id) const;
  const std::vector<SystemInfo>& systems() const { return systems_; }

  // Maps (system, code) to target_system. When system and target are the
  // same system, returns the concept itself if the code exists (so callers
  // may translate values that already are standard). Not found: found=false.
  TranslateResult Translate(std::string_view system, std::string_view code,
                            std::string_view target_system) const;
  TranslateResult Translate(SystemId system, std::string_view code, SystemId target) const;

  // Display of a code: from a code system file, or the source_display of a
  // concept map row for codes known only as map sources.
  std::optional<std::string_view> Lookup(std::string_view system, std::string_view code) const;
  const Concept* FindConcept(SystemId system, std::string_view code) const;

  // True if (system, code) is a member of the value set.
  bool InValueSet(std::string_view value_set, std::string_view system, std::string_view code) const;

  // The normalised form of `code` in `system` (see SystemInfo::code_width).
  std::string NormalizeCode(SystemId system, std::string_view code) const;

  const LoadStats& stats() const { return stats_; }
  size_t concept_count() const { return concepts_.size(); }
  size_t mapping_count() const { return mappings_.size(); }

 private:
  friend class TerminologyBuilder;
  // One cache line: the source code is stored inline when short (most LIS
  // codes), so a hit touches the index slot and this entry only.
  struct MapEntry {
    SystemId source = kNoSystem;
    SystemId target = kNoSystem;
    uint32_t source_len = 0;
    char source_bytes[20] = {};  // the code, or a pointer to it when longer
    std::string_view target_code;
    std::string_view target_display;

    std::string_view source_code() const {
      if (source_len <= sizeof(source_bytes)) return {source_bytes, source_len};
      const char* p = nullptr;
      std::memcpy(&p, source_bytes, sizeof(p));
      return {p, source_len};
    }
    // `stable` must outlive the entry when longer than the inline buffer.
    void set_source_code(std::string_view stable) {
      source_len = static_cast<uint32_t>(stable.size());
      if (stable.size() <= sizeof(source_bytes)) {
        std::memcpy(source_bytes, stable.data(), stable.size());
      } else {
        const char* p = stable.data();
        std::memcpy(source_bytes, &p, sizeof(p));
      }
    }
  };
  struct MemberEntry {
    uint32_t value_set = 0;
    SystemId system = kNoSystem;
    std::string_view code;
  };
  // Open addressing with linear probing; slots store the full hash so a
  // rehash never needs the keys and most misses never touch an entry.
  class Index {
   public:
    static constexpr uint32_t kNone = 0xFFFFFFFFu;
    void Reserve(size_t n);
    template <typename Eq>
    uint32_t Find(uint64_t hash, Eq&& eq) const;
    // Inserts `value` unless an equal key exists; returns the existing value or kNone.
    template <typename Eq>
    uint32_t Insert(uint64_t hash, uint32_t value, Eq&& eq);

   private:
    struct Slot {  // 8 bytes: bucket from the low hash bits, tag = high bits
      uint32_t tag = 0;
      uint32_t value = kNone;
    };
    void Grow();
    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
  };
  class Arena {
   public:
    std::string_view Add(std::string_view s);

   private:
    std::vector<std::unique_ptr<char[]>> blocks_;
    char* cur_ = nullptr;
    size_t left_ = 0;
  };

  // Writes the normalised code into buf (size kNormBuf) when it differs.
  static constexpr size_t kNormBuf = 64;
  std::string_view Normalize(SystemId system, std::string_view code, char* buf) const;

  std::vector<SystemInfo> systems_;
  std::vector<std::string_view> system_keys_;  // key string per system_index_ entry
  std::vector<SystemId> system_key_ids_;
  Index system_index_;  // lower-cased name/alias/OID -> position in system_keys_
  std::vector<Concept> concepts_;
  Index concept_index_;
  std::vector<MapEntry> mappings_;
  Index mapping_index_;
  std::vector<std::string_view> value_sets_;
  std::vector<MemberEntry> members_;
  Index member_index_;
  Arena arena_;
  LoadStats stats_;
};

// Builds a snapshot from CSV texts. Files may be added in any order: rows are
// kept until Build(), which applies them in dependency order (systems table,
// code systems, value sets, concept maps). Not thread-safe; use from one thread.
class TerminologyBuilder {
 public:
  TerminologyBuilder();
  ~TerminologyBuilder();
  TerminologyBuilder(const TerminologyBuilder&) = delete;
  TerminologyBuilder& operator=(const TerminologyBuilder&) = delete;

  // Adds one file's content; `file` names it in errors ("file:line").
  // Errors (kConfigError): broken quoting, invalid UTF-8, unknown header,
  // wrong column count.
  Status AddCsv(std::string_view text, std::string_view file);
  Status AddFile(const std::filesystem::path& path);
  // Every *.csv under dir (recursively), in sorted path order.
  Status AddDir(const std::filesystem::path& dir);

  // Applies every row. Errors (kConfigError, where = "file:line"): empty
  // code, unknown target system, duplicate source code mapped to a different
  // target, conflicting alias, conflicting display, bad code width.
  Result<std::shared_ptr<const TerminologySnapshot>> Build();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Loads every *.csv under dir into a new snapshot.
Result<std::shared_ptr<const TerminologySnapshot>> LoadTerminologyDir(
    const std::filesystem::path& dir);

// A cheap fingerprint of the *.csv files under dir (names, sizes, mtimes), so
// a watcher can poll and reload only when county IT changed something.
uint64_t TerminologyDirFingerprint(const std::filesystem::path& dir);

// The holder the hub shares between threads.
// Thread rules: all methods are safe from any thread; Current() is a single
// atomic load; Reload* serialise among themselves.
class Terminology {
 public:
  explicit Terminology(std::shared_ptr<const TerminologySnapshot> initial = nullptr);

  // The current snapshot. Take it once per message/batch and use it throughout.
  std::shared_ptr<const TerminologySnapshot> Current() const {
    return current_.load(std::memory_order_acquire);
  }
  // Replaces the snapshot; readers holding the old one keep it until done.
  void Swap(std::shared_ptr<const TerminologySnapshot> next);

  // Builds from dir and swaps; on error keeps the current snapshot and returns
  // the error. Prunes unmapped entries the new maps now translate.
  Status ReloadDir(const std::filesystem::path& dir);
  // Reloads only if TerminologyDirFingerprint changed; returns whether it did.
  Result<bool> ReloadDirIfChanged(const std::filesystem::path& dir);

  UnmappedRegister& unmapped() { return unmapped_; }
  const UnmappedRegister& unmapped() const { return unmapped_; }
  // Incremented on every swap (shown by the API so users see a reload took).
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::shared_ptr<const TerminologySnapshot>> current_;
  std::atomic<uint64_t> generation_{0};
  std::mutex reload_mu_;
  uint64_t fingerprint_ = 0;  // guarded by reload_mu_
  UnmappedRegister unmapped_;
};

}  // namespace hie
