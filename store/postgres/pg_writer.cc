#include "store/postgres/pg_writer.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <set>

#include "core/log.h"
#include "core/posted_batch.h"
#include "core/thread.h"
#include "store/postgres/pg_ops.h"

namespace hie::pg {
namespace {

constexpr int kBatchAttempts = 5;
constexpr char kSavepoint[] = "SAVEPOINT w";
constexpr char kRollbackTo[] = "ROLLBACK TO SAVEPOINT w";
constexpr char kRelease[] = "RELEASE SAVEPOINT w";

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
    fn_rows_.clear();
  }
  // After a fn that succeeded, without savepoints: its trace rows wait for
  // the one insert before COMMIT (FlushAll).
  void KeepFnRows() {
    rows_.insert(rows_.end(), std::make_move_iterator(fn_rows_.begin()),
                 std::make_move_iterator(fn_rows_.end()));
    fn_rows_.clear();
  }
  // With savepoints: the fn's trace rows now, inside its savepoint, so that
  // a failure is the fn's own.
  Status FlushFnRows() {
    Status st = Op("AppendTrace", [&] {
      pg::InsertTraces(t_, fn_rows_);
      return Status::Ok();
    });
    fn_rows_.clear();
    return st;
  }
  Status FlushAll() {
    Status st = Op("AppendTrace", [&] {
      pg::InsertTraces(t_, rows_);
      return Status::Ok();
    });
    rows_.clear();
    return st;
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
    auto r = Op("InsertMessage", [&] { return pg::InsertMessage(t_, m); });
    if (r.ok()) fresh_[*r] = 0;
    return r;
  }
  Status SetResponse(int64_t message_id, const std::string& response) override {
    return Op("SetResponse", [&] { return pg::SetResponse(t_, message_id, response); });
  }
  Result<int64_t> InsertRejected(const RejectedInput& r) override {
    return Op("InsertRejected", [&] { return pg::InsertRejected(t_, r); });
  }
  Result<MessageRecord> GetMessage(int64_t id) override {
    auto r = Op("GetMessage", [&] { return pg::GetMessage(t_, id, /*lock=*/true); });
    if (r.ok() && r->raw.empty() && r->status == MessageStatus::kError) bodiless_.insert(id);
    return r;
  }
  // An ERROR message whose body content retention removed (read above, row
  // locked) is not put back to work: there is nothing to process or send.
  // This is how a reprocess that lost the race with a content drop ends.
  Status UpdateStatus(int64_t id, MessageStatus status, int64_t at_ms,
                      const Status& error) override {
    if ((status == MessageStatus::kReceived || status == MessageStatus::kQueued) &&
        bodiless_.count(id) != 0) {
      return Status(ErrorCode::kConflict,
                    "消息内容已按保留期删除，无法重新处理 (content removed by retention: "
                    "cannot be processed again)",
                    "retention");
    }
    return Op("UpdateStatus", [&] { return pg::UpdateStatus(t_, id, status, at_ms, error); });
  }
  Status UpdateMeta(int64_t id, const std::string& message_type,
                    const std::string& patient_key) override {
    return Op("UpdateMeta", [&] { return pg::UpdateMeta(t_, id, message_type, patient_key); });
  }
  // A message inserted by this transaction is unknown to every other one
  // (its id is handed out after the commit): its trace needs no lock nor a
  // read for the next number, and its rows are sent together later (one
  // statement for the batch instead of one per row).
  Status AppendTrace(int64_t message_id, const TraceEvent& e) override {
    if (!failure_.ok()) return failure_;
    if (auto it = fresh_.find(message_id); it != fresh_.end()) {
      fn_rows_.push_back(pg::TraceRow{message_id, ++it->second, e});
      return Status::Ok();
    }
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
  std::set<int64_t> bodiless_;         // ERROR messages read back without their body
  std::map<int64_t, int> fresh_;       // message ids this transaction inserted -> last seq
  std::vector<pg::TraceRow> fn_rows_;  // the running fn's trace rows, not yet sent
  std::vector<pg::TraceRow> rows_;     // rows of the fns that succeeded, not yet sent
};

}  // namespace

// One writer connection and its committer thread. `conn` and `batch` belong
// to the builder while !busy and to the committer while busy (handed over
// under Writer::mu_).
struct Writer::Slot {
  std::unique_ptr<Conn> conn;
  bool busy = false;
  Batch* batch = nullptr;  // handed to the committer; owned by inflight_
  bool stop = false;
  std::condition_variable cv;  // the committer waits for a batch
  std::thread thread;
};

struct Writer::Batch {
  std::vector<Item> items;
  std::vector<Status> results;
  std::unique_ptr<pqxx::work> work;  // open transaction, built and not yet committed
  int64_t start_ns = 0;
  bool finished = false;  // committed or failed; DoneFns may run
};

Writer::Writer(WriterOptions o, std::unique_ptr<Conn> first)
    : opts_(std::move(o)), env_(opts_.env != nullptr ? *opts_.env : Env::Default()) {
  if (opts_.metrics != nullptr) {
    batch_hist_ =
        &opts_.metrics->GetHistogram("hie_store_commit_batch_size", "WriteFns per group commit",
                                     {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048});
    commit_hist_ = &opts_.metrics->GetHistogram(
        "hie_store_commit_seconds", "Group commit time, BEGIN to durable COMMIT",
        {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
    commits_ = &opts_.metrics->GetCounter("hie_store_commits_total", "Group commits");
    retries_ = &opts_.metrics->GetCounter("hie_store_batch_retries_total",
                                          "Group commits run again after a serialization failure, "
                                          "deadlock or dropped connection");
  }
  const int n = std::max(1, opts_.connections);
  for (int i = 0; i < n; ++i) slots_.push_back(std::make_unique<Slot>());
  slots_[0]->conn = std::move(first);
  for (auto& s : slots_) {
    Slot* p = s.get();
    p->thread = std::thread([this, p] {
      NameThisThread("hie-pg-commit");
      CommitterLoop(p);
    });
  }
  builder_ = std::thread([this] { BuilderLoop(); });
}

Writer::~Writer() { Close(); }

void Writer::Write(Store::WriteFn fn, Store::DoneFn done) {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back(Item{std::move(fn), std::move(done)});
      if (queue_.size() == 1) queue_cv_.notify_one();
      return;
    }
  }
  if (done) done(Status(ErrorCode::kUnavailable, "存储已关闭 (store closed)", "Store::Write"));
}

bool Writer::OnOwnThread() const {
  const auto me = std::this_thread::get_id();
  if (me == builder_.get_id()) return true;
  for (const auto& s : slots_) {
    if (me == s->thread.get_id()) return true;
  }
  return false;
}

void Writer::Close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    queue_cv_.notify_one();
  }
  if (OnOwnThread()) return;  // from a DoneFn: the owner's Close joins
  std::lock_guard close_lock(close_mu_);
  if (joined_) return;
  joined_ = true;
  if (builder_.joinable()) builder_.join();  // everything queued is handed over
  {
    std::lock_guard lock(mu_);
    for (auto& s : slots_) {
      s->stop = true;
      s->cv.notify_one();
    }
  }
  for (auto& s : slots_) {
    if (s->thread.joinable()) s->thread.join();
    s->conn.reset();
  }
}

void Writer::BuilderLoop() {
  for (;;) {
    Slot* slot = nullptr;
    auto batch = std::make_unique<Batch>();
    Batch* b = batch.get();  // owned by inflight_ from here on (Finish pops it)
    {
      std::unique_lock lock(mu_);
      queue_cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, all drained
      // Wait for a connection whose COMMIT is done; the queue grows meanwhile
      // (the next batch is bigger: group commit).
      slot_cv_.wait(lock, [&] {
        for (auto& s : slots_) {
          if (!s->busy) {
            slot = s.get();
            return true;
          }
        }
        return false;
      });
      const size_t n = std::min(queue_.size(), static_cast<size_t>(std::max(1, opts_.max_batch)));
      batch->items.reserve(n);
      for (size_t i = 0; i < n; ++i) batch->items.push_back(std::move(queue_[i]));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      inflight_.push_back(std::move(batch));
    }
    Build(*slot, *b);
    if (!b->work) {
      Finish(b);  // failed before COMMIT: results hold the errors
      continue;
    }
    std::lock_guard lock(mu_);
    slot->busy = true;
    slot->batch = b;
    slot->cv.notify_one();
  }
}

void Writer::CommitterLoop(Slot* s) {
  for (;;) {
    Batch* b = nullptr;
    {
      std::unique_lock lock(mu_);
      s->cv.wait(lock, [&] { return s->batch != nullptr || s->stop; });
      if (s->batch == nullptr) return;  // stop, nothing handed over
      b = s->batch;
    }
    Commit(*s, *b);
    {
      std::lock_guard lock(mu_);
      s->batch = nullptr;
      s->busy = false;
      slot_cv_.notify_one();
    }
    Finish(b);
  }
}

void Writer::Commit(Slot& s, Batch& b) {
  Failure kind = Failure::kStatement;
  Status st;
  try {
    b.work->commit();
  } catch (const std::exception& e) {
    st = pg::StatusFromException(e, "group commit", &kind);
  }
  b.work.reset();
  if (st.ok()) {
    if (batch_hist_ != nullptr) {
      batch_hist_->Observe(static_cast<double>(b.items.size()));
      commit_hist_->Observe(static_cast<double>(env_.MonoNanos() - b.start_ns) / 1e9);
      commits_->Inc();
    }
    return;
  }
  // Never rerun: the outcome may be unknown (the answer was lost), and a
  // later batch may already have seen this one's locks go.
  if (kind != Failure::kStatement || !s.conn->is_open()) s.conn.reset();
  HIE_LOG_ERROR("store: group commit failed: {}", st.ToString());
  ErrorCode code =
      st.code() == ErrorCode::kStoreError ? ErrorCode::kStoreError : ErrorCode::kUnavailable;
  Status err(code, "写入事务失败 (write transaction failed): " + st.message(), st.where());
  b.results.assign(b.items.size(), err);
}

void Writer::Build(Slot& s, Batch& b) {
  b.start_ns = env_.MonoNanos();
  Status st;
  for (int attempt = 0; attempt < kBatchAttempts; ++attempt) {
    if (attempt > 0) {
      if (retries_ != nullptr) retries_->Inc();
      std::this_thread::sleep_for(std::chrono::milliseconds(25 << attempt));
    }
    if (!s.conn || !s.conn->is_open()) {
      s.conn.reset();
      auto c = Conn::Open(opts_.uri, opts_.durable);
      if (!c.ok()) {
        st = c.status();
        HIE_LOG_WARN("store: reconnecting a writer failed: {}", st.ToString());
        continue;
      }
      s.conn = std::move(c).value();
    }
    Failure kind = Failure::kStatement;
    bool need_savepoints = false;
    st = TryBuild(s, b, &kind, /*savepoints=*/false, &need_savepoints);
    if (need_savepoints) {
      kind = Failure::kStatement;
      st = TryBuild(s, b, &kind, /*savepoints=*/true, &need_savepoints);
    }
    if (st.ok()) return;  // b.work is open, ready for COMMIT
    if (kind == Failure::kBroken) s.conn.reset();
    if (kind != Failure::kRetry && kind != Failure::kBroken) break;
    HIE_LOG_WARN("store: group commit will be retried: {}", st.ToString());
  }
  HIE_LOG_ERROR("store: group commit failed: {}", st.ToString());
  ErrorCode code =
      st.code() == ErrorCode::kUnavailable ? ErrorCode::kUnavailable : ErrorCode::kStoreError;
  Status err(code, "写入事务失败 (write transaction failed): " + st.message(), st.where());
  b.results.assign(b.items.size(), err);
}

// One try: BEGIN and each fn (in a savepoint when `savepoints`), leaving the
// transaction open in b.work when every statement ran. Without savepoints
// (the fast path: two round trips fewer per fn) the first failing fn
// abandons the try and sets *need_savepoints; the batch is then run again
// with them.
Status Writer::TryBuild(Slot& s, Batch& b, Failure* kind, bool savepoints, bool* need_savepoints) {
  b.results.assign(b.items.size(), Status::Ok());
  b.work.reset();
  try {
    auto w = std::make_unique<pqxx::work>(s.conn->c());
    PgTxn txn(*w);
    for (size_t i = 0; i < b.items.size(); ++i) {
      if (savepoints) w->exec(kSavepoint);
      txn.NextFn();
      Status fs;
      try {
        fs = b.items[i].fn ? b.items[i].fn(txn) : Status::Ok();
      } catch (const std::exception& e) {
        fs = Status(ErrorCode::kInternal,
                    std::string("写入回调抛出异常 (write fn threw): ") + e.what(), "Store::Write");
      } catch (...) {
        fs = Status(ErrorCode::kInternal, "写入回调抛出异常 (write fn threw)", "Store::Write");
      }
      if (txn.batch_failed()) {
        *kind = txn.kind();
        return txn.failure();  // ~work rolls the whole batch back
      }
      if (fs.ok() && !txn.failure().ok()) fs = txn.failure();  // ignored store error
      if (fs.ok()) {
        if (savepoints) {
          fs = txn.FlushFnRows();
          if (txn.batch_failed()) {
            *kind = txn.kind();
            return txn.failure();
          }
        } else {
          txn.KeepFnRows();
        }
      }
      if (!fs.ok()) {
        if (!savepoints) {
          *need_savepoints = true;
          return fs;  // ~work rolls back
        }
        w->exec(kRollbackTo);
        b.results[i] = std::move(fs);
      }
      if (savepoints) w->exec(kRelease);
    }
    if (!savepoints) {
      Status st = txn.FlushAll();
      if (txn.batch_failed()) {
        *kind = txn.kind();
        return st;
      }
      if (!st.ok()) {
        *need_savepoints = true;  // whose row it was shows with savepoints
        return st;
      }
    }
    b.work = std::move(w);
    return Status::Ok();
  } catch (const std::exception& e) {
    return pg::StatusFromException(e, "group commit", kind);
  }
}

void Writer::Finish(Batch* b) {
  {
    std::lock_guard lock(mu_);
    b->finished = true;
  }
  // Whoever holds report_mu_ drains every finished batch at the head; a
  // thread that finished a later batch meanwhile waits here and drains what
  // the holder left.
  std::lock_guard report(report_mu_);
  for (;;) {
    std::unique_ptr<Batch> head;
    {
      std::lock_guard lock(mu_);
      if (inflight_.empty() || !inflight_.front()->finished) return;
      head = std::move(inflight_.front());
      inflight_.pop_front();
    }
    PostHold hold;  // the batch's ACKs go to the event loop in one post
    for (size_t i = 0; i < head->items.size(); ++i) {
      if (!head->items[i].done) continue;
      try {
        head->items[i].done(head->results[i]);
      } catch (...) {
        HIE_LOG_ERROR("store: a write completion callback threw; ignored");
      }
    }
  }
}

}  // namespace hie::pg
