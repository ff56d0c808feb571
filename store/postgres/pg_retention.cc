#include "store/postgres/pg_retention.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "store/postgres/pg_ops.h"

namespace hie::pg {
namespace {

// A DROP needs the parent's ACCESS EXCLUSIVE lock. Asked for with NOWAIT
// (refused at once while any transaction uses the table) it never sits in
// the lock queue, where every new reader and writer of the table would
// queue behind it: a drop tries that every few ms for up to kNowaitFor, and
// only then waits, at most 50 ms a time (live traffic waits that long).
constexpr auto kNowaitFor = std::chrono::seconds(5);
constexpr auto kNowaitEvery = std::chrono::milliseconds(3);
constexpr char kLockTimeout[] = "SET LOCAL lock_timeout = '50ms'";
constexpr int kDropAttempts = 20;
constexpr int kKeyBatch = 5000;
constexpr int kRowBatch = 2000;  // rows of a DEFAULT partition per transaction

bool Stopped(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(); }

struct Candidate {
  std::string table, partition;
  int64_t upper_ms = 0;
};

bool IsLockTimeout(const std::exception& e) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  return sql != nullptr && sql->sqlstate() == "55P03";
}

// The oldest RECEIVED message (waiting for the pipeline: a reprocess puts a
// message back there and the pipeline reads its body then), or 0. Its body
// and metadata stay, and with partitions everything from its month on.
int64_t ReceivedHorizon(pqxx::transaction_base& t) {
  pqxx::result r = t.exec("SELECT MIN(received_at) FROM messages WHERE status = 'RECEIVED'");
  return r[0][0].is_null() ? 0 : r[0][0].as<int64_t>();
}

// One partition: lock the parent (NOWAIT first), check the RECEIVED
// horizon under the lock, then hie_drop_partition (which checks the QUEUED
// one). The lock orders it with a reprocess: that reads the body of its
// message in its transaction (AccessShare on message_bodies, held until its
// commit), so a reprocess committed before the lock is seen here, and one
// after it finds the body gone (raw empty: the pipeline refuses it).
// Returns dropped / held / not now.
enum class DropResult { kDropped, kKept, kBusy };

DropResult DropOne(Pool& pool, const Candidate& cand, Status* last) {
  const auto nowait_until = std::chrono::steady_clock::now() + kNowaitFor;
  for (int attempt = 0; attempt < kDropAttempts;) {
    const bool nowait = std::chrono::steady_clock::now() < nowait_until;
    if (!nowait) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      ++attempt;
    }
    auto lease = pool.Acquire();
    if (!lease.ok()) {
      *last = lease.status();
      if (nowait) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    try {
      pqxx::work t(lease->conn().c());
      t.exec(kLockTimeout);
      t.exec("LOCK TABLE " + t.quote_name(cand.table) + " IN ACCESS EXCLUSIVE MODE" +
             (nowait ? " NOWAIT" : ""));
      if (cand.table != "rejected") {
        const int64_t received = ReceivedHorizon(t);
        if (received != 0 && received < cand.upper_ms) return DropResult::kKept;
      }
      pqxx::result r =
          t.exec_params("SELECT hie_drop_partition($1, $2)", cand.table, cand.partition);
      t.commit();
      return r[0][0].as<bool>() ? DropResult::kDropped : DropResult::kKept;
    } catch (const std::exception& e) {
      Failure kind = Failure::kStatement;
      *last = StatusFromException(e, "ApplyRetention " + cand.partition, &kind);
      if (!IsLockTimeout(e) && kind != Failure::kRetry && kind != Failure::kBroken) {
        return DropResult::kBusy;
      }
    }
    if (nowait) std::this_thread::sleep_for(kNowaitEvery);
  }
  return DropResult::kBusy;
}

// Rows of one DEFAULT partition older than `before` (rows land there only
// when no monthly partition covered their time), deleted in small
// transactions (row locks only). Messages and bodies are locked first and
// checked in a second statement (READ COMMITTED: its snapshot follows the
// locks), as a drop checks under its table lock: a message that is RECEIVED
// or has a QUEUED delivery keeps its row and body.
int64_t DeleteDefaultRows(Pool& pool, const std::string& table, int64_t before,
                          const std::atomic<bool>* stop, Status* error) {
  const std::string part = table + "_default";
  int64_t removed = 0;
  for (;;) {
    if (Stopped(stop)) return removed;
    int64_t picked = 0, deleted = 0;
    Status st = WithConn(pool, "ApplyRetention default", [&](Conn& c) -> Status {
      pqxx::work t(c.c());
      picked = deleted = 0;
      if (table == "messages" || table == "message_bodies") {
        pqxx::result ids = table == "messages"
                               ? t.exec_params(
                                     "SELECT id FROM messages_default WHERE received_at < $1 "
                                     "ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                                     before, kRowBatch)
                               : t.exec_params(
                                     "SELECT m.id FROM messages m JOIN message_bodies_default b ON "
                                     "b.message_id = m.id AND b.received_at = m.received_at "
                                     "WHERE b.received_at < $1 ORDER BY b.received_at LIMIT $2 "
                                     "FOR UPDATE OF m SKIP LOCKED",
                                     before, kRowBatch);
        picked = static_cast<int64_t>(ids.size());
        std::set<int64_t> set;
        for (const auto& row : ids) set.insert(row[0].as<int64_t>());
        const std::string held =
            "m.status <> 'RECEIVED' AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE "
            "d.message_id = m.id AND d.state = 'QUEUED')";
        if (!set.empty()) {
          deleted = (table == "messages"
                         ? t.exec_params("DELETE FROM messages_default m WHERE m.id = "
                                         "ANY($1::bigint[]) AND " +
                                             held,
                                         IdArray(set))
                         : t.exec_params("DELETE FROM message_bodies_default b USING messages m "
                                         "WHERE m.id = b.message_id AND m.received_at = "
                                         "b.received_at AND m.id = ANY($1::bigint[]) AND " +
                                             held,
                                         IdArray(set)))
                        .affected_rows();
        }
        if (table == "message_bodies" && picked < kRowBatch) {
          // Bodies whose message is gone already (no reprocess can want them).
          const int64_t orphans =
              t.exec_params(
                   "DELETE FROM message_bodies_default WHERE ctid = ANY(ARRAY(SELECT b.ctid FROM "
                   "message_bodies_default b WHERE b.received_at < $1 AND NOT EXISTS (SELECT 1 "
                   "FROM messages m WHERE m.id = b.message_id AND m.received_at = b.received_at) "
                   "LIMIT $2))",
                   before, kRowBatch)
                  .affected_rows();
          deleted += orphans;
          picked += orphans;
        }
      } else {
        const std::string col = table == "message_trace" || table == "delivery_attempts"
                                    ? "at"
                                    : (table == "deliveries" ? "created_at" : "received_at");
        const std::string extra = table == "deliveries" ? " AND state <> 'QUEUED'" : "";
        deleted =
            t.exec_params("DELETE FROM " + t.quote_name(part) +
                              " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + t.quote_name(part) +
                              " WHERE " + col + " < $1" + extra + " LIMIT $2))",
                          before, kRowBatch)
                .affected_rows();
        picked = deleted;
      }
      t.commit();
      return Status::Ok();
    });
    if (!st.ok()) {
      *error = st;
      return removed;
    }
    removed += deleted;
    if (picked < kRowBatch || deleted == 0) return removed;
  }
}

}  // namespace

Result<RetentionReport> ApplyRetention(Pool& pool, const RetentionCutoffs& cut,
                                       const std::atomic<bool>* stop) {
  RetentionReport rep;
  const int64_t content = cut.content_before_ms > 0 ? cut.content_before_ms : 0;
  const int64_t meta = cut.metadata_before_ms > 0 ? cut.metadata_before_ms : 0;
  if (content == 0 && meta == 0) return rep;

  // What may go, oldest month first, messages before their dependents.
  std::vector<Candidate> cands;
  int64_t horizon = 0;  // the QUEUED and RECEIVED horizons, the earlier (0: none)
  HIE_RETURN_IF_ERROR(WithConn(pool, "ApplyRetention", [&](Conn& c) -> Status {
    pqxx::nontransaction t(c.c());
    pqxx::result r = t.exec_params(
        "SELECT table_name, partition_name, upper_ms FROM hie_retention_candidates($1, $2) "
        "ORDER BY upper_ms, (table_name <> 'messages'), table_name",
        content, meta);
    cands.clear();
    for (const auto& row : r) {
      cands.push_back({row[0].c_str(), row[1].c_str(), row[2].as<int64_t>()});
    }
    // Held back: QUEUED deliveries of messages past a cutoff.
    const int64_t newest_cut = std::max(content, meta);
    pqxx::result h = t.exec_params(
        "SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id "
        "WHERE d.state = 'QUEUED' AND m.received_at < $1",
        newest_cut);
    rep.held_back = h[0][0].as<int64_t>();
    return Status::Ok();
  }));

  for (const Candidate& cand : cands) {
    if (Stopped(stop)) {
      rep.interrupted = true;
      return rep;
    }
    Status last;
    switch (DropOne(pool, cand, &last)) {
      case DropResult::kDropped:
        ++rep.partitions_dropped;
        rep.partitions.push_back(cand.partition);
        break;
      case DropResult::kKept:
        break;
      case DropResult::kBusy:
        // Busy for too long: the next run tries again; nothing is half done
        // (each drop is its own transaction).
        HIE_LOG_WARN("store: retention could not drop {} now: {}", cand.partition, last.ToString());
        break;
    }
  }

  // Rows in the DEFAULT partitions, by the same cutoffs and horizons.
  HIE_RETURN_IF_ERROR(WithConn(pool, "ApplyRetention horizon", [&](Conn& c) -> Status {
    pqxx::nontransaction t(c.c());
    pqxx::result h = t.exec("SELECT hie_retention_horizon()");
    horizon = h[0][0].is_null() ? 0 : h[0][0].as<int64_t>();
    const int64_t received = ReceivedHorizon(t);
    if (received != 0 && (horizon == 0 || received < horizon)) horizon = received;
    return Status::Ok();
  }));
  auto capped = [&](int64_t cut) { return horizon != 0 ? std::min(cut, horizon) : cut; };
  struct Default {
    const char* table;
    int64_t before;
    int64_t* count;
  };
  int64_t ignored = 0;
  const Default defaults[] = {
      {"messages", capped(meta), &rep.messages_removed},
      {"message_bodies", capped(content), &rep.bodies_removed},
      {"message_trace", capped(meta), &ignored},
      {"deliveries", capped(meta), &ignored},
      {"delivery_attempts", capped(meta), &ignored},
      {"rejected", content, &rep.rejected_removed},
  };
  for (const Default& d : defaults) {
    if (d.before <= 0) continue;
    if (Stopped(stop)) {
      rep.interrupted = true;
      return rep;
    }
    Status st;
    *d.count += DeleteDefaultRows(pool, d.table, d.before, stop, &st);
    if (!st.ok()) {
      HIE_LOG_WARN("store: retention of {}_default stopped: {}", d.table, st.ToString());
    }
  }

  // The dedupe keys of messages no longer kept, a batch per transaction.
  if (meta > 0) {
    for (;;) {
      if (Stopped(stop)) {
        rep.interrupted = true;
        return rep;
      }
      int64_t n = 0;
      HIE_RETURN_IF_ERROR(WithConn(pool, "ApplyRetention keys", [&](Conn& c) -> Status {
        pqxx::work t(c.c());
        pqxx::result r = t.exec_params(
            "DELETE FROM message_keys WHERE ctid = ANY(ARRAY("
            "SELECT k.ctid FROM message_keys k WHERE k.received_at < $1 AND NOT EXISTS ("
            "SELECT 1 FROM messages m WHERE m.id = k.message_id AND m.received_at = "
            "k.received_at) LIMIT $2))",
            meta, kKeyBatch);
        t.commit();
        n = r.affected_rows();
        return Status::Ok();
      }));
      rep.keys_removed += n;
      if (n < kKeyBatch) break;
    }
  }
  return rep;
}

}  // namespace hie::pg
