#include "mappings/cda/cda_common.h"

#include <array>
#include <cctype>

namespace hie::cda {
namespace {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Decodes one UTF-8 code point; returns its length or 0 when invalid.
size_t Utf8Next(std::string_view s, size_t pos, char32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[pos]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || pos + len > s.size()) return 0;
  char32_t v = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t i = 1; i < len; ++i) v = (v << 6) | (static_cast<unsigned char>(s[pos + i]) & 0x3F);
  *cp = v;
  return len;
}

bool IsCjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || cp == 0x00B7;
}

}  // namespace

const std::vector<SectionInfo>& KnownSections() {
  static const std::vector<SectionInfo> kSections = {
      {"10154-3", "主诉章节", "CHIEF COMPLAINT"},
      {"10164-2", "现病史章节", "HISTORY OF PRESENT ILLNESS"},
      {"11348-0", "既往史章节", "HISTORY OF PAST ILLNESS"},
      {"48765-2", "过敏史章节", "Allergies, adverse reactions, alerts"},
      {"10157-6", "家族史章节", "HISTORY OF FAMILY MEMBER DISEASES"},
      {"29762-2", "生活方式章节", "Social history"},
      {"8716-3", "生命体征章节", "VITAL SIGNS"},
      {"29545-1", "体格检查章节", "PHYSICAL FINDINGS"},
      {"30954-2", "实验室检查章节", "STUDIES SUMMARY"},
      {"29548-5", "诊断记录章节", "Diagnosis"},
      {"18776-5", "治疗计划章节", "TREATMENT PLAN"},
      {"10160-0", "用药章节", "HISTORY OF MEDICATION USE"},
  };
  return kSections;
}

const SectionInfo* FindSection(std::string_view loinc) {
  for (const SectionInfo& s : KnownSections()) {
    if (loinc == s.loinc) return &s;
  }
  return nullptr;
}

std::optional<std::string> TsToFhir(std::string_view ts, std::string_view default_zone) {
  // Split off a zone "+HHMM" / "-HHMM".
  std::string zone;
  size_t zpos = ts.find_first_of("+-");
  std::string_view body = ts.substr(0, zpos);
  if (zpos != std::string_view::npos) {
    std::string_view z = ts.substr(zpos + 1);
    if (z.size() != 4 || !AllDigits(z)) return std::nullopt;
    zone = std::string(1, ts[zpos]) + std::string(z.substr(0, 2)) + ":" + std::string(z.substr(2));
  }
  // Fractional seconds are kept.
  std::string frac;
  size_t dot = body.find('.');
  if (dot != std::string_view::npos) {
    std::string_view f = body.substr(dot + 1);
    if (f.empty() || !AllDigits(f)) return std::nullopt;
    frac = "." + std::string(f);
    body = body.substr(0, dot);
  }
  if (!AllDigits(body)) return std::nullopt;
  const size_t n = body.size();
  if (n == 4) return std::string(body);
  if (n == 6) return std::string(body.substr(0, 4)) + "-" + std::string(body.substr(4, 2));
  if (n == 8) {
    return std::string(body.substr(0, 4)) + "-" + std::string(body.substr(4, 2)) + "-" +
           std::string(body.substr(6, 2));
  }
  if (n != 10 && n != 12 && n != 14) return std::nullopt;
  std::string out = std::string(body.substr(0, 4)) + "-" + std::string(body.substr(4, 2)) + "-" +
                    std::string(body.substr(6, 2)) + "T" + std::string(body.substr(8, 2)) + ":" +
                    (n >= 12 ? std::string(body.substr(10, 2)) : std::string("00")) + ":" +
                    (n >= 14 ? std::string(body.substr(12, 2)) : std::string("00")) + frac;
  out += zone.empty() ? std::string(default_zone) : zone;
  return out;
}

std::optional<std::string> FhirToTs(std::string_view fhir) {
  std::string out;
  size_t i = 0;
  for (; i < fhir.size(); ++i) {
    char c = fhir[i];
    if (c >= '0' && c <= '9') {
      out.push_back(c);
    } else if (c == '-' && out.size() < 8) {
      continue;
    } else if (c == 'T' || c == ':') {
      continue;
    } else {
      break;
    }
  }
  std::string frac;
  if (i < fhir.size() && fhir[i] == '.') {
    size_t j = i + 1;
    while (j < fhir.size() && std::isdigit(static_cast<unsigned char>(fhir[j]))) ++j;
    frac = std::string(fhir.substr(i, j - i));
    i = j;
  }
  if (out.size() != 4 && out.size() != 6 && out.size() != 8 && out.size() != 12 &&
      out.size() != 14) {
    return std::nullopt;
  }
  out += frac;
  if (i == fhir.size()) return out;
  std::string_view zone = fhir.substr(i);
  if (zone == "Z") return out + "+0000";
  if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
      AllDigits(zone.substr(1, 2)) && AllDigits(zone.substr(4, 2))) {
    return out + std::string(zone.substr(0, 3)) + std::string(zone.substr(4, 2));
  }
  return std::nullopt;
}

void SplitChineseName(std::string_view name, std::string* family, std::string* given) {
  family->clear();
  given->clear();
  std::vector<std::string_view> chars;
  for (size_t pos = 0; pos < name.size();) {
    char32_t cp = 0;
    size_t len = Utf8Next(name, pos, &cp);
    if (len == 0 || !IsCjk(cp)) return;
    chars.push_back(name.substr(pos, len));
    pos += len;
  }
  if (chars.size() < 2 || chars.size() > 5) return;
  static const std::array<std::string_view, 20> kCompound = {
      "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
      "宇文", "司徒", "令狐", "夏侯", "澹台", "轩辕", "端木", "独孤", "南宫", "西门"};
  size_t family_chars = 1;
  if (chars.size() >= 3) {
    std::string first_two = std::string(chars[0]) + std::string(chars[1]);
    for (std::string_view c : kCompound) {
      if (first_two == c) family_chars = 2;
    }
  }
  for (size_t i = 0; i < chars.size(); ++i) {
    (i < family_chars ? *family : *given) += chars[i];
  }
}

}  // namespace hie::cda
