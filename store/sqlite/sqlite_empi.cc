// The SQLite executor of the EMPI store (store/empi_sql.h): one writer
// connection and one reader connection of their own on the hub's database
// file (WAL: reads never wait for writes). Apply takes the write lock up
// front (BEGIN IMMEDIATE) and waits its turn with the main store's writer
// through the busy timeout; with durable on, each Apply's commit is synced
// (synchronous=FULL).
// Thread rules: each connection is used under its own mutex.
#include <cstdio>
#include <mutex>

#include "store/empi_sql.h"
#include "store/sqlite/sqlite_conn.h"

namespace hie {
namespace {

using empisql::Arg;
using empisql::Row;

class SqliteSession final : public empisql::SqlSession {
 public:
  SqliteSession(sqlite::Conn& c, bool durable) : c_(c), durable_(durable) {}
  Status Begin(bool sync) override {
    // WAL: NORMAL commits without an fsync (durable at the next sync).
    HIE_RETURN_IF_ERROR(
        c_.Exec(durable_ && sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                "empi synchronous"));
    return c_.Exec("BEGIN IMMEDIATE", "empi begin");
  }
  Status Commit() override { return c_.Exec("COMMIT", "empi commit"); }
  void Rollback() override { (void)c_.Exec("ROLLBACK", "empi rollback"); }

  Status Exec(const char* sql, const std::vector<Arg>& args) override {
    HIE_ASSIGN_OR_RETURN(auto st, Prepare(sql, args));
    return st.Run();
  }
  Status Query(const char* sql, const std::vector<Arg>& args,
               const std::function<void(const Row&)>& fn) override {
    HIE_ASSIGN_OR_RETURN(auto st, Prepare(sql, args));
    const int n = st.ColCount();
    Row row;
    row.cols.resize(n);
    for (;;) {
      HIE_ASSIGN_OR_RETURN(bool has, st.Step());
      if (!has) return Status::Ok();
      for (int i = 0; i < n; ++i) st.ColStrInto(i, row.cols[i]);
      fn(row);
    }
  }

 private:
  // Binds copies kept in texts_ (StmtRef binds SQLITE_STATIC).
  Result<sqlite::StmtRef> Prepare(const char* sql, const std::vector<Arg>& args) {
    HIE_ASSIGN_OR_RETURN(auto st, c_.Dynamic(sql, "empi"));
    texts_.assign(args.size(), std::string());
    for (size_t i = 0; i < args.size(); ++i) {
      const int p = static_cast<int>(i) + 1;
      if (const auto* v = std::get_if<int64_t>(&args[i])) {
        st.Int(p, *v);
      } else if (const auto* d = std::get_if<double>(&args[i])) {
        char buf[40];
        std::snprintf(buf, sizeof(buf), "%.17g", *d);
        texts_[i] = buf;  // REAL affinity turns it back into a number
        st.Text(p, texts_[i]);
      } else {
        st.Text(p, std::get<std::string>(args[i]));
      }
    }
    return st;
  }
  sqlite::Conn& c_;
  const bool durable_;
  std::vector<std::string> texts_;
};

class SqliteSessions final : public empisql::SessionSource {
 public:
  SqliteSessions(std::unique_ptr<sqlite::Conn> w, std::unique_ptr<sqlite::Conn> r, bool durable)
      : w_(std::move(w)), r_(std::move(r)), durable_(durable) {}
  Status WithSession(bool write, const std::function<Status(empisql::SqlSession&)>& fn) override {
    std::lock_guard<std::mutex> lock(write ? wmu_ : rmu_);
    auto& c = write ? w_ : r_;
    if (!c) return Status(ErrorCode::kUnavailable, "EMPI 存储已关闭 (EMPI store closed)");
    SqliteSession s(*c, durable_);
    return fn(s);
  }
  void Close() override {
    std::lock_guard<std::mutex> a(wmu_);
    std::lock_guard<std::mutex> b(rmu_);
    w_.reset();
    r_.reset();
  }

 private:
  std::mutex wmu_, rmu_;
  std::unique_ptr<sqlite::Conn> w_, r_;
  const bool durable_;
};

}  // namespace

Result<std::unique_ptr<EmpiStore>> OpenSqliteEmpiStore(const std::string& path, bool durable) {
  sqlite::ConnOptions wo;
  wo.durable_full = durable;
  wo.cache_kib = 4 * 1024;
  wo.auto_checkpoint = false;  // the main store checkpoints in the background
  HIE_ASSIGN_OR_RETURN(auto w, sqlite::Conn::Open(path, wo));
  sqlite::ConnOptions ro = wo;
  ro.read_only = true;
  HIE_ASSIGN_OR_RETURN(auto r, sqlite::Conn::Open(path, ro));
  {
    // The tables come with the main store's migration 0004.
    HIE_ASSIGN_OR_RETURN(auto st, r->Dynamic("SELECT COUNT(*) FROM sqlite_master WHERE "
                                             "type = 'table' AND name = 'empi_sources'",
                                             "empi tables"));
    HIE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.ColInt(0) == 0) {
      return Status(ErrorCode::kStoreError,
                    "数据库中没有 EMPI 表 (no EMPI tables: open the store first to migrate)", path);
    }
  }
  return empisql::MakeSqlEmpiStore(
      std::make_unique<SqliteSessions>(std::move(w), std::move(r), durable));
}

}  // namespace hie
