#include "empi/name_normalizer.h"

#include <unicode/translit.h>
#include <unicode/unistr.h>

#include <array>
#include <cctype>

#include "empi/utf8.h"

namespace hie::empi {
namespace {

struct Reading {
  char32_t han;
  const char* pinyin;
};

// Surname readings that differ from the most common reading ICU gives.
constexpr std::array<Reading, 36> kSurnameReadings = {{
    {U'曾', "zeng"}, {U'单', "shan"}, {U'解', "xie"},  {U'区', "ou"},    {U'仇', "qiu"},
    {U'查', "zha"},  {U'朴', "piao"}, {U'覃', "qin"},  {U'翟', "zhai"},  {U'盖', "ge"},
    {U'缪', "miao"}, {U'乐', "yue"},  {U'黑', "he"},   {U'秘', "bi"},    {U'种', "chong"},
    {U'繁', "po"},   {U'员', "yun"},  {U'召', "shao"}, {U'阚', "kan"},   {U'薄', "bo"},
    {U'隗', "wei"},  {U'祭', "zhai"}, {U'角', "jue"},  {U'句', "gou"},   {U'都', "du"},
    {U'能', "nai"},  {U'折', "she"},  {U'尉', "wei"},  {U'长', "chang"}, {U'重', "chong"},
    {U'宿', "su"},   {U'燕', "yan"},  {U'纪', "ji"},   {U'奇', "ji"},    {U'洗', "xian"},
    {U'莘', "shen"},
}};

struct Compound {
  std::u32string_view han;
  const char* pinyin;
};

constexpr std::array<Compound, 22> kCompoundSurnames = {{
    {U"欧阳", "ouyang"},   {U"司马", "sima"},     {U"诸葛", "zhuge"},   {U"上官", "shangguan"},
    {U"司徒", "situ"},     {U"东方", "dongfang"}, {U"皇甫", "huangfu"}, {U"令狐", "linghu"},
    {U"夏侯", "xiahou"},   {U"慕容", "murong"},   {U"尉迟", "yuchi"},   {U"万俟", "moqi"},
    {U"长孙", "zhangsun"}, {U"公孙", "gongsun"},  {U"宇文", "yuwen"},   {U"西门", "ximen"},
    {U"独孤", "dugu"},     {U"端木", "duanmu"},   {U"单于", "chanyu"},  {U"澹台", "tantai"},
    {U"申屠", "shentu"},   {U"轩辕", "xuanyuan"},
}};

const char* SurnameReading(char32_t cp) {
  for (const auto& r : kSurnameReadings) {
    if (r.han == cp) return r.pinyin;
  }
  return nullptr;
}

bool Dropped(char32_t cp) {
  // Spaces, middle dots of minority and foreign names, hyphens, periods.
  return cp == U' ' || cp == U'\t' || cp == 0xB7 || cp == 0x2022 || cp == 0x30FB || cp == 0x2027 ||
         cp == 0xFF65 || cp == U'.' || cp == U'-' || cp == U'\'' || cp == 0x2019 || cp == 0x3002 ||
         cp == 0xA0 || cp == U',';
}

}  // namespace

size_t SurnameLength(std::u32string_view s) {
  if (s.size() >= 3) {  // a compound surname needs at least one given character
    for (const auto& c : kCompoundSurnames) {
      if (s.substr(0, 2) == c.han) return 2;
    }
  }
  return s.empty() ? 0 : 1;
}

Result<std::unique_ptr<NameNormalizer>> NameNormalizer::Create() {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Transliterator> simp(
      icu::Transliterator::createInstance("Hant-Hans", UTRANS_FORWARD, status));
  if (U_FAILURE(status) || !simp) {
    return Status(ErrorCode::kInternal, "ICU 繁简转换不可用 (ICU Hant-Hans unavailable)");
  }
  status = U_ZERO_ERROR;
  std::unique_ptr<icu::Transliterator> latin(
      icu::Transliterator::createInstance("Han-Latin; Latin-ASCII", UTRANS_FORWARD, status));
  if (U_FAILURE(status) || !latin) {
    return Status(ErrorCode::kInternal, "ICU 拼音转换不可用 (ICU Han-Latin unavailable)");
  }
  return std::unique_ptr<NameNormalizer>(new NameNormalizer(std::move(simp), std::move(latin)));
}

NameNormalizer::NameNormalizer(std::unique_ptr<icu::Transliterator> to_simplified,
                               std::unique_ptr<icu::Transliterator> to_latin)
    : to_simplified_(std::move(to_simplified)), to_latin_(std::move(to_latin)) {}

NameNormalizer::~NameNormalizer() = default;

std::unique_ptr<NameNormalizer> NameNormalizer::Clone() const {
  auto copy = std::unique_ptr<NameNormalizer>(
      new NameNormalizer(std::unique_ptr<icu::Transliterator>(to_simplified_->clone()),
                         std::unique_ptr<icu::Transliterator>(to_latin_->clone())));
  copy->simplified_cache_ = simplified_cache_;
  copy->pinyin_cache_ = pinyin_cache_;
  return copy;
}

char32_t NameNormalizer::SimplifyChar(char32_t cp) {
  if (!IsHan(cp)) return cp;
  auto it = simplified_cache_.find(cp);
  if (it != simplified_cache_.end()) return it->second;
  icu::UnicodeString u(static_cast<UChar32>(cp));
  to_simplified_->transliterate(u);
  char32_t out = u.length() > 0 ? static_cast<char32_t>(u.char32At(0)) : cp;
  if (u.countChar32() != 1) out = cp;  // keep one character per character
  simplified_cache_.emplace(cp, out);
  return out;
}

const std::string& NameNormalizer::CharPinyin(char32_t cp) {
  auto it = pinyin_cache_.find(cp);
  if (it != pinyin_cache_.end()) return it->second;
  icu::UnicodeString u(static_cast<UChar32>(cp));
  to_latin_->transliterate(u);
  std::string utf8;
  u.toUTF8String(utf8);
  std::string out;
  for (char c : utf8) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return pinyin_cache_.emplace(cp, std::move(out)).first->second;
}

std::u32string NameNormalizer::Clean(const std::u32string& in) {
  std::u32string out;
  out.reserve(in.size());
  for (char32_t cp : in) {
    cp = ToHalfWidth(cp);
    if (Dropped(cp)) continue;
    out.push_back(SimplifyChar(cp));
  }
  return out;
}

std::string NameNormalizer::Pinyin(std::u32string_view text, bool as_surname) {
  std::string out;
  if (as_surname) {
    for (const auto& c : kCompoundSurnames) {
      if (text == c.han) return c.pinyin;
    }
    if (text.size() == 1) {
      if (const char* r = SurnameReading(text[0])) return r;
    }
  }
  for (char32_t cp : text) {
    if (IsHan(cp)) {
      out += CharPinyin(cp);
    } else if (cp < 0x80 && std::isalpha(static_cast<int>(cp))) {
      out.push_back(static_cast<char>(std::tolower(static_cast<int>(cp))));
    }
  }
  return out;
}

std::string NameNormalizer::Simplify(std::string_view text) {
  auto decoded = DecodeUtf8(text);
  if (!decoded.ok()) return {};
  std::u32string out;
  for (char32_t cp : *decoded) out.push_back(SimplifyChar(ToHalfWidth(cp)));
  return EncodeUtf8(out);
}

Result<NormalizedName> NameNormalizer::Normalize(std::string_view full, std::string_view surname,
                                                 std::string_view given) {
  NormalizedName n;
  std::u32string sur, giv;
  if (!surname.empty() || !given.empty()) {
    HIE_ASSIGN_OR_RETURN(std::u32string s, DecodeUtf8(surname));
    HIE_ASSIGN_OR_RETURN(std::u32string g, DecodeUtf8(given));
    sur = Clean(s);
    giv = Clean(g);
  } else {
    HIE_ASSIGN_OR_RETURN(std::u32string f, DecodeUtf8(full));
    // Latin names keep their word boundary for the split: the last word is
    // the surname ("John Smith").
    bool han = false;
    for (char32_t cp : f) han = han || IsHan(cp);
    if (han) {
      std::u32string c = Clean(f);
      size_t k = SurnameLength(c);
      sur = c.substr(0, k);
      giv = c.substr(k);
    } else {
      std::u32string folded;
      for (char32_t cp : f) folded.push_back(ToHalfWidth(cp));
      size_t end = folded.find_last_not_of(U' ');
      if (end != std::u32string::npos) folded.resize(end + 1);
      size_t sp = folded.find_last_of(U' ');
      if (sp == std::u32string::npos) {
        sur = Clean(folded);
      } else {
        giv = Clean(folded.substr(0, sp));
        sur = Clean(folded.substr(sp + 1));
      }
    }
  }
  for (char32_t cp : sur) n.han = n.han || IsHan(cp);
  for (char32_t cp : giv) n.han = n.han || IsHan(cp);
  n.surname = n.han ? EncodeUtf8(sur) : Pinyin(sur, false);
  n.given = n.han ? EncodeUtf8(giv) : Pinyin(giv, false);
  n.text = n.surname + n.given;
  n.pinyin_surname = Pinyin(sur, true);
  n.pinyin_given = Pinyin(giv, false);
  if (n.pinyin_surname.empty() && n.pinyin_given.empty()) {
    return Status(ErrorCode::kInvalidArgument, "姓名无可识别字符 (name has no letters)");
  }
  return n;
}

}  // namespace hie::empi
