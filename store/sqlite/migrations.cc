#include "store/sqlite/migrations.h"

#include <string>

namespace hie::sqlite {

Result<int> SchemaVersion(Conn& conn) {
  HIE_ASSIGN_OR_RETURN(auto s, conn.Dynamic("PRAGMA user_version", "schema version"));
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? static_cast<int>(s.ColInt(0)) : 0;
}

Status ApplyMigrations(Conn& conn, const std::vector<Migration>& migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status(ErrorCode::kInternal, "迁移编号不连续 (migration numbering has a gap)",
                    migrations[i].name);
    }
  }
  HIE_ASSIGN_OR_RETURN(int current, SchemaVersion(conn));
  const int newest = static_cast<int>(migrations.size());
  if (current > newest) {
    return Status(ErrorCode::kStoreError,
                  "数据库结构版本 " + std::to_string(current) + " 比本程序 (" +
                      std::to_string(newest) + ") 新 (database schema is newer than this build)",
                  "PRAGMA user_version");
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    // IMMEDIATE: a second process opening the same file waits here, then
    // sees the new user_version and skips the step.
    HIE_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE", m.name));
    Result<int> again = SchemaVersion(conn);
    Status st = again.ok() ? Status::Ok() : again.status();
    if (st.ok() && *again < m.version) {
      st = conn.Exec(m.sql, m.name);
      if (st.ok()) {
        std::string set = "PRAGMA user_version=" + std::to_string(m.version);
        st = conn.Exec(set.c_str(), m.name);
      }
    }
    if (st.ok()) st = conn.Exec("COMMIT", m.name);
    if (!st.ok()) {
      (void)conn.Exec("ROLLBACK", m.name);
      return Status(st.code(), "数据库迁移失败 (migration failed): " + st.message(), m.name);
    }
  }
  return Status::Ok();
}

}  // namespace hie::sqlite
