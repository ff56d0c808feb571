// The SQLite executor of the EMPI store (store/empi_sql.h): one writer
// connection and one reader connection of their own on the hub's database
// file (WAL: reads never wait for writes). Apply takes the write lock up
// front (BEGIN IMMEDIATE) and waits its turn with the main store's writer
// through the busy timeout; with durable on, each Apply's commit is synced
// (synchronous=FULL).
// The same sessions serve the shared record (store/record_sql.h) with a
// small pool of readers.
// Thread rules: the writer is used under its mutex; a reader by one caller
// at a time (taken from the pool).
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <vector>

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
  SqliteSessions(std::unique_ptr<sqlite::Conn> w, std::vector<std::unique_ptr<sqlite::Conn>> r,
                 bool durable)
      : w_(std::move(w)), r_(std::move(r)), durable_(durable) {
    for (auto& c : r_) idle_.push_back(c.get());
  }
  Status WithSession(bool write, const std::function<Status(empisql::SqlSession&)>& fn) override {
    if (write) {
      std::lock_guard<std::mutex> lock(wmu_);
      if (!w_) return Closed();
      SqliteSession s(*w_, durable_);
      return fn(s);
    }
    // A reader of the pool (shared record: several REST reads at once).
    sqlite::Conn* c = nullptr;
    {
      std::unique_lock<std::mutex> lock(rmu_);
      rcv_.wait(lock, [&] { return closed_ || !idle_.empty(); });
      if (closed_) return Closed();
      c = idle_.back();
      idle_.pop_back();
      ++busy_;
    }
    Status st;
    {
      SqliteSession s(*c, durable_);
      st = fn(s);
    }
    {
      std::lock_guard<std::mutex> lock(rmu_);
      idle_.push_back(c);
      --busy_;
    }
    rcv_.notify_all();
    return st;
  }
  void Close() override {
    std::lock_guard<std::mutex> a(wmu_);
    std::unique_lock<std::mutex> b(rmu_);
    closed_ = true;
    rcv_.notify_all();
    rcv_.wait(b, [&] { return busy_ == 0; });
    w_.reset();
    idle_.clear();
    r_.clear();
  }

 private:
  static Status Closed() { return Status(ErrorCode::kUnavailable, "存储已关闭 (store closed)"); }
  std::mutex wmu_, rmu_;
  std::condition_variable rcv_;
  std::unique_ptr<sqlite::Conn> w_;
  std::vector<std::unique_ptr<sqlite::Conn>> r_;
  std::vector<sqlite::Conn*> idle_;
  int busy_ = 0;
  bool closed_ = false;
  const bool durable_;
};

}  // namespace

// A writer and `readers` read connections on the database file; the
// table `probe` must exist (created by the main store's migrations).
Result<std::unique_ptr<empisql::SessionSource>> OpenSqliteSessions(const std::string& path,
                                                                   bool durable, int readers,
                                                                   const char* probe) {
  sqlite::ConnOptions wo;
  wo.durable_full = durable;
  wo.cache_kib = 4 * 1024;
  wo.auto_checkpoint = false;  // the main store checkpoints in the background
  HIE_ASSIGN_OR_RETURN(auto w, sqlite::Conn::Open(path, wo));
  sqlite::ConnOptions ro = wo;
  ro.read_only = true;
  std::vector<std::unique_ptr<sqlite::Conn>> rs;
  for (int i = 0; i < std::max(1, readers); ++i) {
    HIE_ASSIGN_OR_RETURN(auto r, sqlite::Conn::Open(path, ro));
    rs.push_back(std::move(r));
  }
  {
    const std::string sql =
        std::string("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '") +
        probe + "'";
    HIE_ASSIGN_OR_RETURN(auto st, rs.front()->Dynamic(sql, "tables"));
    HIE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.ColInt(0) == 0) {
      return Status(
          ErrorCode::kStoreError,
          std::string("数据库中没有表 (no table ") + probe + ": open the store first to migrate)",
          path);
    }
  }
  return std::unique_ptr<empisql::SessionSource>(
      std::make_unique<SqliteSessions>(std::move(w), std::move(rs), durable));
}

Result<std::unique_ptr<EmpiStore>> OpenSqliteEmpiStore(const std::string& path, bool durable) {
  // The tables come with the main store's migration 0004.
  HIE_ASSIGN_OR_RETURN(auto s, OpenSqliteSessions(path, durable, 1, "empi_sources"));
  return empisql::MakeSqlEmpiStore(std::move(s));
}

}  // namespace hie
