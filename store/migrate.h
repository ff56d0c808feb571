// Moving a township's embedded store (SQLite) into the county database
// (PostgreSQL): `hie store migrate --from sqlite:PATH --to postgresql://...`.
//
// Everything the Store holds goes: messages with raw bodies and stored
// answers, traces, deliveries with their attempts, rejected inputs, dedupe
// keys, paused destinations; then the EMPI (persons, source records with
// their links, reviews and decisions, history, message map) and the shared
// record (store/migrate_empi.h: EMPI ids kept, a target EMPI of another
// origin refused). Message, delivery and rejected ids are REMAPPED: the county database may hold
// other townships' messages already, so every message, delivery and
// rejected input gets a new id from the target's sequences, and the table
// hie_import_ids (source, kind, old_id) -> new_id in the target records the
// mapping. Dedupe keys are kept: a resend of a migrated control id is still
// answered as a repeat. A key the target already holds for another message
// is left to that message (counted as a conflict; the migrated message is
// copied without it).
//
// Resumable: messages (then rejected inputs) are copied in source id order,
// one transaction per batch that also writes the batch's mapping rows, so an
// interrupted run leaves whole batches only, and a rerun continues after the
// highest old id mapped. Two runs of one source at once are refused (an
// advisory lock). Partitions for the months the source covers are created
// first, so old rows land in monthly partitions (retention can drop them).
//
// The source must not be written meanwhile (stop the township hub): its
// SQLite file is opened read-only, and a redo log with records the database
// lacks (the hub crashed) is refused until a start of the hub replays it.
//
// Thread rules: one call at a time per source; blocking; the progress
// callback runs on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace hie {

struct MigrateOptions {
  std::string sqlite_path;  // the source file
  std::string pg_uri;       // the target (migrated, e.g. by opening the store once)
  // Names the source in hie_import_ids; default: the file's canonical path.
  std::string source_name;
  int batch = 500;    // messages per transaction
  int64_t limit = 0;  // copy at most this many messages in this run; 0 = all
};

struct MigrateProgress {
  std::string table;  // "messages" | "rejected" | an EMPI / shared-record table
  int64_t done = 0;   // copied so far, earlier runs included
  int64_t total = 0;  // in the source
  int64_t this_run = 0;
};

// One row of the count check.
struct TableCount {
  std::string table;
  int64_t source = 0;
  int64_t target = 0;     // rows of this source found in the target
  int64_t conflicts = 0;  // dedupe keys held by another message in the target
  bool at_least = false;  // the target may hold more (a running hub adds trace, attempts)
  bool ok() const { return at_least ? target >= source : target + conflicts == source; }
};

struct MigrateReport {
  bool complete = false;         // everything copied (false: stopped by limit)
  int64_t resumed_messages = 0;  // copied by earlier runs
  int64_t copied_messages = 0;   // by this run
  int64_t copied_rejected = 0;
  std::vector<TableCount> counts;  // when complete
  bool counts_ok() const;
};

Result<MigrateReport> MigrateSqliteToPostgres(
    const MigrateOptions& options, const std::function<void(const MigrateProgress&)>& progress);

}  // namespace hie
