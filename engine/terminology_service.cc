#include "engine/terminology_service.h"

#include "core/log.h"

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
    unmapped_total_ = &metrics->GetCounter(
        "hie_terminology_unmapped_total",
        "Codes that arrived and could not be translated (occurrences)");
    reloads_ok_ = &metrics->GetCounter("hie_terminology_reloads_total",
                                       "Terminology reloads, by outcome", "outcome=\"ok\"");
    reloads_failed_ = &metrics->GetCounter("hie_terminology_reloads_total",
                                           "Terminology reloads, by outcome", "outcome=\"rejected\"");
  }
  Resolve();
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
  HIE_LOG_INFO("术语已加载 (terminology loaded) from {}: {} 个文件 (files), {} 个代码系统 (systems), "
               "{} 个概念 (concepts), {} 条映射 (mappings), {} 条待填 (pending), {} 条警告 "
               "(warnings), {:.1f} ms",
               dir_, rep.stats.files, rep.systems, rep.concepts, rep.mappings,
               rep.stats.pending_rows, rep.stats.warnings.size(), rep.millis);
  for (const auto& w : rep.stats.warnings) HIE_LOG_DEBUG("术语警告 (terminology warning): {}", w);
  return rep;
}

Result<TerminologyLoadReport> TerminologyService::Reload() {
  if (!configured()) {
    return Status(ErrorCode::kConfigError,
                  "未配置术语目录 (terminology.dir not configured)，无法重新加载 (nothing to reload)",
                  "terminology.dir");
  }
  std::lock_guard lock(load_mu_);
  const int64_t start = env_.MonoNanos();
  Status st = terminology_.ReloadDir(dir_);
  if (!st.ok()) {
    if (reloads_failed_) reloads_failed_->Inc();
    HIE_LOG_WARN("术语重新加载被拒绝，继续使用原有映射 (terminology reload rejected, keeping the "
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
  HIE_LOG_INFO("术语已重新加载 (terminology reloaded) from {}: {} 个代码系统 (systems), {} 个概念 "
               "(concepts), {} 条映射 (mappings), {} 条警告 (warnings), 第 {} 版 (generation), "
               "{:.1f} ms",
               dir_, rep.systems, rep.concepts, rep.mappings, rep.stats.warnings.size(),
               rep.generation, rep.millis);
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
      out->push_back({"local:" + std::string(facility), std::string(code), msg.Unescape(Er7Piece(rep, d.component, 2)),
                      std::string(kLoinc)});
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

}  // namespace hie
