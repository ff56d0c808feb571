#include "engine/terminology_service.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "core/log.h"
#include "core/thread.h"
#include "engine/canonicalize.h"
#include "mappings/hl7v2/charset.h"

namespace hie {
namespace {

constexpr std::string_view kLoinc = "LOINC";
constexpr std::string_view kHl7Sex = "HL7 0001";
constexpr std::string_view kGbSex = "GB/T 2261.1";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsOruR01(std::string_view message_type) {
  // "ORU^R01" or "ORU^R01^ORU_R01".
  return message_type.substr(0, 7) == "ORU^R01" &&
         (message_type.size() == 7 || message_type[7] == '^');
}

// The code as the sender meant it: escapes are rare in codes, so only then
// does this allocate.
std::string_view Unescaped(const Er7Message& msg, std::string_view raw, std::string& storage) {
  const char esc = msg.delimiters().escape;
  if (esc == '\0' || raw.find(esc) == std::string_view::npos) return raw;
  storage = msg.Unescape(raw);
  return storage;
}

}  // namespace

TerminologyService::TerminologyService(std::string dir, std::vector<std::string> facilities,
                                       Env& env, MetricsRegistry* metrics)
    : dir_(std::move(dir)),
      facilities_(std::move(facilities)),
      env_(env),
      terminology_(TerminologySnapshot::Empty()) {
  if (metrics != nullptr) {
    unmapped_total_ =
        &metrics->GetCounter("hie_terminology_unmapped_total",
                             "Codes that arrived and could not be translated (occurrences)");
    reloads_ok_ = &metrics->GetCounter("hie_terminology_reloads_total",
                                       "Terminology reloads, by outcome", "outcome=\"ok\"");
    reloads_failed_ = &metrics->GetCounter(
        "hie_terminology_reloads_total", "Terminology reloads, by outcome", "outcome=\"rejected\"");
    audited_ = &metrics->GetCounter("hie_terminology_checked_total",
                                    "Committed messages whose codes were checked");
    audit_dropped_ = &metrics->GetCounter(
        "hie_terminology_check_dropped_total",
        "Messages not checked because the check queue was full (over a million waiting)");
    flush_failed_ = &metrics->GetCounter(
        "hie_terminology_unmapped_flush_failed_total",
        "Writes of the unmapped register to the store that failed (retried at the next flush)");
  }
  Resolve();
}

TerminologyService::~TerminologyService() {
  StopAudit();
  StopPersist();
}

void TerminologyService::Resolve() {
  auto r = std::make_shared<Resolved>();
  r->snapshot = terminology_.Current();
  const TerminologySnapshot& s = *r->snapshot;
  r->loinc = s.FindSystem(kLoinc);
  r->hl7_sex = s.FindSystem(kHl7Sex);
  r->gb_sex = s.FindSystem(kGbSex);
  for (const auto& f : facilities_) r->local.emplace(f, s.FindSystem("local:" + f));
  resolved_.store(std::move(r), std::memory_order_release);
}

TerminologyLoadReport TerminologyService::Report(double millis) const {
  auto snap = terminology_.Current();
  TerminologyLoadReport rep;
  rep.stats = snap->stats();
  rep.systems = snap->systems().size();
  rep.concepts = snap->concept_count();
  rep.mappings = snap->mapping_count();
  rep.millis = millis;
  rep.generation = terminology_.generation();
  return rep;
}

Result<TerminologyLoadReport> TerminologyService::Load() {
  if (!configured()) return Report(0);
  std::lock_guard lock(load_mu_);
  const int64_t start = env_.MonoNanos();
  Status st = terminology_.ReloadDir(dir_);
  if (!st.ok()) return st;
  Resolve();
  TerminologyLoadReport rep = Report(static_cast<double>(env_.MonoNanos() - start) / 1e6);
  HIE_LOG_INFO(
      "术语已加载 (terminology loaded) from {}: {} 个文件 (files), {} 个代码系统 (systems), "
      "{} 个概念 (concepts), {} 条映射 (mappings), {} 条待填 (pending), {} 条警告 "
      "(warnings), {:.1f} ms",
      dir_, rep.stats.files, rep.systems, rep.concepts, rep.mappings, rep.stats.pending_rows,
      rep.stats.warnings.size(), rep.millis);
  for (const auto& w : rep.stats.warnings) HIE_LOG_DEBUG("术语警告 (terminology warning): {}", w);
  return rep;
}

Result<TerminologyLoadReport> TerminologyService::Reload() {
  if (!configured()) {
    return Status(
        ErrorCode::kConfigError,
        "未配置术语目录 (terminology.dir not configured)，无法重新加载 (nothing to reload)",
        "terminology.dir");
  }
  std::lock_guard lock(load_mu_);
  const int64_t start = env_.MonoNanos();
  Status st = terminology_.ReloadDir(dir_);
  if (!st.ok()) {
    if (reloads_failed_) reloads_failed_->Inc();
    HIE_LOG_WARN(
        "术语重新加载被拒绝，继续使用原有映射 (terminology reload rejected, keeping the "
        "previous maps): {}: {}",
        st.where(), st.message());
    if (st.code() != ErrorCode::kConfigError) {
      return Status(ErrorCode::kConfigError, st.message(), st.where());
    }
    return st;
  }
  Resolve();
  if (reloads_ok_) reloads_ok_->Inc();
  TerminologyLoadReport rep = Report(static_cast<double>(env_.MonoNanos() - start) / 1e6);
  HIE_LOG_INFO(
      "术语已重新加载 (terminology reloaded) from {}: {} 个代码系统 (systems), {} 个概念 "
      "(concepts), {} 条映射 (mappings), {} 条警告 (warnings), 第 {} 版 (generation), "
      "{:.1f} ms",
      dir_, rep.systems, rep.concepts, rep.mappings, rep.stats.warnings.size(), rep.generation,
      rep.millis);
  return rep;
}

void TerminologyService::CheckMessage(const Er7Message& msg, std::string_view message_type,
                                      std::string_view facility,
                                      std::vector<UnmappedFind>* out) const {
  if (!configured()) return;  // no maps at all: everything would be "unmapped"
  const std::shared_ptr<const Resolved> r = resolved_.load(std::memory_order_acquire);
  const TerminologySnapshot& snap = *r->snapshot;
  const Er7Delimiters& d = msg.delimiters();
  // Intake refuses facilities that are not configured, so every sender is in `local`.
  const auto it = r->local.find(facility);
  const SystemId local = it != r->local.end() ? it->second : kNoSystem;
  std::string storage;

  if (IsOruR01(message_type)) {
    for (size_t i = 0; i < msg.segment_count(); ++i) {
      if (msg.segment_id(i) != "OBX") continue;
      const std::string_view rep = Er7Piece(msg.field(i, 3), d.repetition, 1);
      const std::string_view code = Trim(Unescaped(msg, Er7Piece(rep, d.component, 1), storage));
      if (code.empty()) continue;
      const std::string_view coding = Trim(Er7Piece(rep, d.component, 3));
      // Already a standard code: the sender coded OBX-3 in LOINC itself.
      if (!coding.empty() && r->loinc != kNoSystem && snap.FindSystem(coding) == r->loinc) continue;
      if (snap.Translate(local, code, r->loinc).found) continue;
      out->push_back({"local:" + std::string(facility), std::string(code),
                      msg.Unescape(Er7Piece(rep, d.component, 2)), std::string(kLoinc)});
    }
  }

  if (auto pid = msg.FindSegment("PID")) {
    const std::string_view rep = Er7Piece(msg.field(*pid, 8), d.repetition, 1);
    const std::string_view sex = Trim(Unescaped(msg, Er7Piece(rep, d.component, 1), storage));
    if (!sex.empty() && !snap.Translate(r->hl7_sex, sex, r->gb_sex).found &&
        !snap.Translate(r->gb_sex, sex, r->gb_sex).found &&
        !snap.Translate(local, sex, r->gb_sex).found) {
      out->push_back({std::string(kHl7Sex), std::string(sex), std::string(), std::string(kGbSex)});
    }
  }
}

void TerminologyService::RecordUnmapped(const std::vector<UnmappedFind>& finds,
                                        std::string_view facility, int64_t message_id) {
  if (finds.empty()) return;
  const int64_t now = env_.NowMillis();
  const std::string id = std::to_string(message_id);
  for (const auto& f : finds) {
    terminology_.unmapped().Record(f.system, f.code, f.display, facility, id, now, f.target_system);
  }
  if (unmapped_total_) unmapped_total_->Inc(static_cast<int64_t>(finds.size()));
}

size_t TerminologyService::CheckCommitted(const MessageRecord& m) {
  if (!configured()) return 0;
  std::vector<UnmappedFind> finds;
  auto canonical = Canonicalize(m);
  if (canonical.ok()) {
    const std::shared_ptr<const TerminologySnapshot> snap = terminology_.Current();
    ApplyTerminology(*canonical, *snap, &finds);
  } else if (SourceFormatOf(m.content_type) == SourceFormat::kHl7v2) {
    // A type the canonical model does not map (or content it cannot read):
    // the ER7 check of OBX-3 and PID-8 still sees its codes.
    auto text = DecodeToUtf8(m.raw, m.charset);
    if (text.ok()) {
      auto parsed = Er7Message::Parse(*text);
      if (parsed.ok()) CheckMessage(*parsed, m.message_type, m.facility_id, &finds);
    }
  } else {
    HIE_LOG_DEBUG("术语检查跳过消息 {} (terminology check skipped message): {}", m.id,
                  canonical.status().ToString());
  }
  RecordUnmapped(finds, m.facility_id, m.id);
  if (audited_) audited_->Inc();
  return finds.size();
}

void TerminologyService::StartAudit(Store* store) {
  std::lock_guard lock(audit_mu_);
  if (audit_running_) return;
  audit_store_ = store;
  audit_stopping_ = false;
  audit_running_ = true;
  audit_thread_ = std::thread([this] {
    NameThisThread("hie-term-audit");
    AuditLoop();
  });
}

void TerminologyService::StopAudit() {
  {
    std::lock_guard lock(audit_mu_);
    if (!audit_running_) return;
    audit_stopping_ = true;
  }
  audit_cv_.notify_all();
  audit_thread_.join();
  std::lock_guard lock(audit_mu_);
  audit_running_ = false;
  audit_stopped_ = true;
  audit_idle_cv_.notify_all();
}

void TerminologyService::Audit(AuditItem item) {
  if (!configured()) return;
  {
    std::unique_lock lock(audit_mu_);
    if (audit_running_ && !audit_stopping_) {
      if (audit_queue_.size() >= kAuditMaxItems) {
        if (audit_dropped_) audit_dropped_->Inc();
        return;
      }
      if (item.raw && audit_raw_bytes_ + item.raw->size() > kAuditRawBudget) {
        item.raw.reset();  // the worker reads it back from the store
      }
      if (item.raw) audit_raw_bytes_ += item.raw->size();
      const bool was_empty = audit_queue_.empty();
      audit_queue_.push_back(std::move(item));
      audit_last_enqueue_ = std::chrono::steady_clock::now();
      lock.unlock();
      // Only an empty queue has the worker in its untimed wait: one wake-up
      // per burst, not one per message on the store's writer thread.
      if (was_empty) audit_cv_.notify_one();
      return;
    }
    if (audit_running_ || audit_stopped_) return;  // shutting down
  }
  AuditOne(item);
}

void TerminologyService::WaitAuditIdle() {
  std::unique_lock lock(audit_mu_);
  ++audit_flush_;  // no pacing while someone waits
  audit_cv_.notify_all();
  audit_idle_cv_.wait(
      lock, [this] { return (audit_queue_.empty() && audit_busy_ == 0) || !audit_running_; });
  --audit_flush_;
}

void TerminologyService::AuditLoop() {
  // Below the intake threads: SCHED_IDLE runs only on an otherwise idle CPU,
  // so under load the ACKs keep the CPU and the check catches up when there
  // is time (the queue holds the backlog). Where SCHED_IDLE is refused, nice 10.
  sched_param idle{};
  idle.sched_priority = 0;
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle) != 0) {
    LowerThisThreadPriority(10);
  }
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_done{};
  Clock::time_point drain_deadline{};
  std::unique_lock lock(audit_mu_);
  while (true) {
    audit_cv_.wait(lock, [this] { return audit_stopping_ || !audit_queue_.empty(); });
    // Stopping: what is still queued is checked at full speed for up to
    // kAuditDrainBudget (the register is persisted at StopPersist), the rest
    // is dropped and said so.
    if (audit_stopping_) {
      if (drain_deadline == Clock::time_point{}) drain_deadline = Clock::now() + kAuditDrainBudget;
      if (audit_queue_.empty()) break;
      if (Clock::now() >= drain_deadline) {
        HIE_LOG_WARN(
            "停止时 {} 条消息的术语检查未做 (terminology check of {} queued messages "
            "skipped at shutdown)",
            audit_queue_.size(), audit_queue_.size());
        break;
      }
    }
    // While messages keep arriving (a burst), take one item per kAuditBusyPace
    // only; full speed once intake has been quiet for kAuditQuiet. On two
    // cores even an idle-priority thread costs the intake threads (shared
    // caches and cores), so the check waits for the gaps.
    const Clock::time_point now = Clock::now();
    const auto quiet_for = now - audit_last_enqueue_;
    const auto since_done = now - last_done;
    if (!audit_stopping_ && audit_flush_ == 0 && quiet_for < kAuditQuiet &&
        since_done < kAuditBusyPace) {
      audit_cv_.wait_for(
          lock, std::min<Clock::duration>(kAuditQuiet - quiet_for, kAuditBusyPace - since_done));
      continue;
    }
    AuditItem item = std::move(audit_queue_.front());
    audit_queue_.pop_front();
    if (item.raw) audit_raw_bytes_ -= item.raw->size();
    ++audit_busy_;
    lock.unlock();
    AuditOne(item);
    lock.lock();
    last_done = Clock::now();
    --audit_busy_;
    if (audit_queue_.empty() && audit_busy_ == 0) audit_idle_cv_.notify_all();
  }
  audit_queue_.clear();
  audit_raw_bytes_ = 0;
  audit_idle_cv_.notify_all();
}

void TerminologyService::AuditOne(const AuditItem& item) {
  MessageRecord m;
  if (item.raw) {
    m.id = item.message_id;
    m.facility_id = item.facility_id;
    m.content_type = item.content_type;
    m.charset = item.charset;
    m.message_type = item.message_type;
    m.control_id = item.control_id;
    m.raw = *item.raw;
  } else {
    if (audit_store_ == nullptr) return;
    auto got = audit_store_->GetMessage(item.message_id);
    if (!got.ok()) {
      HIE_LOG_WARN("术语检查读不到消息 {} (terminology check cannot read message): {}",
                   item.message_id, got.status().ToString());
      return;
    }
    m = std::move(got).value();
  }
  CheckCommitted(m);
}

// ---------------------------------------------------------------- persistence

namespace {

UnmappedRow ToRow(const UnmappedEntry& e) {
  UnmappedRow r;
  r.system = e.system;
  r.code = e.code;
  r.facility = e.facility;
  r.target_system = e.target_system;
  r.display = e.display;
  r.sample_message_id = e.sample_message_id;
  r.count = static_cast<int64_t>(e.count);
  r.first_seen_ms = e.first_seen_ms;
  r.last_seen_ms = e.last_seen_ms;
  return r;
}

}  // namespace

Status TerminologyService::StartPersist(std::unique_ptr<UnmappedStore> store, bool sync,
                                        std::chrono::milliseconds interval) {
  UnmappedRegister& reg = terminology_.unmapped();
  size_t loaded = 0;
  Status st = store->Load([&](const UnmappedRow& r) {
    UnmappedEntry e;
    e.system = r.system;
    e.code = r.code;
    e.facility = r.facility;
    e.target_system = r.target_system;
    e.display = r.display;
    e.sample_message_id = r.sample_message_id;
    e.count = r.count > 0 ? static_cast<uint64_t>(r.count) : 0;
    e.first_seen_ms = r.first_seen_ms;
    e.last_seen_ms = r.last_seen_ms;
    reg.Load(e);
    ++loaded;
  });
  if (!st.ok()) {
    store->Close();
    return Status(st.code(),
                  "读不到未映射代码登记 (cannot load the unmapped-code register): " + st.message(),
                  "terminology_unmapped");
  }
  reg.EnableChangeTracking();
  // Codes that a map added while the hub was down now translate: they go
  // from the register now and from the table at the first flush.
  const size_t pruned = reg.PruneResolved(*terminology_.Current());
  HIE_LOG_INFO(
      "未映射代码登记已载入 (unmapped-code register loaded): {} 条 (entries), {} 条已可翻译 "
      "(now translate, removed)",
      loaded, pruned);
  {
    std::lock_guard lock(persist_mu_);
    persist_store_ = std::move(store);
    persist_sync_ = sync;
  }
  {
    std::lock_guard lock(persist_wait_mu_);
    persist_stopping_ = false;
  }
  persist_thread_ = std::thread([this, interval] {
    NameThisThread("hie-term-save");
    PersistLoop(interval);
  });
  return Status::Ok();
}

Status TerminologyService::FlushUnmapped() {
  std::lock_guard lock(persist_mu_);
  return FlushLocked();
}

Status TerminologyService::RefreshUnmapped() {
  std::lock_guard lock(persist_mu_);
  HIE_RETURN_IF_ERROR(FlushLocked());
  if (!persist_store_) return Status::Ok();
  // Every change of this node is in the table now (or the flush failed and
  // we returned above), so stored + pending is the true total.
  UnmappedRegister& reg = terminology_.unmapped();
  Status st = persist_store_->Load([&](const UnmappedRow& r) {
    UnmappedEntry e;
    e.system = r.system;
    e.code = r.code;
    e.facility = r.facility;
    e.target_system = r.target_system;
    e.display = r.display;
    e.sample_message_id = r.sample_message_id;
    e.count = r.count > 0 ? static_cast<uint64_t>(r.count) : 0;
    e.first_seen_ms = r.first_seen_ms;
    e.last_seen_ms = r.last_seen_ms;
    reg.Refresh(e);
  });
  // A code another node (with older maps) counted that ours translate: it
  // goes, from the table too at the next flush.
  if (st.ok()) reg.PruneResolved(*terminology_.Current());
  return st;
}

Status TerminologyService::FlushLocked() {
  if (!persist_store_) return Status::Ok();
  UnmappedRegister& reg = terminology_.unmapped();
  UnmappedRegister::Changes changes = reg.TakeChanges();
  if (changes.empty()) return Status::Ok();
  UnmappedChangesRow rows;
  rows.removed.reserve(changes.removed.size());
  rows.added.reserve(changes.added.size());
  for (const auto& e : changes.removed) rows.removed.push_back(ToRow(e));
  for (const auto& e : changes.added) rows.added.push_back(ToRow(e));
  Status st = persist_store_->Apply(rows, persist_sync_);
  if (!st.ok()) {
    reg.ReturnChanges(std::move(changes));  // the next flush writes them
    if (flush_failed_) flush_failed_->Inc();
  }
  return st;
}

void TerminologyService::PersistLoop(std::chrono::milliseconds interval) {
  std::unique_lock lock(persist_wait_mu_);
  bool warned = false;
  bool shared = false;
  {
    std::lock_guard g(persist_mu_);
    shared = persist_store_ && persist_store_->shared();
  }
  int round = 0;
  while (!persist_stopping_) {
    persist_cv_.wait_for(lock, interval, [this] { return persist_stopping_; });
    if (persist_stopping_) break;
    lock.unlock();
    // Several nodes on one table: now and then take the others' counts too.
    Status st = shared && ++round % kRefreshEvery == 0 ? RefreshUnmapped() : FlushUnmapped();
    if (!st.ok() && !warned) {
      HIE_LOG_WARN(
          "未映射代码登记写入失败，稍后重试 (unmapped-code register write failed, retrying "
          "at the next flush): {}",
          st.ToString());
    }
    if (st.ok() && warned) {
      HIE_LOG_INFO("未映射代码登记写入恢复 (unmapped-code register writes recovered)");
    }
    warned = !st.ok();
    lock.lock();
  }
}

void TerminologyService::StopPersist() {
  {
    std::lock_guard lock(persist_wait_mu_);
    persist_stopping_ = true;
  }
  persist_cv_.notify_all();
  if (persist_thread_.joinable()) persist_thread_.join();
  Status st = FlushUnmapped();
  if (!st.ok()) {
    HIE_LOG_WARN(
        "停止时未映射代码登记写入失败 (unmapped-code register: last write at shutdown "
        "failed): {}",
        st.ToString());
  }
  std::lock_guard lock(persist_mu_);
  if (persist_store_) {
    persist_store_->Close();
    persist_store_.reset();
  }
}

}  // namespace hie
