// The shared record's SQL (store/record_store.h), written once over the
// EMPI's executor (store/empi_sql.h) so SQLite and PostgreSQL share every
// statement ($N parameters in order of appearance, each used once).
//   ApplyRecordIn  the write side: called by the SQL EmpiStore's Apply inside
//                  its transaction (EmpiWrite::record), so a message's rows
//                  commit with its resolution.
//   MakeSqlRecordStore  the read side and the access log, over sessions of
//                  its own (OpenRecordStore, store/record_open.cc).
// Other SQL over these tables (e.g. re-translating stored rows) belongs in
// files of its own beside this one.
// Thread rules: ApplyRecordIn runs on the caller's session (one thread);
// the RecordStore is safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <set>

#include "core/status.h"
#include "store/empi_sql.h"
#include "store/record_store.h"

namespace hie::recordsql {

// Inserts every row of `w` in the open transaction of `s`, superseding by
// item_key (the current row of the same kind and key gets is_current = 0
// and superseded_by = the new id; the new row's version = old + 1, else 1).
// The store assigns ids, version and current; the rows' own values of those
// are ignored. Rows whose message_id is in `skip` (messages resolved before:
// a replayed Apply) are not written again.
Status ApplyRecordIn(empisql::SqlSession& s, const RecordWrite& w, const std::set<int64_t>& skip);

std::unique_ptr<RecordStore> MakeSqlRecordStore(std::unique_ptr<empisql::SessionSource> sessions);

}  // namespace hie::recordsql
