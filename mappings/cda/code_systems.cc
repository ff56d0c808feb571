#include "mappings/cda/code_systems.h"

#include <cassert>
#include <fstream>
#include <sstream>
#include <vector>

namespace hie::cda {
namespace {

// Generated at configure time from mappings/cda/oid_systems.csv (cda.cmake).
constexpr std::string_view kBuiltInCsv =
#include "mappings/cda/oid_systems.inc"
    ;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(Trim(s.substr(start)));
      break;
    }
    out.push_back(Trim(s.substr(start, pos - start)));
    start = pos + 1;
  }
  return out;
}

}  // namespace

bool LooksLikeOid(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  bool prev_dot = false;
  for (char c : s) {
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
    } else if (c >= '0' && c <= '9') {
      prev_dot = false;
    } else {
      return false;
    }
  }
  return s.find('.') != std::string_view::npos;
}

Result<std::shared_ptr<const OidTable>> OidTable::Parse(std::string_view csv,
                                                        std::string_view source_name) {
  auto table = std::make_shared<OidTable>();
  int line_no = 0;
  bool header_seen = false;
  for (std::string_view line : Split(csv, '\n')) {
    ++line_no;
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> cols = Split(line, ',');
    const std::string where = std::string(source_name) + ":" + std::to_string(line_no);
    if (!header_seen) {
      header_seen = true;
      if (cols.size() < 2 || cols[0] != "oid" || cols[1] != "name") {
        return Status(ErrorCode::kConfigError,
                      "OID 对照表缺少表头 oid,name,aliases,display (missing CSV header)", where);
      }
      continue;
    }
    if (cols.size() < 2 || cols[0].empty() || cols[1].empty()) {
      return Status(ErrorCode::kConfigError, "OID 对照表行不完整 (incomplete CSV row)", where);
    }
    if (!LooksLikeOid(cols[0])) {
      return Status(ErrorCode::kConfigError,
                    "OID 格式错误 (malformed OID): " + std::string(cols[0]), where);
    }
    OidEntry e{std::string(cols[0]), std::string(cols[1]),
               cols.size() > 3 && !cols[3].empty() ? std::string(cols[3]) : std::string(cols[1])};
    if (table->by_oid_.count(e.oid) != 0) {
      return Status(ErrorCode::kConfigError, "OID 重复 (duplicate OID): " + e.oid, where);
    }
    // Short names win over displays and aliases of other rows.
    table->name_to_oid_[e.name] = e.oid;
    table->name_to_oid_.emplace(e.display, e.oid);
    if (cols.size() > 2) {
      for (std::string_view alias : Split(cols[2], '|')) {
        if (!alias.empty()) table->name_to_oid_.emplace(std::string(alias), e.oid);
      }
    }
    table->by_oid_.emplace(e.oid, std::move(e));
  }
  if (!header_seen) {
    return Status(ErrorCode::kConfigError, "OID 对照表为空 (empty OID table)",
                  std::string(source_name));
  }
  return std::shared_ptr<const OidTable>(std::move(table));
}

Result<std::shared_ptr<const OidTable>> OidTable::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(ErrorCode::kConfigError, "无法读取 OID 对照表 (cannot read OID table)", path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

std::shared_ptr<const OidTable> OidTable::BuiltIn() {
  static const std::shared_ptr<const OidTable> kTable = [] {
    auto r = Parse(kBuiltInCsv, "oid_systems.csv (built-in)");
    assert(r.ok());
    return r.ok() ? r.value() : std::make_shared<const OidTable>();
  }();
  return kTable;
}

const OidEntry* OidTable::ByOid(std::string_view oid) const {
  auto it = by_oid_.find(oid);
  return it == by_oid_.end() ? nullptr : &it->second;
}

const OidEntry* OidTable::ByName(std::string_view name) const {
  auto it = name_to_oid_.find(name);
  return it == name_to_oid_.end() ? nullptr : ByOid(it->second);
}

std::string OidTable::SystemForOid(std::string_view oid) const {
  const OidEntry* e = ByOid(oid);
  return e != nullptr ? e->name : std::string(oid);
}

std::optional<std::string> OidTable::OidForSystem(std::string_view system) const {
  if (system.starts_with("urn:oid:")) system.remove_prefix(8);
  if (const OidEntry* e = ByName(system)) return e->oid;
  if (LooksLikeOid(system)) return std::string(system);
  return std::nullopt;
}

}  // namespace hie::cda
