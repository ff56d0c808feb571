#include "store/sqlite/sqlite_conn.h"

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/wal_vfs.h"

namespace hie::sqlite {
namespace {

// Process-wide SQLite settings, before the library initializes: no memory
// statistics (they take a global mutex on every malloc; the hub does not
// read them). If SQLite was already initialized by someone else this fails
// harmlessly and the defaults stay.
void ConfigureOnce() {
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

// Waits before try n+1 of a locked database: 50 us for the first 20 tries
// (1 ms), 250 us for the next 40 (10 ms), then 2 ms; gives up (SQLITE_BUSY)
// after about *timeout_ms in all.
int BusyWait(void* timeout_ms, int n) {
  const int64_t limit_us = static_cast<int64_t>(*static_cast<int*>(timeout_ms)) * 1000;
  const int64_t waited_us = n < 20   ? n * 50LL
                            : n < 60 ? 1000 + (n - 20) * 250LL
                                     : 11000 + (n - 60) * 2000LL;
  if (waited_us >= limit_us) return 0;
  const int64_t sleep_us = n < 20 ? 50 : n < 60 ? 250 : 2000;
  std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
  return 1;
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, std::string_view where) {
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int primary = rc & 0xff;
  if (primary == SQLITE_CONSTRAINT) {
    return Status(ErrorCode::kConflict, "记录已存在或违反约束 (constraint violation): " + detail,
                  std::string(where));
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Status(ErrorCode::kUnavailable, "数据库忙 (database busy): " + detail,
                  std::string(where));
  }
  return Status(ErrorCode::kStoreError, "数据库错误 (database error): " + detail,
                std::string(where));
}

Result<bool> StmtRef::Step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, where_);
}

Status StmtRef::Run() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  return SqliteError(db_, rc, where_);
}

Result<std::unique_ptr<Conn>> Conn::Open(const std::string& path, const ConnOptions& o) {
  // Multi-thread mode: each connection is used by one thread at a time.
  ConfigureOnce();
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (!o.read_only) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  // The VFS that gathers each commit's WAL frames into one write (wal_vfs.h).
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, CoalescingVfsName());
  if (rc != SQLITE_OK) {
    Status st(ErrorCode::kStoreError,
              std::string("无法打开数据库 (cannot open database): ") +
                  (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)),
              path);
    sqlite3_close_v2(raw);
    return st;
  }
  std::unique_ptr<Conn> c(new Conn(raw));
  sqlite3_extended_result_codes(raw, 1);
  // More lookaside slots: fewer mallocs for the small objects of each step.
  (void)sqlite3_db_config(raw, SQLITE_DBCONFIG_LOOKASIDE, nullptr, 512, 512);
  // SQLite's own busy timeout sleeps 1, 2, 5, 10 ... 100 ms between tries:
  // a writer that meets another connection's short transaction (the EMPI's)
  // would lose milliseconds each time. Retry fast first, then back off.
  c->busy_timeout_ms_ = o.busy_timeout_ms;
  sqlite3_busy_handler(raw, &BusyWait, &c->busy_timeout_ms_);
  std::string pragmas =
      "PRAGMA cache_size=-" + std::to_string(o.cache_kib) + ";PRAGMA temp_store=MEMORY;";
  if (o.read_only) {
    pragmas += "PRAGMA query_only=1;";
  } else {
    // WAL: readers never block the writer nor each other. After a WAL reset
    // the file is cut back to 256 MiB. Not to 64 MiB: under load the WAL
    // starts over every ~64 MB (checkpointer.h) and reaches about 150, and
    // cutting it back each time (an ftruncate of up to 24 ms on the
    // writer, then the blocks allocated again) cost p99: 16.1/16.3/15.8/
    // 24.2 ms against 14.5/13.7/13.4/20.0 with no cut, 120,000 messages
    // at 64 connections.
    pragmas += "PRAGMA journal_mode=WAL;PRAGMA journal_size_limit=268435456;";
    pragmas +=
        o.auto_checkpoint ? "PRAGMA wal_autocheckpoint=4000;" : "PRAGMA wal_autocheckpoint=0;";
    pragmas += o.durable_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
  }
  HIE_RETURN_IF_ERROR(c->Exec(pragmas.c_str(), "open"));
  if (!o.read_only) {
    // journal_mode answers with the mode in force; make sure it is WAL.
    HIE_ASSIGN_OR_RETURN(auto s, c->Dynamic("PRAGMA journal_mode", "open"));
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row || s.ColStr(0) != "wal") {
      return Status(ErrorCode::kStoreError, "无法启用 WAL 模式 (cannot enable WAL journal)", path);
    }
    // A read opens the WAL file; from then on its writes are gathered.
    HIE_ASSIGN_OR_RETURN(auto v, c->Dynamic("PRAGMA schema_version", "open"));
    HIE_RETURN_IF_ERROR(v.Step().status());
    c->wal_coalescing_ = EnableWalCoalescing(raw);
  }
  return c;
}

Conn::~Conn() {
  for (auto& [k, s] : static_) sqlite3_finalize(s);
  for (auto& [k, s] : dynamic_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

Result<sqlite3_stmt*> Conn::PrepareRaw(std::string_view sql, const char* where) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, where);
  return s;
}

Result<StmtRef> Conn::Static(const char* sql, const char* where) {
  auto it = static_.find(sql);
  if (it == static_.end()) {
    HIE_ASSIGN_OR_RETURN(sqlite3_stmt * s, PrepareRaw(sql, where));
    it = static_.emplace(sql, s).first;
  }
  return StmtRef(db_, it->second, where);
}

Result<StmtRef> Conn::Dynamic(const std::string& sql, const char* where) {
  auto it = dynamic_.find(sql);
  if (it == dynamic_.end()) {
    HIE_ASSIGN_OR_RETURN(sqlite3_stmt * s, PrepareRaw(sql, where));
    it = dynamic_.emplace(sql, s).first;
  }
  return StmtRef(db_, it->second, where);
}

Status Conn::Exec(const char* sql, const char* where) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db_, rc, where);
    sqlite3_free(err);
    return st;
  }
  return Status::Ok();
}

}  // namespace hie::sqlite
