// TerminologySnapshot's read side (hash index, lookups) and the Terminology
// holder. The build side is in builder.cc.
#include <cstring>
#include <functional>

#include "terminology/internal.h"
#include "terminology/terminology.h"

namespace hie {
using namespace term_internal;

// ---- Arena ----

std::string_view TerminologySnapshot::Arena::Add(std::string_view s) {
  if (s.empty()) return {};
  constexpr size_t kBlock = 64 * 1024;
  if (s.size() > left_) {
    const size_t size = std::max(kBlock, s.size());
    blocks_.push_back(std::make_unique<char[]>(size));
    cur_ = blocks_.back().get();
    left_ = size;
  }
  std::memcpy(cur_, s.data(), s.size());
  std::string_view out(cur_, s.size());
  cur_ += s.size();
  left_ -= s.size();
  return out;
}

// ---- Lookups ----

std::shared_ptr<const TerminologySnapshot> TerminologySnapshot::Empty() {
  static const std::shared_ptr<const TerminologySnapshot> empty =
      std::make_shared<const TerminologySnapshot>();
  return empty;
}

SystemId TerminologySnapshot::FindSystem(std::string_view name) const {
  name = TrimView(name);
  const uint32_t pos = system_index_.Find(
      HashNameCi(name), [&](uint32_t v) { return EqualsCi(system_keys_[v], name); });
  return pos == Index::kNone ? kNoSystem : system_key_ids_[pos];
}

const SystemInfo* TerminologySnapshot::System(SystemId id) const {
  return id < systems_.size() ? &systems_[id] : nullptr;
}

std::string_view TerminologySnapshot::Normalize(SystemId system, std::string_view code,
                                                char* buf) const {
  const int width = systems_[system].code_width;
  if (width == 0 || code.empty() || code.size() > kNormBuf) return code;
  for (char c : code) {
    if (c < '0' || c > '9') return code;
  }
  size_t z = 0;
  while (z + 1 < code.size() && code[z] == '0') ++z;
  std::string_view stripped = code.substr(z);
  if (width < 0 || stripped.size() >= static_cast<size_t>(width)) return stripped;
  const size_t pad = static_cast<size_t>(width) - stripped.size();
  if (static_cast<size_t>(width) > kNormBuf) return code;
  std::memset(buf, '0', pad);
  std::memcpy(buf + pad, stripped.data(), stripped.size());
  return std::string_view(buf, static_cast<size_t>(width));
}

std::string TerminologySnapshot::NormalizeCode(SystemId system, std::string_view code) const {
  code = TrimView(code);
  if (system >= systems_.size()) return std::string(code);
  char buf[kNormBuf];
  return std::string(Normalize(system, code, buf));
}

const Concept* TerminologySnapshot::FindConcept(SystemId system, std::string_view code) const {
  if (system >= systems_.size()) return nullptr;
  char buf[kNormBuf];
  const std::string_view c = Normalize(system, TrimView(code), buf);
  const uint32_t i = concept_index_.Find(HashKey(system, 0, c), [&](uint32_t v) {
    return concepts_[v].system == system && concepts_[v].code == c;
  });
  return i == Index::kNone ? nullptr : &concepts_[i];
}

TranslateResult TerminologySnapshot::Translate(SystemId system, std::string_view code,
                                               SystemId target) const {
  TranslateResult r;
  if (system >= systems_.size() || target >= systems_.size()) return r;
  if (system == target) {
    if (const Concept* c = FindConcept(system, code)) {
      r.found = true;
      r.code = c->code;
      r.display = c->display;
      r.target_system = systems_[target].name;
    }
    return r;
  }
  char buf[kNormBuf];
  const std::string_view c = Normalize(system, TrimView(code), buf);
  const uint32_t i = mapping_index_.Find(HashKey(system, target + 1, c), [&](uint32_t v) {
    const MapEntry& e = mappings_[v];
    return e.source == system && e.target == target && e.source_code() == c;
  });
  if (i == Index::kNone) return r;
  const MapEntry& e = mappings_[i];
  r.found = true;
  r.code = e.target_code;
  r.display = e.target_display;
  r.target_system = systems_[target].name;
  return r;
}

TranslateResult TerminologySnapshot::Translate(std::string_view system, std::string_view code,
                                               std::string_view target_system) const {
  return Translate(FindSystem(system), code, FindSystem(target_system));
}

std::optional<std::string_view> TerminologySnapshot::Lookup(std::string_view system,
                                                            std::string_view code) const {
  const Concept* c = FindConcept(FindSystem(system), code);
  if (c == nullptr) return std::nullopt;
  return c->display;
}

bool TerminologySnapshot::InValueSet(std::string_view value_set, std::string_view system,
                                     std::string_view code) const {
  uint32_t vs = 0;
  for (; vs < value_sets_.size(); ++vs) {
    if (EqualsCi(value_sets_[vs], TrimView(value_set))) break;
  }
  const SystemId sys = FindSystem(system);
  if (vs == value_sets_.size() || sys == kNoSystem) return false;
  char buf[kNormBuf];
  const std::string_view c = Normalize(sys, TrimView(code), buf);
  return member_index_.Find(HashKey(sys, vs + 1, c), [&](uint32_t v) {
    const MemberEntry& m = members_[v];
    return m.value_set == vs && m.system == sys && m.code == c;
  }) != Index::kNone;
}

// ---- Terminology holder ----

Terminology::Terminology(std::shared_ptr<const TerminologySnapshot> initial)
    : current_(initial ? std::move(initial) : TerminologySnapshot::Empty()) {}

void Terminology::Swap(std::shared_ptr<const TerminologySnapshot> next) {
  if (!next) next = TerminologySnapshot::Empty();
  current_.store(std::move(next), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

Status Terminology::ReloadDir(const std::filesystem::path& dir) {
  std::lock_guard lock(reload_mu_);
  // Remember the fingerprint even on failure, so a poller reports a bad file
  // once rather than on every poll; the next edit triggers a new attempt.
  fingerprint_ = TerminologyDirFingerprint(dir);
  HIE_ASSIGN_OR_RETURN(auto snapshot, LoadTerminologyDir(dir));
  unmapped_.PruneResolved(*snapshot);
  Swap(std::move(snapshot));
  return Status::Ok();
}

Result<bool> Terminology::ReloadDirIfChanged(const std::filesystem::path& dir) {
  {
    std::lock_guard lock(reload_mu_);
    if (TerminologyDirFingerprint(dir) == fingerprint_) return false;
  }
  HIE_RETURN_IF_ERROR(ReloadDir(dir));
  return true;
}

}  // namespace hie
