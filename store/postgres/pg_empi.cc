// The PostgreSQL executor of the EMPI store (store/empi_sql.h): a writer
// connection of its own (Apply is one transaction on it) and a small pool
// for reads. Parameters go as text; PostgreSQL infers their types from the
// columns they meet. A broken connection is reopened on the next call (an
// Apply cut off before COMMIT reports kUnavailable and the caller retries;
// ids are the caller's, so a retry never doubles a row).
// Thread rules: the writer connection is used under its mutex; the read
// pool hands each call its own connection.
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
  explicit PgWriteSession(pqxx::connection& c) : c_(c) {}
  Status Begin(bool sync) override {
    return Guard("empi begin", [&] {
      w_.emplace(c_);
      if (!sync) w_->exec("SET LOCAL synchronous_commit = off");
    });
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
  std::optional<pqxx::work> w_;
};

// A read session: each query in its own read-only transaction.
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
    // Exceptions go to WithConn, which retries a broken connection.
    pqxx::read_transaction t(c_);
    EachRow(t.exec_params(sql, pqxx::prepare::make_dynamic_params(text)), fn);
    return Status::Ok();
  }

 private:
  pqxx::connection& c_;
};

class PgSessions final : public empisql::SessionSource {
 public:
  PgSessions(std::string uri, bool durable, std::unique_ptr<pg::Conn> writer)
      : uri_(std::move(uri)),
        durable_(durable),
        writer_(std::move(writer)),
        reads_(uri_, durable, 2) {}

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
      HIE_ASSIGN_OR_RETURN(writer_, pg::Conn::Open(uri_, durable_));
    }
    PgWriteSession s(writer_->c());
    return fn(s);
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
  std::mutex wmu_;
  bool closed_ = false;
  std::unique_ptr<pg::Conn> writer_;
  pg::Pool reads_;
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

}  // namespace hie
