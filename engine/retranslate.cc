#include "engine/retranslate.h"

#include <unistd.h>

#include <utility>

#include "core/log.h"
#include "core/thread.h"
#include "engine/canonicalize.h"
#include "mappings/canonical/model.h"

namespace hie {
namespace {

using nlohmann::json;

std::string_view StrOf(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

// The first coding of `cc` in `target` (by name, OID or alias; "urn:oid:"
// prefix allowed): the standard code ApplyTerminology added, or the
// sender's own.
const json* StandardCoding(const json& cc, SystemId target, const TerminologySnapshot& snap) {
  if (target == kNoSystem || !cc.is_object()) return nullptr;
  auto codings = cc.find("coding");
  if (codings == cc.end() || !codings->is_array()) return nullptr;
  for (const json& c : *codings) {
    std::string_view system = StrOf(c, "system");
    if (system.substr(0, 8) == "urn:oid:") system.remove_prefix(8);
    if (system.empty() || StrOf(c, "code").empty()) continue;
    if (snap.FindSystem(system) == target) return &c;
  }
  return nullptr;
}

// Sets `field` from the standard coding when there is one; a field already
// set stays (a translation is only ever added).
bool Take(const json* coding, const char* key, std::string& field) {
  if (coding == nullptr || !field.empty()) return false;
  const std::string_view v = StrOf(*coding, key);
  if (v.empty()) return false;
  field = std::string(v);
  return true;
}

Result<json> ParseObject(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return Status(ErrorCode::kInvalidArgument, "存储的 JSON 无法读取 (stored JSON unreadable)");
  }
  return j;
}

}  // namespace

Result<bool> RetranslateRow(RecordKind kind, TranslatableRow& row,
                            const TerminologySnapshot& snapshot) {
  HIE_ASSIGN_OR_RETURN(json before, ParseObject(row.json));
  canonical::CanonicalMessage msg;
  if (kind == RecordKind::kDocument) {
    HIE_ASSIGN_OR_RETURN(msg, canonical::FromJson(before));
  } else {
    msg.facility = row.facility_id;
    msg.bundle = json{{"resourceType", "Bundle"},
                      {"type", "collection"},
                      {"entry", json::array({json{{"resource", before}}})}};
  }
  const json bundle_before = kind == RecordKind::kDocument ? msg.bundle : json();
  ApplyTerminology(msg, snapshot);  // misses are not counted again
  if (kind == RecordKind::kDocument) {
    // Compared as models: the stored text need not be ToJson's spelling.
    if (msg.bundle == bundle_before) return false;
    row.json = canonical::ToJson(msg).dump();
    return true;
  }
  json after = std::move(msg.bundle["entry"][0]["resource"]);
  bool changed = after != before;
  if (kind == RecordKind::kLabResult) {
    const json code_cc = after.value("code", json());
    const json* code = StandardCoding(code_cc, snapshot.FindSystem("LOINC"), snapshot);
    if (row.std_code.empty() && Take(code, "code", row.std_code)) {
      row.std_display.clear();
      Take(code, "display", row.std_display);
      changed = true;
    }
    // As the record's writer (engine/record_extract.cc) takes them: the UCUM
    // coding of the unit as received, else a UCUM valueQuantity.
    const json* unit_cc = canonical::FindExtension(after, canonical::kUnitExtension);
    if (unit_cc != nullptr) {
      changed |= Take(StandardCoding(*unit_cc, snapshot.FindSystem("UCUM"), snapshot), "code",
                      row.std_unit);
    }
    auto q = after.find("valueQuantity");
    if (row.std_unit.empty() && q != after.end() && StrOf(*q, "system") == canonical::kUcumUri) {
      changed |= Take(&*q, "code", row.std_unit);
    }
  } else if (kind == RecordKind::kDiagnosis) {
    const json code_cc = after.value("code", json());
    const json* code = StandardCoding(code_cc, snapshot.FindSystem("ICD-10"), snapshot);
    if (row.std_code.empty() && Take(code, "code", row.std_code)) {
      row.std_display.clear();
      Take(code, "display", row.std_display);
      changed = true;
    }
  }
  if (changed) row.json = after.dump();
  return changed;
}

Retranslator::Retranslator(std::unique_ptr<RecordTranslations> store,
                           TerminologyService& terminology, Env& env, MetricsRegistry* metrics)
    : store_(std::move(store)), terminology_(terminology), env_(env) {
  if (metrics != nullptr) {
    updated_total_ = &metrics->GetCounter(
        "hie_terminology_retranslated_total",
        "Stored rows (lab results, diagnoses, documents) given a standard code by retranslate");
  }
}

Retranslator::~Retranslator() {
  Stop();
  if (store_) store_->Close();
}

bool Retranslator::Begin(int64_t since_ms) {
  std::lock_guard lock(mu_);
  if (running_) return false;
  running_ = true;
  stop_ = false;
  progress_ = RetranslateProgress{};
  progress_.state = "running";
  progress_.since_ms = since_ms;
  progress_.started_ms = env_.NowMillis();
  return true;
}

Result<RetranslateProgress> Retranslator::Start(int64_t since_ms) {
  if (!Begin(since_ms)) {
    return Status(ErrorCode::kConflict, "已有重新翻译在进行 (a retranslation is already running)");
  }
  if (thread_.joinable()) thread_.join();  // the previous pass, finished
  thread_ = std::thread([this] {
    NameThisThread("hie-retranslate");
    // Below intake and the EMPI worker, but not SCHED_IDLE: a page's
    // transaction holds the write lock and must not be starved meanwhile.
    LowerThisThreadPriority(10);
    Pass();
  });
  return Progress();
}

Result<RetranslateProgress> Retranslator::RunNow(int64_t since_ms) {
  if (!Begin(since_ms)) {
    return Status(ErrorCode::kConflict, "已有重新翻译在进行 (a retranslation is already running)");
  }
  Pass();
  return Progress();
}

RetranslateProgress Retranslator::Progress() const {
  std::lock_guard lock(mu_);
  return progress_;
}

void Retranslator::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Retranslator::Pass() {
  HIE_LOG_INFO("开始重新翻译 (retranslation started) since {}",
               FormatTimeMillis(Progress().since_ms));
  Status st = PassKind(RecordKind::kLabResult, &RetranslateProgress::lab_results);
  if (st.ok()) st = PassKind(RecordKind::kDiagnosis, &RetranslateProgress::diagnoses);
  if (st.ok()) st = PassKind(RecordKind::kDocument, &RetranslateProgress::documents);
  std::lock_guard lock(mu_);
  progress_.finished_ms = env_.NowMillis();
  if (!st.ok()) {
    progress_.state = "failed";
    progress_.error = st.ToString();
    HIE_LOG_WARN("重新翻译失败 (retranslation failed) after {} rows: {}", progress_.scanned(),
                 progress_.error);
  } else if (stop_) {
    progress_.state = "stopped";
  } else {
    progress_.state = "done";
  }
  if (st.ok()) {
    HIE_LOG_INFO("重新翻译{} (retranslation {}): 扫描 (scanned) {}，更新 (updated) {}",
                 progress_.state == "done" ? "完成" : "已停止", progress_.state,
                 progress_.scanned(), progress_.updated());
  }
  running_ = false;
}

Status Retranslator::PassKind(RecordKind kind, RetranslateCounts RetranslateProgress::*counts) {
  const int64_t since = Progress().since_ms;
  int64_t after = 0;
  while (!stop_) {
    HIE_ASSIGN_OR_RETURN(auto page, store_->Page(kind, since, after, kPage));
    if (page.empty()) return Status::Ok();
    after = page.back().id;
    // One snapshot per page: a reload meanwhile applies from the next page.
    const std::shared_ptr<const TerminologySnapshot> snap = terminology_.Current();
    std::vector<TranslatableRow> changed;
    int64_t failed = 0;
    for (TranslatableRow& row : page) {
      auto r = RetranslateRow(kind, row, *snap);
      if (!r.ok()) {
        ++failed;
        HIE_LOG_DEBUG("重新翻译跳过 {} {} (row skipped): {}", ToString(kind), row.id,
                      r.status().ToString());
        continue;
      }
      if (*r) changed.push_back(std::move(row));
    }
    HIE_RETURN_IF_ERROR(store_->Update(kind, changed));
    if (updated_total_ && !changed.empty()) {
      updated_total_->Inc(static_cast<int64_t>(changed.size()));
    }
    std::lock_guard lock(mu_);
    RetranslateCounts& c = progress_.*counts;
    c.scanned += static_cast<int64_t>(page.size());
    c.updated += static_cast<int64_t>(changed.size());
    c.failed += failed;
    progress_.generation = terminology_.terminology().generation();
  }
  return Status::Ok();
}

}  // namespace hie
