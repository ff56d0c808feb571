#include "engine/config_recognition.h"

#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace hie {
namespace {

constexpr int kMaxValidityDays = 3650;
constexpr int kMinEqaYear = 2000, kMaxEqaYear = 2100;

Status At(const std::string& where, const std::string& path, const std::string& msg) {
  return Status(ErrorCode::kConfigError, path + ": " + msg, where);
}

std::string WhereOf(const std::string& file, const YAML::Node& at) {
  std::string where = file;
  if (at.IsDefined() && !at.Mark().is_null()) where += ":" + std::to_string(at.Mark().line + 1);
  return where;
}

bool ParseInt(std::string_view s, int* out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return false;
  *out = v;
  return true;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

// A LOINC code: digits, '-', the Mod 10 (Luhn) check digit. "" when fine,
// else the reason.
std::string LoincProblem(const std::string& code) {
  const size_t dash = code.find('-');
  if (dash == std::string::npos || dash == 0 || dash > 7 || dash + 2 != code.size()) {
    return "应为 LOINC 代码，形如 718-7 (expected a LOINC code such as 718-7)，实际为 \"" + code +
           "\"";
  }
  int sum = 0;
  bool twice = true;  // the rightmost digit of the number part is doubled
  for (size_t i = dash; i-- > 0;) {
    const char c = code[i];
    if (c < '0' || c > '9') {
      return "LOINC 代码只能含数字 (a LOINC code has digits only)：\"" + code + "\"";
    }
    int d = c - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  const char check = code.back();
  if (check < '0' || check > '9' || (10 - sum % 10) % 10 != check - '0') {
    return "LOINC 校验位不符 (check digit wrong) \"" + code + "\"，应为 " +
           code.substr(0, dash + 1) + std::to_string((10 - sum % 10) % 10);
  }
  return {};
}

Status CheckValidity(int days, const std::string& where, const std::string& path) {
  if (days < 1 || days > kMaxValidityDays) {
    return At(where, path,
              "有效期应为 1–" + std::to_string(kMaxValidityDays) +
                  " 天 (validity_days must be 1.." + std::to_string(kMaxValidityDays) +
                  ")，实际为 " + std::to_string(days));
  }
  return Status::Ok();
}

Status CheckYear(int year, const std::string& where, const std::string& path) {
  if (year < kMinEqaYear || year > kMaxEqaYear) {
    return At(where, path,
              "室间质评年份应为 " + std::to_string(kMinEqaYear) + "–" +
                  std::to_string(kMaxEqaYear) + " (eqa_year out of range)，实际为 " +
                  std::to_string(year));
  }
  return Status::Ok();
}

Status CheckKeys(const YAML::Node& map, const std::string& file, const std::string& path,
                 const std::set<std::string_view>& keys, const std::string& allowed) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string k = it->first.IsScalar() ? it->first.Scalar() : std::string();
    if (keys.count(k) == 0) {
      return At(WhereOf(file, it->first), path,
                "未知的配置项 (unknown key) \"" + k + "\"，可用 (allowed): " + allowed);
    }
    if (!seen.insert(k).second) {
      return At(WhereOf(file, it->first), path, "配置项 \"" + k + "\" 重复 (duplicate key)");
    }
  }
  return Status::Ok();
}

Status Scalar(const YAML::Node& map, const char* key, const std::string& file,
              const std::string& path, bool required, std::string* out) {
  const YAML::Node v = map[key];
  if (!v.IsDefined() || v.IsNull()) {
    if (required) {
      return At(WhereOf(file, map), path + "." + key, "缺少必填项 (required key missing)");
    }
    return Status::Ok();
  }
  if (!v.IsScalar()) {
    return At(WhereOf(file, v), path + "." + key, "应为字符串或数字 (expected a scalar)");
  }
  *out = Trim(v.Scalar());
  return Status::Ok();
}

Status IntKey(const YAML::Node& map, const char* key, const std::string& file,
              const std::string& path, int* out) {
  std::string s;
  HIE_RETURN_IF_ERROR(Scalar(map, key, file, path, true, &s));
  if (!ParseInt(s, out)) {
    return At(WhereOf(file, map[key]), path + "." + key,
              "应为整数 (expected a whole number)，实际为 \"" + s + "\"");
  }
  return Status::Ok();
}

// Adds `item`, refusing a code defined twice.
Status AddItem(RecognitionConfig* out, RecognitionItem item) {
  for (const auto& i : out->items) {
    if (i.code == item.code) {
      return At(item.where, "recognition",
                "项目 " + item.code + " 重复定义 (item defined twice; first at " + i.where + ")");
    }
  }
  out->items.push_back(std::move(item));
  return Status::Ok();
}

Status LoadItem(const YAML::Node& node, const std::string& file, const std::string& path,
                RecognitionConfig* out) {
  if (!node.IsMap()) return At(WhereOf(file, node), path, "应为映射 (expected a map)");
  HIE_RETURN_IF_ERROR(CheckKeys(node, file, path,
                                {"code", "name", "validity_days", "unit", "qualified"},
                                "code, name, validity_days, unit, qualified"));
  RecognitionItem item;
  item.where = WhereOf(file, node);
  HIE_RETURN_IF_ERROR(Scalar(node, "code", file, path, true, &item.code));
  if (std::string p = LoincProblem(item.code); !p.empty()) {
    return At(WhereOf(file, node["code"]), path + ".code", p);
  }
  HIE_RETURN_IF_ERROR(Scalar(node, "name", file, path, false, &item.name));
  HIE_RETURN_IF_ERROR(Scalar(node, "unit", file, path, false, &item.unit));
  HIE_RETURN_IF_ERROR(IntKey(node, "validity_days", file, path, &item.validity_days));
  HIE_RETURN_IF_ERROR(CheckValidity(item.validity_days, WhereOf(file, node["validity_days"]),
                                    path + ".validity_days"));
  if (const YAML::Node q = node["qualified"]; q.IsDefined() && !q.IsNull()) {
    if (!q.IsSequence()) {
      return At(WhereOf(file, q), path + ".qualified",
                "应为列表 (expected a list of {facility, eqa_year})");
    }
    for (size_t i = 0; i < q.size(); ++i) {
      const std::string qp = path + ".qualified[" + std::to_string(i) + "]";
      const YAML::Node e = q[i];
      if (!e.IsMap()) return At(WhereOf(file, e), qp, "应为映射 (expected {facility, eqa_year})");
      HIE_RETURN_IF_ERROR(CheckKeys(e, file, qp, {"facility", "eqa_year"}, "facility, eqa_year"));
      RecognitionQualification rq;
      HIE_RETURN_IF_ERROR(Scalar(e, "facility", file, qp, true, &rq.facility));
      if (rq.facility.empty()) {
        return At(WhereOf(file, e["facility"]), qp + ".facility", "不能为空 (must not be empty)");
      }
      HIE_RETURN_IF_ERROR(IntKey(e, "eqa_year", file, qp, &rq.eqa_year));
      HIE_RETURN_IF_ERROR(CheckYear(rq.eqa_year, WhereOf(file, e["eqa_year"]), qp + ".eqa_year"));
      item.qualified.push_back(std::move(rq));
    }
  }
  return AddItem(out, std::move(item));
}

// One CSV line split at commas; "..." quoting with "" for a quote.
bool SplitCsv(std::string_view line, std::vector<std::string>* cells) {
  cells->clear();
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"' && Trim(cur).empty()) {
      quoted = was_quoted = true;
      cur.clear();
    } else if (c == ',') {
      cells->push_back(was_quoted ? cur : Trim(cur));
      cur.clear();
      was_quoted = false;
    } else {
      cur += c;
    }
  }
  if (quoted) return false;
  cells->push_back(was_quoted ? cur : Trim(cur));
  return true;
}

}  // namespace

Status ParseRecognitionCsv(std::string_view text, const std::string& file_name,
                           RecognitionConfig* out) {
  static const std::vector<std::string> kHeader = {"code", "name",     "validity_days",
                                                   "unit", "facility", "eqa_year"};
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // BOM
  std::map<std::string, size_t> index;  // code -> position in out->items (this file's)
  bool header = false;
  int line_no = 0;
  std::vector<std::string> cells;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string line = Trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    const std::string where = file_name + ":" + std::to_string(line_no);
    if (line.empty() || line[0] == '#') {
      if (nl == text.size()) break;
      continue;
    }
    if (!SplitCsv(line, &cells))
      return At(where, "recognition.file", "引号未闭合 (unclosed quote)");
    if (!header) {
      if (cells != kHeader) {
        return At(where, "recognition.file",
                  "表头应为 (header must be) code,name,validity_days,unit,facility,eqa_year");
      }
      header = true;
      continue;
    }
    if (cells.size() != kHeader.size()) {
      return At(where, "recognition.file",
                "应有 6 列 (expected 6 columns)，实际 " + std::to_string(cells.size()) + " 列");
    }
    RecognitionItem item;
    item.code = cells[0];
    item.name = cells[1];
    item.unit = cells[3];
    item.where = where;
    if (std::string p = LoincProblem(item.code); !p.empty()) return At(where, "code", p);
    if (!ParseInt(cells[2], &item.validity_days)) {
      return At(where, "validity_days",
                "应为整数天数 (expected a whole number of days)，实际为 \"" + cells[2] + "\"");
    }
    HIE_RETURN_IF_ERROR(CheckValidity(item.validity_days, where, "validity_days"));
    RecognitionQualification q;
    q.facility = cells[4];
    if (!q.facility.empty() || !cells[5].empty()) {
      if (q.facility.empty())
        return At(where, "facility", "有年份却无机构 (eqa_year without facility)");
      if (!ParseInt(cells[5], &q.eqa_year)) {
        return At(where, "eqa_year", "应为年份 (expected a year)，实际为 \"" + cells[5] + "\"");
      }
      HIE_RETURN_IF_ERROR(CheckYear(q.eqa_year, where, "eqa_year"));
    }
    if (auto it = index.find(item.code); it != index.end()) {
      RecognitionItem& first = out->items[it->second];
      if (first.name != item.name || first.validity_days != item.validity_days ||
          first.unit != item.unit) {
        return At(where, "recognition.file",
                  "项目 " + item.code +
                      " 的名称、有效期或单位与前面的行不一致 (name, validity_days or unit differ "
                      "from " +
                      first.where + ")");
      }
      if (!q.facility.empty()) first.qualified.push_back(std::move(q));
    } else {
      if (!q.facility.empty()) item.qualified.push_back(std::move(q));
      HIE_RETURN_IF_ERROR(AddItem(out, std::move(item)));
      index[out->items.back().code] = out->items.size() - 1;
    }
    if (nl == text.size()) break;
  }
  if (!header)
    return At(file_name + ":1", "recognition.file", "文件为空或缺少表头 (empty file or no header)");
  return Status::Ok();
}

Status LoadRecognitionSection(const YAML::Node& node, const std::string& file,
                              RecognitionConfig* out) {
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return At(WhereOf(file, node), "recognition", "应为映射 (expected a map)");
  HIE_RETURN_IF_ERROR(CheckKeys(node, file, "recognition", {"items", "file"}, "items, file"));
  RecognitionConfig r;
  if (const YAML::Node items = node["items"]; items.IsDefined() && !items.IsNull()) {
    if (!items.IsSequence()) {
      return At(WhereOf(file, items), "recognition.items", "应为列表 (expected a list)");
    }
    for (size_t i = 0; i < items.size(); ++i) {
      HIE_RETURN_IF_ERROR(
          LoadItem(items[i], file, "recognition.items[" + std::to_string(i) + "]", &r));
    }
  }
  HIE_RETURN_IF_ERROR(Scalar(node, "file", file, "recognition", false, &r.file));
  if (!r.file.empty()) {
    std::ifstream in(r.file, std::ios::binary);
    if (!in) {
      return At(WhereOf(file, node["file"]), "recognition.file",
                "无法读取互认目录文件 (cannot read the catalogue file) " + r.file);
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    HIE_RETURN_IF_ERROR(ParseRecognitionCsv(ss.str(), r.file, &r));
  }
  *out = std::move(r);
  return Status::Ok();
}

}  // namespace hie
