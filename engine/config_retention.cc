#include "engine/config_retention.h"

#include <charconv>
#include <set>
#include <string_view>

namespace hie {
namespace {

constexpr int kMaxDays = 36500;  // a hundred years

class Section {
 public:
  explicit Section(const std::string& file) : file_(file) {}

  Status Err(const YAML::Node& at, const std::string& path, const std::string& msg) const {
    std::string where = file_;
    if (at.IsDefined() && !at.Mark().is_null()) where += ":" + std::to_string(at.Mark().line + 1);
    return Status(ErrorCode::kConfigError, path + ": " + msg, where);
  }

  Status Days(const YAML::Node& map, const char* key, int* out) const {
    const YAML::Node v = map[key];
    if (!v.IsDefined() || v.IsNull()) return Status::Ok();
    const std::string path = std::string("retention.") + key;
    if (!v.IsScalar()) return Err(v, path, "应为天数 (expected a number of days)");
    const std::string& s = v.Scalar();
    long long n = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
      return Err(v, path, "应为整数天数 (expected a whole number of days)，实际为 \"" + s + "\"");
    }
    if (n < 0 || n > kMaxDays) {
      return Err(v, path,
                 "取值 " + s + " 超出范围 (out of range)，允许 0–" + std::to_string(kMaxDays) +
                     "，0 表示永久保留 (0 keeps forever)");
    }
    *out = static_cast<int>(n);
    return Status::Ok();
  }

 private:
  const std::string& file_;
};

}  // namespace

Status LoadRetentionSection(const YAML::Node& node, const std::string& file, RetentionConfig* out) {
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  Section sec(file);
  if (!node.IsMap()) return sec.Err(node, "retention", "应为映射 (expected a map)");
  static const std::set<std::string_view> kKeys = {"content_days", "metadata_days",
                                                   "check_interval"};
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string k = it->first.IsScalar() ? it->first.Scalar() : std::string();
    if (kKeys.count(k) == 0) {
      return sec.Err(it->first, "retention",
                     "未知的配置项 (unknown key) \"" + k +
                         "\"，可用 (allowed): content_days, metadata_days, check_interval");
    }
    if (!seen.insert(k).second) {
      return sec.Err(it->first, "retention", "配置项 \"" + k + "\" 重复 (duplicate key)");
    }
  }
  RetentionConfig r;
  HIE_RETURN_IF_ERROR(sec.Days(node, "content_days", &r.content_days));
  HIE_RETURN_IF_ERROR(sec.Days(node, "metadata_days", &r.metadata_days));
  if (const YAML::Node v = node["check_interval"]; v.IsDefined() && !v.IsNull()) {
    if (!v.IsScalar()) {
      return sec.Err(v, "retention.check_interval", "应为时长 (expected a duration), e.g. 1h");
    }
    auto ms = ParseDurationMillis(v.Scalar());
    if (!ms.ok()) return sec.Err(v, "retention.check_interval", ms.status().message());
    if (*ms < 1000) {
      return sec.Err(v, "retention.check_interval",
                     "至少 1s (must be at least 1s)，实际为 \"" + v.Scalar() + "\"");
    }
    r.check_interval_ms = *ms;
  }
  // A raw body cannot outlive its message's metadata.
  if (r.content_days > 0 && r.metadata_days > 0 && r.content_days > r.metadata_days) {
    return sec.Err(node["content_days"], "retention.content_days",
                   "不能大于 metadata_days (must not exceed metadata_days: " +
                       std::to_string(r.content_days) + " > " + std::to_string(r.metadata_days) +
                       ")；原文不能比元数据保留得更久 (raw content cannot outlive its metadata)");
  }
  *out = r;
  return Status::Ok();
}

}  // namespace hie
