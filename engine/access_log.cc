#include "engine/access_log.h"

#include <future>
#include <memory>

#include "core/log.h"
#include "core/thread.h"

namespace hie {

AccessLog::AccessLog(RecordStore& store, Env& env, MetricsRegistry& metrics)
    : store_(store),
      env_(env),
      written_(&metrics.GetCounter("hie_access_events_total",
                                   "Reads of a person's data written to the access log")),
      failed_(&metrics.GetCounter("hie_access_failures_total",
                                  "Reads refused because their access event could not be written")),
      batch_(&metrics.GetHistogram("hie_access_batch_size", "Access events per commit",
                                   {1, 2, 4, 8, 16, 32, 64, 128, 256, 512})),
      seconds_(&metrics.GetHistogram("hie_access_commit_seconds",
                                     "Time to append one batch of access events",
                                     {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5})) {}

AccessLog::~AccessLog() { Stop(); }

void AccessLog::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  writer_ = std::thread([this] {
    NameThisThread("hie-access-log");
    Loop();
  });
}

void AccessLog::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard lock(mu_);
  started_ = false;
}

void AccessLog::Record(AccessEventRow ev, std::function<void(Status)> done) {
  ev.at_ms = env_.NowMillis();
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) {
      refused =
          Status(ErrorCode::kUnavailable,
                 "访问日志未运行，不能提供数据 (access log not running; the read is refused)");
    } else if (queue_.size() >= kMaxQueued) {
      refused = Status(ErrorCode::kUnavailable,
                       "访问日志积压，请稍后重试 (access log backlog; retry later)");
    } else {
      queue_.push_back({std::move(ev), std::move(done)});
    }
  }
  if (!refused.ok()) {
    failed_->Inc();
    done(refused);
    return;
  }
  cv_.notify_one();
}

void AccessLog::RecordAll(std::vector<AccessEventRow> evs, std::function<void(Status)> done) {
  if (evs.empty()) {
    done(Status::Ok());
    return;
  }
  struct Join {
    std::mutex mu;
    size_t left;
    Status first;
    std::function<void(Status)> done;
  };
  auto join = std::make_shared<Join>();
  join->left = evs.size();
  join->done = std::move(done);
  for (auto& ev : evs) {
    Record(std::move(ev), [join](Status st) {
      std::function<void(Status)> fire;
      Status out;
      {
        std::lock_guard lock(join->mu);
        if (!st.ok() && join->first.ok()) join->first = st;
        if (--join->left == 0) {
          fire = std::move(join->done);
          out = join->first;
        }
      }
      if (fire) fire(out);
    });
  }
}

Status AccessLog::RecordSync(AccessEventRow ev) {
  auto p = std::make_shared<std::promise<Status>>();
  auto f = p->get_future();
  Record(std::move(ev), [p](Status st) { p->set_value(std::move(st)); });
  return f.get();
}

void AccessLog::Loop() {
  std::vector<Pending> batch;
  std::vector<AccessEventRow> rows;
  for (;;) {
    batch.clear();
    rows.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    rows.reserve(batch.size());
    for (const auto& p : batch) rows.push_back(p.ev);
    const int64_t t0 = env_.MonoNanos();
    Status st = store_.AppendAccess(rows);
    seconds_->Observe(static_cast<double>(env_.MonoNanos() - t0) / 1e9);
    batch_->Observe(static_cast<double>(batch.size()));
    if (st.ok()) {
      written_->Inc(static_cast<int64_t>(batch.size()));
    } else {
      failed_->Inc(static_cast<int64_t>(batch.size()));
      HIE_LOG_ERROR(
          "访问日志写入失败，{} 次读取被拒绝 (access log append failed; reads refused): {}",
          batch.size(), st.ToString());
      st = Status(ErrorCode::kUnavailable,
                  "访问日志写入失败，不能提供数据 (access event could not be written; the read is "
                  "refused): " +
                      st.message());
    }
    for (auto& p : batch) p.done(st);
  }
}

}  // namespace hie
