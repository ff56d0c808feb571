// Numbered schema migrations of the PostgreSQL store. The .sql files under
// store/migrations/postgres/ (NNNN_what.sql) are embedded at build time
// (store/postgres/embed_sql.cmake) and applied in order, each in its own
// transaction; the table hie_schema_migrations records those applied.
// Several nodes may start at once: a transaction-level advisory lock makes
// them take turns, and each re-reads the version under the lock.
// Thread rules: ApplyMigrations runs once, at open, on one connection.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "store/postgres/pg_conn.h"

namespace hie::pg {

struct Migration {
  int version;       // NNNN of the file name
  const char* name;  // file name
  const char* sql;
};

// Generated: every migration in version order.
const std::vector<Migration>& PgMigrations();

// Brings the schema (the first schema of the connection's search_path) to
// the newest version; a no-op when it is there. A database newer than this
// build is an error (never downgrade silently).
Status ApplyMigrations(Conn& conn, const std::vector<Migration>& migrations);

// The newest applied version; 0 for an empty database.
Result<int> SchemaVersion(Conn& conn);

}  // namespace hie::pg
