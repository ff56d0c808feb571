#include "terminology/unmapped.h"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

#include "terminology/csv.h"
#include "terminology/terminology.h"

namespace hie {
namespace {

std::string MakeKey(std::string_view system, std::string_view code, std::string_view facility,
                    std::string_view target) {
  std::string key;
  key.reserve(system.size() + code.size() + facility.size() + target.size() + 3);
  key.append(system).push_back('\x1f');
  key.append(code).push_back('\x1f');
  key.append(facility).push_back('\x1f');
  key.append(target);
  return key;
}

}  // namespace

UnmappedRegister::UnmappedRegister(size_t max_entries) : max_entries_(max_entries) {}

UnmappedRegister::Shard& UnmappedRegister::ShardOf(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

UnmappedRegister::Slot* UnmappedRegister::Insert(Shard& shard, std::string key,
                                                 const UnmappedEntry& e) {
  // Reserve a slot in the global bound before inserting.
  if (total_.fetch_add(1, std::memory_order_relaxed) >= max_entries_) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto [it, inserted] = shard.entries.emplace(std::move(key), Slot{e, 0});
  return &it->second;
}

void UnmappedRegister::Record(std::string_view system, std::string_view code,
                              std::string_view display, std::string_view facility,
                              std::string_view message_id, int64_t now_ms,
                              std::string_view target_system) {
  std::string key = MakeKey(system, code, facility, target_system);
  Shard& shard = ShardOf(key);
  const bool tracking = tracking_.load(std::memory_order_relaxed);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  Slot* slot = nullptr;
  if (it == shard.entries.end()) {
    UnmappedEntry e;
    e.system = system;
    e.code = code;
    e.display = display;
    e.facility = facility;
    e.target_system = target_system;
    e.sample_message_id = message_id;
    e.first_seen_ms = now_ms;
    e.last_seen_ms = now_ms;
    e.count = 1;
    slot = Insert(shard, tracking ? key : std::move(key), e);
    if (slot == nullptr) return;
  } else {
    slot = &it->second;
    UnmappedEntry& e = slot->e;
    ++e.count;
    if (e.display.empty() && !display.empty()) e.display = display;
    if (e.sample_message_id.empty() && !message_id.empty()) e.sample_message_id = message_id;
    e.first_seen_ms = std::min(e.first_seen_ms, now_ms);
    e.last_seen_ms = std::max(e.last_seen_ms, now_ms);
  }
  if (tracking) {
    if (slot->pending == 0) shard.dirty.push_back(std::move(key));
    ++slot->pending;
  }
}

void UnmappedRegister::EnableChangeTracking() { tracking_.store(true, std::memory_order_relaxed); }

UnmappedRegister::Changes UnmappedRegister::TakeChanges() {
  Changes out;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (UnmappedEntry& r : shard.removed) out.removed.push_back(std::move(r));
    shard.removed.clear();
    for (const std::string& key : shard.dirty) {
      auto it = shard.entries.find(key);
      if (it == shard.entries.end() || it->second.pending == 0) continue;  // pruned since
      UnmappedEntry e = it->second.e;
      e.count = it->second.pending;
      it->second.pending = 0;
      out.added.push_back(std::move(e));
    }
    shard.dirty.clear();
  }
  return out;
}

void UnmappedRegister::ReturnChanges(Changes changes) {
  for (UnmappedEntry& r : changes.removed) {
    std::string key = MakeKey(r.system, r.code, r.facility, r.target_system);
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    shard.removed.push_back(std::move(r));
  }
  for (const UnmappedEntry& a : changes.added) {
    std::string key = MakeKey(a.system, a.code, a.facility, a.target_system);
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(key);
    if (it == shard.entries.end()) continue;  // pruned meanwhile: nothing to write any more
    if (it->second.pending == 0) shard.dirty.push_back(std::move(key));
    it->second.pending += a.count;
  }
}

void UnmappedRegister::Load(const UnmappedEntry& stored) {
  std::string key = MakeKey(stored.system, stored.code, stored.facility, stored.target_system);
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) {
    (void)Insert(shard, std::move(key), stored);
    return;
  }
  UnmappedEntry& e = it->second.e;
  e.count += stored.count;
  if (e.display.empty()) e.display = stored.display;
  if (e.sample_message_id.empty()) e.sample_message_id = stored.sample_message_id;
  e.first_seen_ms = std::min(e.first_seen_ms, stored.first_seen_ms);
  e.last_seen_ms = std::max(e.last_seen_ms, stored.last_seen_ms);
}

std::vector<UnmappedEntry> UnmappedRegister::Snapshot() const {
  std::vector<UnmappedEntry> out;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [key, slot] : shard.entries) out.push_back(slot.e);
  }
  std::sort(out.begin(), out.end(), [](const UnmappedEntry& a, const UnmappedEntry& b) {
    if (a.count != b.count) return a.count > b.count;
    return std::tie(a.system, a.code, a.facility, a.target_system) <
           std::tie(b.system, b.code, b.facility, b.target_system);
  });
  return out;
}

std::string UnmappedRegister::ToConceptMapCsv() const {
  // One row per (system, code, target): a local system already names its
  // facility, and a map row does not depend on who sent the code.
  struct Row {
    std::string display;
    uint64_t count = 0;
    std::size_t order = 0;
  };
  std::vector<UnmappedEntry> entries = Snapshot();
  std::map<std::tuple<std::string, std::string, std::string>, Row> rows;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const UnmappedEntry& e = entries[k];
    auto [it, inserted] = rows.try_emplace({e.system, e.code, e.target_system});
    if (inserted) it->second.order = k;
    it->second.count += e.count;
    if (it->second.display.empty()) it->second.display = e.display;
  }
  std::vector<std::pair<const std::tuple<std::string, std::string, std::string>*, const Row*>>
      ordered;
  for (const auto& [k, r] : rows) ordered.emplace_back(&k, &r);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    if (a.second->count != b.second->count) return a.second->count > b.second->count;
    return a.second->order < b.second->order;
  });

  std::string out;
  out += "# 未映射代码 (unmapped codes), 共 " + std::to_string(ordered.size()) + " 条\r\n";
  out += "# 请填写 target_system/target_code/target_display 后放入 terminology.dir 并重新加载\r\n";
  out += "# (fill in the target columns, put the file under terminology.dir and reload;\r\n";
  out += "#  rows left blank are ignored by the loader)\r\n";
  AppendCsvRow(out, {"source_system", "source_code", "source_display", "target_system",
                     "target_code", "target_display"});
  for (const auto& [key, row] : ordered) {
    AppendCsvRow(out,
                 {std::get<0>(*key), std::get<1>(*key), row->display, std::get<2>(*key), "", ""});
  }
  return out;
}

size_t UnmappedRegister::PruneResolved(const TerminologySnapshot& snapshot) {
  size_t dropped = 0;
  const bool tracking = tracking_.load(std::memory_order_relaxed);
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      const UnmappedEntry& e = it->second.e;
      if (!e.target_system.empty() && snapshot.Translate(e.system, e.code, e.target_system).found) {
        if (tracking) shard.removed.push_back(e);
        it = shard.entries.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  total_.fetch_sub(dropped, std::memory_order_relaxed);
  return dropped;
}

void UnmappedRegister::Refresh(const UnmappedEntry& stored) {
  std::string key = MakeKey(stored.system, stored.code, stored.facility, stored.target_system);
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) {
    (void)Insert(shard, std::move(key), stored);
    return;
  }
  UnmappedEntry& e = it->second.e;
  e.count = stored.count + it->second.pending;
  // The table's first display and sample win, so every node shows the same.
  if (!stored.display.empty()) e.display = stored.display;
  if (!stored.sample_message_id.empty()) e.sample_message_id = stored.sample_message_id;
  e.first_seen_ms = std::min(e.first_seen_ms, stored.first_seen_ms);
  e.last_seen_ms = std::max(e.last_seen_ms, stored.last_seen_ms);
}

void UnmappedRegister::Clear() {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    total_.fetch_sub(shard.entries.size(), std::memory_order_relaxed);
    shard.entries.clear();
    shard.dirty.clear();
    shard.removed.clear();
  }
}

size_t UnmappedRegister::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.entries.size();
  }
  return n;
}

}  // namespace hie
