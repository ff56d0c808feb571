// The PostgreSQL executor of the EMPI store (store/empi_sql.h): a writer
// connection of its own (Apply is one transaction on it) and a small pool
// for reads. Parameters go as text; PostgreSQL infers their types from the
// columns they meet. A broken connection is reopened on the next call (an
// Apply cut off before COMMIT reports kUnavailable and the caller retries;
// ids are the caller's, so a retry never doubles a row).
// Several nodes: the resolver role is a session-level advisory lock taken
// on the writer connection itself, and every write transaction first checks
// that it runs on the backend that took it (a reconnected writer has lost
// the role and is refused), so only one node at a time ever writes EMPI rows.
// Thread rules: the writer connection is used under its mutex; the read
// pool hands each call its own connection.
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>

#include "store/empi_sql.h"
#include "store/postgres/pg_conn.h"

namespace hie {
namespace {

using empisql::Arg;
using empisql::Row;

std::vector<std::string> AsText(const std::vector<Arg>& args) {
  std::vector<std::string> out;
  out.reserve(args.size());
  for (const auto& a : args) {
    if (const auto* v = std::get_if<int64_t>(&a)) {
      out.push_back(std::to_string(*v));
    } else if (const auto* d = std::get_if<double>(&a)) {
      char buf[40];
      std::snprintf(buf, sizeof(buf), "%.17g", *d);
      out.emplace_back(buf);
    } else {
      out.push_back(std::get<std::string>(a));
    }
  }
  return out;
}

void EachRow(const pqxx::result& r, const std::function<void(const Row&)>& fn) {
  Row row;
  row.cols.resize(r.columns());
  for (const auto& tuple : r) {
    for (size_t i = 0; i < row.cols.size(); ++i) {
      if (tuple[static_cast<int>(i)].is_null()) {
        row.cols[i].clear();
      } else {
        row.cols[i] = tuple[static_cast<int>(i)].c_str();
      }
    }
    fn(row);
  }
}

// A write session: Begin opens a pqxx::work on the writer connection.
class PgWriteSession final : public empisql::SqlSession {
 public:
  // backend 0: not fenced (the shared record's writes, on every node).
  PgWriteSession(pqxx::connection& c, int backend) : c_(c), backend_(backend) {}
  Status Begin(bool sync) override {
    bool fenced = false;
    Status st = Guard("empi begin", [&] {
      w_.emplace(c_);
      // The lock holder's backend, or the role is gone (reconnected).
      fenced = backend_ != 0 && w_->exec("SELECT pg_backend_pid()")[0][0].as<int>() != backend_;
      if (!sync && !fenced) w_->exec("SET LOCAL synchronous_commit = off");
    });
    if (st.ok() && fenced) {
      Rollback();
      return Status(
          ErrorCode::kUnavailable,
          "本节点已不是患者主索引节点 (this node no longer holds the EMPI resolver role)");
    }
    return st;
  }
  Status Commit() override {
    Status st = Guard("empi commit", [&] { w_->commit(); });
    w_.reset();
    return st;
  }
  void Rollback() override {
    try {
      if (w_) w_->abort();
    } catch (const std::exception&) {
    }
    w_.reset();
  }
  Status Exec(const char* sql, const std::vector<Arg>& args) override {
    auto text = AsText(args);
    return Guard("empi write",
                 [&] { w_->exec_params(sql, pqxx::prepare::make_dynamic_params(text)); });
  }
  Status Query(const char* sql, const std::vector<Arg>& args,
               const std::function<void(const Row&)>& fn) override {
    auto text = AsText(args);
    return Guard("empi read", [&] {
      EachRow(w_->exec_params(sql, pqxx::prepare::make_dynamic_params(text)), fn);
    });
  }

 private:
  template <typename F>
  Status Guard(const char* where, F&& f) {
    try {
      f();
      return Status::Ok();
    } catch (const std::exception& e) {
      return pg::StatusFromException(e, where, nullptr);
    }
  }
  pqxx::connection& c_;
  const int backend_;
  std::optional<pqxx::work> w_;
};

// A read session: each query a statement of its own (autocommit).
class PgReadSession final : public empisql::SqlSession {
 public:
  explicit PgReadSession(pqxx::connection& c) : c_(c) {}
  Status Begin(bool) override { return Status(ErrorCode::kInternal, "read session"); }
  Status Commit() override { return Status(ErrorCode::kInternal, "read session"); }
  void Rollback() override {}
  Status Exec(const char*, const std::vector<Arg>&) override {
    return Status(ErrorCode::kInternal, "read session");
  }
  Status Query(const char* sql, const std::vector<Arg>& args,
               const std::function<void(const Row&)>& fn) override {
    auto text = AsText(args);
    // Exceptions go to WithConn, which retries a broken connection. One
    // statement is its own snapshot: autocommit (no BEGIN/COMMIT round
    // trips; they were most of a shared-record read's time).
    pqxx::nontransaction t(c_);
    EachRow(t.exec_params(sql, pqxx::prepare::make_dynamic_params(text)), fn);
    return Status::Ok();
  }

 private:
  pqxx::connection& c_;
};

class PgSessions final : public empisql::SessionSource {
 public:
  // fenced: writes need the resolver role (the EMPI); else any node
  // writes (the shared record's access events).
  PgSessions(std::string uri, bool durable, std::unique_ptr<pg::Conn> writer, bool fenced = true,
             int readers = 2)
      : uri_(std::move(uri)),
        durable_(durable),
        fenced_(fenced),
        writer_(std::move(writer)),
        reads_(uri_, durable, readers) {}

  Status WithSession(bool write, const std::function<Status(empisql::SqlSession&)>& fn) override {
    if (!write) {
      return pg::WithConn(reads_, "empi read", [&](pg::Conn& c) -> Status {
        PgReadSession s(c.c());
        return fn(s);
      });
    }
    std::lock_guard<std::mutex> lock(wmu_);
    if (closed_) return Status(ErrorCode::kUnavailable, "EMPI 存储已关闭 (EMPI store closed)");
    if (!writer_ || !writer_->is_open()) {
      backend_ = 0;  // the lock went with the old connection
      HIE_ASSIGN_OR_RETURN(writer_, pg::Conn::Open(uri_, durable_));
    }
    if (fenced_ && backend_ == 0) {
      return Status(ErrorCode::kUnavailable,
                    "本节点不是患者主索引节点 (this node is not the EMPI resolver)");
    }
    PgWriteSession s(writer_->c(), fenced_ ? backend_ : 0);
    return fn(s);
  }

  bool shared() const override { return true; }

  Result<EmpiRole> TryResolverRole(const std::string& node) override {
    std::lock_guard<std::mutex> lock(wmu_);
    if (closed_) return Status(ErrorCode::kUnavailable, "EMPI 存储已关闭 (EMPI store closed)");
    EmpiRole role;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!writer_ || !writer_->is_open()) {
        backend_ = 0;
        HIE_ASSIGN_OR_RETURN(writer_, pg::Conn::Open(uri_, durable_));
      }
      try {
        pqxx::nontransaction t(writer_->c());
        const int pid = t.exec("SELECT pg_backend_pid()")[0][0].as<int>();
        if (backend_ != 0 && pid == backend_) return role;  // still held
        backend_ = 0;
        if (t.exec(std::string("SELECT pg_try_advisory_lock(") + kKey + ")")[0][0].as<bool>()) {
          t.exec_params("SELECT set_config('application_name', $1, false)", node);
          backend_ = pid;
          return role;
        }
        role.resolver = false;
        auto r = t.exec(std::string("SELECT a.application_name FROM pg_locks l JOIN "
                                    "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = "
                                    "'advisory' AND l.granted AND l.objsubid = 1 AND l.objid = "
                                    "((") +
                        kKey + ")::bigint & 4294967295)::oid LIMIT 1");
        if (!r.empty()) role.holder = r[0][0].c_str();
        return role;
      } catch (const std::exception& e) {
        backend_ = 0;
        writer_.reset();
        if (attempt == 1) return pg::StatusFromException(e, "empi resolver role", nullptr);
      }
    }
    return role;
  }
  void Close() override {
    std::lock_guard<std::mutex> lock(wmu_);
    closed_ = true;
    writer_.reset();
    reads_.CloseIdle();
  }

 private:
  const std::string uri_;
  const bool durable_;
  const bool fenced_;
  std::mutex wmu_;
  bool closed_ = false;
  std::unique_ptr<pg::Conn> writer_;
  int backend_ = 0;  // backend pid of writer_ holding the resolver lock, 0 none
  pg::Pool reads_;
  // The lock key: one resolver per schema (tests share a server by schema).
  static constexpr const char* kKey = "hashtext(current_schema() || '/hie_empi_resolver')";
};

}  // namespace

Result<std::unique_ptr<EmpiStore>> OpenPostgresEmpiStore(const std::string& uri, bool durable) {
  HIE_ASSIGN_OR_RETURN(auto writer, pg::Conn::Open(uri, durable));
  try {
    pqxx::read_transaction t(writer->c());
    if (!t.exec("SELECT to_regclass('empi_sources') IS NOT NULL")[0][0].as<bool>()) {
      return Status(ErrorCode::kStoreError,
                    "数据库中没有 EMPI 表 (no EMPI tables: open the store first to migrate)",
                    "empi_sources");
    }
  } catch (const std::exception& e) {
    return pg::StatusFromException(e, "empi open", nullptr);
  }
  return empisql::MakeSqlEmpiStore(std::make_unique<PgSessions>(uri, durable, std::move(writer)));
}

// Unfenced sessions for the other SQL stores (the shared record): the
// table `probe` must exist.
Result<std::unique_ptr<empisql::SessionSource>> OpenPostgresSessions(const std::string& uri,
                                                                     bool durable, int readers,
                                                                     const char* probe) {
  HIE_ASSIGN_OR_RETURN(auto writer, pg::Conn::Open(uri, durable));
  try {
    pqxx::read_transaction t(writer->c());
    if (!t.exec_params("SELECT to_regclass($1) IS NOT NULL", std::string(probe))[0][0].as<bool>()) {
      return Status(
          ErrorCode::kStoreError,
          std::string("数据库中没有表 (no table ") + probe + ": open the store first to migrate)",
          probe);
    }
  } catch (const std::exception& e) {
    return pg::StatusFromException(e, "open", nullptr);
  }
  return std::unique_ptr<empisql::SessionSource>(std::make_unique<PgSessions>(
      uri, durable, std::move(writer), /*fenced=*/false, std::max(1, readers)));
}

}  // namespace hie
