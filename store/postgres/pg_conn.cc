#include "store/postgres/pg_conn.h"

#include "store/postgres/pg_ops.h"

namespace hie::pg {

Status StatusFromException(const std::exception& e, std::string_view where, Failure* kind) {
  Failure k = Failure::kStatement;
  ErrorCode code = ErrorCode::kStoreError;
  std::string text;
  // Most specific first: too_many_connections is a broken_connection.
  if (dynamic_cast<const pqxx::too_many_connections*>(&e) != nullptr) {
    k = Failure::kBroken;
    code = ErrorCode::kUnavailable;
    text = "数据库连接数已满 (too many connections)";
  } else if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    k = Failure::kBroken;
    code = ErrorCode::kUnavailable;
    text = "数据库连接中断 (database connection lost)";
  } else if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    k = Failure::kInDoubt;
    code = ErrorCode::kUnavailable;
    text = "提交结果未知 (commit outcome unknown)";
  } else if (dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
    k = Failure::kRetry;
    code = ErrorCode::kUnavailable;
    text = "数据库死锁 (deadlock detected)";
  } else if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    k = Failure::kRetry;
    code = ErrorCode::kUnavailable;
    text = "数据库序列化冲突 (serialization failure)";
  } else if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) {
    code = ErrorCode::kConflict;
    text = "唯一约束冲突 (unique violation)";
  } else if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql != nullptr) {
    const std::string& state = sql->sqlstate();
    // Class 08: connection exception; 57P01..03: the server shuts down.
    if (state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0) {
      k = Failure::kBroken;
      code = ErrorCode::kUnavailable;
      text = "数据库连接中断 (database connection lost)";
    } else if (state == "40001" || state == "40P01") {
      k = Failure::kRetry;
      code = ErrorCode::kUnavailable;
      text = "数据库序列化冲突 (serialization failure)";
    } else {
      text = "数据库错误 (database error) " + state;
    }
  } else {
    text = "数据库错误 (database error)";
  }
  if (kind != nullptr) *kind = k;
  std::string detail = e.what();
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  return Status(code, text + ": " + detail, std::string(where));
}

std::string WithNetworkDefaults(const std::string& uri) {
  // A server that vanishes (network cut, host down) must surface as an
  // error in seconds, not after the kernel's TCP timeouts (minutes to hours).
  static const char* const kDefaults[][2] = {
      {"connect_timeout", "10"}, {"keepalives_idle", "30"},     {"keepalives_interval", "10"},
      {"keepalives_count", "3"}, {"tcp_user_timeout", "60000"},
  };
  const bool is_uri = uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0;
  std::string out = uri;
  for (const auto& kv : kDefaults) {
    if (uri.find(kv[0]) != std::string::npos) continue;  // the operator's choice wins
    if (is_uri) {
      out += out.find('?') == std::string::npos ? '?' : '&';
      out += std::string(kv[0]) + "=" + kv[1];
    } else {
      out += std::string(out.empty() ? "" : " ") + kv[0] + "=" + kv[1];
    }
  }
  return out;
}

Result<std::unique_ptr<Conn>> Conn::Open(const std::string& uri, bool durable) {
  try {
    auto c = std::make_unique<pqxx::connection>(WithNetworkDefaults(uri));
    {
      pqxx::nontransaction n(*c);
      n.exec(durable ? "SET synchronous_commit = on" : "SET synchronous_commit = off");
      // A statement stuck behind a lock for this long is a bug, not a wait.
      n.exec("SET lock_timeout = '60s'");
    }
    for (const Statement& s : Statements()) c->prepare(s.name, s.sql);
    return std::unique_ptr<Conn>(new Conn(std::move(c)));
  } catch (const std::exception& e) {
    Status st = StatusFromException(e, "postgresql connect", nullptr);
    return Status(st.code() == ErrorCode::kStoreError ? ErrorCode::kUnavailable : st.code(),
                  "无法连接 PostgreSQL (cannot connect to PostgreSQL): " + st.message(), "store");
  }
}

Pool::~Pool() { CloseIdle(); }

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_open_; });
  if (!idle_.empty()) {
    std::unique_ptr<Conn> c = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(c));
  }
  ++open_;
  lock.unlock();
  auto c = Conn::Open(uri_, durable_);
  if (!c.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return c.status();
  }
  return Lease(this, std::move(c).value());
}

void Pool::Release(std::unique_ptr<Conn> c) {
  std::lock_guard lock(mu_);
  if (c->is_open()) {
    idle_.push_back(std::move(c));
  } else {
    --open_;  // broken: dropped, a fresh one is opened on demand
  }
  cv_.notify_one();
}

void Pool::CloseIdle() {
  std::vector<std::unique_ptr<Conn>> idle;
  {
    std::lock_guard lock(mu_);
    idle.swap(idle_);
    open_ -= static_cast<int>(idle.size());
    cv_.notify_all();
  }
}

}  // namespace hie::pg
