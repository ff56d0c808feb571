#include "store/postgres/pg_retention.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"

namespace hie::pg {
namespace {

// How long one DROP may wait for the parent table's lock (traffic queued
// behind it waits at most this long), and how often it tries.
constexpr char kLockTimeout[] = "SET LOCAL lock_timeout = '150ms'";
constexpr int kDropAttempts = 20;
constexpr int kKeyBatch = 5000;

bool Stopped(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(); }

struct Candidate {
  std::string table, partition;
};

bool IsLockTimeout(const std::exception& e) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  return sql != nullptr && sql->sqlstate() == "55P03";
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
  HIE_RETURN_IF_ERROR(WithConn(pool, "ApplyRetention", [&](Conn& c) -> Status {
    pqxx::nontransaction t(c.c());
    pqxx::result r = t.exec_params(
        "SELECT table_name, partition_name FROM hie_retention_candidates($1, $2) "
        "ORDER BY upper_ms, (table_name <> 'messages'), table_name",
        content, meta);
    cands.clear();
    for (const auto& row : r) cands.push_back({row[0].c_str(), row[1].c_str()});
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
    bool done = false;
    for (int attempt = 0; attempt < kDropAttempts && !done; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      auto lease = pool.Acquire();
      if (!lease.ok()) {
        last = lease.status();
        continue;
      }
      try {
        pqxx::work t(lease->conn().c());
        t.exec(kLockTimeout);
        pqxx::result r =
            t.exec_params("SELECT hie_drop_partition($1, $2)", cand.table, cand.partition);
        t.commit();
        if (r[0][0].as<bool>()) {
          ++rep.partitions_dropped;
          rep.partitions.push_back(cand.partition);
        }
        done = true;
      } catch (const std::exception& e) {
        Failure kind = Failure::kStatement;
        last = StatusFromException(e, "ApplyRetention " + cand.partition, &kind);
        if (!IsLockTimeout(e) && kind != Failure::kRetry && kind != Failure::kBroken) break;
      }
    }
    if (!done) {
      // Busy for too long: the next run tries again; nothing is half done
      // (each drop is its own transaction).
      HIE_LOG_WARN("store: retention could not drop {} now: {}", cand.partition, last.ToString());
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
