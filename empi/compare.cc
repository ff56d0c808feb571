#include "empi/compare.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "empi/fields.h"
#include "empi/lunar.h"

namespace hie::empi {

double JaroWinkler(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty() ? 1.0 : 0.0;
  if (a == b) return 1.0;
  const int la = static_cast<int>(a.size()), lb = static_cast<int>(b.size());
  const int window = std::max(0, std::max(la, lb) / 2 - 1);
  // Names are short; fixed buffers avoid allocation on the hot path.
  bool ma[64] = {false}, mb[64] = {false};
  if (la > 64 || lb > 64) return a == b ? 1.0 : 0.0;
  int matches = 0;
  for (int i = 0; i < la; ++i) {
    int lo = std::max(0, i - window), hi = std::min(lb - 1, i + window);
    for (int j = lo; j <= hi; ++j) {
      if (!mb[j] && a[i] == b[j]) {
        ma[i] = mb[j] = true;
        ++matches;
        break;
      }
    }
  }
  if (matches == 0) return 0.0;
  int t = 0, k = 0;
  for (int i = 0; i < la; ++i) {
    if (!ma[i]) continue;
    while (!mb[k]) ++k;
    if (a[i] != b[k]) ++t;
    ++k;
  }
  const double m = matches;
  const double jaro = (m / la + m / lb + (m - t / 2.0) / m) / 3.0;
  int prefix = 0;
  while (prefix < 4 && prefix < la && prefix < lb && a[prefix] == b[prefix]) ++prefix;
  return jaro + prefix * 0.1 * (1.0 - jaro);
}

bool OneEditApart(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  std::vector<size_t> diff;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      diff.push_back(i);
      if (diff.size() > 2) return false;
    }
  }
  if (diff.size() == 1) return true;
  return diff.size() == 2 && diff[1] == diff[0] + 1 && a[diff[0]] == b[diff[1]] &&
         a[diff[1]] == b[diff[0]];
}

uint8_t CompareId(const NormalizedRecord& a, const NormalizedRecord& b) {
  if (a.id.kind == IdKind::kNone || b.id.kind == IdKind::kNone) return 0;
  if (a.id.kind != b.id.kind) return 0;
  if (a.id_contradicts_record || b.id_contradicts_record) return 0;
  if (a.id.number == b.id.number) return level::kIdExact;
  if (OneEditApart(a.id.number, b.id.number)) return level::kIdTypo;
  // Both 18-digit numbers: a typo in the check character alone, or a
  // single-digit typo that a system "repaired" by recomputing the check
  // character.
  if (a.id.kind == IdKind::kResident &&
      OneEditApart(std::string_view(a.id.number).substr(0, 17),
                   std::string_view(b.id.number).substr(0, 17)) &&
      (!a.id.checksum_ok || !b.id.checksum_ok)) {
    return level::kIdTypo;
  }
  return level::kIdDisagree;
}

namespace {

// a.pinyin() == b.pinyin() without building the strings (hot path).
bool SamePinyin(const NormalizedName& a, const NormalizedName& b) {
  const std::string& as = a.pinyin_surname;
  const std::string& ag = a.pinyin_given;
  const std::string& bs = b.pinyin_surname;
  const std::string& bg = b.pinyin_given;
  if (as.size() + ag.size() != bs.size() + bg.size()) return false;
  auto at = [](const std::string& s, const std::string& g, size_t i) {
    return i < s.size() ? s[i] : g[i - s.size()];
  };
  for (size_t i = 0; i < as.size() + ag.size(); ++i) {
    if (at(as, ag, i) != at(bs, bg, i)) return false;
  }
  return true;
}

}  // namespace

uint8_t CompareName(const NormalizedName& a, const NormalizedName& b) {
  if (a.empty() || b.empty()) return 0;
  if (a.text == b.text) return level::kNameExact;
  if (SamePinyin(a, b)) return level::kNameHomophone;
  const bool sur_known = !a.pinyin_surname.empty() && !b.pinyin_surname.empty();
  const bool giv_known = !a.pinyin_given.empty() && !b.pinyin_given.empty();
  const double ss = sur_known ? JaroWinkler(a.pinyin_surname, b.pinyin_surname) : 0.0;
  const double gs = giv_known ? JaroWinkler(a.pinyin_given, b.pinyin_given) : 0.0;
  if (sur_known && giv_known && ss >= 0.88 && gs >= 0.88) return level::kNameSimilar;
  if (sur_known && giv_known && a.pinyin_surname == b.pinyin_given &&
      a.pinyin_given == b.pinyin_surname) {
    return level::kNameSimilar;
  }
  if ((sur_known && a.pinyin_surname == b.pinyin_surname) ||
      (giv_known && a.pinyin_given == b.pinyin_given)) {
    return level::kNamePartial;
  }
  return level::kNameDisagree;
}

namespace {

std::string DateDigits(const BirthDate& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", d.year, d.month, d.day);
  return buf;
}

}  // namespace

namespace {

// `lunar` was written down as the lunar month and day of `solar`, with the
// Gregorian or the lunar year.
bool LunarOf(const BirthDate& solar, const BirthDate& lunar) {
  if (std::abs(solar.year - lunar.year) > 1) return false;
  const LunarDate l = LunarCalendar::Get().FromGregorian(solar.year, solar.month, solar.day);
  return l.month != 0 && l.month == lunar.month && l.day == lunar.day;
}

}  // namespace

uint8_t CompareBirth(const BirthDate& a, const BirthDate& b) {
  if (!a.known() || !b.known()) return 0;
  if (a.informative() && b.informative()) {
    if (a.year == b.year && a.month == b.month && a.day == b.day) return level::kBirthExact;
    if (a.year == b.year && a.month == b.day && a.day == b.month) return level::kBirthSwap;
    if (LunarOf(a, b) || LunarOf(b, a)) return level::kBirthNear;
    if (OneEditApart(DateDigits(a), DateDigits(b))) return level::kBirthNear;
    return level::kBirthDisagree;
  }
  // At least one side is partial or a YYYY-01-01 placeholder: compatible if
  // what both know agrees, and never more than the year's worth of evidence.
  if (a.year != b.year) return level::kBirthDisagree;
  if (a.month != 0 && b.month != 0 && !a.placeholder && !b.placeholder && a.month != b.month) {
    return level::kBirthDisagree;
  }
  return level::kBirthYear;
}

uint8_t CompareSex(Sex a, Sex b) {
  if (a == Sex::kUnknown || b == Sex::kUnknown) return 0;
  return a == b ? level::kSexAgree : level::kSexDisagree;
}

uint8_t ComparePhone(const Phone& a, const Phone& b) {
  if (a.digits.empty() || b.digits.empty()) return 0;
  if (a.digits == b.digits) return level::kPhoneExact;
  if (OneEditApart(a.digits, b.digits)) return level::kPhoneTypo;
  return level::kPhoneDisagree;
}

uint8_t CompareAddress(const NormalizedAddress& a, const NormalizedAddress& b) {
  const bool a_any = !a.full.empty() || !a.township.empty() || !a.village.empty();
  const bool b_any = !b.full.empty() || !b.township.empty() || !b.village.empty();
  if (!a_any || !b_any) return 0;
  if (!a.full.empty() && a.full == b.full) return level::kAddrExact;
  if (!a.village.empty() && a.village == b.village &&
      (a.township.empty() || b.township.empty() || a.township == b.township)) {
    return level::kAddrVillage;
  }
  if (!a.full.empty() && !b.full.empty() && a.village.empty() && b.village.empty() &&
      JaroWinkler(a.full, b.full) >= 0.92) {
    return level::kAddrVillage;
  }
  if (!a.township.empty() && a.township == b.township) return level::kAddrTownship;
  return level::kAddrDisagree;
}

ComparisonVector Compare(const NormalizedRecord& a, const NormalizedRecord& b) {
  return {CompareId(a, b),
          CompareName(a.name, b.name),
          CompareBirth(a.birth, b.birth),
          CompareSex(a.sex, b.sex),
          ComparePhone(a.phone, b.phone),
          CompareAddress(a.address, b.address)};
}

std::string_view FieldLabel(Field field) {
  switch (field) {
    case Field::kId:
      return "证件号码 (ID number)";
    case Field::kName:
      return "姓名 (name)";
    case Field::kBirth:
      return "出生日期 (birth date)";
    case Field::kSex:
      return "性别 (sex)";
    case Field::kPhone:
      return "电话 (phone)";
    case Field::kAddress:
      return "地址 (address)";
  }
  return "?";
}

std::string_view LevelLabel(Field field, uint8_t lv) {
  if (lv == 0) return "无证据 (no evidence)";
  switch (field) {
    case Field::kId:
      return lv == 1 ? "一致 (exact)" : lv == 2 ? "一位错误或换位 (typo)" : "不一致 (disagree)";
    case Field::kName:
      switch (lv) {
        case 1:
          return "一致 (exact)";
        case 2:
          return "拼音相同 (homophone)";
        case 3:
          return "相似 (similar)";
        case 4:
          return "部分一致 (partial)";
        default:
          return "不一致 (disagree)";
      }
    case Field::kBirth:
      switch (lv) {
        case 1:
          return "一致 (exact)";
        case 2:
          return "日月颠倒 (day/month swap)";
        case 3:
          return "农历生日或一位之差 (lunar birthday / one digit)";
        case 4:
          return "仅年份可比且一致 (only the year known, agrees)";
        default:
          return "不一致 (disagree)";
      }
    case Field::kSex:
      return lv == 1 ? "一致 (agree)" : "不一致 (disagree)";
    case Field::kPhone:
      return lv == 1 ? "一致 (exact)" : lv == 2 ? "一位错误 (typo)" : "不一致 (disagree)";
    case Field::kAddress:
      switch (lv) {
        case 1:
          return "一致 (exact)";
        case 2:
          return "同村 (same village)";
        case 3:
          return "同乡镇 (same township)";
        default:
          return "不一致 (disagree)";
      }
  }
  return "?";
}

}  // namespace hie::empi
