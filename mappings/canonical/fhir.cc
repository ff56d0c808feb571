#include "mappings/canonical/fhir.h"

#include <algorithm>
#include <array>
#include <map>
#include <utility>

namespace hie::canonical {

using nlohmann::json;

namespace {

struct NamedOid {
  std::string_view name;
  std::string_view oid;
};

// National systems whose FHIR form is their OID (terminology/data/systems.csv).
constexpr std::array<NamedOid, 7> kNamedOids = {{
    {"GB/T 2261.1", "2.16.156.10011.2.3.3.4"},
    {"GB/T 2261.2", "2.16.156.10011.2.3.3.5"},
    {"GB 3304", "2.16.156.10011.2.3.3.3"},
    {"CV02.01.101", "2.16.156.10011.2.3.1.1"},
    {"CV07.10.005", "2.16.156.10011.2.3.1.269"},
    {"CV09.00.404", "2.16.156.10011.2.3.1.271"},
    {"WS/T 500", "2.16.156.10011.2.4"},
}};

constexpr std::string_view kV2TablePrefix = "http://terminology.hl7.org/CodeSystem/v2-";
constexpr std::string_view kHieSystemPrefix = "urn:hie:system:";
constexpr std::string_view kHieLocalPrefix = "urn:hie:local:";
constexpr std::string_view kMessageTypeTag = "urn:hie:message-type";

bool IsOid(std::string_view s) {
  if (s.size() < 3 || s.find('.') == std::string_view::npos) {
    return false;
  }
  return s.find_first_not_of("0123456789.") == std::string_view::npos;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

std::string PercentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) {
    return {};
  }
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Resource type -> canonical id prefix.
std::string Prefix(const std::string& type) {
  static const std::map<std::string, std::string> kPrefixes = {
      {"Patient", "p"},
      {"Encounter", "e"},
      {"Observation", "o"},
      {"DiagnosticReport", "r"},
      {"Condition", "c"},
      {"DocumentReference", "d"},
      {"ExplanationOfBenefit", "eob"},
      {"Organization", "org"},
      {"Practitioner", "pr"},
  };
  auto it = kPrefixes.find(type);
  if (it != kPrefixes.end()) {
    return it->second;
  }
  std::string p;
  for (char c : type) {
    p += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return p;
}

std::string TypeForEvent(const std::string& event) {
  if (event == "R01") {
    return "ORU^R01";
  }
  if (event == "P03") {
    return "DFT^P03";
  }
  if (event.size() == 3 && event[0] == 'A') {
    return "ADT^" + event;
  }
  return {};
}

// Applies `coding_fn` to every coding's system and `ident_fn` to every
// identifier's system, below `j` (depth already bounded by the caller).
template <typename CodingFn, typename IdentFn>
void MapSystems(json& j, const CodingFn& coding_fn, const IdentFn& ident_fn) {
  if (j.is_array()) {
    for (auto& x : j) {
      MapSystems(x, coding_fn, ident_fn);
    }
    return;
  }
  if (!j.is_object()) {
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    json& v = it.value();
    if (it.key() == "coding" && v.is_array()) {
      for (auto& c : v) {
        if (c.is_object() && c.contains("system") && c["system"].is_string()) {
          c["system"] = coding_fn(c["system"].get<std::string>());
        }
      }
    } else if (it.key() == "identifier") {
      auto one = [&](json& ident) {
        if (ident.is_object() && ident.contains("system") && ident["system"].is_string()) {
          ident["system"] = ident_fn(ident["system"].get<std::string>());
        }
      };
      if (v.is_array()) {
        for (auto& x : v) {
          one(x);
        }
      } else {
        one(v);
      }
      continue;  // identifier.type codings keep their FHIR URIs
    } else {
      MapSystems(v, coding_fn, ident_fn);
    }
  }
}

void RewriteReferences(json& j, const std::map<std::string, std::string>& refs) {
  if (j.is_array()) {
    for (auto& x : j) {
      RewriteReferences(x, refs);
    }
    return;
  }
  if (!j.is_object()) {
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "reference" && it.value().is_string()) {
      auto r = refs.find(it.value().get<std::string>());
      if (r != refs.end()) {
        it.value() = r->second;
      }
    } else {
      RewriteReferences(it.value(), refs);
    }
  }
}

Status Bad(ErrorCode code, std::string msg, std::string where) {
  return Status(code, std::move(msg), std::move(where));
}

// A FHIR date: YYYY, YYYY-MM or YYYY-MM-DD with a real month and day.
bool IsFhirDate(const std::string& d) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i) {
      if (i >= d.size() || d[i] < '0' || d[i] > '9') return false;
    }
    return true;
  };
  if (!digits(0, 4)) return false;
  if (d.size() == 4) return true;
  if (d.size() < 7 || d[4] != '-' || !digits(5, 2)) return false;
  const int year = std::stoi(d.substr(0, 4));
  const int month = std::stoi(d.substr(5, 2));
  if (month < 1 || month > 12) return false;
  if (d.size() == 7) return true;
  if (d.size() != 10 || d[7] != '-' || !digits(8, 2)) return false;
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int day = std::stoi(d.substr(8, 2));
  return day >= 1 && day <= (month == 2 && !leap ? 28 : kDays[month - 1]);
}

// Values whose wrong type or form would otherwise be dropped without a
// word: refused with their JSON pointer (regression: a Patient with
// "gender": 7 or "birthDate": "1990-13-45" was accepted silently).
Status CheckValues(const json& r, const std::string& at) {
  if (r.value("resourceType", std::string()) != "Patient") return Status::Ok();
  if (r.contains("gender")) {
    const json& g = r["gender"];
    static constexpr std::array<std::string_view, 4> kCodes = {"male", "female", "other",
                                                               "unknown"};
    if (!g.is_string() ||
        std::find(kCodes.begin(), kCodes.end(), g.get<std::string>()) == kCodes.end()) {
      return Bad(ErrorCode::kInvalidArgument,
                 "性别须为 male|female|other|unknown (gender must be a FHIR administrative-gender "
                 "code)",
                 at + "/gender");
    }
  }
  if (r.contains("birthDate")) {
    const json& b = r["birthDate"];
    if (!b.is_string() || !IsFhirDate(b.get<std::string>())) {
      return Bad(ErrorCode::kInvalidArgument,
                 "出生日期无效 (birthDate must be a valid date YYYY[-MM[-DD]])", at + "/birthDate");
    }
  }
  return Status::Ok();
}

// Builds the document like json::parse does, without exceptions, and keeps
// the text of a decimal "value" whose JSON number would print differently
// ("5.10" -> 5.1) as "_value" (see model.h), so lab values keep their
// precision. On a syntax error it records the byte position.
class DomBuilder : public nlohmann::json_sax<json> {
 public:
  explicit DomBuilder(json& root) : root_(root) {}
  size_t error_position = 0;

  bool null() override { return Put(nullptr) != nullptr; }
  bool boolean(bool v) override { return Put(v) != nullptr; }
  bool number_integer(number_integer_t v) override { return Put(v) != nullptr; }
  bool number_unsigned(number_unsigned_t v) override { return Put(v) != nullptr; }
  bool number_float(number_float_t v, const string_t& text) override {
    const bool in_object = !stack_.empty() && stack_.back()->is_object();
    const std::string key = key_;
    Put(v);
    if (in_object && key == "value" && json(v).dump() != text) {
      (*stack_.back())["_value"] = json{
          {"extension",
           json::array({json{{"url", std::string(kDecimalExtension)}, {"valueString", text}}})}};
    }
    return true;
  }
  bool string(string_t& v) override { return Put(std::move(v)) != nullptr; }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override {
    stack_.push_back(Put(json::object()));
    return true;
  }
  bool key(string_t& k) override {
    key_ = k;
    element_ = &(*stack_.back())[k];
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    stack_.push_back(Put(json::array()));
    return true;
  }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception&) override {
    error_position = pos;
    return false;
  }

 private:
  // Places a value where the parser is; the open containers' addresses stay
  // valid because only the innermost one grows.
  json* Put(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    *element_ = std::move(v);
    return element_;
  }

  json& root_;
  std::vector<json*> stack_;
  json* element_ = nullptr;
  std::string key_;
};

// True when `j` nests deeper than `limit` (recursion stops at the limit).
bool TooDeep(const json& j, size_t limit, size_t depth = 1) {
  if (!j.is_structured()) {
    return false;
  }
  if (depth > limit) {
    return true;
  }
  for (const auto& x : j) {
    if (TooDeep(x, limit, depth + 1)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string SystemToFhir(std::string_view system) {
  if (system.empty()) {
    return {};
  }
  if (system == "LOINC") {
    return "http://loinc.org";
  }
  if (system == "ICD-10") {
    return "http://hl7.org/fhir/sid/icd-10";
  }
  if (system == "UCUM") {
    return std::string(kUcumUri);
  }
  if (system.size() == 8 && system.rfind("HL7 ", 0) == 0) {
    return std::string(kV2TablePrefix) + std::string(system.substr(4));
  }
  if (system.rfind("local:", 0) == 0) {
    return std::string(kHieLocalPrefix) + PercentEncode(system.substr(6));
  }
  if (IsOid(system)) {
    return "urn:oid:" + std::string(system);
  }
  for (const auto& n : kNamedOids) {
    if (n.name == system) {
      return "urn:oid:" + std::string(n.oid);
    }
  }
  if (system.find(':') != std::string_view::npos) {
    return std::string(system);
  }
  return std::string(kHieSystemPrefix) + PercentEncode(system);
}

std::string SystemFromFhir(std::string_view uri) {
  if (uri == "http://loinc.org") {
    return "LOINC";
  }
  if (uri == "http://hl7.org/fhir/sid/icd-10") {
    return "ICD-10";
  }
  if (uri == kUcumUri) {
    return "UCUM";
  }
  if (uri.rfind(kV2TablePrefix, 0) == 0 && uri.size() == kV2TablePrefix.size() + 4 &&
      uri.substr(kV2TablePrefix.size()).find_first_not_of("0123456789") == std::string_view::npos) {
    return "HL7 " + std::string(uri.substr(kV2TablePrefix.size()));
  }
  if (uri.rfind(kHieLocalPrefix, 0) == 0) {
    return "local:" + PercentDecode(uri.substr(kHieLocalPrefix.size()));
  }
  if (uri.rfind(kHieSystemPrefix, 0) == 0) {
    return PercentDecode(uri.substr(kHieSystemPrefix.size()));
  }
  if (uri.rfind("urn:oid:", 0) == 0) {
    std::string_view oid = uri.substr(8);
    for (const auto& n : kNamedOids) {
      if (n.oid == oid) {
        return std::string(n.name);
      }
    }
    return std::string(oid);
  }
  return std::string(uri);
}

size_t JsonDepth(std::string_view text, size_t limit) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        max_depth = depth;
      }
      if (max_depth > limit) {
        return max_depth;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

Result<CanonicalMessage> ReadFhir(std::string_view text, std::string_view facility,
                                  const FhirReadOptions& options) {
  if (text.size() > options.max_bytes) {
    return Bad(
        ErrorCode::kTooLarge,
        "FHIR 报文超过上限 (FHIR message too large): " + std::to_string(text.size()) + " bytes",
        "");
  }
  if (JsonDepth(text, options.max_depth) > options.max_depth) {
    return Bad(
        ErrorCode::kParseError,
        "JSON 嵌套过深 (JSON nested too deeply), 上限 (limit) " + std::to_string(options.max_depth),
        "");
  }
  // sax_parse reports errors through DomBuilder::parse_error: no exceptions.
  json doc;
  DomBuilder builder(doc);
  if (!json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json,
                       /*strict=*/true)) {
    return Bad(ErrorCode::kParseError,
               "JSON 无法解析 (invalid JSON), 第 " + std::to_string(builder.error_position) +
                   " 字节附近 (near byte)",
               "");
  }
  return ReadFhirDocument(doc, facility, options);
}

Result<CanonicalMessage> ReadFhirDocument(const json& doc, std::string_view facility,
                                          const FhirReadOptions& options) {
  if (TooDeep(doc, options.max_depth)) {
    return Bad(
        ErrorCode::kParseError,
        "JSON 嵌套过深 (JSON nested too deeply), 上限 (limit) " + std::to_string(options.max_depth),
        "");
  }
  if (!doc.is_object() || !doc.contains("resourceType") || !doc["resourceType"].is_string()) {
    return Bad(ErrorCode::kRequiredMissing, "缺少 resourceType (missing resourceType)",
               "/resourceType");
  }
  CanonicalMessage out;
  out.facility = std::string(facility);
  struct Item {
    const json* resource;
    std::string full_url;
    std::string request_url;  // transaction entry's request.url ("Patient/123" for PUT)
  };
  std::vector<Item> items;
  const json* header = nullptr;
  const std::string root_type = doc["resourceType"].get<std::string>();
  if (root_type == "Bundle") {
    const std::string type = Str(doc, "type");
    if (type != "message" && type != "transaction" && type != "collection") {
      return Bad(ErrorCode::kUnsupportedType,
                 "不支持的 Bundle 类型 (unsupported Bundle type): " + type.substr(0, 20) +
                     "; 应为 message / transaction / collection",
                 "/type");
    }
    const json* entries = doc.contains("entry") ? &doc["entry"] : nullptr;
    if (entries != nullptr && !entries->is_array()) {
      return Bad(ErrorCode::kParseError, "entry 须为数组 (entry must be an array)", "/entry");
    }
    if (entries != nullptr && entries->size() > options.max_entries) {
      return Bad(ErrorCode::kTooLarge, "Bundle 条目过多 (too many entries)", "/entry");
    }
    for (size_t i = 0; entries != nullptr && i < entries->size(); ++i) {
      const json& e = (*entries)[i];
      const std::string p = "/entry/" + std::to_string(i);
      if (!e.is_object()) {
        return Bad(ErrorCode::kParseError, "条目须为对象 (entry must be an object)", p);
      }
      if (type == "transaction" && e.contains("request")) {
        const std::string method = Str(e["request"], "method");
        if (method == "DELETE") {
          continue;  // nothing to hold
        }
      }
      if (!e.contains("resource") || !e["resource"].is_object()) {
        return Bad(ErrorCode::kRequiredMissing, "条目缺少 resource (entry without resource)",
                   p + "/resource");
      }
      const json& r = e["resource"];
      if (!r.contains("resourceType") || !r["resourceType"].is_string()) {
        return Bad(ErrorCode::kRequiredMissing, "缺少 resourceType (missing resourceType)",
                   p + "/resource/resourceType");
      }
      if (r["resourceType"] == "MessageHeader") {
        if (header == nullptr) {
          header = &r;
        }
        continue;
      }
      if (r["resourceType"] == "Bundle") {
        return Bad(ErrorCode::kUnsupportedType, "不支持嵌套 Bundle (nested Bundle)",
                   p + "/resource");
      }
      HIE_RETURN_IF_ERROR(CheckValues(r, p + "/resource"));
      items.push_back(
          Item{&r, Str(e, "fullUrl"), e.contains("request") ? Str(e["request"], "url") : ""});
    }
    if (type == "message" && header == nullptr) {
      return Bad(ErrorCode::kRequiredMissing,
                 "message 类型的 Bundle 缺少 MessageHeader (message Bundle without MessageHeader)",
                 "/entry/0/resource");
    }
    // Identity of the message.
    const json& ident = doc.contains("identifier") ? doc["identifier"] : json();
    const std::string isys = Str(ident, "system");
    if (isys.rfind(kHieLocalPrefix, 0) == 0) {
      out.facility = PercentDecode(isys.substr(kHieLocalPrefix.size()));
    } else if (header != nullptr && header->contains("sender")) {
      const json& sender_ref = (*header)["sender"];
      const std::string sender = sender_ref.is_object() && sender_ref.contains("identifier")
                                     ? Str(sender_ref["identifier"], "value")
                                     : std::string();
      if (!sender.empty()) {
        out.facility = sender;
      }
    }
    out.control_id = Str(ident, "value");
    if (out.control_id.empty() && header != nullptr) {
      out.control_id = Str(*header, "id");
    }
    if (out.control_id.empty()) {
      out.control_id = Str(doc, "id");
    }
    if (doc.contains("meta") && doc["meta"].is_object() && doc["meta"].contains("tag") &&
        doc["meta"]["tag"].is_array()) {
      for (const auto& t : doc["meta"]["tag"]) {
        if (Str(t, "system") == kMessageTypeTag) {
          out.message_type = Str(t, "code");
        }
      }
    }
    if (out.message_type.empty() && header != nullptr && header->contains("eventCoding")) {
      const json& ev = (*header)["eventCoding"];
      if (Str(ev, "system") == std::string(kV2TablePrefix) + "0003") {
        out.message_type = TypeForEvent(Str(ev, "code"));
      }
    }
  } else {
    if (root_type == "MessageHeader") {
      return Bad(ErrorCode::kUnsupportedType, "单独的 MessageHeader 无内容 (MessageHeader alone)",
                 "/resourceType");
    }
    HIE_RETURN_IF_ERROR(CheckValues(doc, ""));
    items.push_back(Item{&doc, "", ""});
  }

  // New ids, and the map from every way of naming a resource to its new reference.
  std::map<std::string, size_t> counters;
  std::map<std::string, std::string> refs;
  json bundle = NewBundle();
  std::vector<json> resources;
  for (const Item& item : items) {
    const std::string type = (*item.resource)["resourceType"].get<std::string>();
    const std::string prefix = Prefix(type);
    const std::string id = prefix + std::to_string(++counters[prefix]);
    const std::string ref = type + "/" + id;
    const std::string old_id = Str(*item.resource, "id");
    if (!old_id.empty()) {
      refs.emplace(type + "/" + old_id, ref);
    }
    if (!item.full_url.empty()) {
      refs[item.full_url] = ref;
      if (!old_id.empty() && item.full_url.size() > type.size() + old_id.size() + 1) {
        const std::string tail = "/" + type + "/" + old_id;
        if (item.full_url.compare(item.full_url.size() - tail.size(), tail.size(), tail) == 0) {
          refs.emplace(type + "/" + old_id, ref);
        }
      }
    }
    if (!item.request_url.empty() && item.request_url.rfind(type + "/", 0) == 0 &&
        item.request_url.find('?') == std::string::npos) {
      refs.emplace(item.request_url, ref);
    }
    json r = *item.resource;
    r["id"] = id;
    resources.push_back(std::move(r));
  }
  bool has_eob = false, has_report = false, has_doc = false, has_merge = false;
  for (json& r : resources) {
    RewriteReferences(r, refs);
    MapSystems(
        r, [](const std::string& s) { return SystemFromFhir(s); },
        [](const std::string& s) {
          return s.rfind(kHieLocalPrefix, 0) == 0
                     ? "local:" + PercentDecode(std::string_view(s).substr(kHieLocalPrefix.size()))
                     : s;
        });
    const std::string type = r["resourceType"].get<std::string>();
    if (type == "Patient" && r.contains("identifier") && r["identifier"].is_array()) {
      for (auto& ident : r["identifier"]) {
        if (!ident.is_object() || !ident.contains("type")) {
          continue;
        }
        const json& type_cc = ident["type"];
        bool mr = false;
        if (type_cc.is_object() && type_cc.contains("coding") && type_cc["coding"].is_array()) {
          for (const auto& c : type_cc["coding"]) {
            mr = mr || (Str(c, "code") == "MR");
          }
        }
        const std::string sys = Str(ident, "system");
        if (mr && sys.rfind("local:", 0) != 0) {
          ident["system"] = LocalSystem(out.facility);
        }
      }
    }
    if (type == "Patient" && r.contains("link") && r["link"].is_array()) {
      for (const auto& l : r["link"]) {
        has_merge = has_merge || Str(l, "type") == "replaced-by";
      }
    }
    has_eob = has_eob || type == "ExplanationOfBenefit";
    has_report = has_report || type == "DiagnosticReport" || type == "Observation";
    has_doc = has_doc || type == "DocumentReference";
    AddEntry(bundle, std::move(r));
  }
  if (out.message_type.empty()) {
    out.message_type = has_eob      ? "DFT^P03"
                       : has_report ? "ORU^R01"
                       : has_merge  ? "ADT^A40"
                       : has_doc    ? "MDM^T02"
                                    : "ADT^A04";
  }
  if (doc.contains("timestamp") && doc["timestamp"].is_string()) {
    bundle["timestamp"] = doc["timestamp"];
  }
  if (doc.contains("meta") && doc["meta"].is_object() && doc["meta"].contains("extension")) {
    const json& ext = doc["meta"]["extension"];
    if (ext.is_array()) {
      for (const auto& x : ext) {
        if (Str(x, "url") == kV2SegmentExtension) {
          bundle["meta"]["extension"].push_back(x);
        }
      }
    }
  }
  out.bundle = std::move(bundle);
  return out;
}

json ToFhir(const CanonicalMessage& msg, const FhirWriteOptions& options) {
  json b = json::object();
  b["resourceType"] = "Bundle";
  json meta = json::object();
  meta["tag"] =
      json::array({json{{"system", std::string(kMessageTypeTag)}, {"code", msg.message_type}}});
  if (msg.bundle.contains("meta") && msg.bundle["meta"].contains("extension")) {
    meta["extension"] = msg.bundle["meta"]["extension"];
  }
  b["meta"] = std::move(meta);
  b["identifier"] = json{{"system", std::string(kHieLocalPrefix) + PercentEncode(msg.facility)},
                         {"value", msg.control_id}};
  b["type"] = options.message_bundle ? "message" : "collection";
  if (msg.bundle.contains("timestamp")) {
    b["timestamp"] = msg.bundle["timestamp"];
  }
  json entries = json::array();
  if (options.message_bundle) {
    const std::string trigger = msg.message_type.substr(msg.message_type.find('^') + 1);
    json mh = {
        {"resourceType", "MessageHeader"},
        {"id", "mh1"},
        {"eventCoding", json{{"system", std::string(kV2TablePrefix) + "0003"}, {"code", trigger}}},
        {"sender", json{{"identifier", json{{"value", msg.facility}}}}},
        {"source", json{{"endpoint", std::string(kHieLocalPrefix) + PercentEncode(msg.facility)}}}};
    entries.push_back(json{{"resource", std::move(mh)}});
  }
  if (msg.bundle.contains("entry") && msg.bundle["entry"].is_array()) {
    for (const auto& e : msg.bundle["entry"]) {
      if (!e.is_object() || !e.contains("resource")) {
        continue;
      }
      json r = e["resource"];
      MapSystems(
          r, [](const std::string& s) { return SystemToFhir(s); },
          [](const std::string& s) {
            return s.rfind("local:", 0) == 0
                       ? std::string(kHieLocalPrefix) + PercentEncode(std::string_view(s).substr(6))
                       : s;
          });
      entries.push_back(json{{"resource", std::move(r)}});
    }
  }
  b["entry"] = std::move(entries);
  return b;
}

std::string WriteFhir(const CanonicalMessage& msg, const FhirWriteOptions& options) {
  return ToFhir(msg, options).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hie::canonical
