// Retention on the PostgreSQL store (Store::ApplyRetention): whole monthly
// partitions dropped, one per short transaction, with a short lock_timeout
// and retries so that live traffic waits at most that long for the parent
// table's lock; then the dedupe keys of the dropped messages deleted in
// small batches. The SQL is in store/migrations/postgres/0003_retention.sql.
// Thread rules: any thread; one retention run at a time per store (several
// nodes running it at once is safe: a partition is dropped by one of them).
#pragma once

#include <atomic>

#include "core/status.h"
#include "store/postgres/pg_conn.h"
#include "store/store.h"

namespace hie::pg {

Result<RetentionReport> ApplyRetention(Pool& pool, const RetentionCutoffs& cutoffs,
                                       const std::atomic<bool>* stop);

}  // namespace hie::pg
