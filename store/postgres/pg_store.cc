// The PostgreSQL Store: one writer thread doing group commits on its own
// connection, and a small pool of connections for reads and outbox claims.
// WriteFns run straight in the batch's transaction; when one fails, the
// batch runs again with a savepoint per fn so that the failure undoes only
// its own writes. A batch is also rerun after a serialization failure, a
// deadlock or a dropped connection. Several such stores (hub nodes) may
// share one database: dedupe is a primary key with ON CONFLICT, queue heads
// are kept under advisory locks, deliveries are claimed FOR UPDATE SKIP
// LOCKED with a lease in the database's clock.
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
#include "store/open.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_ops.h"
#include "store/postgres/pg_retention.h"
#include "store/store.h"

namespace hie {
namespace {

using pg::Conn;
using pg::Failure;

constexpr int kMaxReaders = 8;
// A batch that falls back to savepoints takes a subtransaction id per fn;
// far past 64 per transaction PostgreSQL's snapshot cache overflows and
// every session slows down; a cap bounds that (and a rerun's cost).
constexpr int kMaxPgBatch = 256;
constexpr int kBatchAttempts = 5;
// Monthly partitions exist from this month through this many months ahead.
constexpr int kMonthsAhead = 2;

Status EnsurePartitions(pg::Pool& pool, int64_t now_ms);

// The WriteTxn handed to each WriteFn: the batch's transaction (inside the
// fn's savepoint when the batch runs with them). The first failure sticks:
// later calls of the same fn return it without touching the database (its
// transaction or savepoint is aborted anyway).
class PgTxn final : public WriteTxn {
 public:
  explicit PgTxn(pqxx::transaction_base& t) : t_(t) {}

  // Before each fn: forget a statement failure of the previous one.
  void NextFn() {
    if (kind_ == Failure::kStatement) failure_ = Status::Ok();
  }
  const Status& failure() const { return failure_; }
  // The whole transaction is lost (not just this fn's savepoint).
  bool batch_failed() const { return !failure_.ok() && kind_ != Failure::kStatement; }
  Failure kind() const { return kind_; }

  Result<std::optional<DedupeHit>> FindByDedupeKey(const std::string& facility_id,
                                                   const std::string& dedupe_key) override {
    return Op("FindByDedupeKey", [&] { return pg::FindByDedupeKey(t_, facility_id, dedupe_key); });
  }
  Result<int64_t> InsertMessage(const NewMessage& m) override {
    return Op("InsertMessage", [&] { return pg::InsertMessage(t_, m); });
  }
  Status SetResponse(int64_t message_id, const std::string& response) override {
    return Op("SetResponse", [&] { return pg::SetResponse(t_, message_id, response); });
  }
  Result<int64_t> InsertRejected(const RejectedInput& r) override {
    return Op("InsertRejected", [&] { return pg::InsertRejected(t_, r); });
  }
  Result<MessageRecord> GetMessage(int64_t id) override {
    return Op("GetMessage", [&] { return pg::GetMessage(t_, id, /*lock=*/true); });
  }
  Status UpdateStatus(int64_t id, MessageStatus status, int64_t at_ms,
                      const Status& error) override {
    return Op("UpdateStatus", [&] { return pg::UpdateStatus(t_, id, status, at_ms, error); });
  }
  Status UpdateMeta(int64_t id, const std::string& message_type,
                    const std::string& patient_key) override {
    return Op("UpdateMeta", [&] { return pg::UpdateMeta(t_, id, message_type, patient_key); });
  }
  Status AppendTrace(int64_t message_id, const TraceEvent& e) override {
    return Op("AppendTrace", [&] { return pg::AppendTrace(t_, message_id, e); });
  }
  Result<int64_t> InsertDelivery(int64_t message_id, const std::string& destination_id,
                                 const std::string& patient_key, int64_t at_ms) override {
    return Op("InsertDelivery", [&] {
      return pg::InsertDelivery(t_, message_id, destination_id, patient_key, at_ms);
    });
  }
  Result<std::vector<DeliveryRecord>> DeliveriesOf(int64_t message_id) override {
    return Op("DeliveriesOf", [&] { return pg::DeliveriesOf(t_, message_id, /*lock=*/true); });
  }
  Result<DeliveryRecord> GetDelivery(int64_t delivery_id) override {
    return Op("GetDelivery", [&] { return pg::GetDelivery(t_, delivery_id, /*lock=*/true); });
  }
  Status UpdateDelivery(int64_t delivery_id, DeliveryState state, int attempts,
                        int64_t next_attempt_at_ms, const std::string& last_error,
                        int64_t at_ms) override {
    return Op("UpdateDelivery", [&] {
      return pg::UpdateDelivery(t_, delivery_id, state, attempts, next_attempt_at_ms, last_error,
                                at_ms);
    });
  }
  Status RecordAttempt(const DeliveryAttempt& a) override {
    return Op("RecordAttempt", [&] { return pg::RecordAttempt(t_, a); });
  }
  Status SetDestinationPaused(const std::string& destination_id, bool paused) override {
    return Op("SetDestinationPaused",
              [&] { return pg::SetDestinationPaused(t_, destination_id, paused); });
  }

 private:
  template <typename F>
  auto Op(const char* where, F&& f) -> decltype(f()) {
    if (!failure_.ok()) return failure_;
    try {
      return f();
    } catch (const std::exception& e) {
      failure_ = pg::StatusFromException(e, where, &kind_);
      return failure_;
    }
  }

  pqxx::transaction_base& t_;
  Status failure_;
  Failure kind_ = Failure::kStatement;
};

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

class PgStore final : public Store {
 public:
  PgStore(const StoreOptions& o, std::unique_ptr<Conn> writer)
      : opts_(o),
        env_(o.env != nullptr ? *o.env : Env::Default()),
        owner_(o.node_id.empty() ? MakeOwnerId() : o.node_id),
        lease_ms_(o.claim_lease_ms > 0 ? o.claim_lease_ms : 300'000),
        writer_conn_(std::move(writer)),
        pool_(o.path, o.durable_full, kMaxReaders) {
    opts_.max_batch = std::clamp(opts_.max_batch, 1, kMaxPgBatch);
    if (o.metrics != nullptr) {
      batch_hist_ =
          &o.metrics->GetHistogram("hie_store_commit_batch_size", "WriteFns per group commit",
                                   {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048});
      commit_hist_ = &o.metrics->GetHistogram(
          "hie_store_commit_seconds", "Group commit time, BEGIN to durable COMMIT",
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
      commits_ = &o.metrics->GetCounter("hie_store_commits_total", "Group commits");
      retries_ = &o.metrics->GetCounter("hie_store_batch_retries_total",
                                        "Group commits run again after a serialization failure, "
                                        "deadlock or dropped connection");
    }
    writer_ = std::thread([this] { WriterLoop(); });
    maintenance_ = std::thread([this] { MaintenanceLoop(); });
  }

  ~PgStore() override { Close(); }

  void Write(WriteFn fn, DoneFn done) override {
    {
      std::lock_guard lock(mu_);
      if (!closing_) {
        queue_.push_back(Item{std::move(fn), std::move(done)});
        if (queue_.size() == 1) cv_.notify_one();
        return;
      }
    }
    if (done) done(Status(ErrorCode::kUnavailable, "存储已关闭 (store closed)", "Store::Write"));
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
      cv_.notify_one();
      maint_cv_.notify_all();
    }
    if (std::this_thread::get_id() == writer_.get_id()) return;  // from a DoneFn
    std::lock_guard close_lock(close_mu_);
    if (writer_.joinable()) writer_.join();
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
      writer_conn_.reset();
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
  struct Item {
    WriteFn fn;
    DoneFn done;
  };

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

  void WriterLoop() {
    std::vector<Item> batch;
    batch.reserve(static_cast<size_t>(opts_.max_batch));
    std::vector<Status> results;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;  // closing, all drained
        size_t n = std::min(queue_.size(), static_cast<size_t>(opts_.max_batch));
        for (size_t i = 0; i < n; ++i) batch.push_back(std::move(queue_[i]));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      }
      RunBatch(batch, results);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!batch[i].done) continue;
        try {
          batch[i].done(results[i]);
        } catch (...) {
          HIE_LOG_ERROR("store: a write completion callback threw; ignored");
        }
      }
      batch.clear();
      results.clear();
    }
  }

  // Runs the batch to a commit, again after a retryable failure; fills
  // `results` (one per item). No callback runs here.
  void RunBatch(std::vector<Item>& batch, std::vector<Status>& results) {
    const int64_t start = env_.MonoNanos();
    Status st;
    for (int attempt = 0; attempt < kBatchAttempts; ++attempt) {
      if (attempt > 0) {
        if (retries_ != nullptr) retries_->Inc();
        std::this_thread::sleep_for(std::chrono::milliseconds(25 << attempt));
      }
      if (!writer_conn_ || !writer_conn_->is_open()) {
        writer_conn_.reset();
        auto c = Conn::Open(opts_.path, opts_.durable_full);
        if (!c.ok()) {
          st = c.status();
          HIE_LOG_WARN("store: reconnecting the writer failed: {}", st.ToString());
          continue;
        }
        writer_conn_ = std::move(c).value();
      }
      Failure kind = Failure::kStatement;
      bool need_savepoints = false;
      st = TryBatch(batch, results, &kind, /*savepoints=*/false, &need_savepoints);
      if (need_savepoints) {
        kind = Failure::kStatement;
        st = TryBatch(batch, results, &kind, /*savepoints=*/true, &need_savepoints);
      }
      if (st.ok()) {
        if (batch_hist_ != nullptr) {
          batch_hist_->Observe(static_cast<double>(batch.size()));
          commit_hist_->Observe(static_cast<double>(env_.MonoNanos() - start) / 1e9);
          commits_->Inc();
        }
        return;
      }
      if (kind == Failure::kBroken) writer_conn_.reset();
      if (kind != Failure::kRetry && kind != Failure::kBroken) break;
      HIE_LOG_WARN("store: group commit will be retried: {}", st.ToString());
    }
    HIE_LOG_ERROR("store: group commit failed: {}", st.ToString());
    ErrorCode code =
        st.code() == ErrorCode::kUnavailable ? ErrorCode::kUnavailable : ErrorCode::kStoreError;
    Status err(code, "写入事务失败 (write transaction failed): " + st.message(), st.where());
    results.assign(batch.size(), err);
  }

  // One try: BEGIN, each fn (in a savepoint when `savepoints`), COMMIT. OK
  // when committed (the fns' own results are in `results`); otherwise the
  // failure and its kind. Without savepoints (the fast path: two round trips
  // fewer per fn) the first failing fn abandons the try and sets
  // *need_savepoints; the batch is then run again with them.
  Status TryBatch(std::vector<Item>& batch, std::vector<Status>& results, Failure* kind,
                  bool savepoints, bool* need_savepoints) {
    results.assign(batch.size(), Status::Ok());
    try {
      pqxx::work w(writer_conn_->c());
      PgTxn txn(w);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (savepoints) w.exec(kSavepoint);
        txn.NextFn();
        Status fs;
        try {
          fs = batch[i].fn ? batch[i].fn(txn) : Status::Ok();
        } catch (const std::exception& e) {
          fs =
              Status(ErrorCode::kInternal,
                     std::string("写入回调抛出异常 (write fn threw): ") + e.what(), "Store::Write");
        } catch (...) {
          fs = Status(ErrorCode::kInternal, "写入回调抛出异常 (write fn threw)", "Store::Write");
        }
        if (txn.batch_failed()) {
          *kind = txn.kind();
          return txn.failure();  // ~work rolls the whole batch back
        }
        if (fs.ok() && !txn.failure().ok()) fs = txn.failure();  // ignored store error
        if (!fs.ok()) {
          if (!savepoints) {
            *need_savepoints = true;
            return fs;  // ~work rolls back
          }
          w.exec(kRollbackTo);
          results[i] = std::move(fs);
        }
        if (savepoints) w.exec(kRelease);
      }
      w.commit();
      return Status::Ok();
    } catch (const std::exception& e) {
      return pg::StatusFromException(e, "group commit", kind);
    }
  }

  static constexpr std::chrono::hours kMaintenanceEvery{1};
  static constexpr char kSavepoint[] = "SAVEPOINT w";
  static constexpr char kRollbackTo[] = "ROLLBACK TO SAVEPOINT w";
  static constexpr char kRelease[] = "RELEASE SAVEPOINT w";

  StoreOptions opts_;
  Env& env_;
  const std::string owner_;  // this node's name on its claims
  const int64_t lease_ms_;
  std::unique_ptr<Conn> writer_conn_;  // writer thread only (and Close after the join)
  pg::Pool pool_;
  Histogram* batch_hist_ = nullptr;
  Histogram* commit_hist_ = nullptr;
  Counter* commits_ = nullptr;
  Counter* retries_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;        // the writer waits on it
  std::condition_variable maint_cv_;  // the maintenance thread waits on it
  std::deque<Item> queue_;
  bool closing_ = false;
  std::mutex close_mu_;
  bool closed_ = false;
  std::thread writer_;
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
