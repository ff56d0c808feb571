#include "engine/cli_record.h"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "connectors/http/http_client.h"
#include "core/env.h"
#include "engine/text_table.h"

namespace hie {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return {};
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  return v.dump();
}

// "2026-11-22T02:00:00.000Z" -> "2026-11-22 10:00" (China time).
std::string LocalTime(const json& j, const char* key) {
  const std::string s = Str(j, key);
  if (s.empty()) return {};
  const int64_t ms = ParseTimeMillis(s);
  if (ms < 0) return s;
  const std::string t = FormatTimeMillis(ms + 8 * 3'600'000);  // shown as +08:00
  return t.substr(0, 10) + " " + t.substr(11, 5);
}

std::string SexText(const std::string& s) {
  if (s == "M") return "男";
  if (s == "F") return "女";
  return s;
}

std::string StatusText(const std::string& s) {
  if (s == "final") return "最终";
  if (s == "corrected") return "已更正";
  if (s == "amended") return "已修改";
  if (s == "preliminary") return "初步";
  if (s == "cancelled") return "已取消";
  return s;
}

std::string ItemText(const json& r) {
  std::string name = Str(r["code"], "display");
  if (name.empty() && r["standard_code"].is_object()) name = Str(r["standard_code"], "display");
  if (name.empty()) name = Str(r["code"], "code");
  return name;
}

std::string Facility(const json& r, const char* id_key = "facility") {
  std::string n = Str(r, "facility_name");
  const std::string id = Str(r, id_key);
  return n.empty() ? id : n;
}

std::string RecognitionCell(const json& rec) {
  if (!rec.is_object()) return "";
  if (rec.value("recognized", false)) {
    std::string s = "✔ 可互认";
    if (rec.contains("valid_until")) s += " 至 " + rec["valid_until"].get<std::string>();
    return s;
  }
  return "✘ 不可互认";
}

// Rows of a lab-results array, and the reasons of those not recognized.
void LabTable(const json& results, bool with_history, std::string* out) {
  std::vector<std::vector<std::string>> rows;
  std::string reasons;
  int n = 0;
  for (const auto& r : results) {
    ++n;
    std::string value = Str(r, "value");
    const json& rec = r.contains("recognition") ? r["recognition"] : json();
    if (rec.is_object() && rec.contains("converted")) {
      value += " (=" + Str(rec["converted"], "value") + " " + Str(rec["converted"], "unit") + ")";
    }
    std::vector<std::string> row = {
        std::to_string(n),
        LocalTime(r, r.contains("issued_time") && !r["issued_time"].is_null() ? "issued_time"
                                                                              : "effective_time"),
        ItemText(r),
        r["standard_code"].is_object() ? Str(r["standard_code"], "code") : "未映射",
        value,
        Str(r, "unit"),
        Str(r, "reference_range"),
        Str(r, "abnormal_flag"),
        StatusText(Str(r, "status")),
        Facility(r),
        RecognitionCell(rec)};
    if (with_history) {
      row.push_back(std::to_string(r.value("version", 1)) +
                    (r.value("current", true) ? "" : " 旧"));
    }
    rows.push_back(std::move(row));
    if (rec.is_object() && !rec.value("recognized", false) && rec.contains("reasons")) {
      for (const auto& x : rec["reasons"]) {
        reasons +=
            "  #" + std::to_string(n) + " " + Str(x, "message") + " [" + Str(x, "code") + "]\n";
      }
    }
  }
  std::vector<std::string> headers = {"#",        "报告时间", "项目", "LOINC",    "结果", "单位",
                                      "参考范围", "标志",     "状态", "检测机构", "互认"};
  if (with_history) headers.push_back("版本");
  *out += RenderTable(headers, rows, 32);
  if (!reasons.empty()) *out += "不可互认原因 (reasons not recognized):\n" + reasons;
}

Result<json> Get(const PatientCliArgs& a, const std::string& path) {
  HttpClient client;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string user = a.user;
  if (user.empty()) {
    const char* u = std::getenv("USER");
    user = u != nullptr ? u : "";
  }
  if (!user.empty()) headers.emplace_back("X-User", "cli:" + user);
  if (!a.reader.empty()) headers.emplace_back("X-Facility-Id", a.reader);
  auto r = client.Request("GET", a.api + path, headers, "", std::chrono::seconds(30));
  if (!r.ok()) {
    return Status(ErrorCode::kNetworkError,
                  "无法连接平台 (cannot reach the hub): " + r.status().ToString());
  }
  json j = json::parse(r->body, nullptr, false);
  if (r->status >= 400) {
    std::string msg = "HTTP " + std::to_string(r->status);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      msg += ": " + j["error"].value("message", std::string());
    }
    return Status(ErrorCode::kRemoteRejected, "失败 (failed) " + msg);
  }
  if (j.is_discarded()) return Status(ErrorCode::kParseError, "平台的回答不是 JSON (not JSON)");
  return j;
}

std::string Show(const json& s) {
  std::string out;
  const json& g = s.contains("golden") ? s["golden"] : json::object();
  out += "患者 (patient) " + Str(s, "empi_id") + "  状态 (state) " + Str(s, "state");
  if (s.contains("requested_empi_id")) {
    out += "  (" + Str(s, "requested_empi_id") + " 已合并到此 (merged into this person))";
  }
  out += "\n";
  std::vector<std::vector<std::string>> demo = {
      {"姓名 (name)", Str(g, "name"), "性别 (sex)", SexText(Str(g, "sex"))},
      {"出生日期 (birth date)", Str(g, "birth_date"), "身份证号 (ID card)", Str(g, "id_number")},
      {"电话 (phone)", Str(g, "phone"), "地址 (address)", Str(g, "address")}};
  out += RenderTable({"", "", "", ""}, demo, 48);
  if (s.contains("identifiers") && !s["identifiers"].empty()) {
    std::vector<std::vector<std::string>> ids;
    for (const auto& i : s["identifiers"]) {
      ids.push_back({Str(i, "authority"), Str(i, "type"), Str(i, "value")});
    }
    out += "\n标识 (identifiers)\n" + RenderTable({"机构 (authority)", "类型", "号码"}, ids);
  }
  out += "\n当前诊断 (active problems)\n";
  if (s["active_problems"].empty()) {
    out += "  无 (none)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : s["active_problems"]) {
      rows.push_back({p["standard_code"].is_object() ? Str(p["standard_code"], "code")
                                                     : Str(p["code"], "code"),
                      Str(p["code"], "display"), Facility(p), LocalTime(p, "recorded")});
    }
    out += RenderTable({"ICD-10", "诊断", "机构", "时间"}, rows);
  }
  out += "\n最近检验结果，每项最新一次 (latest result per item)\n";
  if (s["latest_results"].empty()) {
    out += "  无 (none)\n";
  } else {
    LabTable(s["latest_results"], false, &out);
  }
  out += "\n近期就诊 (recent encounters)\n";
  if (s["recent_encounters"].empty()) {
    out += "  无 (none)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : s["recent_encounters"]) {
      rows.push_back({LocalTime(e, "start"), Facility(e), Str(e, "class"), Str(e, "department"),
                      Str(e, "attending"), Str(e, "visit_number")});
    }
    out += RenderTable({"开始时间", "机构", "类别", "科室", "医生", "就诊号"}, rows);
  }
  out += "\n文档 (documents)\n";
  if (s["documents"].empty()) {
    out += "  无 (none)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : s["documents"]) {
      rows.push_back({Str(d, "id"), Str(d, "type_code"), Str(d, "title"), Facility(d),
                      LocalTime(d, "effective_time"), Str(d, "href")});
    }
    out += RenderTable({"编号", "类型", "标题", "机构", "时间", "地址"}, rows, 48);
  }
  out += "\n(互认按 " + LocalTime(s, "as_of") + " 判断 (recognition as of the query))\n";
  return out;
}

}  // namespace

int PatientCli(const PatientCliArgs& a) {
  const std::string base = "/api/v1/patients/" + UrlEncode(a.empi_id);
  std::string path;
  if (a.action == "show") {
    path = base + "/summary";
  } else if (a.action == "labs") {
    std::string q;
    auto add = [&](const char* k, const std::string& v) {
      if (!v.empty()) q += std::string(q.empty() ? "?" : "&") + k + "=" + UrlEncode(v);
    };
    add("code", a.code);
    add("since", a.since);
    add("facility", a.facility);
    if (a.limit > 0) add("limit", std::to_string(a.limit));
    add("cursor", a.cursor);
    if (a.history) add("history", "1");
    path = base + "/lab-results" + q;
  } else {
    return 2;
  }
  auto j = Get(a, path);
  if (!j.ok()) {
    std::cerr << j.status().message() << "\n";
    return 1;
  }
  if (a.json) {
    std::cout << j->dump(2) << "\n";
    return 0;
  }
  if (a.action == "show") {
    std::cout << Show(*j);
    return 0;
  }
  std::string out = "患者 (patient) " + Str(*j, "empi_id") + " 的检验结果 (lab results)";
  if (j->contains("requested_empi_id")) out += "，" + Str(*j, "requested_empi_id") + " 已合并到此";
  out += "\n";
  if ((*j)["lab_results"].empty()) {
    out += "  无 (none)\n";
  } else {
    LabTable((*j)["lab_results"], a.history, &out);
  }
  if (!(*j)["next_cursor"].is_null()) {
    out += "下一页 (next page): --cursor " + Str(*j, "next_cursor") + "\n";
  }
  std::cout << out;
  return 0;
}

}  // namespace hie
