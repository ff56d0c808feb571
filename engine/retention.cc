#include "engine/retention.h"

#include <chrono>
#include <string>

#include "core/log.h"
#include "core/thread.h"

namespace hie {

namespace {
constexpr int64_t kDayMs = 24LL * 3600 * 1000;
}  // namespace

RetentionRunner::RetentionRunner(const RetentionConfig& config, Store& store, Env& env,
                                 MetricsRegistry& m)
    : config_(config),
      store_(store),
      env_(env),
      runs_(m.GetCounter("hie_retention_runs_total", "Retention runs finished")),
      failures_(m.GetCounter("hie_retention_failures_total", "Retention runs that failed")),
      messages_(m.GetCounter(
          "hie_retention_rows_deleted_total",
          "Rows removed by retention (what: messages, bodies blanked, rejected, dedupe_keys)",
          "what=\"messages\"")),
      bodies_(m.GetCounter(
          "hie_retention_rows_deleted_total",
          "Rows removed by retention (what: messages, bodies blanked, rejected, dedupe_keys)",
          "what=\"bodies\"")),
      rejected_(m.GetCounter(
          "hie_retention_rows_deleted_total",
          "Rows removed by retention (what: messages, bodies blanked, rejected, dedupe_keys)",
          "what=\"rejected\"")),
      partitions_(m.GetCounter("hie_retention_partitions_dropped_total",
                               "Monthly partitions dropped by retention (PostgreSQL store)")),
      keys_(m.GetCounter(
          "hie_retention_rows_deleted_total",
          "Rows removed by retention (what: messages, bodies blanked, rejected, dedupe_keys)",
          "what=\"dedupe_keys\"")),
      held_back_(m.GetGauge("hie_retention_held_back",
                            "QUEUED deliveries whose message is past a retention cutoff (kept)")),
      last_run_(m.GetGauge("hie_retention_last_run_timestamp_seconds",
                           "When retention last finished (epoch seconds)")) {}

RetentionRunner::~RetentionRunner() { Stop(); }

RetentionCutoffs RetentionRunner::CutoffsAt(const RetentionConfig& c, int64_t now_ms) {
  RetentionCutoffs cut;
  if (c.content_days > 0) cut.content_before_ms = now_ms - c.content_days * kDayMs;
  if (c.metadata_days > 0) cut.metadata_before_ms = now_ms - c.metadata_days * kDayMs;
  return cut;
}

void RetentionRunner::Start() {
  if (!config_.enabled() || thread_.joinable()) return;
  thread_ = std::thread([this] {
    NameThisThread("hie-retention");
    LowerThisThreadPriority(10);  // after the ACK: intake first
    Loop();
  });
}

void RetentionRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void RetentionRunner::Loop() {
  for (;;) {
    RunOnce();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(config_.check_interval_ms),
                 [&] { return stop_.load(); });
    if (stop_) return;
  }
}

void RetentionRunner::RunOnce() {
  const int64_t start = env_.NowMillis();
  const RetentionCutoffs cut = CutoffsAt(config_, start);
  auto r = store_.ApplyRetention(cut, &stop_);
  if (!r.ok()) {
    failures_.Inc();
    HIE_LOG_WARN("保留期清理失败 (retention failed): {}", r.status().ToString());
    return;
  }
  runs_.Inc();
  messages_.Inc(r->messages_removed);
  bodies_.Inc(r->bodies_removed);
  rejected_.Inc(r->rejected_removed);
  partitions_.Inc(r->partitions_dropped);
  keys_.Inc(r->keys_removed);
  held_back_.Set(r->held_back);
  last_run_.Set(env_.NowMillis() / 1000);
  const bool did = r->messages_removed + r->bodies_removed + r->rejected_removed +
                       r->partitions_dropped + r->keys_removed >
                   0;
  if (did || r->held_back > 0 || r->interrupted) {
    std::string parts;
    for (const auto& p : r->partitions) parts += (parts.empty() ? "" : ",") + p;
    HIE_LOG_INFO(
        "保留期清理 (retention): 原文 {} 天 / 元数据 {} 天 (content {}d / metadata {}d): "
        "删除消息 (messages deleted) {}, 清空原文 (bodies blanked) {}, 删除拒收 (rejected "
        "deleted) {}, 删除分区 (partitions dropped) {} [{}], 去重键 (dedupe keys) {}, "
        "因排队投递保留 (held back for QUEUED deliveries) {}, 用时 (took) {} ms{}",
        config_.content_days, config_.metadata_days, config_.content_days, config_.metadata_days,
        r->messages_removed, r->bodies_removed, r->rejected_removed, r->partitions_dropped, parts,
        r->keys_removed, r->held_back, env_.NowMillis() - start,
        r->interrupted ? "，已中断 (interrupted)" : "");
  }
}

}  // namespace hie
