// OpenRecordStore: the shared record's tables of the database a store URI
// names (created by the main store's migration 0005), over sessions of its
// own: a writer for the access log (synced: an access event is durable
// before the data it records is answered) and a few readers.
#include "store/record_sql.h"
#include "store/record_store.h"

namespace hie {

Result<std::unique_ptr<RecordStore>> OpenRecordStore(const std::string& uri) {
  constexpr int kReaders = 4;
  HIE_ASSIGN_OR_RETURN(
      auto s, empisql::OpenSessions(uri, /*durable=*/true, kReaders, "record_lab_results"));
  return recordsql::MakeSqlRecordStore(std::move(s));
}

}  // namespace hie
