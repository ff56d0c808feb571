// OpenEmpiStore: the EMPI tables of the database a store URI names.
#include "store/empi_sql.h"
#include "store/empi_store.h"

namespace hie {

Result<std::unique_ptr<EmpiStore>> OpenSqliteEmpiStore(const std::string& path, bool durable);
Result<std::unique_ptr<EmpiStore>> OpenPostgresEmpiStore(const std::string& uri, bool durable);
Result<std::unique_ptr<empisql::SessionSource>> OpenSqliteSessions(const std::string& path,
                                                                   bool durable, int readers,
                                                                   const char* probe);
Result<std::unique_ptr<empisql::SessionSource>> OpenPostgresSessions(const std::string& uri,
                                                                     bool durable, int readers,
                                                                     const char* probe);

Result<std::unique_ptr<EmpiStore>> OpenEmpiStore(const std::string& uri, bool durable) {
  if (uri.rfind("sqlite:", 0) == 0) return OpenSqliteEmpiStore(uri.substr(7), durable);
  if (uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0) {
    return OpenPostgresEmpiStore(uri, durable);
  }
  return Status(ErrorCode::kConfigError, "无法识别的存储地址 (unknown store URI)", "hub.store");
}

namespace empisql {

Result<std::unique_ptr<SessionSource>> OpenSessions(const std::string& uri, bool durable,
                                                    int readers, const char* probe) {
  if (uri.rfind("sqlite:", 0) == 0)
    return OpenSqliteSessions(uri.substr(7), durable, readers, probe);
  if (uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0) {
    return OpenPostgresSessions(uri, durable, readers, probe);
  }
  return Status(ErrorCode::kConfigError, "无法识别的存储地址 (unknown store URI)", "hub.store");
}

}  // namespace empisql
}  // namespace hie
