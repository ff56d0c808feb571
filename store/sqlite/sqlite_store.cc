// The SQLite Store: one writer thread doing group commits on the write
// connection, and a small pool of query-only connections for reads (WAL lets
// them read a snapshot while the writer commits).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/log.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_conn.h"
#include "store/sqlite/sqlite_ops.h"
#include "store/store.h"

namespace hie {
namespace {

using sqlite::Conn;

constexpr int kMaxReaders = 8;

// The WriteTxn handed to each WriteFn: the writer connection, inside the
// batch's transaction and the fn's savepoint.
class SqliteTxn final : public WriteTxn {
 public:
  explicit SqliteTxn(Conn& c) : c_(c) {}

  Result<std::optional<DedupeHit>> FindByDedupeKey(const std::string& facility_id,
                                                   const std::string& dedupe_key) override {
    return sqlite::FindByDedupeKey(c_, facility_id, dedupe_key);
  }
  Result<int64_t> InsertMessage(const NewMessage& m) override {
    return sqlite::InsertMessage(c_, m);
  }
  Status SetResponse(int64_t message_id, const std::string& response) override {
    return sqlite::SetResponse(c_, message_id, response);
  }
  Result<int64_t> InsertRejected(const RejectedInput& r) override {
    return sqlite::InsertRejected(c_, r);
  }
  Result<MessageRecord> GetMessage(int64_t id) override { return sqlite::GetMessage(c_, id); }
  Status UpdateStatus(int64_t id, MessageStatus status, int64_t at_ms,
                      const Status& error) override {
    return sqlite::UpdateStatus(c_, id, status, at_ms, error);
  }
  Status UpdateMeta(int64_t id, const std::string& message_type,
                    const std::string& patient_key) override {
    return sqlite::UpdateMeta(c_, id, message_type, patient_key);
  }
  Status AppendTrace(int64_t message_id, const TraceEvent& e) override {
    return sqlite::AppendTrace(c_, message_id, e);
  }
  Result<int64_t> InsertDelivery(int64_t message_id, const std::string& destination_id,
                                 const std::string& patient_key, int64_t at_ms) override {
    return sqlite::InsertDelivery(c_, message_id, destination_id, patient_key, at_ms);
  }
  Result<std::vector<DeliveryRecord>> DeliveriesOf(int64_t message_id) override {
    return sqlite::DeliveriesOf(c_, message_id);
  }
  Result<DeliveryRecord> GetDelivery(int64_t delivery_id) override {
    return sqlite::GetDelivery(c_, delivery_id);
  }
  Status UpdateDelivery(int64_t delivery_id, DeliveryState state, int attempts,
                        int64_t next_attempt_at_ms, const std::string& last_error,
                        int64_t at_ms) override {
    return sqlite::UpdateDelivery(c_, delivery_id, state, attempts, next_attempt_at_ms, last_error,
                                  at_ms);
  }
  Status RecordAttempt(const DeliveryAttempt& a) override { return sqlite::RecordAttempt(c_, a); }
  Status SetDestinationPaused(const std::string& destination_id, bool paused) override {
    return sqlite::SetDestinationPaused(c_, destination_id, paused);
  }

 private:
  Conn& c_;
};

// Query-only connections, opened on demand up to kMaxReaders, reused LIFO
// (the most recently used one has the warmest cache).
class ReaderPool {
 public:
  explicit ReaderPool(std::string path) : path_(std::move(path)) {}

  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<Conn> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (c_) pool_->Release(std::move(c_));
    }
    Conn& conn() { return *c_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Conn> c_;
  };

  Result<Lease> Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < kMaxReaders; });
    if (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
    ++open_;
    lock.unlock();
    sqlite::ConnOptions o;
    o.read_only = true;
    o.cache_kib = 8 * 1024;
    auto c = Conn::Open(path_, o);
    if (!c.ok()) {
      lock.lock();
      --open_;
      cv_.notify_one();
      return c.status();
    }
    return Lease(this, std::move(c).value());
  }

 private:
  void Release(std::unique_ptr<Conn> c) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
    cv_.notify_one();
  }

  const std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

// Copies WAL frames back into the database file on its own connection and
// thread, so the writer does not spend its time on checkpoints. PASSIVE
// checkpoints neither wait for nor block the writer or readers.
class Checkpointer {
 public:
  explicit Checkpointer(std::unique_ptr<Conn> c) : conn_(std::move(c)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Checkpointer() { Stop(); }

  // Asks for a pass; cheap, callable from the writer's WAL hook.
  void Poke() {
    {
      std::lock_guard lock(mu_);
      requested_ = true;
    }
    cv_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    conn_.reset();
  }

 private:
  void Loop() {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return requested_ || stop_; });
        if (stop_) return;
        requested_ = false;
      }
      int rc = sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                         nullptr);
      if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) {
        HIE_LOG_WARN("store: background checkpoint failed: {}", sqlite3_errmsg(conn_->db()));
      }
      // At most a few passes a second: each pass fsyncs the database file,
      // and back-to-back passes under load steal the disk from the commits
      // that ACKs wait on. A page rewritten many times is copied once.
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kPause, [&] { return stop_; });
      if (stop_) return;
    }
  }

  static constexpr std::chrono::milliseconds kPause{500};
  std::unique_ptr<Conn> conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stop_ = false;
  std::thread thread_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const StoreOptions& o, std::unique_ptr<Conn> writer,
              std::unique_ptr<Conn> checkpoint_conn)
      : opts_(o),
        env_(o.env != nullptr ? *o.env : Env::Default()),
        writer_conn_(std::move(writer)),
        readers_(o.path),
        checkpointer_(std::move(checkpoint_conn)) {
    sqlite3_wal_hook(writer_conn_->db(), &SqliteStore::WalHook, this);
    if (opts_.max_batch < 1) opts_.max_batch = 1;
    if (o.metrics != nullptr) {
      batch_hist_ =
          &o.metrics->GetHistogram("hie_store_commit_batch_size", "WriteFns per group commit",
                                   {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048});
      commit_hist_ = &o.metrics->GetHistogram(
          "hie_store_commit_seconds", "Group commit time, BEGIN to durable COMMIT",
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
      commits_ = &o.metrics->GetCounter("hie_store_commits_total", "Group commits");
    }
    writer_ = std::thread([this] { WriterLoop(); });
  }

  ~SqliteStore() override { Close(); }

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
    }
    // From a DoneFn (the writer thread itself): just stop taking writes; the
    // writer ends after its queue, the destructor joins it.
    if (std::this_thread::get_id() == writer_.get_id()) return;
    std::lock_guard close_lock(close_mu_);
    if (writer_.joinable()) writer_.join();
    checkpointer_.Stop();
    writer_conn_.reset();
  }

  // --- reads ---
  Result<MessageRecord> GetMessage(int64_t id) override {
    return Read([&](Conn& c) { return sqlite::GetMessage(c, id); });
  }
  Result<std::vector<MessageRecord>> ListMessages(const MessageFilter& f) override {
    return Read([&](Conn& c) { return sqlite::ListMessages(c, f); });
  }
  Result<std::vector<TraceEvent>> GetTrace(int64_t message_id) override {
    return Read([&](Conn& c) { return sqlite::GetTrace(c, message_id); });
  }
  Result<std::vector<DeliveryRecord>> GetDeliveries(int64_t message_id) override {
    return Read([&](Conn& c) { return sqlite::DeliveriesOf(c, message_id); });
  }
  Result<std::vector<DeliveryAttempt>> GetAttempts(int64_t delivery_id) override {
    return Read([&](Conn& c) { return sqlite::GetAttempts(c, delivery_id); });
  }
  Result<std::vector<RejectedInput>> ListRejected(int64_t before_id, int limit) override {
    return Read([&](Conn& c) { return sqlite::ListRejected(c, before_id, limit); });
  }
  Result<RejectedInput> GetRejected(int64_t id) override {
    return Read([&](Conn& c) { return sqlite::GetRejected(c, id); });
  }
  Result<std::vector<int64_t>> MessageIdsWithStatus(MessageStatus status, int64_t after_id,
                                                    int limit) override {
    return Read([&](Conn& c) { return sqlite::MessageIdsWithStatus(c, status, after_id, limit); });
  }
  Result<std::vector<DeliveryRecord>> DueDeliveries(const std::string& destination_id,
                                                    int64_t now_ms, int limit,
                                                    const std::set<int64_t>& exclude) override {
    return Read(
        [&](Conn& c) { return sqlite::DueDeliveries(c, destination_id, now_ms, limit, exclude); });
  }
  Result<std::optional<int64_t>> NextDueAt(const std::string& destination_id) override {
    return Read([&](Conn& c) { return sqlite::NextDueAt(c, destination_id); });
  }
  Result<std::map<std::string, int64_t>> QueueDepths() override {
    return Read([&](Conn& c) { return sqlite::QueueDepths(c); });
  }
  Result<std::set<std::string>> PausedDestinations() override {
    return Read([&](Conn& c) { return sqlite::PausedDestinations(c); });
  }

 private:
  struct Item {
    WriteFn fn;
    DoneFn done;
  };

  template <typename F>
  auto Read(F&& f) -> decltype(f(std::declval<Conn&>())) {
    auto lease = readers_.Acquire();
    if (!lease.ok()) return lease.status();
    return f(lease->conn());
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
      if (force_checkpoint_) {
        // The background checkpointer has not kept up: checkpoint here,
        // between batches, so the next BEGIN can restart the WAL.
        force_checkpoint_ = false;
        (void)sqlite3_wal_checkpoint_v2(writer_conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                        nullptr, nullptr);
      }
    }
  }

  // After each commit, on the writer thread: `frames` are in the WAL now.
  static int WalHook(void* self_ptr, sqlite3*, const char*, int frames) {
    auto* self = static_cast<SqliteStore*>(self_ptr);
    if (frames >= kForceCheckpointFrames) {
      self->force_checkpoint_ = true;
    } else if (frames >= kCheckpointFrames) {
      self->checkpointer_.Poke();
    }
    return SQLITE_OK;
  }

  // Runs the batch in one transaction, each fn in its own savepoint; fills
  // `results` (one per item). No callback runs here.
  void RunBatch(std::vector<Item>& batch, std::vector<Status>& results) {
    Conn& c = *writer_conn_;
    const int64_t start = env_.MonoNanos();
    results.assign(batch.size(), Status::Ok());
    auto fail_all = [&](const Status& st) {
      Status err(ErrorCode::kStoreError, "写入事务失败 (write transaction failed): " + st.message(),
                 st.where());
      for (Status& r : results) r = err;
    };
    Status st = Exec(c, kBegin, "BEGIN");
    if (!st.ok()) {
      fail_all(st);
      return;
    }
    SqliteTxn txn(c);
    for (size_t i = 0; i < batch.size(); ++i) {
      st = Exec(c, kSavepoint, "SAVEPOINT");
      if (!st.ok()) return Abort(c, st, fail_all);
      Status fs;
      try {
        fs = batch[i].fn ? batch[i].fn(txn) : Status::Ok();
      } catch (const std::exception& e) {
        fs = Status(ErrorCode::kInternal,
                    std::string("写入回调抛出异常 (write fn threw): ") + e.what(), "Store::Write");
      } catch (...) {
        fs = Status(ErrorCode::kInternal, "写入回调抛出异常 (write fn threw)", "Store::Write");
      }
      if (sqlite3_get_autocommit(c.db()) != 0) {
        // SQLite rolled the whole transaction back (I/O error, disk full):
        // nothing of this batch is kept.
        Status lost(ErrorCode::kStoreError,
                    "事务被数据库回滚 (transaction rolled back by the database)",
                    fs.ok() ? "Store::Write" : fs.ToString());
        fail_all(lost);
        return;
      }
      if (!fs.ok()) {
        st = Exec(c, kRollbackTo, "ROLLBACK TO");
        if (!st.ok()) return Abort(c, st, fail_all);
        results[i] = std::move(fs);
      }
      st = Exec(c, kRelease, "RELEASE");
      if (!st.ok()) return Abort(c, st, fail_all);
    }
    st = Exec(c, kCommit, "COMMIT");
    if (!st.ok()) return Abort(c, st, fail_all);
    if (batch_hist_ != nullptr) {
      batch_hist_->Observe(static_cast<double>(batch.size()));
      commit_hist_->Observe(static_cast<double>(env_.MonoNanos() - start) / 1e9);
      commits_->Inc();
    }
  }

  template <typename FailAll>
  void Abort(Conn& c, const Status& st, FailAll& fail_all) {
    if (sqlite3_get_autocommit(c.db()) == 0) (void)c.Exec("ROLLBACK", "ROLLBACK");
    HIE_LOG_ERROR("store: group commit failed: {}", st.ToString());
    fail_all(st);
  }

  static Status Exec(Conn& c, const char* sql, const char* where) {
    HIE_ASSIGN_OR_RETURN(auto s, c.Static(sql, where));
    return s.Run();
  }

  static constexpr int kCheckpointFrames = 4000;        // ~16 MB of WAL
  static constexpr int kForceCheckpointFrames = 65536;  // ~256 MB
  static constexpr char kBegin[] = "BEGIN IMMEDIATE";
  static constexpr char kSavepoint[] = "SAVEPOINT w";
  static constexpr char kRollbackTo[] = "ROLLBACK TO w";
  static constexpr char kRelease[] = "RELEASE w";
  static constexpr char kCommit[] = "COMMIT";

  StoreOptions opts_;
  Env& env_;
  std::unique_ptr<Conn> writer_conn_;
  ReaderPool readers_;
  Checkpointer checkpointer_;
  bool force_checkpoint_ = false;  // writer thread only
  Histogram* batch_hist_ = nullptr;
  Histogram* commit_hist_ = nullptr;
  Counter* commits_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool closing_ = false;
  std::mutex close_mu_;
  std::thread writer_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) {
  if (options.path.empty()) {
    return Status(ErrorCode::kConfigError, "未配置数据库路径 (store path missing)", "store.path");
  }
  if (sqlite3_threadsafe() == 0) {
    return Status(ErrorCode::kInternal, "SQLite 未启用线程支持 (SQLite built without threads)");
  }
  sqlite::ConnOptions o;
  o.durable_full = options.durable_full;
  o.cache_kib = 64 * 1024;
  o.auto_checkpoint = false;
  HIE_ASSIGN_OR_RETURN(auto writer, Conn::Open(options.path, o));
  HIE_RETURN_IF_ERROR(sqlite::ApplyMigrations(*writer, sqlite::SqliteMigrations()));
  o.cache_kib = 2 * 1024;
  HIE_ASSIGN_OR_RETURN(auto checkpoint_conn, Conn::Open(options.path, o));
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(options, std::move(writer), std::move(checkpoint_conn)));
}

}  // namespace hie
