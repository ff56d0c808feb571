// Numbered schema migrations of the SQLite store. The .sql files under
// store/migrations/sqlite/ (NNNN_what.sql) are embedded at build time
// (embed_sql.cmake) and applied in order, each in its own transaction, with
// PRAGMA user_version recording the last one applied.
// Thread rules: ApplyMigrations runs once, at open, on the writer connection.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "store/sqlite/sqlite_conn.h"

namespace hie::sqlite {

struct Migration {
  int version;       // NNNN of the file name
  const char* name;  // file name
  const char* sql;
};

// Generated: every migration in version order.
const std::vector<Migration>& SqliteMigrations();

// Brings the schema to the newest version; a no-op when it is already there.
// A database newer than this build is an error (never downgrade silently).
Status ApplyMigrations(Conn& conn, const std::vector<Migration>& migrations);

// PRAGMA user_version.
Result<int> SchemaVersion(Conn& conn);

}  // namespace hie::sqlite
