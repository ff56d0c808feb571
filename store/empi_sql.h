// The EMPI store written once over a minimal SQL executor, so SQLite and
// PostgreSQL share every statement (written with $1, $2, ... which both
// accept: SQLite numbers $N parameters in order of appearance, and every
// statement here uses each parameter once, in order). The backends
// (store/sqlite/sqlite_empi.cc, store/postgres/pg_empi.cc) only supply the
// executor.
// Thread rules: see EmpiStore (store/empi_store.h); an SqlSession is used
// by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"
#include "store/empi_store.h"

namespace hie::empisql {

using Arg = std::variant<int64_t, double, std::string>;

// One result row: every column as text (integers and reals in decimal).
struct Row {
  std::vector<std::string> cols;
  int64_t Int(size_t i) const;
  double Real(size_t i) const;
  const std::string& Str(size_t i) const { return cols[i]; }
};

// A connection-bound session. Begin/Commit/Rollback bracket Apply.
class SqlSession {
 public:
  virtual ~SqlSession() = default;
  // sync=false: this transaction's commit need not reach the disk first.
  virtual Status Begin(bool sync) = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  virtual Status Exec(const char* sql, const std::vector<Arg>& args) = 0;
  virtual Status Query(const char* sql, const std::vector<Arg>& args,
                       const std::function<void(const Row&)>& row) = 0;
};

// Hands out sessions: `write` for Apply (exclusive), otherwise for reads.
class SessionSource {
 public:
  virtual ~SessionSource() = default;
  // Runs fn with a session; read sessions may run concurrently.
  virtual Status WithSession(bool write, const std::function<Status(SqlSession&)>& fn) = 0;
  // See EmpiStore::shared / TryResolverRole.
  virtual bool shared() const { return false; }
  virtual Result<EmpiRole> TryResolverRole(const std::string& node) {
    (void)node;
    return EmpiRole{};
  }
  virtual void Close() = 0;
};

std::unique_ptr<EmpiStore> MakeSqlEmpiStore(std::unique_ptr<SessionSource> sessions);

// Sessions on the database `uri` names (sqlite:PATH or postgresql://...)
// for the SQL stores beside the EMPI's (the shared record,
// store/record_sql.h): a writer whose writes are NOT fenced by the resolver
// role, and `readers` read connections. `probe` is a table the main store's
// migrations must have created (else kStoreError).
Result<std::unique_ptr<SessionSource>> OpenSessions(const std::string& uri, bool durable,
                                                    int readers, const char* probe);

}  // namespace hie::empisql
