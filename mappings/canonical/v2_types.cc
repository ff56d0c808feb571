#include "mappings/canonical/v2_types.h"

#include <array>

#include "mappings/canonical/model.h"
#include "mappings/hl7v2/charset.h"

namespace hie::canonical::v2 {

using nlohmann::json;

namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

std::string Trim(std::string s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Invalid UTF-8 (e.g. from \Xhh\ escapes) would make the JSON unprintable:
// each bad byte becomes U+FFFD.
std::string ValidUtf8(std::string s) {
  size_t bad = FindInvalidUtf8(s);
  if (bad == std::string::npos) {
    return s;
  }
  std::string out;
  std::string_view rest = s;
  while (bad != std::string::npos) {
    out.append(rest.substr(0, bad));
    out += "\xEF\xBF\xBD";
    rest.remove_prefix(bad + 1);
    bad = FindInvalidUtf8(rest);
  }
  out.append(rest);
  return out;
}

const Er7Delimiters& Std() {
  static const Er7Delimiters kStd;
  return kStd;
}

// Number of UTF-8 code points.
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return n;
}

// Byte length of the first `k` code points.
size_t PrefixBytes(std::string_view s, size_t k) {
  size_t i = 0;
  for (size_t cp = 0; i < s.size() && cp < k; ++cp) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) {
      ++i;
    }
  }
  return i;
}

bool AllCjk(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0xE0) {
      return false;  // ASCII or a 2-byte sequence (Latin, the middle dot)
    }
    i += c < 0xF0 ? 3 : 4;
  }
  return !s.empty();
}

constexpr std::array<std::string_view, 36> kCompoundSurnames = {
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "独孤", "端木", "南宫", "西门", "百里", "呼延", "申屠", "太史", "万俟",
    "闻人", "赫连", "澹台", "公羊", "钟离", "宗政", "濮阳", "单于", "淳于", "太叔", "仲孙", "拓跋"};

struct CodePair {
  std::string_view v2;
  std::string_view fhir;
};

// First match wins in each direction.
constexpr CodePair kObservationStatus[] = {{"F", "final"},
                                           {"P", "preliminary"},
                                           {"C", "corrected"},
                                           {"X", "cancelled"},
                                           {"W", "entered-in-error"},
                                           {"I", "registered"},
                                           {"N", "unknown"},
                                           {"U", "final"},
                                           {"R", "preliminary"},
                                           {"D", "entered-in-error"},
                                           {"S", "registered"},
                                           {"O", "registered"},
                                           {"C", "amended"}};
constexpr CodePair kReportStatus[] = {{"F", "final"},     {"P", "preliminary"}, {"C", "corrected"},
                                      {"X", "cancelled"}, {"A", "partial"},     {"I", "registered"},
                                      {"R", "partial"},   {"S", "registered"},  {"O", "registered"},
                                      {"C", "amended"},   {"C", "appended"}};

template <size_t N>
std::string_view FromV2(const CodePair (&table)[N], std::string_view code,
                        std::string_view fallback) {
  for (const auto& p : table) {
    if (p.v2 == code) return p.fhir;
  }
  return fallback;
}

template <size_t N>
std::string_view ToV2(const CodePair (&table)[N], std::string_view status,
                      std::string_view fallback) {
  for (const auto& p : table) {
    if (p.fhir == status) return p.v2;
  }
  return fallback;
}

}  // namespace

std::string ObservationStatusFromV2(std::string_view code) {
  return std::string(code.empty() ? "final" : FromV2(kObservationStatus, code, "unknown"));
}
std::string ObservationStatusToV2(std::string_view status) {
  return std::string(ToV2(kObservationStatus, status, "N"));
}
std::string ReportStatusFromV2(std::string_view code) {
  return std::string(FromV2(kReportStatus, code, "unknown"));
}
std::string ReportStatusToV2(std::string_view status) {
  return std::string(ToV2(kReportStatus, status, ""));
}

bool HasCjk(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0xE3) {
      return true;
    }
  }
  return false;
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) {
    return {};
  }
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    return {};
  }
  return it->get<std::string>();
}

std::string SystemFromV2(std::string_view name, std::string_view facility,
                         std::string_view default_system) {
  const std::string t = Trim(std::string(name));
  if (t.empty()) {
    return std::string(default_system);
  }
  const std::string u = Upper(t);
  if (u == "L" || u == "LOCAL" || u.rfind("99", 0) == 0) {
    return LocalSystem(facility);
  }
  if (u == "LN" || u == "LOINC") {
    return "LOINC";
  }
  if (u == "I10" || u == "I10C" || u == "ICD10" || u == "ICD-10") {
    return "ICD-10";
  }
  if (u == "UCUM") {
    return "UCUM";
  }
  if (u.size() == 7 && u.rfind("HL7", 0) == 0 &&
      u.find_first_not_of("0123456789", 3) == std::string::npos) {
    return "HL7 " + u.substr(3);
  }
  return t;
}

std::string SystemToV2(std::string_view system) {
  if (system.rfind("local:", 0) == 0) {
    return "L";
  }
  if (system == "LOINC") {
    return "LN";
  }
  if (system == "ICD-10") {
    return "I10";
  }
  if (system.size() == 8 && system.rfind("HL7 ", 0) == 0) {
    return "HL7" + std::string(system.substr(4));
  }
  return std::string(system);
}

std::vector<std::string_view> Reps(std::string_view field, const Er7Delimiters& d) {
  std::vector<std::string_view> out;
  const size_t n = Er7PieceCount(field, d.repetition);
  for (size_t i = 1; i <= n; ++i) {
    out.push_back(Er7Piece(field, d.repetition, i));
  }
  return out;
}

std::string Comp(std::string_view rep, const Er7Delimiters& d, size_t n) {
  return ValidUtf8(Trim(Er7Unescape(Er7Piece(rep, d.component, n), d)));
}

std::string Sub(std::string_view rep, const Er7Delimiters& d, size_t comp, size_t sub) {
  return ValidUtf8(
      Trim(Er7Unescape(Er7Piece(Er7Piece(rep, d.component, comp), d.subcomponent, sub), d)));
}

std::string Text(std::string_view raw, const Er7Delimiters& d) {
  return ValidUtf8(Er7Unescape(raw, d));
}

json ReadCE(std::string_view rep, const Er7Delimiters& d, std::string_view facility,
            std::string_view default_system) {
  const std::string code = Comp(rep, d, 1), text = Comp(rep, d, 2);
  const std::string alt = Comp(rep, d, 4), alt_text = Comp(rep, d, 5);
  const std::string original = Comp(rep, d, 9);
  if (code.empty() && text.empty() && alt.empty() && original.empty()) {
    return nullptr;
  }
  json cc = json::object();
  json codings = json::array();
  if (!code.empty()) {
    json c = json::object();
    const std::string sys = SystemFromV2(Comp(rep, d, 3), facility, default_system);
    if (!sys.empty()) {
      c["system"] = sys;
    }
    c["code"] = code;
    if (!text.empty()) {
      c["display"] = text;
    }
    codings.push_back(std::move(c));
    if (!alt.empty()) {
      json a = json::object();
      const std::string asys = SystemFromV2(Comp(rep, d, 6), facility, "");
      if (!asys.empty()) {
        a["system"] = asys;
      }
      a["code"] = alt;
      if (!alt_text.empty()) {
        a["display"] = alt_text;
      }
      codings.push_back(std::move(a));
    }
  }
  if (!codings.empty()) {
    cc["coding"] = std::move(codings);
  }
  if (!original.empty()) {
    cc["text"] = original;
  } else if (code.empty() && !text.empty()) {
    cc["text"] = text;
  }
  if (cc.empty()) {
    return nullptr;
  }
  return cc;
}

std::string JoinComps(std::vector<std::string> comps, char sep) {
  while (!comps.empty() && comps.back().empty()) {
    comps.pop_back();
  }
  std::string out;
  for (size_t i = 0; i < comps.size(); ++i) {
    if (i > 0) {
      out += sep;
    }
    out += comps[i];
  }
  return out;
}

std::string Esc(std::string_view plain) { return Er7Escape(plain, Std()); }

std::string WriteCE(const json& cc) {
  if (!cc.is_object()) {
    return {};
  }
  std::vector<std::string> comps(9);
  auto coding = cc.find("coding");
  const std::string text = Str(cc, "text");
  if (coding != cc.end() && coding->is_array() && !coding->empty()) {
    const json& c0 = (*coding)[0];
    comps[0] = Esc(Str(c0, "code"));
    comps[1] = Esc(Str(c0, "display"));
    comps[2] = Esc(SystemToV2(Str(c0, "system")));
    if (coding->size() > 1) {
      const json& c1 = (*coding)[1];
      comps[3] = Esc(Str(c1, "code"));
      comps[4] = Esc(Str(c1, "display"));
      comps[5] = Esc(SystemToV2(Str(c1, "system")));
    }
    // With a code, the original text lives in CWE-9 (see ReadCE).
    if (!text.empty()) {
      comps[8] = Esc(text);
    }
  } else if (!text.empty()) {
    comps[1] = Esc(text);
  }
  return JoinComps(std::move(comps), Std().component);
}

json ReadXCN(std::string_view rep, const Er7Delimiters& d, bool sub) {
  auto part = [&](size_t n) { return sub ? Sub(rep, d, 1, n) : Comp(rep, d, n); };
  const std::string id = part(1);
  const std::string family = sub ? part(2) : Sub(rep, d, 2, 1);
  const std::string given = part(3);
  std::string display;
  if (HasCjk(family) || given.empty() || family.empty()) {
    display = family + given;
  } else {
    display = given + " " + family;
  }
  if (id.empty() && display.empty()) {
    return nullptr;
  }
  json ref = json::object();
  if (!display.empty()) {
    ref["display"] = display;
  }
  if (!id.empty()) {
    ref["identifier"] = json{{"value", id}};
  }
  return ref;
}

std::string WriteXCN(const json& ref, bool sub) {
  if (!ref.is_object()) {
    return {};
  }
  std::string id;
  auto ident = ref.find("identifier");
  if (ident != ref.end()) {
    id = Str(*ident, "value");
  }
  const std::string display = Str(ref, "display");
  return JoinComps({Esc(id), Esc(display)}, sub ? Std().subcomponent : Std().component);
}

json MakeHumanName(const std::string& family_in, const std::vector<std::string>& given_in) {
  std::string family = family_in;
  std::vector<std::string> given;
  for (const auto& g : given_in) {
    if (!g.empty()) {
      given.push_back(g);
    }
  }
  if (family.empty() && given.empty()) {
    return nullptr;
  }
  // A Chinese name given whole (PID-5.1 only): split after the surname.
  if (given.empty() && AllCjk(family)) {
    const size_t n = CodePoints(family);
    if (n >= 2 && n <= 5) {
      size_t k = 1;
      for (std::string_view s : kCompoundSurnames) {
        if (n >= 3 && family.rfind(s, 0) == 0) {
          k = 2;
        }
      }
      const size_t b = PrefixBytes(family, k);
      given.push_back(family.substr(b));
      family = family.substr(0, b);
    }
  }
  json name = json::object();
  std::string text;
  if (HasCjk(family) || HasCjk(given.empty() ? "" : given[0])) {
    text = family;
    for (const auto& g : given) {
      text += g;
    }
  } else {
    for (const auto& g : given) {
      text += g + " ";
    }
    text += family;
    text = Trim(text);
  }
  name["text"] = text;
  if (!family.empty()) {
    name["family"] = family;
  }
  if (!given.empty()) {
    name["given"] = given;
  }
  return name;
}

json ReadXPN(std::string_view rep, const Er7Delimiters& d) {
  return MakeHumanName(Sub(rep, d, 1, 1), {Comp(rep, d, 2), Comp(rep, d, 3)});
}

std::string WriteXPN(const json& name) {
  if (!name.is_object()) {
    return {};
  }
  std::string family = Str(name, "family");
  std::vector<std::string> given;
  auto g = name.find("given");
  if (g != name.end() && g->is_array()) {
    for (const auto& x : *g) {
      if (x.is_string()) {
        given.push_back(x.get<std::string>());
      }
    }
  }
  if (family.empty() && given.empty()) {
    family = Str(name, "text");
  }
  std::vector<std::string> comps = {Esc(family)};
  for (size_t i = 0; i < given.size() && i < 2; ++i) {
    comps.push_back(Esc(given[i]));
  }
  return JoinComps(std::move(comps), Std().component);
}

json ReadXAD(std::string_view rep, const Er7Delimiters& d) {
  const std::string l1 = Sub(rep, d, 1, 1), l2 = Comp(rep, d, 2);
  const std::string city = Comp(rep, d, 3), state = Comp(rep, d, 4), zip = Comp(rep, d, 5);
  const std::string country = Comp(rep, d, 6), type = Comp(rep, d, 7);
  const std::string district = Comp(rep, d, 9);
  json a = json::object();
  std::vector<std::string> lines;
  if (!l1.empty()) {
    lines.push_back(l1);
  }
  if (!l2.empty()) {
    lines.push_back(l2);
  }
  if (lines.empty() && city.empty() && state.empty() && zip.empty() && district.empty() &&
      country.empty()) {
    return nullptr;
  }
  if (type == "H") {
    a["use"] = "home";
  }
  if (type == "B" || type == "O") {
    a["use"] = "work";
  }
  if (type == "C") {
    a["use"] = "temp";
  }
  std::string text;
  const bool cjk = HasCjk(l1 + l2 + city + state + district);
  if (cjk) {
    // XAD-9 usually carries the GB/T 2260 county code, not a name.
    const bool district_is_code = district.find_first_not_of("0123456789") == std::string::npos;
    text = state + city + (district_is_code ? "" : district);
    for (const auto& l : lines) {
      text += l;
    }
  } else {
    std::vector<std::string> parts = lines;
    for (const auto& p : {city, district, state, zip}) {
      if (!p.empty()) {
        parts.push_back(p);
      }
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      text += (i ? ", " : "") + parts[i];
    }
  }
  if (!text.empty()) {
    a["text"] = text;
  }
  if (!lines.empty()) {
    a["line"] = lines;
  }
  if (!city.empty()) {
    a["city"] = city;
  }
  if (!district.empty()) {
    a["district"] = district;
  }
  if (!state.empty()) {
    a["state"] = state;
  }
  if (!zip.empty()) {
    a["postalCode"] = zip;
  }
  if (!country.empty()) {
    a["country"] = country;
  }
  return a;
}

std::string WriteXAD(const json& a) {
  if (!a.is_object()) {
    return {};
  }
  std::vector<std::string> comps(9);
  auto lines = a.find("line");
  if (lines != a.end() && lines->is_array()) {
    if (!lines->empty() && (*lines)[0].is_string()) {
      comps[0] = Esc((*lines)[0].get<std::string>());
    }
    if (lines->size() > 1 && (*lines)[1].is_string()) {
      comps[1] = Esc((*lines)[1].get<std::string>());
    }
  }
  if (comps[0].empty() && comps[1].empty() && Str(a, "city").empty() && Str(a, "state").empty() &&
      Str(a, "district").empty() && Str(a, "postalCode").empty() && Str(a, "country").empty()) {
    comps[0] = Esc(Str(a, "text"));  // an address given only as text
  }
  comps[2] = Esc(Str(a, "city"));
  comps[3] = Esc(Str(a, "state"));
  comps[4] = Esc(Str(a, "postalCode"));
  comps[5] = Esc(Str(a, "country"));
  const std::string use = Str(a, "use");
  comps[6] = use == "home" ? "H" : use == "work" ? "B" : use == "temp" ? "C" : "";
  comps[8] = Esc(Str(a, "district"));
  return JoinComps(std::move(comps), Std().component);
}

json ReadXTN(std::string_view rep, const Er7Delimiters& d, bool work) {
  const std::string number = Comp(rep, d, 1), use = Upper(Comp(rep, d, 2));
  const std::string equip = Upper(Comp(rep, d, 3)), email = Comp(rep, d, 4);
  const std::string unformatted = Comp(rep, d, 12);
  json t = json::object();
  const bool is_email =
      equip == "INTERNET" || equip == "X.400" || (number.empty() && !email.empty());
  const std::string value = is_email ? email : !number.empty() ? number : unformatted;
  if (value.empty()) {
    return nullptr;
  }
  t["system"] = is_email ? "email" : "phone";
  t["value"] = value;
  if (equip == "CP") {
    t["use"] = "mobile";
  } else if (work || use == "WPN") {
    t["use"] = "work";
  } else if (use == "PRN") {
    t["use"] = "home";
  }
  return t;
}

std::string WriteXTN(const json& t) {
  if (!t.is_object()) {
    return {};
  }
  const std::string value = Str(t, "value"), use = Str(t, "use");
  const std::string use_code = use == "work"                        ? "WPN"
                               : (use == "home" || use == "mobile") ? "PRN"
                                                                    : "";
  if (Str(t, "system") == "email") {
    return JoinComps({"", use_code.empty() ? "NET" : use_code, "Internet", Esc(value)}, '^');
  }
  return JoinComps({Esc(value), use_code, use == "mobile" ? "CP" : "PH"}, '^');
}

}  // namespace hie::canonical::v2
