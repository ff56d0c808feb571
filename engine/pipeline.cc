#include "engine/pipeline.h"

#include "core/log.h"
#include "core/thread.h"
#include "engine/document_input.h"

namespace hie {

Pipeline::Pipeline(const Config& config, Store& store, Env& env, MetricsRegistry& metrics,
                   std::function<void(const std::string&)> on_queued)
    : config_(config), store_(store), env_(env), router_(config), on_queued_(std::move(on_queued)) {
  filtered_ = &metrics.GetCounter("hie_messages_filtered_total", "Messages no route matched");
  routed_ = &metrics.GetCounter("hie_messages_routed_total", "Messages queued for delivery");
  errors_ = &metrics.GetCounter("hie_pipeline_errors_total", "Pipeline steps that failed");
}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Start() {
  std::lock_guard lock(mu_);
  if (!workers_.empty()) return;
  stopping_ = false;
  int n = std::max(1, config_.pipeline_workers);
  for (int i = 0; i < n; ++i)
    workers_.emplace_back([this] {
      NameThisThread("hie-pipeline");
      WorkerLoop();
    });
  scanner_ = std::thread([this] {
    NameThisThread("hie-scanner");
    ScannerLoop();
  });
}

void Pipeline::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  scan_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (scanner_.joinable()) scanner_.join();
}

size_t Pipeline::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Pipeline::Enqueue(WorkItem item) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;  // stays RECEIVED; the next start recovers it
    if (queued_ids_.count(item.message_id)) return;
    if (queue_.size() >= capacity_) {
      scan_needed_ = true;
      scan_cv_.notify_one();
      return;
    }
    queued_ids_.insert(item.message_id);
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void Pipeline::EnqueueById(int64_t message_id) {
  auto m = store_.GetMessage(message_id);
  if (!m.ok()) return;
  Enqueue(
      WorkItem{m->id, m->facility_id, m->message_type, m->patient_key, DocumentTypeOfRecord(*m)});
}

void Pipeline::ScannerLoop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      scan_cv_.wait(lock, [this] { return stopping_ || scan_needed_; });
      if (stopping_) return;
      scan_needed_ = false;
    }
    int64_t after = 0;
    while (true) {
      auto ids = store_.MessageIdsWithStatus(MessageStatus::kReceived, after, 500);
      if (!ids.ok()) {
        HIE_LOG_ERROR("恢复扫描失败 (recovery scan failed): {}", ids.status().ToString());
        break;
      }
      if (ids->empty()) break;
      for (int64_t id : *ids) {
        after = id;
        // Wait for room rather than overflow: the scanner is the slow path.
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || queue_.size() < capacity_ / 2; });
        if (stopping_) return;
        if (queued_ids_.count(id)) continue;
        lock.unlock();
        auto m = store_.GetMessage(id);
        if (!m.ok() || m->status != MessageStatus::kReceived) continue;
        lock.lock();
        if (queued_ids_.insert(id).second) {
          queue_.push_back(WorkItem{m->id, m->facility_id, m->message_type, m->patient_key,
                                    DocumentTypeOfRecord(*m)});
          cv_.notify_one();
        }
      }
    }
  }
}

void Pipeline::WorkerLoop() {
  while (true) {
    WorkItem item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    cv_.notify_all();  // room for the scanner
    Process(item);
  }
}

void Pipeline::Process(const WorkItem& item) {
  const FacilityConfig* fac = config_.FindFacility(item.facility_id);
  RouteInput in;
  in.message_type = item.message_type;
  in.facility_id = item.facility_id;
  in.facility_kind = fac ? fac->kind : FacilityKind::kVillage;
  in.document_type = item.document_type;
  RouteDecision d = router_.Route(in);
  const int64_t now = env_.NowMillis();

  auto fn = [item, d, now](WriteTxn& txn) -> Status {
    HIE_ASSIGN_OR_RETURN(MessageRecord m, txn.GetMessage(item.message_id));
    if (m.status != MessageStatus::kReceived) return Status::Ok();  // done already
    TraceEvent ev;
    ev.at_ms = now;
    ev.step = "routed";
    if (d.destination_ids.empty()) {
      ev.outcome = "filtered";
      ev.detail = "没有匹配的路由 (no route matched) for " + item.message_type;
      HIE_RETURN_IF_ERROR(txn.AppendTrace(m.id, ev));
      return txn.UpdateStatus(m.id, MessageStatus::kFiltered, now, Status::Ok());
    }
    std::string routes, dests;
    for (const auto& r : d.route_ids) routes += (routes.empty() ? "" : ", ") + r;
    for (const auto& id : d.destination_ids) {
      dests += (dests.empty() ? "" : ", ") + id;
      HIE_RETURN_IF_ERROR(txn.InsertDelivery(m.id, id, item.patient_key, now).status());
    }
    ev.outcome = "ok";
    ev.detail = "路由 (routes) [" + routes + "] → 目的地 (destinations) [" + dests + "]";
    HIE_RETURN_IF_ERROR(txn.AppendTrace(m.id, ev));
    TraceEvent q{now, "queued", "ok", "已进入发送队列 (queued for delivery)"};
    HIE_RETURN_IF_ERROR(txn.AppendTrace(m.id, q));
    return txn.UpdateStatus(m.id, MessageStatus::kQueued, now, Status::Ok());
  };
  // Asynchronous: workers do not wait for the fsync, so routing batches into
  // the same group commits as intake.
  store_.Write(std::move(fn), [this, item, d](const Status& st) {
    {
      std::lock_guard lock(mu_);
      queued_ids_.erase(item.message_id);
      if (!st.ok()) scan_needed_ = true;  // left RECEIVED: a later scan retries it
    }
    if (!st.ok()) {
      errors_->Inc();
      HIE_LOG_ERROR("路由失败 (routing failed) message {}: {}", item.message_id, st.ToString());
      return;
    }
    if (d.destination_ids.empty()) {
      filtered_->Inc();
    } else {
      routed_->Inc();
      for (const auto& id : d.destination_ids) on_queued_(id);
    }
  });
}

}  // namespace hie
