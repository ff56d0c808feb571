// Retention on the SQLite store (Store::ApplyRetention) "by its own means":
// no partitions, so rows are deleted (metadata) or raw bodies blanked
// (content) in small steps. Each step is one short transaction that the
// store's writer thread runs between two group commits (the queued ACKs
// wait for one step at most), made durable before the next batch.
//
// Order of a run: metadata (messages received before the cutoff, with their
// trace, deliveries and attempts; the dedupe key lives in the message row),
// then content (raw set to empty; a watermark in retention_state remembers
// how far a finished pass got, so the next run starts there), then rejected
// inputs (deleted). A message with a QUEUED delivery is skipped (held back).
// The newest message, the message owning the newest delivery and the newest
// rejected input are never deleted: SQLite would hand their ids out again.
// Deleted pages go to SQLite's free list and are reused by new rows (the
// file does not shrink; VACUUM offline does that).
//
// Thread rules: RetentionStep runs on the writer thread inside a
// transaction the caller opened; CountHeldBack on any connection.
#pragma once

#include <cstdint>
#include <limits>

#include "core/status.h"
#include "store/sqlite/sqlite_conn.h"
#include "store/store.h"

namespace hie::sqlite {

// Where a run is; starts empty, kept by the caller between steps.
struct RetentionPass {
  enum class Phase { kMetadata, kContent, kRejected, kDone };
  Phase phase = Phase::kMetadata;
  bool started = false;  // the phase's cursor is set
  int64_t at = 0;        // cursor: (received_at, id) of the last row seen
  int64_t id = -1;
  int64_t min_held_at = std::numeric_limits<int64_t>::max();  // content phase
};

// One step: at most `limit` rows of the current phase; advances `pass`
// (to the next phase when this one is done) and adds to `rep`.
Status RetentionStep(Conn& c, const RetentionCutoffs& cut, int limit, RetentionPass* pass,
                     RetentionReport* rep);

// QUEUED deliveries whose message was received before `before_ms`.
Result<int64_t> CountHeldBack(Conn& c, int64_t before_ms);

}  // namespace hie::sqlite
