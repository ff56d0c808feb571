// Config loading: YAML text -> validated, immutable Config. yaml-cpp throws;
// every exception is caught here and turned into a kConfigError Status with
// "<file>:<line>", so callers only ever see Result<Config>.
#include "engine/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "engine/config_recognition.h"
#include "engine/config_retention.h"

namespace hie {

// ---------------------------------------------------------------------------
// Enums and small helpers on the plan.

// Names indexed by the enum values; the loader parses with the same tables.
constexpr std::string_view kKindNames[] = {"county", "township", "village"};
constexpr std::string_view kTypeNames[] = {"http", "mllp", "file"};
constexpr std::string_view kFormatNames[] = {"cda", "hl7v2", "json"};

std::string_view ToString(FacilityKind k) { return kKindNames[static_cast<int>(k)]; }
std::string_view ToString(DestinationType t) { return kTypeNames[static_cast<int>(t)]; }
std::string_view ToString(DestinationFormat f) { return kFormatNames[static_cast<int>(f)]; }

std::string DestinationConfig::Endpoint() const {
  switch (type) {
    case DestinationType::kHttp:
      return url;
    case DestinationType::kMllp: {
      bool v6 = host.find(':') != std::string::npos;
      return "mllp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
    case DestinationType::kFile:
      return "file://" + path;
  }
  return url;
}

const FacilityConfig* Config::FindFacility(std::string_view id) const {
  for (const auto& f : facilities) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

bool CertainlyNoCdaForm(std::string_view pattern) {
  // DFT (charges and settlement) never has a CDA form, nor ADT^A40 (a merge).
  // Wildcards over other codes may match messages that do.
  const std::string_view code = pattern.substr(0, pattern.find('^'));
  return code == "DFT" || pattern == "ADT^A40";
}

const DestinationConfig* Config::FindDestination(std::string_view id) const {
  for (const auto& d : destinations) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

bool Config::UsesPostgres() const {
  return store.starts_with("postgresql://") || store.starts_with("postgres://");
}

namespace {

Status ConfigError(std::string message, std::string where = {}) {
  return Status(ErrorCode::kConfigError, std::move(message), std::move(where));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Levenshtein distance on bytes; the keys compared are ASCII.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string JoinList(const std::vector<std::string_view>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out;
}

// `；是否想写 "x"？(did you mean)` when some allowed word is close, else "".
std::string Suggestion(std::string_view got, const std::vector<std::string_view>& allowed) {
  std::string_view best;
  size_t best_d = std::string::npos;
  std::string g = Lower(got);
  for (auto a : allowed) {
    size_t d = EditDistance(g, Lower(a));
    if (d < best_d) {
      best_d = d;
      best = a;
    }
  }
  size_t limit = std::max<size_t>(2, got.size() / 3);
  if (best.empty() || best_d > limit) return {};
  return "；是否想写 \"" + std::string(best) + "\"？(did you mean)";
}

// "<what> "<got>" (<english>)；是否想写 …；可选 (allowed): a, b, c".
std::string NotOneOf(std::string_view what, std::string_view english, std::string_view got,
                     const std::vector<std::string_view>& allowed) {
  return std::string(what) + " \"" + std::string(got) + "\" (" + std::string(english) + ")" +
         Suggestion(got, allowed) +
         "；可选 (allowed): " + (allowed.empty() ? std::string("无 (none)") : JoinList(allowed));
}

// Parses "<number><unit>" with an optional fraction; returns the number and
// the unit (lower-cased when `fold_case`).
struct NumberAndUnit {
  double value = 0;
  std::string unit;
};

std::optional<NumberAndUnit> SplitNumber(std::string_view text, bool fold_case) {
  text = Trim(text);
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return std::nullopt;
  size_t end = i;
  if (end < text.size() && text[end] == '.') {
    size_t j = end + 1;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j == end + 1) return std::nullopt;
    end = j;
  }
  NumberAndUnit out;
  std::string number(text.substr(0, end));
  char* stop = nullptr;
  out.value = std::strtod(number.c_str(), &stop);
  if (stop != number.c_str() + number.size() || !std::isfinite(out.value)) return std::nullopt;
  std::string_view unit = Trim(text.substr(end));
  out.unit = fold_case ? Lower(unit) : std::string(unit);
  return out;
}

bool HasBadIdChar(std::string_view id) {
  for (unsigned char c : id) {
    if (c <= ' ' || c == 0x7f || c == '|' || c == '^' || c == '~' || c == '\\' || c == '&' ||
        c == '/') {
      return true;
    }
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Scalar parsers (public).

Result<int64_t> ParseDurationMillis(std::string_view text) {
  static const std::vector<std::pair<std::string_view, int64_t>> kUnits = {
      {"", 1000},     {"ms", 1},      {"s", 1000},    {"m", 60000},
      {"min", 60000}, {"h", 3600000}, {"d", 86400000}};
  auto bad = [&] {
    return ConfigError("无效的时长 \"" + std::string(text) +
                       "\" (invalid duration)；例如 (e.g.) 250ms, 1s, 5m, 2h, 1d，纯数字表示秒 "
                       "(a bare number means seconds)");
  };
  auto parsed = SplitNumber(text, /*fold_case=*/false);
  if (!parsed) return bad();
  for (const auto& [unit, ms] : kUnits) {
    if (parsed->unit != unit) continue;
    double v = parsed->value * static_cast<double>(ms);
    if (v > 9.0e15) return bad();
    return static_cast<int64_t>(std::llround(v));
  }
  return bad();
}

Result<int64_t> ParseSizeBytes(std::string_view text) {
  static const std::vector<std::pair<std::string_view, int64_t>> kUnits = {
      {"", 1},          {"b", 1},         {"kb", 1000},    {"mb", 1000000}, {"gb", 1000000000},
      {"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}};
  auto bad = [&] {
    return ConfigError("无效的大小 \"" + std::string(text) +
                       "\" (invalid size)；例如 (e.g.) 16MiB, 512KiB, 1GB，纯数字表示字节 "
                       "(a bare number means bytes)");
  };
  auto parsed = SplitNumber(text, /*fold_case=*/true);
  if (!parsed) return bad();
  for (const auto& [unit, mult] : kUnits) {
    if (parsed->unit != unit) continue;
    double v = parsed->value * static_cast<double>(mult);
    if (v > 9.0e15) return bad();
    return static_cast<int64_t>(std::llround(v));
  }
  return bad();
}

Result<ListenAddress> ParseHostPort(std::string_view text) {
  std::string_view t = Trim(text);
  auto bad = [&](std::string_view why) {
    return ConfigError("无效的地址 \"" + std::string(text) +
                       "\" (invalid address)：应为 host:port，端口 0–65535 (expected host:port)" +
                       std::string(why));
  };
  std::string_view host, port;
  if (t.starts_with('[')) {
    size_t close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return bad("");
    }
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    size_t colon = t.rfind(':');
    if (colon == std::string_view::npos) return bad("；缺少端口 (port missing)");
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad("；IPv6 地址请加方括号 (use brackets for IPv6), 如 [::1]:2575");
    }
  }
  if (host.empty()) return bad("；缺少主机 (host missing)");
  for (unsigned char c : host) {
    if (c <= ' ' || c == '/' || c == '@' || c == '?' || c == '#') return bad("");
  }
  if (port.empty() || port.size() > 5) return bad("");
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    return bad("；端口超出范围或不是数字 (port out of range)");
  }
  ListenAddress out;
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(value);
  out.enabled = true;
  return out;
}

// ---------------------------------------------------------------------------
// The loader: walks the YAML tree, checks every node, fills the plan.

namespace {

using Keys = std::vector<std::string_view>;

const Keys kRootKeys = {"hub",      "listen",     "mllp",        "http",
                        "pipeline", "facilities", "terminology", "destinations",
                        "routes",   "retention",  "empi",        "recognition"};
const Keys kHubKeys = {"name", "data_dir", "store", "durability", "log_level", "claim_lease"};
const Keys kListenKeys = {"mllp", "http"};
const Keys kMllpKeys = {"max_message_bytes", "idle_timeout"};
const Keys kHttpKeys = {"max_body_bytes"};
const Keys kPipelineKeys = {"workers"};
const Keys kFacilityKeys = {"id", "name", "kind", "charset", "card_reader"};
const Keys kEmpiKeys = {"enabled", "weights", "record"};
const Keys kTerminologyKeys = {"dir"};
const Keys kDestinationKeys = {"id",    "type",        "url",     "address", "path",  "format",
                               "retry", "concurrency", "timeout", "headers", "paused"};
const Keys kRetryKeys = {"max_attempts", "initial_backoff", "max_backoff"};
const Keys kRouteKeys = {"id", "when", "to"};
const Keys kWhenKeys = {"message_type", "facility", "facility_kind", "document_type"};

const Keys kKinds(std::begin(kKindNames), std::end(kKindNames));
const Keys kTypes(std::begin(kTypeNames), std::end(kTypeNames));
const Keys kFormats(std::begin(kFormatNames), std::end(kFormatNames));

// Index of `s` in `names` (which must contain it: checked before).
template <typename E>
E FromName(const Keys& names, std::string_view s) {
  return static_cast<E>(std::find(names.begin(), names.end(), s) - names.begin());
}
const Keys kDurability = {"full", "os"};
const Keys kLogLevels = {"debug", "info", "warn", "error"};
const Keys kCharsets = {"UTF-8", "UNICODE UTF-8", "GB 18030-2000", "GB18030", "GBK", "GB2312"};

std::string TypeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "映射 (map)";
    case YAML::NodeType::Sequence:
      return "列表 (list)";
    case YAML::NodeType::Scalar:
      return "标量 (scalar)";
    case YAML::NodeType::Null:
      return "空值 (null)";
    default:
      return "未定义 (undefined)";
  }
}

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

std::string Index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

bool IsSet(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  Result<Config> Load(const YAML::Node& root);

 private:
  std::string Where(const YAML::Node& n) const {
    if (!n.IsDefined()) return file_;
    YAML::Mark m = n.Mark();
    if (m.is_null()) return file_;
    return file_ + ":" + std::to_string(m.line + 1);
  }
  int Line(const YAML::Node& n) const {
    if (!n.IsDefined() || n.Mark().is_null()) return 0;
    return n.Mark().line + 1;
  }
  Status Err(const YAML::Node& at, std::string_view path, const std::string& msg) const {
    return ConfigError(path.empty() ? msg : std::string(path) + ": " + msg, Where(at));
  }
  // A Status from a scalar parser, placed at `at`.
  Status Place(const Status& s, const YAML::Node& at, std::string_view path) const {
    return Err(at, path, s.message());
  }

  // `n` must be a map whose keys are all in `allowed`, each once.
  Status CheckMap(const YAML::Node& n, std::string_view path, const Keys& allowed) const;
  Result<std::string> Str(const YAML::Node& n, std::string_view path) const;
  // Optional keys of `map`: leave *out alone when absent or null.
  Status OptStr(const YAML::Node& map, const char* key, std::string_view path,
                std::string* out) const;
  Status OptInt(const YAML::Node& map, const char* key, std::string_view path, int lo, int hi,
                int* out) const;
  Status OptBool(const YAML::Node& map, const char* key, std::string_view path, bool* out) const;
  Status OptDuration(const YAML::Node& map, const char* key, std::string_view path, int64_t min_ms,
                     int64_t* out) const;
  Status OptSize(const YAML::Node& map, const char* key, std::string_view path, size_t* out) const;
  Status OptEnum(const YAML::Node& map, const char* key, std::string_view path,
                 std::string_view what, std::string_view english, const Keys& allowed,
                 std::string* out) const;
  // A string or a list of strings; each with its node (for line numbers).
  Result<std::vector<std::pair<std::string, YAML::Node>>> StrList(const YAML::Node& n,
                                                                  std::string_view path) const;
  Status CheckId(const YAML::Node& at, std::string_view path, const std::string& id,
                 std::string_view what, std::map<std::string, int>* seen) const;

  Status LoadHub(const YAML::Node& root, Config* c) const;
  Status LoadListen(const YAML::Node& root, Config* c) const;
  Status LoadLimits(const YAML::Node& root, Config* c) const;
  Status LoadFacilities(const YAML::Node& root, Config* c) const;
  Status LoadDestinations(const YAML::Node& root, Config* c) const;
  Status LoadDestination(const YAML::Node& n, std::string_view path, DestinationConfig* d) const;
  Status LoadRoutes(const YAML::Node& root, Config* c) const;
  Status LoadWhen(const YAML::Node& n, std::string_view path, const Config& c, RouteWhen* w) const;

  std::string file_;
};

Status Loader::CheckMap(const YAML::Node& n, std::string_view path, const Keys& allowed) const {
  if (!n.IsMap()) {
    return Err(n, path, "应为映射 (expected a map)，实际为 " + TypeName(n));
  }
  std::map<std::string, int> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      return Err(key, path, "配置项名称应为字符串 (key must be a string)");
    }
    const std::string& k = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return Err(key, path, NotOneOf("未知的配置项", "unknown key", k, allowed));
    }
    auto [pos, inserted] = seen.emplace(k, Line(key));
    if (!inserted) {
      return Err(key, path,
                 "配置项 \"" + k + "\" 重复 (duplicate key)，第一次出现在第 " +
                     std::to_string(pos->second) + " 行 (first at line " +
                     std::to_string(pos->second) + ")");
    }
  }
  return Status::Ok();
}

Result<std::string> Loader::Str(const YAML::Node& n, std::string_view path) const {
  if (!n.IsScalar()) {
    return Err(n, path, "应为字符串 (expected a string)，实际为 " + TypeName(n));
  }
  return std::string(Trim(n.Scalar()));
}

Status Loader::OptStr(const YAML::Node& map, const char* key, std::string_view path,
                      std::string* out) const {
  const YAML::Node v = map[key];
  if (!IsSet(v)) return Status::Ok();
  HIE_ASSIGN_OR_RETURN(*out, Str(v, Join(path, key)));
  return Status::Ok();
}

Status Loader::OptInt(const YAML::Node& map, const char* key, std::string_view path, int lo, int hi,
                      int* out) const {
  const YAML::Node v = map[key];
  if (!IsSet(v)) return Status::Ok();
  std::string p = Join(path, key);
  HIE_ASSIGN_OR_RETURN(std::string s, Str(v, p));
  long long value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return Err(v, p, "应为整数 (expected an integer)，实际为 \"" + s + "\"");
  }
  if (value < lo || value > hi) {
    return Err(v, p,
               "取值 " + s + " 超出范围 (out of range)，允许 " + std::to_string(lo) + "–" +
                   std::to_string(hi));
  }
  *out = static_cast<int>(value);
  return Status::Ok();
}

Status Loader::OptBool(const YAML::Node& map, const char* key, std::string_view path,
                       bool* out) const {
  const YAML::Node v = map[key];
  if (!IsSet(v)) return Status::Ok();
  std::string p = Join(path, key);
  HIE_ASSIGN_OR_RETURN(std::string s, Str(v, p));
  std::string l = Lower(s);
  if (l == "true" || l == "yes" || l == "on") {
    *out = true;
  } else if (l == "false" || l == "no" || l == "off") {
    *out = false;
  } else {
    return Err(v, p, "应为 true 或 false (expected a boolean)，实际为 \"" + s + "\"");
  }
  return Status::Ok();
}

Status Loader::OptDuration(const YAML::Node& map, const char* key, std::string_view path,
                           int64_t min_ms, int64_t* out) const {
  const YAML::Node v = map[key];
  if (!IsSet(v)) return Status::Ok();
  std::string p = Join(path, key);
  HIE_ASSIGN_OR_RETURN(std::string s, Str(v, p));
  auto ms = ParseDurationMillis(s);
  if (!ms.ok()) return Place(ms.status(), v, p);
  if (*ms < min_ms) {
    return Err(v, p, "时长 \"" + s + "\" 太短 (too short)，至少 " + std::to_string(min_ms) + "ms");
  }
  *out = *ms;
  return Status::Ok();
}

Status Loader::OptSize(const YAML::Node& map, const char* key, std::string_view path,
                       size_t* out) const {
  const YAML::Node v = map[key];
  if (!IsSet(v)) return Status::Ok();
  std::string p = Join(path, key);
  HIE_ASSIGN_OR_RETURN(std::string s, Str(v, p));
  auto bytes = ParseSizeBytes(s);
  if (!bytes.ok()) return Place(bytes.status(), v, p);
  if (*bytes < 1024) {
    return Err(v, p, "大小 \"" + s + "\" 太小 (too small)，至少 1KiB");
  }
  *out = static_cast<size_t>(*bytes);
  return Status::Ok();
}

Status Loader::OptEnum(const YAML::Node& map, const char* key, std::string_view path,
                       std::string_view what, std::string_view english, const Keys& allowed,
                       std::string* out) const {
  const YAML::Node v = map[key];
  if (!IsSet(v)) return Status::Ok();
  std::string p = Join(path, key);
  HIE_ASSIGN_OR_RETURN(std::string s, Str(v, p));
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    return Err(v, p, NotOneOf(what, english, s, allowed));
  }
  *out = s;
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, YAML::Node>>> Loader::StrList(
    const YAML::Node& n, std::string_view path) const {
  std::vector<std::pair<std::string, YAML::Node>> out;
  if (n.IsScalar()) {
    HIE_ASSIGN_OR_RETURN(std::string s, Str(n, path));
    out.emplace_back(std::move(s), n);
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node item = n[i];
      HIE_ASSIGN_OR_RETURN(std::string s, Str(item, Index(path, i)));
      out.emplace_back(std::move(s), item);
    }
  } else {
    return Err(
        n, path,
        "应为字符串或字符串列表 (expected a string or a list of strings)，实际为 " + TypeName(n));
  }
  for (const auto& [s, node] : out) {
    if (s.empty()) return Err(node, path, "不能为空字符串 (empty string)");
  }
  return out;
}

Status Loader::CheckId(const YAML::Node& at, std::string_view path, const std::string& id,
                       std::string_view what, std::map<std::string, int>* seen) const {
  if (id.empty()) {
    return Err(at, path, std::string(what) + " id 不能为空 (empty id)");
  }
  if (HasBadIdChar(id)) {
    return Err(at, path,
               std::string(what) + " id \"" + id +
                   "\" 含有不允许的字符 (invalid character)：不可含空白或 | ^ ~ \\ & /");
  }
  auto [pos, inserted] = seen->emplace(id, Line(at));
  if (!inserted) {
    return Err(at, path,
               std::string(what) + " id \"" + id + "\" 重复 (duplicate id)，第一次出现在第 " +
                   std::to_string(pos->second) + " 行 (first at line " +
                   std::to_string(pos->second) + ")");
  }
  return Status::Ok();
}

// hub: {name, data_dir, store, durability, log_level}
Status Loader::LoadHub(const YAML::Node& root, Config* c) const {
  const YAML::Node hub = root["hub"];
  if (!IsSet(hub)) return Status::Ok();
  HIE_RETURN_IF_ERROR(CheckMap(hub, "hub", kHubKeys));
  HIE_RETURN_IF_ERROR(OptStr(hub, "name", "hub", &c->hub_name));
  HIE_RETURN_IF_ERROR(OptStr(hub, "data_dir", "hub", &c->data_dir));
  if (c->data_dir.empty()) return Err(hub["data_dir"], "hub.data_dir", "不能为空 (empty)");
  HIE_RETURN_IF_ERROR(OptStr(hub, "store", "hub", &c->store));
  if (c->store != "sqlite" && !c->UsesPostgres()) {
    return Err(hub["store"], "hub.store",
               "无效的存储 \"" + c->store +
                   "\" (invalid store)；可选 (allowed): sqlite, "
                   "postgresql://user:pass@host:port/db");
  }
  if (c->UsesPostgres()) {
    std::string_view rest = c->store;
    rest.remove_prefix(rest.find("://") + 3);
    if (rest.empty()) {
      return Err(hub["store"], "hub.store",
                 "PostgreSQL 连接串缺少主机 (connection string missing host)：如 "
                 "postgresql://user:pass@host:port/db");
    }
  }
  HIE_RETURN_IF_ERROR(OptEnum(hub, "durability", "hub", "无效的持久化级别", "invalid durability",
                              kDurability, &c->durability));
  HIE_RETURN_IF_ERROR(OptEnum(hub, "log_level", "hub", "无效的日志级别", "invalid log level",
                              kLogLevels, &c->log_level));
  HIE_RETURN_IF_ERROR(OptDuration(hub, "claim_lease", "hub", 1000, &c->claim_lease_ms));
  return Status::Ok();
}

// listen: {mllp: host:port, http: host:port}; both optional.
Status Loader::LoadListen(const YAML::Node& root, Config* c) const {
  const YAML::Node listen = root["listen"];
  if (!IsSet(listen)) return Status::Ok();
  HIE_RETURN_IF_ERROR(CheckMap(listen, "listen", kListenKeys));
  for (const char* key : {"mllp", "http"}) {
    const YAML::Node v = listen[key];
    if (!IsSet(v)) continue;
    std::string p = Join("listen", key);
    HIE_ASSIGN_OR_RETURN(std::string s, Str(v, p));
    auto addr = ParseHostPort(s);
    if (!addr.ok()) return Place(addr.status(), v, p);
    (std::string_view(key) == "mllp" ? c->mllp : c->http) = *addr;
  }
  if (c->mllp.enabled && c->http.enabled && c->mllp.port != 0 && c->mllp.port == c->http.port &&
      c->mllp.host == c->http.host) {
    return Err(listen["http"], "listen.http",
               "与 listen.mllp 使用同一地址 (address already used by listen.mllp)");
  }
  return Status::Ok();
}

// mllp: {max_message_bytes, idle_timeout}; http: {max_body_bytes};
// pipeline: {workers}; terminology: {dir}.
Status Loader::LoadLimits(const YAML::Node& root, Config* c) const {
  if (const YAML::Node m = root["mllp"]; IsSet(m)) {
    HIE_RETURN_IF_ERROR(CheckMap(m, "mllp", kMllpKeys));
    HIE_RETURN_IF_ERROR(OptSize(m, "max_message_bytes", "mllp", &c->mllp_max_message_bytes));
    HIE_RETURN_IF_ERROR(OptDuration(m, "idle_timeout", "mllp", 1000, &c->mllp_idle_timeout_ms));
  }
  if (const YAML::Node h = root["http"]; IsSet(h)) {
    HIE_RETURN_IF_ERROR(CheckMap(h, "http", kHttpKeys));
    HIE_RETURN_IF_ERROR(OptSize(h, "max_body_bytes", "http", &c->http_max_body_bytes));
  }
  if (const YAML::Node p = root["pipeline"]; IsSet(p)) {
    HIE_RETURN_IF_ERROR(CheckMap(p, "pipeline", kPipelineKeys));
    HIE_RETURN_IF_ERROR(OptInt(p, "workers", "pipeline", 1, 64, &c->pipeline_workers));
  }
  if (const YAML::Node t = root["terminology"]; IsSet(t)) {
    HIE_RETURN_IF_ERROR(CheckMap(t, "terminology", kTerminologyKeys));
    HIE_RETURN_IF_ERROR(OptStr(t, "dir", "terminology", &c->terminology_dir));
  }
  if (const YAML::Node e = root["empi"]; IsSet(e)) {
    HIE_RETURN_IF_ERROR(CheckMap(e, "empi", kEmpiKeys));
    HIE_RETURN_IF_ERROR(OptBool(e, "enabled", "empi", &c->empi.enabled));
    HIE_RETURN_IF_ERROR(OptStr(e, "weights", "empi", &c->empi.weights));
    HIE_RETURN_IF_ERROR(OptBool(e, "record", "empi", &c->empi.record));
  }
  return Status::Ok();
}

Status Loader::LoadFacilities(const YAML::Node& root, Config* c) const {
  const YAML::Node list = root["facilities"];
  if (!IsSet(list)) return Status::Ok();
  if (!list.IsSequence()) {
    return Err(list, "facilities", "应为列表 (expected a list)，实际为 " + TypeName(list));
  }
  std::map<std::string, int> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    std::string path = Index("facilities", i);
    HIE_RETURN_IF_ERROR(CheckMap(n, path, kFacilityKeys));
    FacilityConfig f;
    const YAML::Node id = n["id"];
    if (!IsSet(id)) return Err(n, path, "缺少必填项 \"id\" (required key missing)");
    HIE_ASSIGN_OR_RETURN(f.id, Str(id, path + ".id"));
    HIE_RETURN_IF_ERROR(CheckId(id, path + ".id", f.id, "机构 (facility)", &seen));
    if (f.id == "NI") {
      return Err(id, path + ".id",
                 "机构 id \"NI\" 为保留字 (reserved)：NI 表示身份证号码的签发机构 (ID card "
                 "authority)");
    }
    HIE_RETURN_IF_ERROR(OptStr(n, "name", path, &f.name));
    if (f.name.empty()) f.name = f.id;
    std::string kind = "village";
    HIE_RETURN_IF_ERROR(
        OptEnum(n, "kind", path, "无效的机构级别", "invalid facility kind", kKinds, &kind));
    f.kind = FromName<FacilityKind>(kKinds, kind);
    HIE_RETURN_IF_ERROR(OptBool(n, "card_reader", path, &f.card_reader));
    HIE_RETURN_IF_ERROR(OptStr(n, "charset", path, &f.charset));
    if (!f.charset.empty()) {
      std::string up = Upper(f.charset);
      if (std::find(kCharsets.begin(), kCharsets.end(), up) == kCharsets.end()) {
        return Err(n["charset"], path + ".charset",
                   "不支持的字符集 \"" + f.charset +
                       "\" (unsupported charset)；可选 (allowed): " + JoinList(kCharsets));
      }
    }
    c->facilities.push_back(std::move(f));
  }
  return Status::Ok();
}

Status Loader::LoadDestinations(const YAML::Node& root, Config* c) const {
  const YAML::Node list = root["destinations"];
  if (!IsSet(list)) return Status::Ok();
  if (!list.IsSequence()) {
    return Err(list, "destinations", "应为列表 (expected a list)，实际为 " + TypeName(list));
  }
  std::map<std::string, int> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    std::string path = Index("destinations", i);
    DestinationConfig d;
    HIE_RETURN_IF_ERROR(LoadDestination(n, path, &d));
    HIE_RETURN_IF_ERROR(CheckId(n["id"], path + ".id", d.id, "目的地 (destination)", &seen));
    c->destinations.push_back(std::move(d));
  }
  return Status::Ok();
}

Status Loader::LoadDestination(const YAML::Node& n, std::string_view path_in,
                               DestinationConfig* d) const {
  std::string path(path_in);
  HIE_RETURN_IF_ERROR(CheckMap(n, path, kDestinationKeys));
  auto require = [&](const char* key, std::string why) -> Status {
    if (IsSet(n[key])) return Status::Ok();
    return Err(n, path, "缺少必填项 \"" + std::string(key) + "\" (required key missing)" + why);
  };
  HIE_RETURN_IF_ERROR(require("id", ""));
  HIE_ASSIGN_OR_RETURN(d->id, Str(n["id"], path + ".id"));
  HIE_RETURN_IF_ERROR(require("type", "；可选 (allowed): http, mllp, file"));
  std::string type, format = "hl7v2";
  HIE_RETURN_IF_ERROR(
      OptEnum(n, "type", path, "无效的目的地类型", "invalid destination type", kTypes, &type));
  HIE_RETURN_IF_ERROR(
      OptEnum(n, "format", path, "无效的输出格式", "invalid format", kFormats, &format));
  d->format = FromName<DestinationFormat>(kFormats, format);
  d->type = FromName<DestinationType>(kTypes, type);
  std::string url, address, dir;
  HIE_RETURN_IF_ERROR(OptStr(n, "url", path, &url));
  HIE_RETURN_IF_ERROR(OptStr(n, "address", path, &address));
  HIE_RETURN_IF_ERROR(OptStr(n, "path", path, &dir));
  // A key that only another type uses is a mistake worth reporting.
  auto only_for = [&](const char* key, std::string_view for_type) -> Status {
    if (!IsSet(n[key]) || type == for_type) return Status::Ok();
    return Err(n[key], Join(path, key),
               "\"" + std::string(key) + "\" 仅用于 " + std::string(for_type) +
                   " 类型的目的地 (only for type " + std::string(for_type) + ")");
  };
  HIE_RETURN_IF_ERROR(only_for("address", "mllp"));
  HIE_RETURN_IF_ERROR(only_for("path", "file"));
  HIE_RETURN_IF_ERROR(only_for("headers", "http"));
  const std::string url_path = path + ".url";
  if (type == "http") {
    HIE_RETURN_IF_ERROR(require("url", "：http 目的地需要 url (http destinations need a url)"));
    std::string_view rest = url;
    if (rest.starts_with("http://")) {
      rest.remove_prefix(7);
    } else if (rest.starts_with("https://")) {
      rest.remove_prefix(8);
    } else {
      return Err(n["url"], url_path,
                 "无效的 URL \"" + url + "\" (invalid url)：应以 http:// 或 https:// 开头");
    }
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty() || authority.find(' ') != std::string_view::npos) {
      return Err(n["url"], url_path,
                 "无效的 URL \"" + url + "\" (invalid url)：缺少主机 (host missing)");
    }
    d->url = url;
  } else if (type == "mllp") {
    if (IsSet(n["url"]) == IsSet(n["address"])) {
      return Err(n, path,
                 "mllp 目的地需要 address: host:port 或 url: mllp://host:port 二者之一 "
                 "(exactly one of address or url)");
    }
    const YAML::Node at = IsSet(n["url"]) ? n["url"] : n["address"];
    std::string at_path = IsSet(n["url"]) ? url_path : path + ".address";
    std::string hostport = address;
    if (IsSet(n["url"])) {
      if (!url.starts_with("mllp://")) {
        return Err(at, at_path, "无效的 URL \"" + url + "\" (invalid url)：应以 mllp:// 开头");
      }
      hostport = url.substr(7);
      while (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
      d->url = url;
    }
    auto addr = ParseHostPort(hostport);
    if (!addr.ok()) return Place(addr.status(), at, at_path);
    if (addr->port == 0)
      return Err(at, at_path, "目的地端口不能为 0 (port 0 is not a destination)");
    d->host = addr->host;
    d->port = addr->port;
  } else {
    if (IsSet(n["url"]) == IsSet(n["path"])) {
      return Err(n, path,
                 "file 目的地需要 path: 目录 或 url: file:///目录 二者之一 "
                 "(exactly one of path or url)");
    }
    if (IsSet(n["url"])) {
      if (!url.starts_with("file://") || url.size() == 7) {
        return Err(n["url"], url_path,
                   "无效的 URL \"" + url + "\" (invalid url)：应为 file:///目录 (file:///dir)");
      }
      d->url = url;
      dir = url.substr(7);
    }
    if (dir.empty()) return Err(n, path, "path 不能为空 (empty path)");
    d->path = dir;
  }
  if (const YAML::Node r = n["retry"]; IsSet(r)) {
    std::string rp = path + ".retry";
    HIE_RETURN_IF_ERROR(CheckMap(r, rp, kRetryKeys));
    HIE_RETURN_IF_ERROR(OptInt(r, "max_attempts", rp, 1, 1000000, &d->retry.max_attempts));
    HIE_RETURN_IF_ERROR(OptDuration(r, "initial_backoff", rp, 0, &d->retry.initial_backoff_ms));
    HIE_RETURN_IF_ERROR(OptDuration(r, "max_backoff", rp, 0, &d->retry.max_backoff_ms));
    if (d->retry.initial_backoff_ms > d->retry.max_backoff_ms) {
      const YAML::Node at = IsSet(r["initial_backoff"]) ? r["initial_backoff"] : r;
      return Err(at, rp,
                 "initial_backoff (" + std::to_string(d->retry.initial_backoff_ms) +
                     "ms) 不能大于 max_backoff (" + std::to_string(d->retry.max_backoff_ms) +
                     "ms) (initial_backoff must not exceed max_backoff)");
    }
  }
  HIE_RETURN_IF_ERROR(OptInt(n, "concurrency", path, 1, 64, &d->concurrency));
  HIE_RETURN_IF_ERROR(OptDuration(n, "timeout", path, 1, &d->timeout_ms));
  HIE_RETURN_IF_ERROR(OptBool(n, "paused", path, &d->paused));
  if (const YAML::Node h = n["headers"]; IsSet(h)) {
    std::string hp = path + ".headers";
    if (!h.IsMap()) return Err(h, hp, "应为映射 (expected a map)，实际为 " + TypeName(h));
    for (auto it = h.begin(); it != h.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node val = it->second;
      HIE_ASSIGN_OR_RETURN(std::string name, Str(key, hp));
      bool bad = name.empty();
      for (unsigned char ch : name) {
        if (!(IsAlnum(static_cast<char>(ch)) || ch == '-' || ch == '_')) bad = true;
      }
      if (bad) {
        return Err(key, hp, "无效的 HTTP 头名称 \"" + name + "\" (invalid header name)");
      }
      std::string value;
      if (IsSet(val)) {
        HIE_ASSIGN_OR_RETURN(value, Str(val, hp + "." + name));
      }
      if (value.find_first_of("\r\n") != std::string::npos) {
        return Err(val, hp + "." + name, "HTTP 头的值不能换行 (header value has a newline)");
      }
      d->headers.emplace_back(std::move(name), std::move(value));
    }
  }
  return Status::Ok();
}

Status Loader::LoadWhen(const YAML::Node& n, std::string_view path_in, const Config& c,
                        RouteWhen* w) const {
  std::string path(path_in);
  HIE_RETURN_IF_ERROR(CheckMap(n, path, kWhenKeys));
  if (const YAML::Node v = n["message_type"]; IsSet(v)) {
    HIE_ASSIGN_OR_RETURN(auto items, StrList(v, path + ".message_type"));
    for (auto& [s, node] : items) {
      std::string t = Upper(s);
      if (t != "*") {
        size_t caret = t.find('^');
        std::string code = t.substr(0, caret);
        std::string event = caret == std::string::npos ? "*" : t.substr(caret + 1);
        auto ok3 = [](const std::string& x) {
          return x == "*" || (x.size() == 3 && std::all_of(x.begin(), x.end(), IsAlnum));
        };
        if (!ok3(code) || !ok3(event)) {
          return Err(
              node, path + ".message_type",
              "无效的消息类型 \"" + s +
                  "\" (invalid message type)：应为 MSH-9 的前两个组件，如 ORU^R01, ADT^*, *");
        }
        t = code + "^" + event;
      }
      w->message_types.push_back(std::move(t));
    }
  }
  if (const YAML::Node v = n["facility"]; IsSet(v)) {
    HIE_ASSIGN_OR_RETURN(auto items, StrList(v, path + ".facility"));
    for (auto& [s, node] : items) {
      if (!c.FindFacility(s)) {
        Keys ids;
        for (const auto& f : c.facilities) ids.push_back(f.id);
        return Err(node, path + ".facility",
                   NotOneOf("未登记的机构", "unknown facility", s, ids) +
                       "；请先在 facilities 中登记 (declare it under facilities)");
      }
      w->facilities.push_back(std::move(s));
    }
  }
  if (const YAML::Node v = n["facility_kind"]; IsSet(v)) {
    HIE_ASSIGN_OR_RETURN(auto items, StrList(v, path + ".facility_kind"));
    for (auto& [s, node] : items) {
      if (std::find(kKinds.begin(), kKinds.end(), s) == kKinds.end()) {
        return Err(node, path + ".facility_kind",
                   NotOneOf("无效的机构级别", "invalid facility kind", s, kKinds));
      }
      w->facility_kinds.push_back(FromName<FacilityKind>(kKinds, s));
    }
  }
  if (const YAML::Node v = n["document_type"]; IsSet(v)) {
    HIE_ASSIGN_OR_RETURN(auto items, StrList(v, path + ".document_type"));
    for (auto& [s, node] : items) {
      if (HasBadIdChar(s)) {
        return Err(node, path + ".document_type",
                   "无效的文档类型 \"" + s + "\" (invalid document type)，如 C0007, B0001");
      }
      w->document_types.push_back(std::move(s));
    }
  }
  return Status::Ok();
}

Status Loader::LoadRoutes(const YAML::Node& root, Config* c) const {
  const YAML::Node list = root["routes"];
  if (!IsSet(list)) return Status::Ok();
  if (!list.IsSequence()) {
    return Err(list, "routes", "应为列表 (expected a list)，实际为 " + TypeName(list));
  }
  std::map<std::string, int> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    std::string path = Index("routes", i);
    HIE_RETURN_IF_ERROR(CheckMap(n, path, kRouteKeys));
    RouteConfig r;
    if (!IsSet(n["id"])) return Err(n, path, "缺少必填项 \"id\" (required key missing)");
    HIE_ASSIGN_OR_RETURN(r.id, Str(n["id"], path + ".id"));
    HIE_RETURN_IF_ERROR(CheckId(n["id"], path + ".id", r.id, "路由 (route)", &seen));
    if (const YAML::Node w = n["when"]; IsSet(w)) {
      HIE_RETURN_IF_ERROR(LoadWhen(w, path + ".when", *c, &r.when));
    }
    const YAML::Node to = n["to"];
    if (!IsSet(to)) {
      return Err(n, path, "缺少必填项 \"to\" (required key missing)：目的地 id 或其列表");
    }
    HIE_ASSIGN_OR_RETURN(auto items, StrList(to, path + ".to"));
    if (items.empty())
      return Err(to, path + ".to", "至少需要一个目的地 (at least one destination)");
    for (auto& [s, node] : items) {
      if (!c->FindDestination(s)) {
        Keys ids;
        for (const auto& d : c->destinations) ids.push_back(d.id);
        return Err(node, path + ".to", NotOneOf("未定义的目的地", "unknown destination", s, ids));
      }
      if (std::find(r.to.begin(), r.to.end(), s) != r.to.end()) {
        return Err(node, path + ".to", "目的地 \"" + s + "\" 重复 (duplicate destination)");
      }
      // Only when it is certain: every message type the route takes has no
      // CDA form (charges, merges), so every delivery would end ERROR.
      if (c->FindDestination(s)->format == DestinationFormat::kCda &&
          !r.when.message_types.empty() && r.when.document_types.empty() &&
          std::all_of(r.when.message_types.begin(), r.when.message_types.end(),
                      [](const std::string& t) { return CertainlyNoCdaForm(t); })) {
        return Err(node, path + ".to",
                   "目的地 \"" + s +
                       "\" 的格式为 cda，但该路由的消息类型没有对应的 CDA 文档 "
                       "(no CDA form for " +
                       r.when.message_types.front() +
                       ": charges and merges are not shared documents)；请改用 hl7v2 或 json "
                       "格式的目的地");
      }
      r.to.push_back(std::move(s));
    }
    c->routes.push_back(std::move(r));
  }
  return Status::Ok();
}

Result<Config> Loader::Load(const YAML::Node& root) {
  if (!root.IsDefined() || root.IsNull()) {
    return ConfigError("配置文件为空 (empty config)", file_);
  }
  HIE_RETURN_IF_ERROR(CheckMap(root, "", kRootKeys));
  Config c;
  c.source_file = file_;
  HIE_RETURN_IF_ERROR(LoadHub(root, &c));
  HIE_RETURN_IF_ERROR(LoadListen(root, &c));
  HIE_RETURN_IF_ERROR(LoadLimits(root, &c));
  // Order matters: routes refer to facilities and destinations.
  HIE_RETURN_IF_ERROR(LoadFacilities(root, &c));
  HIE_RETURN_IF_ERROR(LoadDestinations(root, &c));
  HIE_RETURN_IF_ERROR(LoadRoutes(root, &c));
  HIE_RETURN_IF_ERROR(LoadRetentionSection(root["retention"], file_, &c.retention));
  HIE_RETURN_IF_ERROR(LoadRecognitionSection(root["recognition"], file_, &c.recognition));
  // A node holds a delivery it is sending for claim_lease; a send must end
  // before that, or another node would take the delivery and send it again.
  for (const auto& d : c.destinations) {
    if (d.timeout_ms >= c.claim_lease_ms) {
      YAML::Node at;  // the key's line when it is written, else the file
      const YAML::Node hub = root["hub"];
      if (hub.IsMap() && hub["claim_lease"]) at = hub["claim_lease"];
      return Err(at, "hub.claim_lease",
                 "必须长于目的地 " + d.id + " 的超时 (must exceed the timeout of destination " +
                     d.id + ": " + std::to_string(d.timeout_ms) + " ms)");
    }
  }
  return c;
}

}  // namespace

namespace {

// 1-based number of the first line whose indentation contains a tab, or 0.
int FirstTabIndentedLine(std::string_view text) {
  int line = 1;
  bool at_indent = true;
  for (char ch : text) {
    if (ch == '\n') {
      ++line;
      at_indent = true;
    } else if (at_indent && ch == '\t') {
      return line;
    } else if (ch != ' ') {
      at_indent = false;
    }
  }
  return 0;
}

}  // namespace

Result<Config> ParseConfig(std::string_view yaml_text, const std::string& file_name) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml_text));
    if (docs.size() > 1) {
      return ConfigError("配置文件只能包含一个 YAML 文档 (more than one YAML document)",
                         file_name + ":" + std::to_string(docs[1].Mark().line + 1));
    }
    Loader loader(file_name);
    return loader.Load(docs.empty() ? YAML::Node() : docs[0]);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's message for tab indentation is cryptic; name the real cause.
    if (int tab_line = FirstTabIndentedLine(yaml_text); tab_line > 0) {
      return ConfigError(
          "YAML 语法错误 (syntax error): 不能用 Tab 缩进，请用空格 (tabs are not "
          "allowed for indentation)",
          file_name + ":" + std::to_string(tab_line));
    }
    std::string where = file_name;
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1);
    return ConfigError("YAML 语法错误 (syntax error): " + e.msg, where);
  } catch (const std::exception& e) {
    return ConfigError(std::string("无法读取配置 (cannot read config): ") + e.what(), file_name);
  }
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ConfigError("无法打开配置文件 (cannot open config file)", path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return ConfigError("读取配置文件失败 (cannot read config file)", path);
  return ParseConfig(text.str(), path);
}

}  // namespace hie
