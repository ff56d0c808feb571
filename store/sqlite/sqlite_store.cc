// The SQLite Store: one writer thread doing group commits on the write
// connection, and a small pool of query-only connections for reads (WAL lets
// them read a snapshot while the writer commits). A batch is made durable by
// its record in the redo log (redo_log.h), synced by a FileSyncer before its
// answers with `durability: full` (with `os`: written, not synced), while
// the SQLite transaction stays open across batches for up to
// StoreOptions::commit_interval_ms; reads first make every completed write
// visible.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/log.h"
#include "core/posted_batch.h"
#include "core/thread.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/file_syncer.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/redo_log.h"
#include "store/sqlite/redo_ops.h"
#include "store/sqlite/sqlite_conn.h"
#include "store/sqlite/sqlite_ops.h"
#include "store/sqlite/sqlite_retention.h"
#include "store/sqlite/sqlite_txn.h"
#include "store/store.h"

namespace hie {
namespace {

using sqlite::Conn;
using sqlite::SqliteTxn;

constexpr int kMaxReaders = 8;

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

class SqliteStore final : public Store {
 public:
  // With `redo` (see redo_log.h; OpenSqliteStore always gives one) batches
  // are made durable by their redo record, synced when o.durable_full, and
  // the SQLite transaction spans many batches. Without it each batch
  // commits on its own, unsynced.
  SqliteStore(const StoreOptions& o, std::unique_ptr<Conn> writer,
              std::unique_ptr<Conn> checkpoint_conn, std::optional<sqlite::RedoLog> redo,
              uint64_t last_seq)
      : opts_(o),
        env_(o.env != nullptr ? *o.env : Env::Default()),
        writer_conn_(std::move(writer)),
        readers_(o.path),
        wal_limits_(sqlite::WalLimits::ForRestartAt(o.wal_restart_frames)),
        checkpointer_(std::move(checkpoint_conn), wal_limits_),
        redo_(std::move(redo)),
        seq_(last_seq),
        commit_interval_(std::max(1, o.commit_interval_ms)) {
    if (redo_ && opts_.durable_full) syncer_ = std::make_unique<sqlite::FileSyncer>(redo_->path());
    sqlite3_wal_hook(writer_conn_->db(), &SqliteStore::WalHook, this);
    checkpointer_.SetOnCaughtUp([this] {
      {
        std::lock_guard lock(mu_);
        restart_ready_ = true;
      }
      cv_.notify_one();
    });
    if (opts_.max_batch < 1) opts_.max_batch = 1;
    if (o.metrics != nullptr) {
      batch_hist_ =
          &o.metrics->GetHistogram("hie_store_commit_batch_size", "WriteFns per group commit",
                                   {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048});
      commit_hist_ = &o.metrics->GetHistogram(
          "hie_store_commit_seconds", "Group commit time: running the batch's writes until durable",
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
      commits_ = &o.metrics->GetCounter("hie_store_commits_total", "Group commits");
      wal_restarts_ = &o.metrics->GetCounter(
          "hie_store_wal_restarts_total",
          "WAL restarts: every frame copied into the database file, writing starts over");
    }
    writer_ = std::thread([this] {
      NameThisThread("hie-writer");
      WriterLoop();
    });
  }

  ~SqliteStore() override { Close(); }

  void Write(WriteFn fn, DoneFn done) override {
    {
      std::lock_guard lock(mu_);
      if (!closing_) {
        queue_.push_back(Item{std::move(fn), std::move(done), {}});
        if (queue_.size() == 1) cv_.notify_one();
        return;
      }
    }
    if (done) done(Status(ErrorCode::kUnavailable, "存储已关闭 (store closed)", "Store::Write"));
  }

  bool UsesIntents() const override { return syncer_ != nullptr; }

  void WriteMany(std::vector<PendingWrite> writes) override {
    {
      std::lock_guard lock(mu_);
      if (!closing_) {
        const bool was_empty = queue_.empty();
        for (PendingWrite& w : writes) {
          queue_.push_back(Item{std::move(w.fn), std::move(w.done), std::move(w.intent)});
        }
        if (was_empty && !writes.empty()) cv_.notify_one();
        return;
      }
    }
    for (PendingWrite& w : writes) {
      if (w.done)
        w.done(Status(ErrorCode::kUnavailable, "存储已关闭 (store closed)", "Store::Write"));
    }
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
      cv_.notify_one();
    }
    // From a DoneFn (on the writer or the syncer thread): just stop taking
    // writes; the writer ends after its queue, the destructor joins it.
    if (OnWriterThread()) return;
    if (syncer_ && syncer_->OnSyncerThread()) return;
    std::lock_guard close_lock(close_mu_);
    if (writer_.joinable()) writer_.join();
    if (syncer_) syncer_->Stop();
    checkpointer_.Stop();
    if (redo_ && writer_conn_ && broken_.ok()) {
      // Everything is committed: once the WAL is on disk the log is spent.
      Status st = sqlite::SyncFile(opts_.path + "-wal");
      if (st.ok()) st = redo_->Truncate();
      if (!st.ok()) HIE_LOG_WARN("store: redo log kept for the next start: {}", st.ToString());
    }
    writer_conn_.reset();
  }

  // --- reads: each first makes every completed write visible ---
  // --- reads ---
  Result<MessageRecord> GetMessage(int64_t id) override {
    return Read([&](Conn& c) { return sqlite::GetMessage(c, id); });
  }
  Result<MessageRecord> GetCommittedMessage(int64_t id) override {
    return ReadCommitted([&](Conn& c) { return sqlite::GetMessage(c, id); });
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
  // Small steps on the writer thread (sqlite_retention.h), a pause between
  // them so the group commits keep flowing.
  Result<RetentionReport> ApplyRetention(const RetentionCutoffs& cut,
                                         const std::atomic<bool>* stop) override {
    RetentionReport rep;
    if (cut.content_before_ms <= 0 && cut.metadata_before_ms <= 0) return rep;
    sqlite::RetentionPass pass;
    while (pass.phase != sqlite::RetentionPass::Phase::kDone) {
      if (stop != nullptr && stop->load()) {
        rep.interrupted = true;
        break;
      }
      HIE_RETURN_IF_ERROR(RunMaintenance(
          [&](Conn& c) { return sqlite::RetentionStep(c, cut, kRetentionStep, &pass, &rep); }));
      if (pass.phase != sqlite::RetentionPass::Phase::kDone) {
        std::this_thread::sleep_for(kRetentionPause);
      }
    }
    const int64_t newest_cut = std::max(cut.content_before_ms, cut.metadata_before_ms);
    HIE_ASSIGN_OR_RETURN(rep.held_back,
                         Read([&](Conn& c) { return sqlite::CountHeldBack(c, newest_cut); }));
    return rep;
  }

  Result<std::set<std::string>> PausedDestinations() override {
    return Read([&](Conn& c) { return sqlite::PausedDestinations(c); });
  }

 private:
  struct Item {
    WriteFn fn;
    DoneFn done;
    WriteIntent intent;
  };
  // A step of maintenance that the writer runs between two batches as its
  // own transaction, outside the redo log.
  struct Maint {
    std::function<Status(Conn&)> fn;
    std::promise<Status> result;
  };

  // Queues `fn` for the writer and waits for it. Not from the writer thread.
  Status RunMaintenance(std::function<Status(Conn&)> fn) {
    std::future<Status> done;
    {
      std::lock_guard lock(mu_);
      if (closing_ || writer_done_) {
        return Status(ErrorCode::kUnavailable, "存储已关闭 (store closed)", "ApplyRetention");
      }
      maint_.push_back(Maint{std::move(fn), {}});
      done = maint_.back().result.get_future();
      cv_.notify_one();
    }
    return done.get();
  }

  // On the writer thread, between batches: first commits the open durable
  // transaction (its batches are in the redo log), then runs each step in a
  // transaction of its own and, in durable mode, syncs the WAL before any
  // later batch: a redo record written after the step must never be
  // replayed onto a database that lost the step (a resend of a deleted
  // message's control id would clash with the old row).
  void RunMaintenanceHere() {
    std::deque<Maint> work;
    {
      std::lock_guard lock(mu_);
      if (maint_.empty()) return;
      work.swap(maint_);
    }
    for (Maint& m : work) {
      if (txn_open_) CommitOpen();
      Status st = broken_;
      if (st.ok()) st = Exec(*writer_conn_, kBegin, "BEGIN");
      if (st.ok()) {
        st = m.fn(*writer_conn_);
        if (st.ok()) {
          st = Exec(*writer_conn_, kCommit, "COMMIT");
        } else if (sqlite3_get_autocommit(writer_conn_->db()) == 0) {
          (void)writer_conn_->Exec("ROLLBACK", "ROLLBACK");
        }
        if (st.ok() && redo_) st = sqlite::SyncFile(opts_.path + "-wal");
      }
      m.result.set_value(st);
    }
  }

  bool OnWriterThread() const { return std::this_thread::get_id() == writer_.get_id(); }

  template <typename F>
  auto Read(F&& f) -> decltype(f(std::declval<Conn&>())) {
    MakeVisible();
    return ReadCommitted(std::forward<F>(f));
  }
  // What the database has committed; writes held in the open durable
  // transaction are not seen.
  template <typename F>
  auto ReadCommitted(F&& f) -> decltype(f(std::declval<Conn&>())) {
    auto lease = readers_.Acquire();
    if (!lease.ok()) return lease.status();
    return f(lease->conn());
  }

  // Read-your-writes: a read after a DoneFn sees that write. In durable mode
  // the transaction may still be open; ask the writer to commit it and wait.
  void MakeVisible() {
    if (!redo_) return;
    if (OnWriterThread()) {  // a DoneFn run by the writer itself
      if (txn_open_) CommitOpen();
      return;
    }
    std::unique_lock lock(mu_);
    const uint64_t target = issued_seq_;
    if (visible_seq_ >= target || writer_done_) return;
    fresh_requested_ = true;
    cv_.notify_one();
    visible_cv_.wait(lock, [&] { return visible_seq_ >= target || writer_done_; });
  }

  void WriterLoop() {
    std::vector<Item> batch;
    batch.reserve(static_cast<size_t>(opts_.max_batch));
    std::vector<Status> results;
    for (;;) {
      bool fresh = false;
      bool restart = false;
      bool ending = false;
      {
        std::unique_lock lock(mu_);
        auto ready = [&] {
          return !queue_.empty() || closing_ || fresh_requested_ || restart_ready_ ||
                 !maint_.empty();
        };
        if (txn_open_) {
          cv_.wait_until(lock, open_since_ + commit_interval_, ready);
        } else {
          cv_.wait(lock, ready);
        }
        size_t n = std::min(queue_.size(), static_cast<size_t>(opts_.max_batch));
        if (syncer_ && n > 1) {
          // A batch is all intents or none: a background write without one
          // (an EMPI trace, a delivery update) would otherwise take the
          // intake writes around it off the intent path. The rest follow
          // in the next batch, in order.
          const bool first = queue_.front().intent.kind != 0;
          size_t k = 1;
          while (k < n && (queue_[k].intent.kind != 0) == first) ++k;
          n = k;
        }
        for (size_t i = 0; i < n; ++i) batch.push_back(std::move(queue_[i]));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        fresh = fresh_requested_;
        fresh_requested_ = false;
        restart = restart_ready_;
        restart_ready_ = false;
        ending = closing_ && queue_.empty();
      }
      const bool idle = batch.empty();
      if (!idle) RunAndComplete(batch, results);
      // Durable mode commits the open transaction when idle, when it has
      // been open long enough, when a reader waits, when the checkpointer
      // has caught up (MaybeCheckpointHere), or at the end.
      if (txn_open_ && (idle || fresh || restart || ending || uncommitted_ >= kMaxUncommitted ||
                        std::chrono::steady_clock::now() - open_since_ >= commit_interval_)) {
        CommitOpen();
      } else if (fresh) {
        Publish();
      }
      RunMaintenanceHere();
      MaybeCheckpointHere();
      if (ending) {
        std::lock_guard lock(mu_);
        if (queue_.empty()) {
          writer_done_ = true;
          visible_cv_.notify_all();
          for (Maint& m : maint_) {
            m.result.set_value(Status(ErrorCode::kUnavailable, "存储已关闭 (store closed)"));
          }
          maint_.clear();
          return;
        }
      }
    }
  }

  void RunAndComplete(std::vector<Item>& batch, std::vector<Status>& results) {
    const int64_t start = env_.MonoNanos();
    if (syncer_ && broken_.ok() && AllIntents(batch)) {
      {
        std::lock_guard lock(mu_);
        ++issued_seq_;
      }
      if (batch_hist_ != nullptr) batch_hist_->Observe(static_cast<double>(batch.size()));
      RunIntentBatch(batch, results, start);
      batch.clear();
      results.clear();
      return;
    }
    if (broken_.ok()) {
      RunBatch(batch, results);
    } else {
      results.assign(batch.size(), broken_);
    }
    {
      std::lock_guard lock(mu_);
      ++issued_seq_;
      if (!redo_) visible_seq_ = issued_seq_;
    }
    if (batch_hist_ != nullptr) batch_hist_->Observe(static_cast<double>(batch.size()));
    if (!syncer_) {
      ObserveCommit(start);
      PostHold hold;  // the batch's ACKs go to the event loop in one post
      for (size_t i = 0; i < batch.size(); ++i) Complete(batch[i].done, results[i]);
      batch.clear();
      results.clear();
      return;
    }
    std::vector<sqlite::FileSyncer::Pending> pending;
    pending.reserve(batch.size() + 1);
    for (size_t i = 0; i < batch.size(); ++i) {
      pending.push_back({std::move(batch[i].done), std::move(results[i])});
    }
    if (commit_hist_ != nullptr) {
      pending.push_back({[this, start](const Status&) { ObserveCommit(start); }, Status::Ok()});
    }
    batch.clear();
    results.clear();
    syncer_->After(std::move(pending));
  }

  static bool AllIntents(const std::vector<Item>& batch) {
    for (const Item& item : batch) {
      if (item.intent.kind == 0) return false;
    }
    return true;
  }

  void ObserveCommit(int64_t start_ns) {
    if (commit_hist_ == nullptr) return;
    commit_hist_->Observe(static_cast<double>(env_.MonoNanos() - start_ns) / 1e9);
    commits_->Inc();
  }

  static void Complete(DoneFn& done, const Status& st) {
    if (!done) return;
    try {
      done(st);
    } catch (...) {
      HIE_LOG_ERROR("store: a write completion callback threw; ignored");
    }
  }

  // After each commit, on the writer thread: `frames` are in the WAL now.
  static int WalHook(void* self_ptr, sqlite3*, const char*, int frames) {
    auto* self = static_cast<SqliteStore*>(self_ptr);
    self->wal_frames_ = frames;
    if (frames >= self->wal_limits_.pass) self->checkpointer_.Poke();
    return SQLITE_OK;
  }

  // Between transactions, on the writer: restarts a long WAL (see
  // checkpointer.h) right after the checkpointer caught up, when little is
  // left to copy, or, if it never catches up, once the WAL is far too long.
  void MaybeCheckpointHere() {
    if (txn_open_ || wal_frames_ < wal_limits_.restart) return;
    const int at = checkpointer_.TakeCaughtUp();
    const bool fresh = at > 0 && wal_frames_ - at <= wal_limits_.fresh_tail;
    if (!fresh && wal_frames_ < next_forced_frames_) return;
    if (sqlite::RestartWal(*writer_conn_, kRestartWaitMs) == SQLITE_OK) {
      wal_frames_ = 0;
      next_forced_frames_ = wal_limits_.forced;
      if (wal_restarts_ != nullptr) wal_restarts_->Inc();
      // Every record is committed (no transaction is open) and the restart
      // synced the WAL and the database: the redo log can start over
      // without the WAL sync of CommitOpen, which stalled the writer for
      // 40-100 ms under load.
      if (redo_ && redo_->size() > 0) {
        if (Status s = redo_->Truncate(); !s.ok()) {
          HIE_LOG_WARN("store: redo log not emptied: {}", s.ToString());
        }
      }
    } else {
      // A long read or another writer: try again a while later.
      next_forced_frames_ = wal_frames_ + wal_limits_.pass;
    }
  }

  // Marks the store unusable: the open transaction (if any) is gone from
  // SQLite but its batches are in the redo log, replayed at the next start.
  void Break(const Status& st) {
    HIE_LOG_ERROR("store: {}; further writes are refused until restart", st.ToString());
    if (sqlite3_get_autocommit(writer_conn_->db()) == 0) {
      (void)writer_conn_->Exec("ROLLBACK", "ROLLBACK");
    }
    txn_open_ = false;
    uncommitted_ = 0;
    broken_ = Status(ErrorCode::kStoreError,
                     "存储故障，需重启恢复 (store failed; restart to recover): " + st.message(),
                     st.where());
    Publish();
  }

  void Publish() {
    std::lock_guard lock(mu_);
    visible_seq_ = issued_seq_;
    visible_cv_.notify_all();
  }

  void CommitOpen() {
    Status st = Exec(*writer_conn_, kCommit, "COMMIT");
    if (!st.ok()) return Break(st);
    txn_open_ = false;
    uncommitted_ = 0;
    Publish();
    if (redo_->size() >= kRedoMaxBytes) {
      // Every record is in the database now; once the WAL is on disk the log
      // can start over.
      Status s = sqlite::SyncFile(opts_.path + "-wal");
      if (s.ok()) s = redo_->Truncate();
      if (!s.ok()) HIE_LOG_WARN("store: redo log not emptied: {}", s.ToString());
    }
  }

  // Runs the batch; fills `results` (one per item). Without a redo log the
  // batch is its own transaction; with one it joins the open transaction and
  // its operations go to the log.
  //
  // Fast path: every fn in one go, under one savepoint for the whole batch
  // (durable mode) or none (the batch is the transaction). SQLite copies each
  // page to the sub-journal the first time a savepoint changes it, so a
  // savepoint per fn cost a copy of every page each message touched. If a fn
  // fails, the batch is rolled back and run again with a savepoint per fn, so
  // only that fn's writes are undone. Fns may therefore run twice (as on
  // PostgreSQL, which retries batches): they must start over each time.
  void RunBatch(std::vector<Item>& batch, std::vector<Status>& results) {
    Conn& c = *writer_conn_;
    results.assign(batch.size(), Status::Ok());
    Status st = BeginIfClosed();
    if (!st.ok()) return FailAll(results, st);
    SqliteTxn base(c);
    sqlite::RecordingTxn recording(base);
    std::string ops;
    st = ExecFns(batch, results, base, redo_ ? &recording : nullptr, &ops);
    if (!st.ok()) return Abort(st, results);
    if (!redo_) {
      st = Exec(c, kCommit, "COMMIT");
      txn_open_ = false;
      if (!st.ok()) return Abort(st, results);
      return;
    }
    uncommitted_ += batch.size();
    const uint64_t seq = seq_ + 1;
    st = SetRedoSeq(c, seq);
    if (st.ok()) st = redo_->Append(seq, ops);
    if (!st.ok()) return Abort(st, results);
    seq_ = seq;
  }

  Status BeginIfClosed() {
    if (txn_open_) return Status::Ok();
    HIE_RETURN_IF_ERROR(Exec(*writer_conn_, kBegin, "BEGIN"));
    txn_open_ = true;
    open_since_ = std::chrono::steady_clock::now();
    return Status::Ok();
  }

  // Runs the batch's fns in the open transaction (without a redo log: the
  // batch's own); results[i] gets fn i's outcome and, with `recording`,
  // `ops` the operations of those that succeeded. Non-OK: the transaction
  // itself failed.
  //
  // Fast path: every fn in one go, under one savepoint for the whole batch
  // (durable mode) or none (the batch is the transaction). SQLite copies each
  // page to the sub-journal the first time a savepoint changes it, so a
  // savepoint per fn cost a copy of every page each message touched. If a fn
  // fails, the batch is rolled back and run again with a savepoint per fn, so
  // only that fn's writes are undone. Fns may therefore run twice (as on
  // PostgreSQL, which retries batches): they must start over each time.
  Status ExecFns(std::vector<Item>& batch, std::vector<Status>& results, SqliteTxn& base,
                 sqlite::RecordingTxn* recording, std::string* ops) {
    Conn& c = *writer_conn_;
    WriteTxn& txn = recording ? static_cast<WriteTxn&>(*recording) : base;
    const bool savepoints = redo_.has_value();
    if (savepoints) HIE_RETURN_IF_ERROR(Exec(c, kSavepoint, "SAVEPOINT"));
    size_t failed = batch.size();
    Status fs;
    for (size_t i = 0; i < batch.size(); ++i) {
      fs = RunFn(batch[i], txn);
      if (sqlite3_get_autocommit(c.db()) != 0) return Lost(fs);
      if (!fs.ok()) {
        failed = i;
        break;
      }
    }
    if (failed == batch.size()) {
      if (recording) *ops = recording->Take();
      if (savepoints) HIE_RETURN_IF_ERROR(Exec(c, kRelease, "RELEASE"));
      return Status::Ok();
    }
    if (recording) recording->Discard();
    base.ForgetTraceNumbers();
    if (savepoints) {
      HIE_RETURN_IF_ERROR(Exec(c, kRollbackTo, "ROLLBACK TO"));
      HIE_RETURN_IF_ERROR(Exec(c, kRelease, "RELEASE"));
    } else {
      HIE_RETURN_IF_ERROR(Exec(c, kRollback, "ROLLBACK"));
      HIE_RETURN_IF_ERROR(Exec(c, kBegin, "BEGIN"));
    }
    if (batch.size() == 1) {  // nothing else to keep: that was its own try
      results[0] = std::move(fs);
      return Status::Ok();
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      HIE_RETURN_IF_ERROR(Exec(c, kSavepoint, "SAVEPOINT"));
      fs = RunFn(batch[i], txn);
      if (sqlite3_get_autocommit(c.db()) != 0) return Lost(fs);
      if (!fs.ok()) {
        if (recording) recording->Discard();
        base.ForgetTraceNumbers();
        HIE_RETURN_IF_ERROR(Exec(c, kRollbackTo, "ROLLBACK TO"));
        results[i] = std::move(fs);
      } else if (recording) {
        *ops += recording->Take();
      }
      HIE_RETURN_IF_ERROR(Exec(c, kRelease, "RELEASE"));
    }
    return Status::Ok();
  }

  // A batch whose every write carries an intent (durability full): its
  // record (the intents) goes to the syncer first, then the fns run while it
  // syncs, and each answer waits for both. If fns fail, a second record
  // cancels their intents (a replay skips them) and the answers wait for its
  // sync too. Completes the batch (the caller does not).
  void RunIntentBatch(std::vector<Item>& batch, std::vector<Status>& results, int64_t start) {
    auto joint = std::make_shared<Joint>();
    joint->pending.reserve(batch.size() + 1);
    for (Item& item : batch) joint->pending.push_back({std::move(item.done), Status::Ok()});
    if (commit_hist_ != nullptr) {
      joint->pending.push_back(
          {[this, start](const Status&) { ObserveCommit(start); }, Status::Ok()});
    }
    results.assign(batch.size(), Status::Ok());
    Status st = BeginIfClosed();
    std::string ops;
    for (const Item& item : batch) sqlite::AppendIntentOp(ops, item.intent.kind, item.intent.bytes);
    const uint64_t seq = seq_ + 1;
    if (st.ok()) st = redo_->Append(seq, ops);
    if (!st.ok()) {  // nothing logged, nothing run
      Abort(st, results);
      for (size_t i = 0; i < batch.size(); ++i) joint->pending[i].result = results[i];
      joint->synced = st;
      joint->left.store(1);
      return Joint::Arrive(joint);
    }
    seq_ = seq;
    syncer_->After({{[joint](const Status& synced) {
                       joint->synced = synced;
                       Joint::Arrive(joint);
                     },
                     Status::Ok()}});
    SqliteTxn base(*writer_conn_);
    st = ExecFns(batch, results, base, nullptr, nullptr);
    if (st.ok()) st = SetRedoSeq(*writer_conn_, seq);
    std::vector<int64_t> cancel;
    if (!st.ok()) {
      Abort(st, results);
      cancel.push_back(-1);
    } else {
      uncommitted_ += batch.size();
      for (size_t i = 0; i < results.size(); ++i) {
        if (!results[i].ok()) cancel.push_back(static_cast<int64_t>(i));
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) joint->pending[i].result = results[i];
    batch.clear();
    if (cancel.empty()) return Joint::Arrive(joint);
    // Their answers say "not done": make the cancel durable before they go.
    std::string cancel_ops;
    sqlite::AppendCancelOp(cancel_ops, seq, cancel);
    Status cs = redo_->Append(seq_ + 1, cancel_ops);
    if (cs.ok()) {
      ++seq_;
      if (broken_.ok()) cs = SetRedoSeq(*writer_conn_, seq_);
      if (!cs.ok()) Break(cs);
    } else {
      HIE_LOG_ERROR(
          "store: cancel record not written ({}); a restart may redo writes answered "
          "as failed (their senders resend and get the first answer)",
          cs.ToString());
    }
    syncer_->After({{[joint](const Status&) { Joint::Arrive(joint); }, Status::Ok()}});
  }

  // The two halves an intent batch waits for: its sync and its execution.
  struct Joint {
    std::vector<sqlite::FileSyncer::Pending> pending;
    Status synced;
    std::atomic<int> left{2};
    static void Arrive(const std::shared_ptr<Joint>& j) {
      if (j->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
      PostHold hold;  // the batch's ACKs go to the event loop in one post
      for (auto& p : j->pending) Complete(p.done, p.result.ok() ? j->synced : p.result);
    }
  };

  static void FailAll(std::vector<Status>& results, const Status& st) {
    Status err(ErrorCode::kStoreError, "写入事务失败 (write transaction failed): " + st.message(),
               st.where());
    for (Status& r : results) r = err;
  }

  static Status RunFn(Item& item, WriteTxn& txn) {
    try {
      return item.fn ? item.fn(txn) : Status::Ok();
    } catch (const std::exception& e) {
      return Status(ErrorCode::kInternal,
                    std::string("写入回调抛出异常 (write fn threw): ") + e.what(), "Store::Write");
    } catch (...) {
      return Status(ErrorCode::kInternal, "写入回调抛出异常 (write fn threw)", "Store::Write");
    }
  }

  // SQLite rolled the whole transaction back (I/O error, disk full).
  static Status Lost(const Status& fs) {
    return Status(ErrorCode::kStoreError,
                  "事务被数据库回滚 (transaction rolled back by the database)",
                  fs.ok() ? "Store::Write" : fs.ToString());
  }

  static Status SetRedoSeq(Conn& c, uint64_t seq) {
    HIE_ASSIGN_OR_RETURN(auto s, c.Static("UPDATE redo_state SET seq=?1 WHERE id=1", "redo_state"));
    s.Int(1, static_cast<int64_t>(seq));
    return s.Run();
  }

  void Abort(const Status& st, std::vector<Status>& results) {
    FailAll(results, st);
    if (redo_) {
      Break(st);  // earlier batches of the open transaction went with it
    } else {
      if (sqlite3_get_autocommit(writer_conn_->db()) == 0) {
        (void)writer_conn_->Exec("ROLLBACK", "ROLLBACK");
      }
      txn_open_ = false;
      HIE_LOG_ERROR("store: group commit failed: {}", st.ToString());
    }
  }

  static Status Exec(Conn& c, const char* sql, const char* where) {
    HIE_ASSIGN_OR_RETURN(auto s, c.Static(sql, where));
    return s.Run();
  }

  // Retention: messages per step, and the pause between steps.
  static constexpr int kRetentionStep = 200;
  static constexpr std::chrono::milliseconds kRetentionPause{10};
  // How long a restart waits for another writer or an old reader: the
  // writer's batches (and their ACKs) wait meanwhile.
  static constexpr int kRestartWaitMs = 5;
  // Durable mode: how many writes the open transaction gathers at most, and
  // the log size that starts it over (the time limit is in opts_).
  static constexpr size_t kMaxUncommitted = 8192;
  // The redo log starts over at each WAL restart (MaybeCheckpointHere);
  // this is the fallback when restarts do not come. A start after a crash
  // replays what the log holds.
  static constexpr uint64_t kRedoMaxBytes = 128ull << 20;
  static constexpr char kBegin[] = "BEGIN IMMEDIATE";
  static constexpr char kSavepoint[] = "SAVEPOINT w";
  static constexpr char kRollbackTo[] = "ROLLBACK TO w";
  static constexpr char kRelease[] = "RELEASE w";
  static constexpr char kCommit[] = "COMMIT";
  static constexpr char kRollback[] = "ROLLBACK";

  StoreOptions opts_;
  Env& env_;
  std::unique_ptr<Conn> writer_conn_;
  ReaderPool readers_;
  const sqlite::WalLimits wal_limits_;
  sqlite::Checkpointer checkpointer_;
  std::optional<sqlite::RedoLog> redo_;
  std::unique_ptr<sqlite::FileSyncer> syncer_;  // durability full only
  // Writer thread only:
  uint64_t seq_ = 0;  // last redo record written
  const std::chrono::milliseconds commit_interval_;
  bool txn_open_ = false;
  std::chrono::steady_clock::time_point open_since_;
  size_t uncommitted_ = 0;
  int wal_frames_ = 0;  // writer thread only (WalHook runs on it)
  int next_forced_frames_ = wal_limits_.forced;
  Status broken_;
  Histogram* batch_hist_ = nullptr;
  Histogram* commit_hist_ = nullptr;
  Counter* commits_ = nullptr;
  Counter* wal_restarts_ = nullptr;

  std::mutex mu_;                       // guards what follows
  std::condition_variable cv_;          // writer: work, close or a reader waits
  std::condition_variable visible_cv_;  // readers: visible_seq_ moved
  std::deque<Item> queue_;
  std::deque<Maint> maint_;  // maintenance steps for the writer (retention)
  bool closing_ = false;
  bool fresh_requested_ = false;
  bool restart_ready_ = false;
  bool writer_done_ = false;
  uint64_t issued_seq_ = 0;   // batches run
  uint64_t visible_seq_ = 0;  // batches committed to SQLite
  std::mutex close_mu_;
  std::thread writer_;
};

// Replays the redo records the database does not have yet (a crash or power
// loss after their batches were ACKed), commits them durably and empties the
// log. Returns the last sequence number.
Result<uint64_t> RecoverRedo(Conn& c, const std::string& db_path, const std::string& redo_path,
                             const std::map<uint8_t, IntentReplayer>& replayers) {
  HIE_ASSIGN_OR_RETURN(auto q, c.Dynamic("SELECT seq FROM redo_state WHERE id=1", "redo_state"));
  HIE_ASSIGN_OR_RETURN(bool row, q.Step());
  uint64_t seq = row ? static_cast<uint64_t>(q.ColInt(0)) : 0;
  HIE_ASSIGN_OR_RETURN(auto records, sqlite::RedoLog::ReadAll(redo_path));
  std::set<std::pair<uint64_t, int64_t>> cancelled;
  for (const auto& r : records) sqlite::CollectCancels(r.payload, &cancelled);
  size_t replayed = 0;
  HIE_RETURN_IF_ERROR(c.Exec("BEGIN IMMEDIATE", "redo replay"));
  SqliteTxn txn(c);
  Status st;
  for (const auto& r : records) {
    if (r.seq <= seq) continue;
    if (r.seq != seq + 1) {
      st = Status(ErrorCode::kStoreError,
                  "写入日志序号不连续 (redo log sequence gap): " + std::to_string(seq) + " → " +
                      std::to_string(r.seq),
                  redo_path);
      break;
    }
    sqlite::ReplayContext ctx{&replayers, r.seq, &cancelled};
    st = sqlite::ReplayOps(r.payload, txn, &ctx);
    if (!st.ok()) break;
    seq = r.seq;
    ++replayed;
  }
  if (st.ok()) {
    HIE_ASSIGN_OR_RETURN(auto u, c.Static("UPDATE redo_state SET seq=?1 WHERE id=1", "redo_state"));
    u.Int(1, static_cast<int64_t>(seq));
    st = u.Run();
  }
  if (st.ok()) st = c.Exec("COMMIT", "redo replay");
  if (!st.ok()) {
    (void)c.Exec("ROLLBACK", "redo replay");
    return Status(st.code(), "写入日志重放失败 (redo replay failed): " + st.message(), st.where());
  }
  if (replayed > 0) {
    HIE_LOG_INFO("store: 重放写入日志 (replayed redo log): {} batches, up to seq {}", replayed,
                 seq);
  }
  HIE_RETURN_IF_ERROR(sqlite::SyncFile(db_path + "-wal"));
  return seq;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) {
  if (options.path.empty()) {
    return Status(ErrorCode::kConfigError, "未配置数据库路径 (store path missing)", "store.path");
  }
  if (sqlite3_threadsafe() == 0) {
    return Status(ErrorCode::kInternal, "SQLite 未启用线程支持 (SQLite built without threads)");
  }
  sqlite::ConnOptions o;
  // Durability comes from the redo log; SQLite's own commits need not sync.
  o.durable_full = false;
  o.cache_kib = 64 * 1024;
  o.auto_checkpoint = false;
  HIE_ASSIGN_OR_RETURN(auto writer, Conn::Open(options.path, o));
  HIE_RETURN_IF_ERROR(sqlite::ApplyMigrations(*writer, sqlite::SqliteMigrations()));
  // Replay whatever a durable run left, whatever the mode now.
  const std::string redo_path = options.path + "-redo";
  HIE_ASSIGN_OR_RETURN(uint64_t seq,
                       RecoverRedo(*writer, options.path, redo_path, options.replayers));
  // Both modes keep the redo log: `full` syncs a batch's record before its
  // answers, `os` answers once the record is written (in the page cache, so
  // it survives a crash of the process, not a power loss). Either way the
  // SQLite transaction spans batches: committing every batch on its own
  // wrote each changed page to the WAL per batch and made `os` slower than
  // `full`.
  std::optional<sqlite::RedoLog> redo;
  {
    HIE_ASSIGN_OR_RETURN(auto log, sqlite::RedoLog::Open(redo_path));
    HIE_RETURN_IF_ERROR(log.Truncate());
    redo.emplace(std::move(log));
  }
  o.cache_kib = 2 * 1024;
  HIE_ASSIGN_OR_RETURN(auto checkpoint_conn, Conn::Open(options.path, o));
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(
      options, std::move(writer), std::move(checkpoint_conn), std::move(redo), seq));
}

}  // namespace hie
