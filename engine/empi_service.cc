#include "engine/empi_service.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>

#include "core/log.h"
#include "core/thread.h"
#include "engine/canonicalize.h"
#include "engine/record_extract.h"
#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/er7.h"

namespace hie {
namespace {

using nlohmann::json;

std::string NodeName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return "hie@" + std::string(host) + ":" + std::to_string(::getpid());
}

// Message ids are drawn before their intake transaction commits, so on
// several nodes a message may become visible below ids already seen; each
// scan looks this far below the highest id it saw.
constexpr int64_t kScanWindow = 2000;
// SQLite (one file, one write lock, shared with intake's group commit):
// while messages keep arriving the worker waits for a gap this long before
// it resolves, but never lets work wait longer than kMaxLag.
constexpr auto kQuietGap = std::chrono::milliseconds(10);
constexpr auto kMaxLag = std::chrono::seconds(10);

// "3 项检验结果 (lab results), 1 份文档 (documents)".
std::string RecordSummary(const RecordWrite& r) {
  std::string out;
  auto part = [&](size_t n, const char* what) {
    if (n == 0) return;
    if (!out.empty()) out += ", ";
    out += std::to_string(n) + what;
  };
  part(r.lab_results.size(), " 项检验结果 (lab results)");
  part(r.encounters.size(), " 次就诊 (encounters)");
  part(r.diagnoses.size(), " 条诊断 (diagnoses)");
  part(r.documents.size(), " 份文档 (documents)");
  return out;
}

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

}  // namespace

EmpiService::EmpiService(const Config& config, Store& store, std::unique_ptr<EmpiStore> empi,
                         std::shared_ptr<const empi::FsModel> model, Env& env,
                         MetricsRegistry& metrics)
    : config_(config),
      store_(store),
      empi_(std::move(empi)),
      model_(model),
      env_(env),
      index_(std::move(model)),
      node_(NodeName()) {
  resolver_ = !empi_->shared();
  const char* help = "Patients of messages resolved to an EMPI id, by outcome";
  resolved_auto_ = &metrics.GetCounter("hie_empi_resolved_total", help, "outcome=\"auto_link\"");
  resolved_review_ = &metrics.GetCounter("hie_empi_resolved_total", help, "outcome=\"review\"");
  resolved_new_ = &metrics.GetCounter("hie_empi_resolved_total", help, "outcome=\"new_person\"");
  resolved_update_ = &metrics.GetCounter("hie_empi_resolved_total", help, "outcome=\"update\"");
  skipped_ = &metrics.GetCounter("hie_empi_skipped_total",
                                 "Messages whose patient could not be resolved (no usable PID)");
  errors_ = &metrics.GetCounter("hie_empi_errors_total", "EMPI resolutions that failed");
  const char* rows_help = "Rows written into the shared record, by kind";
  record_rows_[0] = &metrics.GetCounter("hie_record_rows_total", rows_help, "kind=\"lab_result\"");
  record_rows_[1] = &metrics.GetCounter("hie_record_rows_total", rows_help, "kind=\"encounter\"");
  record_rows_[2] = &metrics.GetCounter("hie_record_rows_total", rows_help, "kind=\"diagnosis\"");
  record_rows_[3] = &metrics.GetCounter("hie_record_rows_total", rows_help, "kind=\"document\"");
  record_errors_ = &metrics.GetCounter(
      "hie_record_errors_total",
      "Resolved messages whose clinical content could not be read into the shared record");
  seconds_ = &metrics.GetHistogram("hie_empi_resolve_seconds",
                                   "Time to resolve one message's patient (read, match, commit)",
                                   {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5});
  metrics.AddCallbackGauge("hie_empi_records_indexed", "Source records in the EMPI match index",
                           [this]() -> std::vector<std::pair<std::string, int64_t>> {
                             return {{"", static_cast<int64_t>(persons_indexed())}};
                           });
}

EmpiService::~EmpiService() {
  Stop();
  if (empi_) empi_->Close();
}

bool EmpiService::Resolves(std::string_view t) {
  if (t.rfind("ORU^R01", 0) == 0 || t.rfind("MDM^T02", 0) == 0) return true;
  for (const char* e :
       {"ADT^A01", "ADT^A04", "ADT^A05", "ADT^A08", "ADT^A28", "ADT^A31", "ADT^A40"}) {
    if (t.rfind(e, 0) == 0) return true;
  }
  return false;
}

Status EmpiService::Load() {
  HIE_ASSIGN_OR_RETURN(norm_, empi::RecordNormalizer::Create());
  query_norm_ = norm_->Clone();
  if (empi_->shared()) {
    auto role = empi_->TryResolverRole(node_);
    if (!role.ok()) return role.status();
    resolver_ = role->resolver;
    if (!role->resolver) {
      {
        std::lock_guard lock(mu_);
        holder_ = role->holder;
      }
      HIE_LOG_INFO(
          "患者主索引由另一节点识别 (EMPI resolved by another node: {}); 本节点 (this node) {}",
          role->holder, node_);
      return Status::Ok();
    }
    HIE_LOG_INFO("本节点为患者主索引节点 (this node is the EMPI resolver): {}", node_);
  }
  return LoadIndex();
}

Status EmpiService::LoadIndex() {
  HIE_ASSIGN_OR_RETURN(next_, empi_->MaxIds());
  const int64_t t0 = env_.MonoNanos();
  std::unique_lock lock(index_mu_);
  index_ = empi::MatchIndex(model_);
  Status st = empi_->ForEachSource([&](const EmpiSourceRow& row) -> Status {
    HIE_ASSIGN_OR_RETURN(auto n, NormFromJson(row.norm));
    return index_.Add(std::move(n), static_cast<uint64_t>(row.person_id));
  });
  if (!st.ok()) {
    return Status(st.code(), "无法加载患者主索引 (cannot load the EMPI index): " + st.message(),
                  st.where());
  }
  HIE_LOG_INFO("患者主索引已加载 (EMPI index loaded): {} 条来源记录 (source records), {:.1f} s",
               index_.size(), static_cast<double>(env_.MonoNanos() - t0) / 1e9);
  return Status::Ok();
}

void EmpiService::Start() {
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
    // What a crash left between commit and resolution (a shared store's
    // resolver scans every second instead, see Tick).
    rescan_after_ = empi_->shared() ? -1 : next_.message;
    scanned_ = next_.message;
  }
  worker_ = std::thread([this] {
    NameThisThread("hie-empi");
    WorkerLoop();
  });
}

void EmpiService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void EmpiService::OnCommitted(int64_t message_id) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    last_arrival_ = std::chrono::steady_clock::now();
    if (queue_.size() >= capacity_) {
      // Left to the store scan (memory stays bounded whatever the burst).
      if (rescan_after_ < 0) rescan_since_ = last_arrival_;
      if (rescan_after_ < 0 || message_id - 1 < rescan_after_) rescan_after_ = message_id - 1;
      return;
    }
    queue_.push_back(message_id);
    arrived_.push_back(last_arrival_);
    // Only a worker with nothing to do waits for this; one that defers its
    // work (see WorkerLoop) is not woken by every arrival.
    if (queue_.size() > 1) return;
  }
  cv_.notify_one();
}

size_t EmpiService::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size() + (rescan_after_ >= 0 ? 1 : 0);
}

size_t EmpiService::persons_indexed() const {
  std::shared_lock lock(index_mu_);
  return index_.size();
}

void EmpiService::WorkerLoop() {
  // Below the intake threads (nice 10): under a burst the EMPI lags (the
  // queue, then the store scan, hold the backlog) rather than slowing ACKs.
  // Not SCHED_IDLE: this thread holds the database's write lock briefly and
  // must never be starved while holding it.
  LowerThisThreadPriority(10);
  const bool shared = empi_->shared();
  auto next_tick = std::chrono::steady_clock::now();
  // SQLite: while intake is busy, wait for a quiet gap (kQuietGap) before
  // taking work that came in at `since`, up to kMaxLag after it: a burst is
  // ACKed first and resolved in the gap after it, instead of the EMPI's
  // reads and writes taking SQLite's write lock between every two group
  // commits. Under mu_. Returns when to look again, or nothing: go ahead.
  using Clock = std::chrono::steady_clock;
  auto defer = [&](Clock::time_point since) -> std::optional<Clock::time_point> {
    if (shared) return std::nullopt;
    const auto now = Clock::now();
    const auto quiet_at = last_arrival_ + kQuietGap;
    const auto due_at = since + kMaxLag;
    if (now >= quiet_at || now >= due_at) return std::nullopt;
    return std::min(quiet_at, due_at);
  };
  for (;;) {
    int64_t id = 0, scan = -1;
    bool tick = false;
    {
      std::unique_lock lock(mu_);
      auto ready = [&] { return stopping_ || !queue_.empty() || rescan_after_ >= 0; };
      if (shared) {
        cv_.wait_until(lock, next_tick, ready);
      } else {
        cv_.wait(lock, ready);
      }
      if (stopping_) return;
      if (shared && std::chrono::steady_clock::now() >= next_tick) {
        tick = true;
        next_tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      } else if (rescan_after_ >= 0) {
        if (auto later = defer(rescan_since_)) {
          cv_.wait_until(lock, *later, [&] { return stopping_; });
          continue;
        }
        scan = rescan_after_;
        rescan_after_ = -1;
      } else if (!queue_.empty()) {
        if (auto later = defer(arrived_.front())) {
          cv_.wait_until(lock, *later, [&] { return stopping_; });
          continue;
        }
        id = queue_.front();
        queue_.pop_front();
        arrived_.pop_front();
      } else {
        continue;
      }
    }
    if (tick) {
      Tick();
      continue;
    }
    if (scan >= 0) {
      ScanUnresolved(scan);
      continue;
    }
    Status st = ResolveMessage(id);
    if (st.ok() && resolver_) handled_.insert(id);
    if (!st.ok() && st.code() == ErrorCode::kUnavailable) {
      // The database is away: try again later, in order.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::lock_guard lock(mu_);
      queue_.push_front(id);
      arrived_.push_front(Clock::time_point{});  // retried at once
    }
  }
}

void EmpiService::Tick() {
  {
    std::lock_guard lock(ops_mu_);
    auto role = empi_->TryResolverRole(node_);
    const bool was = resolver_;
    if (!role.ok()) {
      // The writer connection is gone, and the lock with it.
      resolver_ = false;
      if (was) {
        HIE_LOG_WARN("患者主索引节点角色丢失 (EMPI resolver role lost): {}",
                     role.status().ToString());
      }
      return;
    }
    {
      std::lock_guard l(mu_);
      holder_ = role->holder;
    }
    if (!role->resolver) {
      resolver_ = false;
      if (was) HIE_LOG_WARN("患者主索引节点角色丢失 (EMPI resolver role lost) to {}", role->holder);
      return;
    }
    if (!was) {
      HIE_LOG_INFO("本节点接任患者主索引节点 (this node takes over as EMPI resolver): {}", node_);
      Status st = LoadIndex();
      if (!st.ok()) {
        HIE_LOG_ERROR("{}", st.ToString());
        return;  // resolver_ stays false: retried at the next tick
      }
      handled_.clear();
      scanned_ = next_.message;
      resolver_ = true;
    }
  }
  ScanUnresolved(std::max<int64_t>(0, scanned_ - kScanWindow));
}

Status EmpiService::NotResolver() const {
  std::string holder;
  {
    std::lock_guard lock(mu_);
    holder = holder_;
  }
  return Status(ErrorCode::kUnavailable,
                "本节点不是患者主索引节点 (this node is not the EMPI resolver); 请求主索引节点 "
                "(ask the resolver node)" +
                    (holder.empty() ? std::string() : " " + holder));
}

void EmpiService::ScanUnresolved(int64_t after_id) {
  // Every status: a message is resolved whatever happened to its deliveries.
  std::vector<int64_t> ids;
  for (MessageStatus s :
       {MessageStatus::kReceived, MessageStatus::kFiltered, MessageStatus::kTransformed,
        MessageStatus::kQueued, MessageStatus::kSent, MessageStatus::kError}) {
    int64_t after = after_id;
    for (;;) {
      auto page = store_.MessageIdsWithStatus(s, after, 1000);
      if (!page.ok() || page->empty()) break;
      ids.insert(ids.end(), page->begin(), page->end());
      after = page->back();
      if (page->size() < 1000) break;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  handled_.erase(handled_.begin(), handled_.lower_bound(after_id));
  if (!ids.empty()) scanned_ = std::max(scanned_, ids.back());
  ids.erase(
      std::remove_if(ids.begin(), ids.end(), [&](int64_t i) { return handled_.count(i) != 0; }),
      ids.end());
  if (!ids.empty() && !empi_->shared()) {
    HIE_LOG_INFO("患者主索引补充识别 (EMPI catching up) {} 条消息 (messages) after id {}",
                 ids.size(), after_id);
  }
  for (int64_t id : ids) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (!resolver_) return;
    Status st = ResolveMessage(id);
    if (st.ok()) handled_.insert(id);
  }
}

Status EmpiService::ResolveMessage(int64_t message_id) {
  const int64_t t0 = env_.MonoNanos();
  std::lock_guard lock(ops_mu_);
  Status st = ResolveLocked(message_id);
  if (!st.ok()) {
    errors_->Inc();
    HIE_LOG_WARN("患者识别失败 (EMPI resolution failed) message {}: {}", message_id,
                 MaskPhi(st.ToString()));
  }
  seconds_->Observe(static_cast<double>(env_.MonoNanos() - t0) / 1e9);
  return st;
}

Status EmpiService::ResolveLocked(int64_t message_id) {
  HIE_ASSIGN_OR_RETURN(auto done, empi_->SourceOfMessage(message_id));
  if (done) return Status::Ok();  // reprocessed or recovered: resolved already
  HIE_ASSIGN_OR_RETURN(auto msg, store_.GetMessage(message_id));
  if (!Resolves(msg.message_type)) return Status::Ok();
  if (!resolver_) {
    std::string holder;
    {
      std::lock_guard lock(mu_);
      holder = holder_;
    }
    Trace(message_id, "deferred",
          "由患者主索引节点识别 (resolved by the EMPI resolver node)" +
              (holder.empty() ? std::string() : " " + holder));
    return Status::Ok();
  }
  auto skip = [&](const Status& why) {
    skipped_->Inc();
    Trace(message_id, "skipped", "未识别患者 (patient not resolved): " + why.message());
    return Status::Ok();
  };
  // Kept for the shared record: the canonical model (CDA / FHIR) or the
  // parsed ER7 (HL7 v2; it views `text`).
  std::optional<canonical::CanonicalMessage> canonical;
  std::string text;
  std::optional<Er7Message> parsed;
  auto read = [&]() -> Result<PatientInput> {
    if (SourceFormatOf(msg.content_type) != SourceFormat::kHl7v2) {
      // CDA / FHIR: through the canonical model.
      HIE_ASSIGN_OR_RETURN(auto c, Canonicalize(msg));
      canonical = std::move(c);
      return ExtractPatient(*canonical, msg.facility_id);
    }
    HIE_ASSIGN_OR_RETURN(text, DecodeToUtf8(msg.raw, msg.charset));
    HIE_ASSIGN_OR_RETURN(auto p, Er7Message::Parse(text));
    parsed = std::move(p);
    return ExtractPatient(*parsed, msg.facility_id);
  };
  auto in = read();
  if (!in.ok()) return skip(in.status());
  const FacilityConfig* fac = config_.FindFacility(msg.facility_id);
  const bool card_reader = fac != nullptr && fac->card_reader && !in->id_number.empty();
  const std::string key = SourceKey(msg.facility_id, *in, message_id);
  const int64_t now = env_.NowMillis();

  HIE_ASSIGN_OR_RETURN(auto existing, empi_->SourceByKey(key));
  EmpiSourceRow row;
  if (existing) {
    row = *existing;
  } else {
    row.id = next_.source + 1;
    row.record_key = key;
    row.facility_id = msg.facility_id;
    row.local_id = in->local_id;
    row.created_at_ms = now;
  }
  in->record.record_id = "s" + std::to_string(row.id);
  auto norm = norm_->Normalize(in->record);
  if (!norm.ok()) return skip(norm.status());
  row.id_number = norm->id.number;
  row.name = norm->name.text;
  row.birth_date = BirthText(norm->birth);
  row.sex = std::string(SexCode(norm->sex));
  row.phone = norm->phone.digits;
  row.address = norm->address.full;
  row.raw = RawToJson(in->record).dump();
  row.norm = NormToJson(*norm);
  row.card_reader = row.card_reader || card_reader;
  row.last_message = message_id;
  row.updated_at_ms = now;

  Plan plan;
  std::string outcome, detail;
  if (existing) {
    // The facility's own record again (an update): it stays with its person.
    outcome = "update";
    detail = "来源记录已更新 (source record updated)";
    auto h = History("update", row.person_id, "pipeline");
    h.source_id = row.id;
    h.message_id = message_id;
    h.detail = json{{"record_key", key}}.dump();
    plan.history.push_back(std::move(h));
    plan.content_changed.insert(row.id);
    plan.touched.insert(row.person_id);
  } else {
    empi::MatchResult m;
    {
      std::shared_lock ilock(index_mu_);
      m = index_.Match(*norm);
    }
    const empi::PersonCandidate* best = m.persons.empty() ? nullptr : &m.persons.front();
    if (m.outcome == empi::Outcome::kAutoLink) {
      row.person_id = static_cast<int64_t>(m.person_id);
      row.link_how = "auto";
      for (const auto& c : m.persons) {
        if (c.person_id == m.person_id) best = &c;
      }
    } else {
      row.person_id = NewPerson(plan).id;
      row.link_how = "new";
    }
    if (best != nullptr && m.outcome == empi::Outcome::kAutoLink) {
      row.link_weight = best->weight;
      row.link_rule = std::string(empi::RuleLabel(best->rule));
      row.link_evidence = Evidence(*model_, best->levels).dump();
    } else {
      row.link_evidence = "{}";
    }
    json cands = json::array();
    if (m.outcome == empi::Outcome::kReview) {
      for (const auto& c : m.persons) {
        if (c.weight < model_->lower && c.rule == empi::Rule::kNone) continue;
        if (plan.reviews.size() >= 3) break;
        EmpiReviewRow r;
        r.id = next_.review + 1 + static_cast<int64_t>(plan.reviews.size());
        r.kind = "link";
        r.source_id = row.id;
        r.person_id = static_cast<int64_t>(c.person_id);
        r.weight = c.weight;
        r.evidence = Evidence(*model_, c.levels).dump();
        r.created_at_ms = now;
        plan.reviews.push_back(r);
        cands.push_back({{"empi_id", EmpiId(r.person_id)}, {"weight", c.weight}});
      }
    }
    for (uint64_t other : m.duplicate_suspects) {
      if (static_cast<int64_t>(other) == row.person_id) continue;
      EmpiReviewRow r;
      r.id = next_.review + 1 + static_cast<int64_t>(plan.reviews.size());
      r.kind = "merge";
      r.source_id = row.id;
      r.person_id = static_cast<int64_t>(other);
      r.weight = row.link_weight;
      r.evidence = row.link_evidence;
      r.created_at_ms = now;
      plan.reviews.push_back(r);
    }
    outcome = std::string(empi::OutcomeLabel(m.outcome));
    detail = m.outcome == empi::Outcome::kAutoLink
                 ? "自动关联 (auto-link), weight " + Fixed(row.link_weight) + ", " + row.link_rule
             : m.outcome == empi::Outcome::kReview
                 ? "新建并待审核 (new person, review queue) " +
                       std::to_string(plan.reviews.size()) + " 个候选 (candidates)"
                 : "新建患者 (new person)";
    auto h =
        History(m.outcome == empi::Outcome::kAutoLink ? "link" : "new", row.person_id, "pipeline");
    h.source_id = row.id;
    h.message_id = message_id;
    h.detail = json{
        {"outcome", outcome},
        {"weight", row.link_weight},
        {"rule", row.link_rule},
        {"review_candidates",
         cands}}.dump();
    plan.history.push_back(std::move(h));
    plan.touched.insert(row.person_id);
  }
  const int64_t person = row.person_id;
  plan.sources.push_back(row);
  plan.messages.emplace_back(message_id, row.id);

  // ADT^A40: the prior record of this facility joins the surviving person.
  std::string a40;
  if (msg.message_type.rfind("ADT^A40", 0) == 0 && !in->prior_local_id.empty()) {
    HIE_ASSIGN_OR_RETURN(auto prior,
                         empi_->SourceByKey("MR|" + msg.facility_id + "|" + in->prior_local_id));
    if (prior && prior->id != row.id) {
      const int64_t from = prior->person_id;
      prior->replaced_by = row.id;
      HIE_RETURN_IF_ERROR(MoveSource(plan, *prior, person, "a40"));
      HIE_ASSIGN_OR_RETURN(auto left, empi_->SourcesOfPerson(from));
      if (from != person && left.size() <= 1) {
        // Nothing else is known of that person: it was this record, merged.
        HIE_ASSIGN_OR_RETURN(EmpiPersonRow gone, PersonForPlan(plan, from));
        gone.state = "merged";
        gone.merged_into = person;
        plan.persons[from] = gone;
      }
      auto h = History("a40", person, "pipeline:" + msg.facility_id);
      h.other_person = from;
      h.source_id = prior->id;
      h.message_id = message_id;
      h.detail =
          json{{"prior_source", prior->id}, {"survivor_source", row.id}, {"from", EmpiId(from)}}
              .dump();
      plan.history.push_back(std::move(h));
      a40 = "; ADT^A40 合并 (merged) " + EmpiId(from) + " → " + EmpiId(person);
    } else if (!prior) {
      a40 = "; ADT^A40: 未找到被合并的记录 (prior record not known)";
    }
  }
  // The shared record: the message's rows on the source it resolved to,
  // in the same Apply (a failure to read them never stops the resolution).
  std::string recorded;
  if (config_.empi.record) {
    RecordInput rin;
    rin.message = &msg;
    rin.canonical = &canonical;
    rin.er7 = parsed ? &*parsed : nullptr;
    rin.source_id = row.id;
    rin.now_ms = now;
    auto snapshot = terminology_ != nullptr ? terminology_->Current() : nullptr;
    if (!snapshot) snapshot = TerminologySnapshot::Empty();
    auto rec = ExtractRecord(rin, *snapshot);
    if (rec.ok()) {
      plan.record = std::move(rec).value();
      if (!plan.record.empty()) recorded = "; 共享档案 (record): " + RecordSummary(plan.record);
    } else {
      record_errors_->Inc();
      recorded = "; 未写入共享档案 (not recorded): " + rec.status().message();
    }
  }
  // Not synced: a crash may lose it, and the scan at start resolves the
  // message again (ids above the last resolved one); operations stay synced.
  plan.sync = false;
  const std::array<size_t, 4> rows = {plan.record.lab_results.size(), plan.record.encounters.size(),
                                      plan.record.diagnoses.size(), plan.record.documents.size()};
  HIE_RETURN_IF_ERROR(Commit(plan));
  for (size_t i = 0; i < rows.size(); ++i) record_rows_[i]->Inc(static_cast<int64_t>(rows[i]));
  if (outcome == "update") {
    resolved_update_->Inc();
  } else if (outcome == "auto_link") {
    resolved_auto_->Inc();
  } else if (outcome == "review") {
    resolved_review_->Inc();
  } else {
    resolved_new_->Inc();
  }
  HIE_LOG_DEBUG("EMPI: message {} -> {} ({})", message_id, EmpiId(person), outcome);
  Trace(message_id, outcome,
        "患者主索引 (EMPI) " + EmpiId(person) + ": " + detail + a40 + recorded);
  return Status::Ok();
}

void EmpiService::Trace(int64_t message_id, const std::string& outcome, const std::string& detail) {
  TraceEvent ev;
  ev.at_ms = env_.NowMillis();
  ev.step = "empi";
  ev.outcome = outcome;
  ev.detail = detail;
  store_.Write([message_id, ev](WriteTxn& txn) { return txn.AppendTrace(message_id, ev); },
               [message_id](const Status& st) {
                 if (!st.ok()) {
                   HIE_LOG_WARN("EMPI trace of message {} not written: {}", message_id,
                                st.ToString());
                 }
               });
}

EmpiHistoryRow EmpiService::History(const std::string& op, int64_t person,
                                    const std::string& actor) {
  EmpiHistoryRow h;
  h.id = 0;  // numbered in Commit
  h.at_ms = env_.NowMillis();
  h.op = op;
  h.person_id = person;
  h.actor = actor;
  h.detail = "{}";
  return h;
}

EmpiPersonRow EmpiService::NewPerson(Plan& plan) {
  int64_t id = next_.person + 1;
  while (plan.persons.count(id) != 0) ++id;
  EmpiPersonRow p;
  p.id = id;
  p.created_at_ms = env_.NowMillis();
  p.updated_at_ms = p.created_at_ms;
  plan.persons[id] = p;
  plan.touched.insert(id);
  return p;
}

Status EmpiService::MoveSource(Plan& plan, EmpiSourceRow source, int64_t to_person,
                               const std::string& how) {
  plan.touched.insert(source.person_id);
  plan.touched.insert(to_person);
  source.person_id = to_person;
  source.link_how = how;
  for (auto& s : plan.sources) {
    if (s.id == source.id) {
      s = std::move(source);
      return Status::Ok();
    }
  }
  plan.sources.push_back(std::move(source));
  return Status::Ok();
}

Result<EmpiPersonRow> EmpiService::PersonForPlan(Plan& plan, int64_t id) {
  auto it = plan.persons.find(id);
  if (it != plan.persons.end()) return it->second;
  HIE_ASSIGN_OR_RETURN(auto p, empi_->GetPerson(id));
  if (!p) {
    return Status(ErrorCode::kNotFound, "没有该患者 (no such person) " + EmpiId(id));
  }
  return *p;
}

Status EmpiService::Commit(Plan& plan) {
  if (!resolver_) return NotResolver();
  EmpiWrite w;
  const int64_t now = env_.NowMillis();
  for (int64_t pid : plan.touched) {
    HIE_ASSIGN_OR_RETURN(EmpiPersonRow person, PersonForPlan(plan, pid));
    HIE_ASSIGN_OR_RETURN(auto stored, empi_->SourcesOfPerson(pid));
    std::vector<EmpiSourceRow> mine;
    for (auto& s : stored) {
      bool changed = false;
      for (const auto& c : plan.sources) changed = changed || c.id == s.id;
      if (!changed) mine.push_back(std::move(s));
    }
    for (const auto& c : plan.sources) {
      if (c.person_id == pid) mine.push_back(c);
    }
    std::vector<empi::NormalizedRecord> norms;
    norms.reserve(mine.size());
    for (const auto& s : mine) {
      HIE_ASSIGN_OR_RETURN(auto n, NormFromJson(s.norm));
      norms.push_back(std::move(n));
    }
    person.golden = GoldenRecord(pid, mine, norms).dump();
    if (mine.empty()) {
      if (person.state == "active") person.state = "retired";
    } else if (person.state != "merged") {
      person.state = "active";
      person.merged_into = 0;
    }
    person.updated_at_ms = now;
    w.persons.push_back(std::move(person));
  }
  w.sources = plan.sources;
  w.reviews = plan.reviews;
  w.history = plan.history;
  for (size_t i = 0; i < w.history.size(); ++i) {
    w.history[i].id = next_.history + 1 + static_cast<int64_t>(i);
  }
  w.messages = plan.messages;
  w.record = std::move(plan.record);
  w.sync = plan.sync;
  HIE_RETURN_IF_ERROR(empi_->Apply(w));
  // Committed: the ids are used, the index follows.
  for (const auto& p : w.persons) next_.person = std::max(next_.person, p.id);
  for (const auto& s : w.sources) next_.source = std::max(next_.source, s.id);
  for (const auto& r : w.reviews) next_.review = std::max(next_.review, r.id);
  next_.history += static_cast<int64_t>(w.history.size());
  for (const auto& m : w.messages) next_.message = std::max(next_.message, m.first);
  plan.history = w.history;
  std::unique_lock lock(index_mu_);
  for (const auto& s : w.sources) {
    const std::string rid = "s" + std::to_string(s.id);
    Status st = index_.SetPerson(rid, static_cast<uint64_t>(s.person_id));
    if (st.code() == ErrorCode::kNotFound) {
      auto n = NormFromJson(s.norm);
      if (n.ok()) st = index_.Add(std::move(n).value(), static_cast<uint64_t>(s.person_id));
    } else if (st.ok() && plan.content_changed.count(s.id) != 0) {
      auto n = NormFromJson(s.norm);
      if (n.ok()) st = index_.Replace(std::move(n).value());
    }
    if (!st.ok()) HIE_LOG_ERROR("EMPI index update failed for source {}: {}", s.id, st.ToString());
  }
  return Status::Ok();
}

}  // namespace hie

namespace hie {

Result<std::unique_ptr<EmpiService>> OpenEmpiService(const Config& config,
                                                     const std::string& store_uri, Store& store,
                                                     Env& env, MetricsRegistry& metrics,
                                                     const TerminologyService* terminology) {
  Result<empi::FsModel> model = config.empi.weights.empty()
                                    ? empi::FsModel::FromJson(BuiltinEmpiWeights())
                                    : empi::FsModel::Load(config.empi.weights);
  if (!model.ok()) {
    return Status(ErrorCode::kConfigError,
                  "EMPI 权重文件有误 (bad EMPI weights file): " + model.status().message(),
                  config.source_file + ": empi.weights");
  }
  auto es = OpenEmpiStore(store_uri, config.durability != "os");
  if (!es.ok()) return es.status();
  auto svc = std::make_unique<EmpiService>(
      config, store, std::move(es).value(),
      std::make_shared<const empi::FsModel>(std::move(model).value()), env, metrics);
  svc->SetTerminology(terminology);
  HIE_RETURN_IF_ERROR(svc->Load());
  HIE_LOG_INFO("患者主索引 (EMPI): 权重 (weights) {}", config.empi.weights.empty()
                                                           ? std::string("county-v1 (built in)")
                                                           : config.empi.weights);
  return svc;
}

}  // namespace hie
