#include "mappings/canonical/model.h"

#include <charconv>
#include <cstdint>
#include <utility>

namespace hie::canonical {

using nlohmann::json;

std::string LocalSystem(std::string_view facility) { return "local:" + std::string(facility); }

json NewBundle() {
  return json{{"resourceType", "Bundle"}, {"type", "collection"}, {"entry", json::array()}};
}

void AddEntry(json& bundle, json resource) {
  bundle["entry"].push_back(json{{"resource", std::move(resource)}});
}

namespace {

template <typename J>
J* FindResourceImpl(J& bundle, std::string_view type, std::string_view id) {
  if (!bundle.is_object()) {
    return nullptr;
  }
  auto it = bundle.find("entry");
  if (it == bundle.end() || !it->is_array()) {
    return nullptr;
  }
  for (auto& e : *it) {
    if (!e.is_object()) {
      continue;
    }
    auto r = e.find("resource");
    if (r == e.end() || !r->is_object()) {
      continue;
    }
    auto t = r->find("resourceType");
    auto i = r->find("id");
    if (t != r->end() && i != r->end() && t->is_string() && i->is_string() &&
        t->template get_ref<const std::string&>() == type &&
        i->template get_ref<const std::string&>() == id) {
      return &*r;
    }
  }
  return nullptr;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int Num(std::string_view s) {
  int v = 0;
  for (char c : s) {
    v = v * 10 + (c - '0');
  }
  return v;
}

Status BadTime(std::string_view ts, std::string_view where) {
  return Status(ErrorCode::kParseError,
                "时间格式无效 (invalid timestamp): \"" + std::string(ts.substr(0, 40)) + "\"",
                std::string(where));
}

}  // namespace

json* FindResource(json& bundle, std::string_view type, std::string_view id) {
  return FindResourceImpl(bundle, type, id);
}
const json* FindResource(const json& bundle, std::string_view type, std::string_view id) {
  return FindResourceImpl(bundle, type, id);
}

const json* FindExtension(const json& obj, std::string_view url) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find("extension");
  if (it == obj.end() || !it->is_array()) {
    return nullptr;
  }
  for (const auto& e : *it) {
    if (!e.is_object()) {
      continue;
    }
    auto u = e.find("url");
    if (u == e.end() || !u->is_string() || u->get_ref<const std::string&>() != url) {
      continue;
    }
    for (auto v = e.begin(); v != e.end(); ++v) {
      if (v.key().rfind("value", 0) == 0) {
        return &v.value();
      }
    }
  }
  return nullptr;
}

json MakeConcept(std::string_view system, std::string_view code, std::string_view display) {
  json cc = json::object();
  if (code.empty()) {
    if (!display.empty()) {
      cc["text"] = std::string(display);
    }
    return cc;
  }
  json c = json::object();
  if (!system.empty()) {
    c["system"] = std::string(system);
  }
  c["code"] = std::string(code);
  if (!display.empty()) {
    c["display"] = std::string(display);
  }
  cc["coding"] = json::array({std::move(c)});
  return cc;
}

bool SetDecimal(json& obj, const std::string& key, std::string_view text) {
  std::string_view s = text;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    ++i;
  }
  size_t int_digits = 0, frac_digits = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (IsDigit(s[i])) {
      (dot ? frac_digits : int_digits)++;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  if (int_digits + frac_digits == 0 || int_digits + frac_digits > 30) {
    return false;
  }
  std::string_view num = s;
  if (!num.empty() && num[0] == '+') {
    num.remove_prefix(1);
  }
  json value;
  if (!dot && int_digits <= 18) {
    int64_t v = 0;
    auto r = std::from_chars(num.data(), num.data() + num.size(), v);
    if (r.ec != std::errc()) {
      return false;
    }
    value = v;
  } else {
    std::string tmp(num);
    if (!tmp.empty() && tmp[0] == '.') {
      tmp.insert(0, "0");
    }
    if (tmp.size() > 1 && tmp[0] == '-' && tmp[1] == '.') {
      tmp.insert(1, "0");
    }
    double v = 0;
    auto r = std::from_chars(tmp.data(), tmp.data() + tmp.size(), v);
    if (r.ec != std::errc()) {
      return false;
    }
    value = v;
  }
  const std::string printed = value.dump();
  obj[key] = std::move(value);
  if (printed != text) {
    obj["_" + key] = json{{"extension", json::array({json{{"url", std::string(kDecimalExtension)},
                                                          {"valueString", std::string(text)}}})}};
  } else {
    obj.erase("_" + key);
  }
  return true;
}

std::string GetDecimal(const json& obj, const std::string& key) {
  if (!obj.is_object()) {
    return {};
  }
  auto under = obj.find("_" + key);
  if (under != obj.end()) {
    const json* v = FindExtension(*under, kDecimalExtension);
    if (v != nullptr && v->is_string()) {
      return v->get<std::string>();
    }
  }
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) {
    return {};
  }
  return it->dump();
}

Result<std::string> V2TimeToFhir(std::string_view ts, std::string_view where) {
  while (!ts.empty() && ts.back() == ' ') {
    ts.remove_suffix(1);
  }
  while (!ts.empty() && ts.front() == ' ') {
    ts.remove_prefix(1);
  }
  if (ts.empty() || ts.size() > 40) {
    return BadTime(ts, where);
  }
  size_t zone_pos = ts.size();
  for (size_t i = 8; i < ts.size(); ++i) {
    if (ts[i] == '+' || ts[i] == '-' || ts[i] == 'Z') {
      zone_pos = i;
      break;
    }
  }
  std::string main, frac, zone;
  bool in_frac = false;
  for (size_t i = 0; i < zone_pos; ++i) {
    const char c = ts[i];
    if (IsDigit(c)) {
      (in_frac ? frac : main) += c;
    } else if (c == '.' && !in_frac && main.size() == 14) {
      in_frac = true;
    } else if (!in_frac && (c == '-' || c == ':' || c == ' ' || c == 'T')) {
      continue;
    } else {
      return BadTime(ts, where);
    }
  }
  if (in_frac && frac.empty()) {
    return BadTime(ts, where);
  }
  if (zone_pos < ts.size()) {
    if (ts[zone_pos] == 'Z') {
      if (zone_pos + 1 != ts.size()) {
        return BadTime(ts, where);
      }
      zone = "+00:00";
    } else {
      std::string z;
      for (size_t i = zone_pos + 1; i < ts.size(); ++i) {
        if (ts[i] == ':') {
          continue;
        }
        if (!IsDigit(ts[i])) {
          return BadTime(ts, where);
        }
        z += ts[i];
      }
      if (z.size() != 4 || Num(z.substr(0, 2)) > 14 || Num(z.substr(2)) > 59) {
        return BadTime(ts, where);
      }
      zone = std::string(1, ts[zone_pos]) + z.substr(0, 2) + ":" + z.substr(2);
    }
  }
  const size_t n = main.size();
  if (n != 4 && n != 6 && n != 8 && n != 10 && n != 12 && n != 14) {
    return BadTime(ts, where);
  }
  std::string out = main.substr(0, 4);
  if (n >= 6) {
    const int mo = Num(main.substr(4, 2));
    if (mo < 1 || mo > 12) {
      return BadTime(ts, where);
    }
    out += "-" + main.substr(4, 2);
  }
  if (n >= 8) {
    const int d = Num(main.substr(6, 2));
    const int y = Num(main.substr(0, 4));
    const int mo = Num(main.substr(4, 2));
    static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    // A real day of that month (regression: 2023-02-30 was written out and
    // then refused when read back as FHIR).
    if (d < 1 || d > (mo == 2 && !leap ? 28 : kDays[mo - 1])) {
      return BadTime(ts, where);
    }
    out += "-" + main.substr(6, 2);
  }
  if (n <= 8) {
    if (!zone.empty() && n < 8) {
      return BadTime(ts, where);
    }
    return out;  // a date: FHIR dates carry no zone
  }
  const std::string hh = main.substr(8, 2);
  const std::string mm = n >= 12 ? main.substr(10, 2) : "00";
  const std::string ss = n >= 14 ? main.substr(12, 2) : "00";
  if (Num(hh) > 23 || Num(mm) > 59 || Num(ss) > 60) {
    return BadTime(ts, where);
  }
  out += "T" + hh + ":" + mm + ":" + ss;
  if (!frac.empty()) {
    out += "." + frac;
  }
  out += zone.empty() ? "+08:00" : zone;
  return out;
}

Result<std::string> FhirTimeToV2(std::string_view t, std::string_view where) {
  if (t.empty() || t.size() > 40) {
    return BadTime(t, where);
  }
  std::string out;
  size_t i = 0;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    if (IsDigit(c)) {
      out += c;
    } else if (c == '-' && i < 10) {
      continue;
    } else if (c == 'T' || c == ':') {
      continue;
    } else if (c == '.') {
      out += c;
    } else {
      break;
    }
  }
  if (i < t.size()) {
    if (t[i] == 'Z' && i + 1 == t.size()) {
      out += "+0000";
    } else if (t[i] == '+' || t[i] == '-') {
      std::string z;
      for (size_t k = i + 1; k < t.size(); ++k) {
        if (t[k] == ':') {
          continue;
        }
        if (!IsDigit(t[k])) {
          return BadTime(t, where);
        }
        z += t[k];
      }
      if (z.size() != 4) {
        return BadTime(t, where);
      }
      out += t[i] + z;
    } else {
      return BadTime(t, where);
    }
  }
  const size_t digits = out.find_first_not_of("0123456789");
  const size_t nd = digits == std::string::npos ? out.size() : digits;
  if (nd != 4 && nd != 6 && nd != 8 && nd != 12 && nd != 14) {
    return BadTime(t, where);
  }
  return out;
}

// ------------------------------------------------------------- VisitCodings

namespace {

// A CodeableConcept the visitor may safely append to: an object whose
// "coding", when present, is an array.
bool WellFormed(const json& cc) {
  if (!cc.is_object()) {
    return false;
  }
  auto c = cc.find("coding");
  return c == cc.end() || c->is_array();
}

struct Visitor {
  const CodingVisitor& fn;

  void One(std::string_view role, json& parent, const char* key, const std::string& ptr) {
    auto it = parent.find(key);
    if (it == parent.end() || !WellFormed(*it)) {
      return;
    }
    fn(role, ptr + "/" + key, *it);
  }
  void Many(std::string_view role, json& parent, const char* key, const std::string& ptr) {
    auto it = parent.find(key);
    if (it == parent.end() || !it->is_array()) {
      return;
    }
    for (size_t i = 0; i < it->size(); ++i) {
      if (WellFormed((*it)[i])) {
        fn(role, ptr + "/" + key + "/" + std::to_string(i), (*it)[i]);
      }
    }
  }
  void Ext(std::string_view role, json& parent, std::string_view url, const std::string& ptr) {
    auto it = parent.find("extension");
    if (it == parent.end() || !it->is_array()) {
      return;
    }
    for (size_t i = 0; i < it->size(); ++i) {
      json& e = (*it)[i];
      if (!e.is_object()) {
        continue;
      }
      auto u = e.find("url");
      if (u == e.end() || !u->is_string() || u->get_ref<const std::string&>() != url) {
        continue;
      }
      auto v = e.find("valueCodeableConcept");
      if (v != e.end() && WellFormed(*v)) {
        fn(role, ptr + "/extension/" + std::to_string(i) + "/valueCodeableConcept", *v);
      }
    }
  }
};

}  // namespace

void VisitCodings(json& bundle, const CodingVisitor& fn) {
  if (!bundle.is_object()) {
    return;
  }
  auto entries = bundle.find("entry");
  if (entries == bundle.end() || !entries->is_array()) {
    return;
  }
  Visitor v{fn};
  for (size_t n = 0; n < entries->size(); ++n) {
    json& e = (*entries)[n];
    if (!e.is_object()) {
      continue;
    }
    auto rit = e.find("resource");
    if (rit == e.end() || !rit->is_object()) {
      continue;
    }
    json& r = *rit;
    const std::string p = "/entry/" + std::to_string(n) + "/resource";
    auto t = r.find("resourceType");
    const std::string type = t != r.end() && t->is_string() ? t->get<std::string>() : "";
    if (type == "Patient") {
      v.Ext("sex", r, kSexExtension, p);
      v.One("marital-status", r, "maritalStatus", p);
      v.Ext("ethnicity", r, kEthnicityExtension, p);
      auto ids = r.find("identifier");
      if (ids != r.end() && ids->is_array()) {
        for (size_t i = 0; i < ids->size(); ++i) {
          if ((*ids)[i].is_object()) {
            v.One("identifier-type", (*ids)[i], "type", p + "/identifier/" + std::to_string(i));
          }
        }
      }
    } else if (type == "Encounter") {
      v.Ext("patient-class", r, kPatientClassExtension, p);
      v.Ext("payment-method", r, kPaymentMethodExtension, p);
    } else if (type == "Observation") {
      v.One("lab-item", r, "code", p);
      v.One("coded-result", r, "valueCodeableConcept", p);
      v.Ext("unit", r, kUnitExtension, p);
      v.Many("abnormal-flag", r, "interpretation", p);
    } else if (type == "DiagnosticReport") {
      v.One("lab-panel", r, "code", p);
      v.Many("service-section", r, "category", p);
    } else if (type == "Condition") {
      v.One("diagnosis", r, "code", p);
      v.Many("diagnosis-type", r, "category", p);
    } else if (type == "DocumentReference") {
      v.One("document-type", r, "type", p);
      v.Many("document-class", r, "category", p);
    } else if (type == "ExplanationOfBenefit") {
      auto items = r.find("item");
      if (items != r.end() && items->is_array()) {
        for (size_t i = 0; i < items->size(); ++i) {
          json& item = (*items)[i];
          if (!item.is_object()) {
            continue;
          }
          const std::string ip = p + "/item/" + std::to_string(i);
          v.One("charge-item", item, "productOrService", ip);
          v.One("transaction-type", item, "revenue", ip);
        }
      }
      auto totals = r.find("total");
      if (totals != r.end() && totals->is_array()) {
        for (size_t i = 0; i < totals->size(); ++i) {
          json& t = (*totals)[i];
          if (t.is_object()) {
            v.One("settlement-category", t, "category", p + "/total/" + std::to_string(i));
          }
        }
      }
    }
  }
}

json ToJson(const CanonicalMessage& msg) {
  return json{{"facility", msg.facility},
              {"control_id", msg.control_id},
              {"message_type", msg.message_type},
              {"bundle", msg.bundle}};
}

Result<CanonicalMessage> FromJson(const json& j) {
  if (!j.is_object()) {
    return Status(ErrorCode::kParseError,
                  "规范消息须为 JSON 对象 (canonical message must be an object)", "");
  }
  CanonicalMessage m;
  for (const char* key : {"facility", "control_id", "message_type"}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return Status(ErrorCode::kRequiredMissing, "缺少字符串字段 (missing string field)",
                    std::string("/") + key);
    }
  }
  m.facility = j["facility"].get<std::string>();
  m.control_id = j["control_id"].get<std::string>();
  m.message_type = j["message_type"].get<std::string>();
  auto b = j.find("bundle");
  if (b == j.end() || !b->is_object() || !b->contains("resourceType") ||
      (*b)["resourceType"] != "Bundle") {
    return Status(ErrorCode::kRequiredMissing, "缺少 Bundle (missing bundle)", "/bundle");
  }
  m.bundle = *b;
  return m;
}

}  // namespace hie::canonical
