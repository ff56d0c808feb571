// A thin RAII layer over one SQLite connection: open with the hub's pragmas,
// a per-connection cache of prepared statements, binding and reading helpers,
// and the mapping of SQLite result codes onto Status.
// Thread rules: a Conn is used by one thread at a time (the writer thread, or
// whoever leased it from the reader pool). Statements are reset when their
// StmtRef goes out of scope, so no statement stays active between calls.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace hie::sqlite {

// A Status for SQLite result `rc` on `db`, naming the operation in `where`.
// SQLITE_CONSTRAINT -> kConflict, SQLITE_BUSY/LOCKED -> kUnavailable,
// everything else -> kStoreError.
Status SqliteError(sqlite3* db, int rc, std::string_view where);

// A prepared statement in use; resets and clears bindings on destruction.
// Text and blob bindings are SQLITE_STATIC: the bound bytes must outlive the
// StmtRef (they are the caller's arguments, so they do).
class StmtRef {
 public:
  StmtRef(sqlite3* db, sqlite3_stmt* stmt, const char* where) : db_(db), s_(stmt), where_(where) {}
  StmtRef(StmtRef&& o) noexcept : db_(o.db_), s_(o.s_), where_(o.where_) { o.s_ = nullptr; }
  StmtRef(const StmtRef&) = delete;
  StmtRef& operator=(const StmtRef&) = delete;
  StmtRef& operator=(StmtRef&&) = delete;
  ~StmtRef() {
    if (s_ != nullptr) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

  // Parameters are 1-based, as in SQLite.
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void Text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data() != nullptr ? v.data() : "", static_cast<int>(v.size()),
                      SQLITE_STATIC);
  }
  void Blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data() != nullptr ? v.data() : "", static_cast<int>(v.size()),
                      SQLITE_STATIC);
  }
  void Null(int i) { sqlite3_bind_null(s_, i); }

  // One step: true when a row is ready, false when done, or an error.
  Result<bool> Step();
  // Steps a statement that returns no rows.
  Status Run();

  // Columns are 0-based. ColStr reads the bytes as stored (no conversion).
  int ColCount() const { return sqlite3_column_count(s_); }
  int64_t ColInt(int c) const { return sqlite3_column_int64(s_, c); }
  bool ColIsNull(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string ColStr(int c) const {
    const void* p = sqlite3_column_blob(s_, c);
    int n = sqlite3_column_bytes(s_, c);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }
  void ColStrInto(int c, std::string& out) const {
    const void* p = sqlite3_column_blob(s_, c);
    int n = sqlite3_column_bytes(s_, c);
    if (p == nullptr) {
      out.clear();
    } else {
      out.assign(static_cast<const char*>(p), n);
    }
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
  const char* where_;
};

struct ConnOptions {
  bool read_only = false;    // PRAGMA query_only; never creates the file
  bool durable_full = true;  // synchronous=FULL, else NORMAL
  int busy_timeout_ms = 10'000;
  int cache_kib = 16 * 1024;  // page cache per connection
  // Checkpoint the WAL inside COMMIT (SQLite's default). The store's writer
  // turns it off and checkpoints from a background thread instead.
  bool auto_checkpoint = true;
};

class Conn {
 public:
  static Result<std::unique_ptr<Conn>> Open(const std::string& path, const ConnOptions& o);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  sqlite3* db() const { return db_; }
  // Whether this connection's WAL writes are gathered (wal_vfs.h).
  bool wal_coalescing() const { return wal_coalescing_; }
  // How long the busy handler retries before SQLITE_BUSY (ConnOptions).
  void set_busy_timeout_ms(int ms) { busy_timeout_ms_ = ms; }
  int busy_timeout_ms() const { return busy_timeout_ms_; }

  // A cached statement for SQL with static storage (a constant); keyed by
  // address, so the lookup costs one hash of a pointer.
  Result<StmtRef> Static(const char* sql, const char* where);
  // A cached statement for SQL built at run time (a few shapes at most).
  Result<StmtRef> Dynamic(const std::string& sql, const char* where);
  // Runs SQL text (may hold several statements) without caching.
  Status Exec(const char* sql, const char* where);

 private:
  explicit Conn(sqlite3* db) : db_(db) {}
  Result<sqlite3_stmt*> PrepareRaw(std::string_view sql, const char* where);

  sqlite3* db_;
  int busy_timeout_ms_ = 0;  // read by the busy handler
  bool wal_coalescing_ = false;
  std::unordered_map<const char*, sqlite3_stmt*> static_;
  std::unordered_map<std::string, sqlite3_stmt*> dynamic_;
};

}  // namespace hie::sqlite
