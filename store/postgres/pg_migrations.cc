#include "store/postgres/pg_migrations.h"

#include <string>

namespace hie::pg {
namespace {

constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS hie_schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
// One lock for every hub node of this database, whatever the schema.
constexpr char kLock[] = "SELECT pg_advisory_xact_lock(7243001)";
constexpr char kVersion[] = "SELECT COALESCE(MAX(version), 0) FROM hie_schema_migrations";

int ReadVersion(pqxx::transaction_base& t) {
  pqxx::result r = t.exec("SELECT to_regclass('hie_schema_migrations') IS NOT NULL");
  if (!r[0][0].as<bool>()) return 0;
  return t.exec(kVersion)[0][0].as<int>();
}

}  // namespace

Result<int> SchemaVersion(Conn& conn) {
  try {
    pqxx::read_transaction t(conn.c());
    return ReadVersion(t);
  } catch (const std::exception& e) {
    return StatusFromException(e, "schema version", nullptr);
  }
}

Status ApplyMigrations(Conn& conn, const std::vector<Migration>& migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status(ErrorCode::kInternal, "迁移编号不连续 (migration numbering has a gap)",
                    migrations[i].name);
    }
  }
  const int newest = static_cast<int>(migrations.size());
  const char* step = "hie_schema_migrations";
  try {
    {
      pqxx::work t(conn.c());
      t.exec(kLock);
      t.exec(kCreateTable);
      t.commit();
    }
    for (const Migration& m : migrations) {
      step = m.name;
      pqxx::work t(conn.c());
      t.exec(kLock);
      const int current = ReadVersion(t);
      if (current > newest) {
        return Status(ErrorCode::kStoreError,
                      "数据库结构版本 " + std::to_string(current) + " 比本程序 (" +
                          std::to_string(newest) +
                          ") 新 (database schema is newer than this build)",
                      "hie_schema_migrations");
      }
      if (m.version <= current) continue;  // another node was first
      t.exec(m.sql);
      t.exec_params("INSERT INTO hie_schema_migrations(version, name) VALUES($1, $2)", m.version,
                    std::string(m.name));
      t.commit();
    }
    if (migrations.empty()) {
      pqxx::read_transaction t(conn.c());
      if (ReadVersion(t) > 0) {
        return Status(ErrorCode::kStoreError,
                      "数据库结构比本程序新 (database schema is newer than this build)",
                      "hie_schema_migrations");
      }
    }
  } catch (const std::exception& e) {
    Status st = StatusFromException(e, step, nullptr);
    return Status(st.code(), "数据库迁移失败 (migration failed): " + st.message(), step);
  }
  return Status::Ok();
}

}  // namespace hie::pg
