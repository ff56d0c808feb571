// The PostgreSQL Store: group commits on a few writer connections, the
// COMMIT of one batch overlapped with building the next (pg_writer.h), and
// a small pool of connections for reads and outbox claims. Several such
// stores (hub nodes) may share one database: dedupe is a primary key with
// ON CONFLICT, queue heads are kept under advisory locks, deliveries are
// claimed FOR UPDATE SKIP LOCKED with a lease in the database's clock.
// Thread rules: those of Store (store/store.h) and pg::Writer.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/thread.h"
#include "store/open.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_ops.h"
#include "store/postgres/pg_retention.h"
#include "store/postgres/pg_writer.h"
#include "store/store.h"

namespace hie {
namespace {

using pg::Conn;

constexpr int kMaxReaders = 8;
// A batch that falls back to savepoints takes a subtransaction id per fn;
// far past 64 per transaction PostgreSQL's snapshot cache overflows and
// every session slows down; a cap bounds that (and a rerun's cost).
constexpr int kMaxPgBatch = 256;
// Writer connections per node: transactions in flight at once (one being
// built, the others committing). See docs/architecture.md for the figures.
constexpr int kWriterConns = 4;
// Monthly partitions exist from this month through this many months ahead.
constexpr int kMonthsAhead = 2;

Status EnsurePartitions(pg::Pool& pool, int64_t now_ms);

std::string MakeOwnerId() {
  char host[128] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char tail[32];
  std::snprintf(tail, sizeof(tail), "%d-%012llx", static_cast<int>(getpid()),
                static_cast<unsigned long long>(gen() & 0xffffffffffffULL));
  return std::string(host) + "/" + tail;
}

pg::WriterOptions WriterOptionsOf(const StoreOptions& o) {
  pg::WriterOptions w;
  w.uri = o.path;
  w.durable = o.durable_full;
  w.max_batch = std::clamp(o.max_batch, 1, kMaxPgBatch);
  w.connections = kWriterConns;
  w.env = o.env;
  w.metrics = o.metrics;
  return w;
}

class PgStore final : public Store {
 public:
  PgStore(const StoreOptions& o, std::unique_ptr<Conn> writer)
      : env_(o.env != nullptr ? *o.env : Env::Default()),
        owner_(o.node_id.empty() ? MakeOwnerId() : o.node_id),
        lease_ms_(o.claim_lease_ms > 0 ? o.claim_lease_ms : 300'000),
        pool_(o.path, o.durable_full, kMaxReaders),
        writer_(WriterOptionsOf(o), std::move(writer)) {
    maintenance_ = std::thread([this] {
      NameThisThread("hie-pg-maint");
      MaintenanceLoop();
    });
  }

  ~PgStore() override { Close(); }

  void Write(WriteFn fn, DoneFn done) override { writer_.Write(std::move(fn), std::move(done)); }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
      maint_cv_.notify_all();
    }
    writer_.Close();                    // from a DoneFn: only marks closing
    if (writer_.OnOwnThread()) return;  // the owner's Close finishes
    std::lock_guard close_lock(close_mu_);
    if (maintenance_.joinable()) maintenance_.join();
    if (!closed_) {
      closed_ = true;
      // Hand this node's claims back at once instead of after the lease.
      Status st = pg::WithConn(pool_, "ReleaseClaims", [&](Conn& c) {
        pqxx::work t(c.c());
        Status s = pg::ReleaseClaims(t, owner_);
        t.commit();
        return s;
      });
      if (!st.ok()) HIE_LOG_WARN("store: releasing delivery claims failed: {}", st.ToString());
      pool_.CloseIdle();
    }
  }

  // --- reads: one statement each, autocommit ---
  Result<MessageRecord> GetMessage(int64_t id) override {
    return Read("GetMessage", [&](pg::Tx& t) { return pg::GetMessage(t, id); });
  }
  Result<std::vector<MessageRecord>> ListMessages(const MessageFilter& f) override {
    return Read("ListMessages", [&](pg::Tx& t) { return pg::ListMessages(t, f); });
  }
  Result<std::vector<TraceEvent>> GetTrace(int64_t message_id) override {
    return Read("GetTrace", [&](pg::Tx& t) { return pg::GetTrace(t, message_id); });
  }
  Result<std::vector<DeliveryRecord>> GetDeliveries(int64_t message_id) override {
    return Read("GetDeliveries", [&](pg::Tx& t) { return pg::DeliveriesOf(t, message_id); });
  }
  Result<std::vector<DeliveryAttempt>> GetAttempts(int64_t delivery_id) override {
    return Read("GetAttempts", [&](pg::Tx& t) { return pg::GetAttempts(t, delivery_id); });
  }
  Result<std::vector<RejectedInput>> ListRejected(int64_t before_id, int limit) override {
    return Read("ListRejected", [&](pg::Tx& t) { return pg::ListRejected(t, before_id, limit); });
  }
  Result<RejectedInput> GetRejected(int64_t id) override {
    return Read("GetRejected", [&](pg::Tx& t) { return pg::GetRejected(t, id); });
  }
  Result<std::vector<int64_t>> MessageIdsWithStatus(MessageStatus status, int64_t after_id,
                                                    int limit) override {
    return Read("MessageIdsWithStatus",
                [&](pg::Tx& t) { return pg::MessageIdsWithStatus(t, status, after_id, limit); });
  }
  // Claims as it reads: see OpenPostgresStore and StoreOptions::claim_lease_ms.
  Result<std::vector<DeliveryRecord>> DueDeliveries(const std::string& destination_id,
                                                    int64_t now_ms, int limit,
                                                    const std::set<int64_t>& exclude) override {
    return pg::WithConn(pool_, "DueDeliveries", [&](Conn& c) {
      pqxx::work t(c.c());
      auto r = pg::ClaimDue(t, destination_id, now_ms, limit, exclude, owner_, lease_ms_);
      t.commit();
      return r;
    });
  }
  Result<std::optional<int64_t>> NextDueAt(const std::string& destination_id) override {
    return Read("NextDueAt", [&](pg::Tx& t) { return pg::NextDueAt(t, destination_id); });
  }
  Result<std::map<std::string, int64_t>> QueueDepths() override {
    return Read("QueueDepths", [&](pg::Tx& t) { return pg::QueueDepths(t); });
  }
  Result<std::set<std::string>> PausedDestinations() override {
    return Read("PausedDestinations", [&](pg::Tx& t) { return pg::PausedDestinations(t); });
  }
  // Whole partitions (pg_retention.h); the months ahead are made first, so
  // a long-running hub never writes into the DEFAULT partition.
  Result<RetentionReport> ApplyRetention(const RetentionCutoffs& cutoffs,
                                         const std::atomic<bool>* stop) override {
    Status st = EnsurePartitions(pool_, env_.NowMillis());
    if (!st.ok()) HIE_LOG_WARN("store: creating monthly partitions failed: {}", st.ToString());
    return pg::ApplyRetention(pool_, cutoffs, stop);
  }

 private:
  template <typename F>
  auto Read(const char* where, F&& f) -> decltype(f(std::declval<pg::Tx&>())) {
    return pg::WithConn(pool_, where, [&](Conn& c) {
      pqxx::nontransaction t(c.c());
      return f(t);
    });
  }

  // Keeps monthly partitions ahead of time (the month after next exists
  // before this one ends), hourly, until closing.
  void MaintenanceLoop() {
    std::unique_lock lock(mu_);
    for (;;) {
      maint_cv_.wait_for(lock, kMaintenanceEvery, [&] { return closing_; });
      if (closing_) return;
      lock.unlock();
      Status st = EnsurePartitions(pool_, env_.NowMillis());
      if (!st.ok()) HIE_LOG_WARN("store: creating monthly partitions failed: {}", st.ToString());
      lock.lock();
    }
  }

  static constexpr std::chrono::hours kMaintenanceEvery{1};

  Env& env_;
  const std::string owner_;  // this node's name on its claims
  const int64_t lease_ms_;
  pg::Pool pool_;
  pg::Writer writer_;

  std::mutex mu_;
  std::condition_variable maint_cv_;  // the maintenance thread waits on it
  bool closing_ = false;
  std::mutex close_mu_;
  bool closed_ = false;
  std::thread maintenance_;
};

// A table per transaction: CREATE ... PARTITION OF locks the parent
// (ACCESS EXCLUSIVE) until commit, and live writes queue behind it.
Status EnsurePartitions(pg::Pool& pool, int64_t now_ms) {
  return pg::WithConn(pool, "EnsurePartitions", [&](Conn& c) -> Status {
    std::vector<std::string> tables;
    {
      pqxx::nontransaction n(c.c());
      tables = pg::PartitionedTables(n);
    }
    int created = 0;
    for (const auto& table : tables) {
      pqxx::work t(c.c());
      auto n = pg::EnsureTablePartitions(t, table, now_ms, kMonthsAhead);
      t.commit();
      if (!n.ok()) return n.status();
      created += *n;
    }
    if (created > 0) HIE_LOG_INFO("store: {} monthly partitions created", created);
    return Status::Ok();
  });
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const StoreOptions& options) {
  if (options.path.empty()) {
    return Status(ErrorCode::kConfigError, "未配置数据库地址 (store URI missing)", "hub.store");
  }
  HIE_ASSIGN_OR_RETURN(auto writer, Conn::Open(options.path, options.durable_full));
  HIE_RETURN_IF_ERROR(pg::ApplyMigrations(*writer, pg::PgMigrations()));
  {
    pg::Pool once(options.path, options.durable_full, 1);
    Env& env = options.env != nullptr ? *options.env : Env::Default();
    HIE_RETURN_IF_ERROR(EnsurePartitions(once, env.NowMillis()));
    if (!options.node_id.empty()) {
      // Claims this node left when it died (kill -9, power cut): it is
      // starting again, so nothing of those sends is still in flight.
      HIE_RETURN_IF_ERROR(pg::WithConn(once, "ReleaseClaims", [&](pg::Conn& c) {
        pqxx::work t(c.c());
        Status s = pg::ReleaseClaims(t, options.node_id);
        t.commit();
        return s;
      }));
    }
  }
  return std::unique_ptr<Store>(std::make_unique<PgStore>(options, std::move(writer)));
}

}  // namespace hie
