// The persisted unmapped-code register (issue 4): table terminology_unmapped
// (store/migrations/{sqlite,postgres}/0006_terminology.sql), one row per
// (source system, code, sending facility, target system).
//
// The hub keeps the register in memory (terminology/unmapped.h) and hands
// this store, about once a second, what changed since the last time: for
// each key the occurrences counted since (Add is additive: count = count +
// the new ones; first_seen = the smaller, last_seen = the larger; display and
// sample kept once set), and the keys that a reload made translatable
// (Remove). Additive writes let several hub nodes on one PostgreSQL share the
// table: the row is the sum over the nodes. Load reads the whole table back
// at start.
//
// The SQL is written once (store/unmapped_sql.cc) over the small executor
// of store/empi_sql.h, so SQLite and PostgreSQL run the same statements.
//
// Thread rules: every method is safe from any thread; Apply calls are
// serialised by the store (one writer session).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace hie {

namespace empisql {
class SessionSource;
}

struct UnmappedRow {
  std::string system, code, facility, target_system;  // the key
  std::string display;
  std::string sample_message_id;
  int64_t count = 0;  // Apply: occurrences to ADD; Load: the stored total
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

// What changed in the register since the last Apply.
struct UnmappedChangesRow {
  std::vector<UnmappedRow> removed;  // keys only; applied first
  std::vector<UnmappedRow> added;    // additive upserts
  bool empty() const { return removed.empty() && added.empty(); }
};

class UnmappedStore {
 public:
  virtual ~UnmappedStore() = default;
  // One transaction: deletes `removed`, then upserts `added`. sync=false:
  // the commit need not reach the disk before returning.
  virtual Status Apply(const UnmappedChangesRow& changes, bool sync) = 0;
  // Every stored row, in no particular order.
  virtual Status Load(const std::function<void(const UnmappedRow&)>& row) = 0;
  // True when other hub nodes may write the same table (PostgreSQL).
  virtual bool shared() const = 0;
  virtual void Close() = 0;
};

std::unique_ptr<UnmappedStore> MakeSqlUnmappedStore(std::unique_ptr<empisql::SessionSource> s);

// Opens the register table of the database `uri` names (the main Store's
// URI; the Store's migrations created the table). durable: as the hub's
// durability (an Apply with sync=true then reaches the disk).
Result<std::unique_ptr<UnmappedStore>> OpenUnmappedStore(const std::string& uri, bool durable);

}  // namespace hie
