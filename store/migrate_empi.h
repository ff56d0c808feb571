// Part of `hie store migrate` (store/migrate.h): the EMPI tables (migration
// 0004: persons, source records, reviews, history, message map) and the
// shared record (0005: lab results, encounters, diagnoses, documents, access
// events), copied after the messages so that message ids can be remapped
// through hie_import_ids.
//
// EMPI ids (persons, source records, reviews, history) are KEPT: they are
// written into JSON (golden records name "E<id>", history details list moved
// source ids for unmerge) and into the shared record (rows hang on source
// ids), so renumbering them would mean rewriting documents. Hence a target
// whose EMPI already holds rows of another origin is refused for this part
// (merging two EMPIs is not supported); the messages are copied regardless.
// Shared-record rows get new ids (superseded_by remapped); message ids in
// rows and in item keys ("facility|msg|<id>", "facility|msg<id>|code") are
// remapped. Resumable the same way as messages: each batch writes its rows
// and their hie_import_ids rows in one transaction.
//
// Thread rules: those of MigrateSqliteToPostgres (one call at a time).
#pragma once

#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/migrate.h"
#include "store/sqlite/sqlite_conn.h"

namespace hie::migrate {

// Copies what is left to copy of every EMPI and shared-record table (tables
// the source lacks, an older township schema, are skipped).
Status CopyEmpiAndRecord(sqlite::Conn& src, pqxx::connection& pg, const std::string& source,
                         int batch, const std::function<void(const MigrateProgress&)>& progress);

// The count check of those tables (appended to `out`).
Status CountEmpiAndRecord(sqlite::Conn& src, pqxx::connection& pg, const std::string& source,
                          std::vector<TableCount>* out);

}  // namespace hie::migrate
