#include "empi/fields.h"

#include <array>
#include <cctype>

#include "empi/utf8.h"

namespace hie::empi {
namespace {

Status Bad(std::string what) { return Status(ErrorCode::kInvalidArgument, std::move(what)); }

// Folds full-width characters and drops spaces and separators.
std::string FoldAscii(std::string_view raw, bool keep_separators) {
  auto decoded = DecodeUtf8(raw);
  if (!decoded.ok()) return {};
  std::string out;
  for (char32_t cp : *decoded) {
    cp = ToHalfWidth(cp);
    if (cp == U' ' || cp == U'\t' || cp == 0xA0) continue;
    if (!keep_separators && (cp == U'-' || cp == U'(' || cp == U')' || cp == U'.')) continue;
    AppendUtf8(cp, out);
  }
  return out;
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

int ToInt(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

char IdCheckChar(std::string_view first17) {
  static constexpr std::array<int, 17> kWeights = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                                   3, 7, 9,  10, 5, 8, 4, 2};
  static constexpr char kChars[] = "10X98765432";
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kChars[sum % 11];
}

bool IsValidDate(int year, int month, int day) {
  if (year < 1850 || year > 2200 || month < 1 || month > 12 || day < 1) return false;
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int max = kDays[month - 1];
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && leap) max = 29;
  return day <= max;
}

int DaysFromCivil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Result<IdCard> NormalizeIdCard(std::string_view raw) {
  std::string s = FoldAscii(raw, false);
  if (s.empty()) return Bad("证件号码为空 (empty id number)");
  if (s.back() == 'x') s.back() = 'X';
  IdCard id;
  const bool body_digits = AllDigits(std::string_view(s).substr(0, s.size() - 1));
  if (s.size() == 18 && body_digits &&
      (std::isdigit(static_cast<unsigned char>(s[17])) || s[17] == 'X')) {
    int y = ToInt(s.substr(6, 4)), m = ToInt(s.substr(10, 2)), d = ToInt(s.substr(12, 2));
    id.kind = IdKind::kResident;
    id.number = s;
    id.sex = ((s[16] - '0') % 2 == 1) ? Sex::kMale : Sex::kFemale;
    if (IsValidDate(y, m, d)) {
      id.checksum_ok = IdCheckChar(s) == s[17];
      id.birth = BirthDate{y, m, d, false};
    }
    // An impossible date is a typo: kept (checksum_ok false, birth unknown)
    // so that it can still agree with the right number at one edit.
    return id;
  }
  if (s.size() == 15 && AllDigits(s)) {
    int y = 1900 + ToInt(s.substr(6, 2)), m = ToInt(s.substr(8, 2)), d = ToInt(s.substr(10, 2));
    if (IsValidDate(y, m, d)) {
      std::string up = s.substr(0, 6) + "19" + s.substr(6);
      up.push_back(IdCheckChar(up));
      id.kind = IdKind::kResident;
      id.number = up;
      id.checksum_ok = true;
      id.upgraded_from_15 = true;
      id.birth = BirthDate{y, m, d, false};
      id.sex = ((s[14] - '0') % 2 == 1) ? Sex::kMale : Sex::kFemale;
      return id;
    }
  }
  // Another identifier (or a resident number too damaged to read): keep the
  // digits for exact / typo comparison only.
  std::string digits;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      digits.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  if (digits.size() < 4) return Bad("证件号码无法识别 (unreadable id number)");
  id.kind = IdKind::kOther;
  id.number = digits;
  return id;
}

Result<BirthDate> ParseBirthDate(std::string_view raw) {
  // A time after the date ("1980-03-05 00:00:00", "1980-03-05T08:00") is cut.
  if (size_t cut = raw.find_first_of(" T"); cut != std::string_view::npos && cut >= 4) {
    raw = raw.substr(0, cut);
  }
  std::string s = FoldAscii(raw, true);
  if (s.empty()) return Bad("出生日期为空 (empty birth date)");
  // Split into runs of digits; anything else (-, /, ., 年, 月, 日) separates.
  std::array<std::string, 3> parts;
  int n = 0;
  bool in = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      if (!in) {
        if (n == 3) break;  // a time after the date is ignored
        ++n;
        in = true;
      }
      parts[n - 1].push_back(c);
    } else {
      in = false;
    }
  }
  if (n == 0) return Bad("出生日期格式错误 (bad birth date)");
  BirthDate b;
  if (n == 1) {
    const std::string& p = parts[0];
    if (p.size() == 8) {
      b = {ToInt(p.substr(0, 4)), ToInt(p.substr(4, 2)), ToInt(p.substr(6, 2)), false};
    } else if (p.size() >= 14) {  // HL7 TS: YYYYMMDDHHMMSS
      b = {ToInt(p.substr(0, 4)), ToInt(p.substr(4, 2)), ToInt(p.substr(6, 2)), false};
    } else if (p.size() == 6) {
      b = {ToInt(p.substr(0, 4)), ToInt(p.substr(4, 2)), 0, false};
    } else if (p.size() == 4) {
      b = {ToInt(p), 0, 0, false};
    } else {
      return Bad("出生日期格式错误 (bad birth date)");
    }
  } else {
    if (parts[0].size() != 4 || parts[1].size() > 2 || (n >= 3 && parts[2].size() > 2)) {
      return Bad("出生日期格式错误 (bad birth date)");
    }
    b.year = ToInt(parts[0]);
    b.month = ToInt(parts[1]);
    b.day = n >= 3 ? ToInt(parts[2]) : 0;
  }
  if (b.month == 0 && b.day == 0) {
    if (b.year < 1850 || b.year > 2200) return Bad("出生年份超出范围 (birth year out of range)");
    return b;
  }
  if (b.day == 0) {
    if (b.year < 1850 || b.year > 2200 || b.month < 1 || b.month > 12) {
      return Bad("出生日期超出范围 (birth date out of range)");
    }
    return b;
  }
  if (!IsValidDate(b.year, b.month, b.day)) {
    return Bad("出生日期不存在 (no such date)");
  }
  b.placeholder = b.month == 1 && b.day == 1;
  return b;
}

Result<Phone> NormalizePhone(std::string_view raw) {
  std::string s = FoldAscii(raw, false);
  std::string digits;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c != '+' && c != '/') {
      return Bad("电话号码含非法字符 (bad phone number)");
    }
  }
  if (digits.rfind("0086", 0) == 0)
    digits.erase(0, 4);
  else if (digits.size() == 13 && digits.rfind("86", 0) == 0)
    digits.erase(0, 2);
  if (digits.size() < 7 || digits.size() > 12) {
    return Bad("电话号码长度错误 (bad phone number length)");
  }
  Phone p;
  p.mobile = digits.size() == 11 && digits[0] == '1' && digits[1] >= '3' && digits[1] <= '9';
  p.digits = std::move(digits);
  return p;
}

Sex ParseSex(std::string_view raw) {
  std::string s = FoldAscii(raw, false);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "m" || s == "1" || s == "male" || s == "男" || s == "男性") return Sex::kMale;
  if (s == "f" || s == "2" || s == "female" || s == "女" || s == "女性") return Sex::kFemale;
  return Sex::kUnknown;
}

namespace {

// Position just after the last administrative level above the township
// (省/市/县/区/自治州/盟/旗) that occurs before `limit`.
size_t AfterCounty(const std::u32string& s, size_t limit) {
  size_t cut = 0;
  for (size_t i = 0; i < limit && i < s.size(); ++i) {
    char32_t c = s[i];
    if (c == U'省' || c == U'市' || c == U'县' || c == U'区' || c == U'州' || c == U'旗' ||
        c == U'盟') {
      cut = i + 1;
    }
  }
  return cut;
}

std::string Lower(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || (c & 0x80)) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

NormalizedAddress NormalizeAddress(std::string_view raw, std::string_view township,
                                   std::string_view village) {
  NormalizedAddress a;
  a.township = Lower(FoldAscii(township, true));
  a.village = Lower(FoldAscii(village, true));
  auto decoded = DecodeUtf8(raw);
  if (!decoded.ok()) return a;
  std::u32string s;
  bool han = false;
  for (char32_t cp : *decoded) {
    cp = ToHalfWidth(cp);
    if (IsHan(cp)) han = true;
    s.push_back(cp);
  }
  if (!han) {
    a.full = Lower(EncodeUtf8(s));
    return a;
  }
  std::u32string compact;
  for (char32_t cp : s) {
    if (cp == U' ' || cp == U'\t' || cp == U',' || cp == 0x3001 || cp == 0xFF0C) continue;
    compact.push_back(cp);
  }
  // Township marker: 镇, 乡 or 街道.
  size_t town_end = std::u32string::npos;
  for (size_t i = 0; i < compact.size(); ++i) {
    if (compact[i] == U'镇' || compact[i] == U'乡') {
      town_end = i + 1;
      break;
    }
    if (compact[i] == U'街' && i + 1 < compact.size() && compact[i + 1] == U'道') {
      town_end = i + 2;
      break;
    }
  }
  size_t start =
      AfterCounty(compact, town_end == std::u32string::npos ? compact.size() : town_end - 1);
  if (town_end != std::u32string::npos && town_end > start) {
    if (a.township.empty()) a.township = EncodeUtf8(compact.substr(start, town_end - start));
  } else {
    town_end = start;
  }
  // Village marker after the township: 村, 社区 or 居委会.
  for (size_t i = town_end; i < compact.size(); ++i) {
    size_t end = 0;
    if (compact[i] == U'村')
      end = i + 1;
    else if (compact[i] == U'社' && i + 1 < compact.size() && compact[i + 1] == U'区')
      end = i + 2;
    else if (compact.compare(i, 3, U"居委会") == 0)
      end = i + 3;
    if (end != 0) {
      if (a.village.empty()) a.village = EncodeUtf8(compact.substr(town_end, end - town_end));
      break;
    }
  }
  a.full = EncodeUtf8(compact.substr(start));
  return a;
}

}  // namespace hie::empi
