#include "engine/recognition.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace hie {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kChinaOffsetMs = 8 * 3'600'000;

// days since 1970-01-01 -> (y, m, d); H. Hinnant's civil_from_days.
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

struct UnitFactor {
  const char* key;  // UnitKey form
  const char* dim;  // what it measures
  double factor;    // to the dimension's base unit
};

// Fixed-factor conversions of the units county labs report. Mass <-> molar
// (mg/dL glucose -> mmol/L) depends on the substance and is not here.
constexpr UnitFactor kUnits[] = {
    {"g/l", "mass", 1},         {"g/dl", "mass", 10},       {"mg/dl", "mass", 1e-2},
    {"mg/l", "mass", 1e-3},     {"ug/ml", "mass", 1e-3},    {"ug/dl", "mass", 1e-5},
    {"ug/l", "mass", 1e-6},     {"ng/ml", "mass", 1e-6},    {"ng/dl", "mass", 1e-8},
    {"ng/l", "mass", 1e-9},     {"pg/ml", "mass", 1e-9},    {"mol/l", "molar", 1},
    {"mmol/l", "molar", 1e-3},  {"umol/l", "molar", 1e-6},  {"nmol/l", "molar", 1e-9},
    {"pmol/l", "molar", 1e-12}, {"/l", "count", 1},         {"10*6/l", "count", 1e6},
    {"10*9/l", "count", 1e9},   {"10*12/l", "count", 1e12}, {"/ul", "count", 1e6},
    {"10*3/ul", "count", 1e9},  {"10*6/ul", "count", 1e12}, {"/nl", "count", 1e9},
    {"/pl", "count", 1e12},
};

const UnitFactor* FactorOf(const std::string& key) {
  for (const auto& u : kUnits) {
    if (key == u.key) return &u;
  }
  return nullptr;
}

bool PlainDecimal(std::string_view s, double* out) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9') {
      digits = true;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  if (!digits) return false;
  *out = std::strtod(std::string(s).c_str(), nullptr);
  return true;
}

std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  std::string s = buf;
  if (s.find('e') != std::string::npos) {
    std::snprintf(buf, sizeof buf, "%.6f", v);
    s = buf;
    if (s.find('.') != std::string::npos) {
      while (!s.empty() && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
    }
  }
  return s;
}

bool IsFinal(const std::string& status) {
  return status == "final" || status == "corrected" || status == "amended";
}

std::string StatusText(const std::string& s) {
  if (s == "preliminary") return "初步结果 preliminary";
  if (s == "registered") return "已登记未出结果 registered";
  if (s == "cancelled") return "已取消 cancelled";
  if (s == "entered-in-error") return "录入错误 entered-in-error";
  if (s.empty()) return "未知 unknown";
  return s;
}

}  // namespace

int64_t ChinaDay(int64_t ms) {
  const int64_t t = ms + kChinaOffsetMs;
  return t >= 0 ? t / kDayMs : (t - kDayMs + 1) / kDayMs;
}

std::string FormatDay(int64_t day) {
  int y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

int YearOfDay(int64_t day) {
  int y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  return y;
}

std::string UnitKey(std::string_view unit) {
  std::string s;
  for (size_t i = 0; i < unit.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(unit[i]);
    // μ (U+03BC, CE BC) and µ (U+00B5, C2 B5) -> u; × (U+00D7, C3 97) dropped.
    if (c == 0xCE && i + 1 < unit.size() && static_cast<unsigned char>(unit[i + 1]) == 0xBC) {
      s += 'u';
      ++i;
    } else if (c == 0xC2 && i + 1 < unit.size() &&
               static_cast<unsigned char>(unit[i + 1]) == 0xB5) {
      s += 'u';
      ++i;
    } else if (c == 0xC3 && i + 1 < unit.size() &&
               static_cast<unsigned char>(unit[i + 1]) == 0x97) {
      ++i;
    } else if (c == ' ' || c == '[' || c == ']') {
      continue;
    } else if (c == '^') {
      s += '*';
    } else {
      s += static_cast<char>(std::tolower(c));
    }
  }
  // "x10*9/l" (× written as x) and "10e9/l" -> "10*9/l".
  if (s.size() > 3 && s[0] == 'x' && s[1] == '1' && s[2] == '0') s.erase(0, 1);
  if (s.size() > 3 && s.compare(0, 3, "10e") == 0) s[2] = '*';
  return s;
}

std::optional<std::string> ConvertUnitValue(std::string_view value, std::string_view from,
                                            std::string_view to) {
  const std::string a = UnitKey(from), b = UnitKey(to);
  if (a == b) return std::string(value);
  const UnitFactor* fa = FactorOf(a);
  const UnitFactor* fb = FactorOf(b);
  if (fa == nullptr || fb == nullptr || std::string_view(fa->dim) != fb->dim) return std::nullopt;
  double v = 0;
  if (!PlainDecimal(value, &v)) return std::nullopt;
  return FormatNumber(v * fa->factor / fb->factor);
}

RecognitionCatalogue::RecognitionCatalogue(const RecognitionConfig& config) : items_(config.items) {
  for (size_t i = 0; i < items_.size(); ++i) by_code_.emplace(items_[i].code, i);
}

const RecognitionItem* RecognitionCatalogue::Find(std::string_view std_code) const {
  auto it = by_code_.find(std_code);
  return it == by_code_.end() ? nullptr : &items_[it->second];
}

Recognition RecognitionCatalogue::Evaluate(const LabResultRow& row, int64_t now_ms) const {
  Recognition r;
  auto fail = [&](const char* code, std::string text) {
    r.reasons.push_back({code, std::move(text)});
  };
  const int64_t today = ChinaDay(now_ms);
  const int64_t report_ms = row.issued_ms != 0 ? row.issued_ms : row.effective_ms;
  if (report_ms != 0) r.report_day = FormatDay(ChinaDay(report_ms));

  if (row.std_code.empty()) {
    fail("unmapped_code", "检验项目代码未映射到 LOINC (item code not mapped to LOINC): " +
                              row.code_system + " " + row.code);
  } else {
    r.item = Find(row.std_code);
    if (r.item == nullptr) {
      fail("not_in_catalogue",
           "该项目不在互认目录中 (item not in the recognition catalogue): " + row.std_code);
    }
  }
  if (!IsFinal(row.status)) {
    fail("not_final", "结果未最终审核 (result not final): 状态 (status) " + StatusText(row.status));
  }
  if (!row.current) {
    fail("superseded", "该结果已被更正版本取代 (superseded by a corrected result)");
  }
  if (r.item != nullptr) {
    const RecognitionItem& item = *r.item;
    // Qualification: a pass of this year or last year (China time).
    const std::string& performer =
        row.performing_facility.empty() ? row.facility_id : row.performing_facility;
    const int year = YearOfDay(today);
    bool qualified = false;
    int latest = 0;
    for (const auto& q : item.qualified) {
      if (q.facility != performer) continue;
      latest = std::max(latest, q.eqa_year);
      if (q.eqa_year == year || q.eqa_year == year - 1) qualified = true;
    }
    if (!qualified) {
      std::string text =
          "检测机构未通过该项目的室间质评 (performing facility not qualified: no EQA "
          "pass in " +
          std::to_string(year - 1) + " or " + std::to_string(year) + "): " + performer;
      if (latest != 0)
        text += "，最近一次为 " + std::to_string(latest) + " 年 (last pass " +
                std::to_string(latest) + ")";
      fail("facility_not_qualified", std::move(text));
    }
    // Unit: the standard unit, spelled alike, or converted by a fixed factor.
    if (!item.unit.empty()) {
      const std::string& unit = row.std_unit.empty() ? row.unit : row.std_unit;
      if (unit.empty()) {
        fail("non_standard_unit",
             "结果没有单位 (no unit given); 标准单位 (standard unit) " + item.unit);
      } else if (UnitKey(unit) != UnitKey(item.unit)) {
        auto v = ConvertUnitValue(row.value, unit, item.unit);
        if (v) {
          r.converted.emplace(*v, item.unit);
        } else {
          fail("non_standard_unit", "单位 " + unit + " 不是标准单位 " + item.unit +
                                        "，且无法换算 (non-standard unit, not convertible)");
        }
      }
    }
    // Window: calendar days in China time.
    if (report_ms == 0) {
      fail("no_report_time", "报告时间未知，无法判断有效期 (report time unknown)");
    } else {
      const int64_t day = ChinaDay(report_ms);
      r.valid_until = FormatDay(day + item.validity_days);
      if (today - day > item.validity_days) {
        fail("expired", "已超过互认有效期 (expired): 报告日 (reported) " + r.report_day +
                            "，有效 " + std::to_string(item.validity_days) +
                            " 天至 (valid until) " + r.valid_until);
      }
    }
  }
  r.recognized = r.reasons.empty();
  return r;
}

nlohmann::json RecognitionJson(const Recognition& r) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& x : r.reasons) reasons.push_back({{"code", x.code}, {"message", x.message}});
  nlohmann::json j = {{"recognized", r.recognized}, {"reasons", reasons}};
  if (r.item != nullptr) {
    j["item"] = {{"code", r.item->code},
                 {"name", r.item->name},
                 {"validity_days", r.item->validity_days},
                 {"unit", r.item->unit}};
  }
  if (!r.report_day.empty()) j["report_day"] = r.report_day;
  if (!r.valid_until.empty()) j["valid_until"] = r.valid_until;
  if (r.converted) j["converted"] = {{"value", r.converted->first}, {"unit", r.converted->second}};
  return j;
}

}  // namespace hie
