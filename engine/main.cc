// `hie`: the hub's one executable. Sub-commands:
//   serve      run the hub (CONTRACT §2)
//   send       an MLLP client: send files of HL7 v2 messages, print each ACK
//   messages   list messages of a running hub (REST API)
//   message    one message with its trace and deliveries
//   reprocess  run an ERROR message again
//   terminology check DIR | reload | unmapped [--csv] | translate SYSTEM CODE TARGET |
//               retranslate --since DATE [--no-wait]
//   store migrate --from sqlite:PATH --to postgresql://...  (engine/store_migrate.cc)
// Exit codes: 0 ok, 1 failure, 2 bad config or usage.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "connectors/http/http_client.h"
#include "connectors/mllp/mllp_client.h"
#include "core/log.h"
#include "engine/cli_patients.h"
#include "engine/cli_record.h"
#include "engine/cli_retranslate.h"
#include "engine/config.h"
#include "engine/hub.h"
#include "engine/store_migrate.h"
#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/batch.h"
#include "terminology/terminology.h"

namespace hie {
namespace {

int Serve(const std::string& config_path, const std::string& data_dir) {
  auto cfg = LoadConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "配置错误 (config error): " << cfg.status().where() << ": "
              << cfg.status().message() << "\n";
    return 2;
  }
  Config config = std::move(cfg).value();
  if (!data_dir.empty()) config.data_dir = data_dir;
  SetLogLevel(config.log_level);
  Hub hub(std::move(config), Env::Default());
  Status st = hub.Start();
  if (!st.ok()) {
    if (st.code() == ErrorCode::kConfigError && !st.where().empty()) {
      // "file:line: reason", like a bad config file.
      std::cerr << "启动失败 (start failed): " << st.where() << ": " << st.message() << "\n";
    } else {
      std::cerr << "启动失败 (start failed): " << st.ToString() << "\n";
    }
    hub.Shutdown();
    return st.code() == ErrorCode::kConfigError || st.code() == ErrorCode::kNotImplemented ? 2 : 1;
  }
  hub.RunUntilSignal();
  return 0;
}

bool ParseHostPort(const std::string& s, std::string& host, uint16_t& port) {
  auto p = s.rfind(':');
  if (p == std::string::npos) return false;
  host = s.substr(0, p);
  try {
    int v = std::stoi(s.substr(p + 1));
    if (v <= 0 || v > 65535) return false;
    port = static_cast<uint16_t>(v);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

int Send(const std::string& to, const std::vector<std::string>& files, int timeout_s) {
  std::string host;
  uint16_t port = 0;
  if (!ParseHostPort(to, host, port)) {
    std::cerr << "地址应为 HOST:PORT (address must be HOST:PORT): " << to << "\n";
    return 2;
  }
  MllpClient client(host, port, std::chrono::seconds(timeout_s));
  Status st = client.Connect();
  if (!st.ok()) {
    std::cerr << "连接失败 (connect failed): " << st.ToString() << "\n";
    return 1;
  }
  int sent = 0, accepted = 0, failed = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << file << ": 无法读取文件 (cannot read file)\n";
      ++failed;
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string content = ss.str();
    auto split = SplitEr7(content, /*normalize_to_cr=*/true);
    if (!split.ok()) {
      std::cerr << file << ": 无法拆分报文 (cannot split messages): " << split.status().ToString()
                << "\n";
      ++failed;
      continue;
    }
    const auto& messages = split->normalized;
    int n = 0;
    for (const auto& msg : messages) {
      ++n;
      ++sent;
      auto reply = client.Exchange(msg);
      std::string where = file + "#" + std::to_string(n);
      if (!reply.ok()) {
        std::cout << where << "\t错误 (error)\t" << reply.status().ToString() << "\n";
        ++failed;
        client.Close();
        if (!client.Connect().ok()) return 1;
        continue;
      }
      auto ack = ReadAck(*reply);
      if (!ack.ok()) {
        std::cout << where << "\t无法解析应答 (unreadable ACK)\t" << ack.status().ToString()
                  << "\n";
        ++failed;
        continue;
      }
      std::cout << where << "\t" << ack->code << "\t" << ack->control_id;
      if (!ack->text.empty()) std::cout << "\t" << ack->text;
      std::cout << "\n";
      if (ack->code == "AA" || ack->code == "CA") {
        ++accepted;
      } else {
        ++failed;
      }
    }
  }
  std::cerr << "发送 (sent) " << sent << "，接受 (accepted) " << accepted << "，失败 (failed) "
            << failed << "\n";
  return failed == 0 ? 0 : 1;
}

// GET/POST against a running hub's REST API; prints errors in Chinese.
Result<nlohmann::json> CallApi(const std::string& api, const std::string& method,
                               const std::string& path) {
  HttpClient client;
  auto resp = client.Request(method, api + path, {}, "", std::chrono::seconds(30));
  if (!resp.ok()) return resp.status();
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_discarded()) {
    return Status(ErrorCode::kParseError, "接口返回的不是 JSON (API answered non-JSON), HTTP " +
                                              std::to_string(resp->status));
  }
  if (resp->status >= 400) {
    auto e = j.value("error", nlohmann::json::object());
    return Status(ErrorCode::kInvalidArgument,
                  "HTTP " + std::to_string(resp->status) + ": " + e.value("message", std::string()),
                  e.value("where", std::string()));
  }
  return j;
}

int Messages(const std::string& api, const std::string& status, const std::string& facility,
             const std::string& type, const std::string& since, int limit, bool as_json) {
  std::string q = "?limit=" + std::to_string(limit);
  if (!status.empty()) q += "&status=" + UrlEncode(status);
  if (!facility.empty()) q += "&facility=" + UrlEncode(facility);
  if (!type.empty()) q += "&type=" + UrlEncode(type);
  if (!since.empty()) q += "&since=" + UrlEncode(since);
  auto j = CallApi(api, "GET", "/api/v1/messages" + q);
  if (!j.ok()) {
    std::cerr << "查询失败 (query failed): " << j.status().ToString() << "\n";
    return 1;
  }
  if (as_json) {
    std::cout << j->dump(2) << "\n";
    return 0;
  }
  std::printf("%-8s %-24s %-10s %-10s %-20s %-12s\n", "编号(id)", "接收时间(received)", "机构",
              "类型(type)", "控制号(MSH-10)", "状态(status)");
  for (const auto& m : (*j)["messages"]) {
    std::printf("%-8lld %-24s %-10s %-10s %-20s %-12s\n",
                static_cast<long long>(m.value("id", 0LL)), m.value("received_at", "").c_str(),
                m.value("facility", "").c_str(), m.value("message_type", "").c_str(),
                m.value("control_id", "").c_str(), m.value("status", "").c_str());
  }
  return 0;
}

int ShowMessage(const std::string& api, int64_t id, bool as_json) {
  auto j = CallApi(api, "GET", "/api/v1/messages/" + std::to_string(id));
  if (!j.ok()) {
    std::cerr << "查询失败 (query failed): " << j.status().ToString() << "\n";
    return 1;
  }
  if (as_json) {
    std::cout << j->dump(2) << "\n";
    return 0;
  }
  const auto& m = *j;
  std::cout << "消息 (message) " << m.value("id", 0LL) << "  " << m.value("message_type", "")
            << "  来自 (from) " << m.value("facility", "") << "  MSH-10 "
            << m.value("control_id", "") << "\n状态 (status): " << m.value("status", "") << "\n";
  if (m.contains("error") && m["error"].is_object()) {
    std::cout << "错误 (error): " << m["error"].value("message", "") << " ("
              << m["error"].value("where", "") << ")\n";
  }
  std::cout << "轨迹 (trace):\n";
  for (const auto& e : m["trace"]) {
    std::cout << "  " << e.value("at", "") << "  " << e.value("step", "") << "  "
              << e.value("outcome", "") << "  " << e.value("detail", "") << "\n";
  }
  std::cout << "投递 (deliveries):\n";
  for (const auto& d : m["deliveries"]) {
    std::cout << "  → " << d.value("destination", "") << "  " << d.value("state", "")
              << "  尝试 (attempts) " << d.value("attempt_count", 0) << "\n";
    for (const auto& a : d["attempts"]) {
      std::cout << "      #" << a.value("number", 0) << " " << a.value("at", "") << " "
                << a.value("outcome", "") << " " << a.value("response", "") << "\n";
    }
  }
  return 0;
}

int Reprocess(const std::string& api, int64_t id) {
  auto j = CallApi(api, "POST", "/api/v1/messages/" + std::to_string(id) + "/reprocess");
  if (!j.ok()) {
    std::cerr << "重新处理失败 (reprocess failed): " << j.status().ToString() << "\n";
    return 1;
  }
  std::cout << "消息 (message) " << id
            << " 已重新处理 (reprocessing), 状态 (status): " << j->value("status", "") << "\n";
  return 0;
}

// ---------------------------------------------------------------- terminology

// `hie terminology check DIR`: loads offline; 0 loaded, 2 refused (file:line: reason).
int TerminologyCheck(const std::string& dir) {
  auto snap = LoadTerminologyDir(dir);
  if (!snap.ok()) {
    std::cerr << snap.status().where() << ": " << snap.status().message() << "\n";
    return 2;
  }
  const LoadStats& st = (*snap)->stats();
  std::cout << "术语目录 (terminology dir) " << dir << " 可以加载 (loads):\n"
            << "  文件 (files)              " << st.files << "\n"
            << "  代码系统 (systems)        " << (*snap)->systems().size() << "\n"
            << "  概念 (concepts)           " << (*snap)->concept_count() << "\n"
            << "  映射 (mappings)           " << (*snap)->mapping_count() << "\n"
            << "  值集成员 (value set members) " << st.value_set_members << "\n"
            << "  待填映射 (pending rows)   " << st.pending_rows << "\n"
            << "  警告 (warnings)           " << st.warnings.size() << "\n";
  for (const auto& w : st.warnings) std::cout << "警告 (warning): " << w << "\n";
  return 0;
}

struct ApiReply {
  long status = 0;
  std::string body;
  nlohmann::json json;  // discarded when the body is not JSON
};

Result<ApiReply> CallApiRaw(const std::string& api, const std::string& method,
                            const std::string& path, const std::string& body = "") {
  HttpClient client;
  std::vector<std::pair<std::string, std::string>> headers;
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  auto resp = client.Request(method, api + path, headers, body, std::chrono::seconds(60));
  if (!resp.ok()) return resp.status();
  ApiReply r;
  r.status = resp->status;
  r.body = resp->body;
  r.json = nlohmann::json::parse(r.body, nullptr, false);
  return r;
}

// "where: message" of an {"error":{...}} answer.
std::string ApiErrorText(const ApiReply& r) {
  if (r.json.is_object() && r.json.contains("error") && r.json["error"].is_object()) {
    const auto& e = r.json["error"];
    std::string where = e.value("where", std::string());
    return (where.empty() ? "" : where + ": ") + e.value("message", std::string());
  }
  return "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200);
}

int TerminologyReload(const std::string& api) {
  auto r = CallApiRaw(api, "POST", "/api/v1/terminology/reload");
  if (!r.ok()) {
    std::cerr << "无法连接平台 (cannot reach the hub): " << r.status().ToString() << "\n";
    return 1;
  }
  if (r->status != 200) {
    std::cerr
        << "重新加载被拒绝，平台继续使用原有映射 (reload rejected; the hub keeps the previous "
           "maps): "
        << ApiErrorText(*r) << "\n";
    return r->status == 422 ? 2 : 1;
  }
  const auto& j = r->json;
  std::cout << "已重新加载 (reloaded): 代码系统 (systems) " << j.value("systems", 0)
            << "，概念 (concepts) " << j.value("concepts", 0) << "，映射 (mappings) "
            << j.value("mappings", 0) << "，警告 (warnings) " << j.value("warning_count", 0)
            << "，用时 (took) " << j.value("millis", 0.0) << " ms\n";
  if (j.contains("warnings") && j["warnings"].is_array()) {
    for (const auto& w : j["warnings"])
      std::cout << "警告 (warning): " << w.get<std::string>() << "\n";
  }
  return 0;
}

// Terminal columns of UTF-8 text: CJK and full-width characters take two.
size_t DisplayWidth(std::string_view s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t n = 1;
    if (c >= 0xF0) {
      n = 4;
      cp = c & 0x07;
    } else if (c >= 0xE0) {
      n = 3;
      cp = c & 0x0F;
    } else if (c >= 0xC0) {
      n = 2;
      cp = c & 0x1F;
    }
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    w += (cp >= 0x1100 &&
          (cp <= 0x115F || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
           (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || cp >= 0x20000))
             ? 2
             : 1;
    i += n;
  }
  return w;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

int TerminologyUnmapped(const std::string& api, bool csv) {
  auto r = CallApiRaw(api, "GET",
                      std::string("/api/v1/terminology/unmapped") + (csv ? "?format=csv" : ""));
  if (!r.ok()) {
    std::cerr << "无法连接平台 (cannot reach the hub): " << r.status().ToString() << "\n";
    return 1;
  }
  if (r->status != 200) {
    std::cerr << "查询失败 (query failed): " << ApiErrorText(*r) << "\n";
    return 1;
  }
  if (csv) {
    std::cout << r->body;
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"代码系统", "代码", "名称", "机构", "目标系统", "次数", "首次出现", "最近出现", "示例消息"}};
  for (const auto& e : r->json.value("unmapped", nlohmann::json::array())) {
    auto str = [&](const char* k) {
      const auto& v = e.contains(k) ? e[k] : nlohmann::json();
      return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
    };
    rows.push_back({str("system"), str("code"), str("display"), str("facility"),
                    str("target_system"), str("count"), str("first_seen"), str("last_seen"),
                    str("sample_message_id")});
  }
  PrintTable(rows);
  std::cerr << "共 " << rows.size() - 1
            << " 个未映射代码 (unmapped codes)；用 --csv 导出为映射文件模板\n";
  return 0;
}

int TerminologyTranslate(const std::string& api, const std::string& system, const std::string& code,
                         const std::string& target) {
  nlohmann::json body = {{"system", system}, {"code", code}, {"target", target}};
  auto r = CallApiRaw(api, "POST", "/api/v1/terminology/translate", body.dump());
  if (!r.ok()) {
    std::cerr << "无法连接平台 (cannot reach the hub): " << r.status().ToString() << "\n";
    return 1;
  }
  if (r->status != 200) {
    std::cerr << "翻译失败 (translate failed): " << ApiErrorText(*r) << "\n";
    return 2;
  }
  const auto& j = r->json;
  if (!j.value("found", false)) {
    std::cout << j.value("message", std::string("未映射 (unmapped)")) << "\n";
    return 1;
  }
  std::cout << j.value("system", system) << " " << code << " → " << j.value("target", target) << " "
            << j.value("target_code", std::string()) << " "
            << j.value("target_display", std::string()) << "\n";
  return 0;
}

}  // namespace
}  // namespace hie

int main(int argc, char** argv) {
  CLI::App app{"county-hie 县域医共体健康信息平台 (health information exchange hub)"};
  app.require_subcommand(1);

  std::string config_path, data_dir;
  auto* serve = app.add_subcommand("serve", "运行平台 (run the hub)");
  serve->add_option("--config", config_path, "配置文件 (YAML config file)")->required();
  serve->add_option("--data-dir", data_dir, "数据目录，覆盖 hub.data_dir (overrides hub.data_dir)");

  std::string to;
  std::vector<std::string> files;
  int timeout_s = 30;
  auto* send = app.add_subcommand("send", "经 MLLP 发送 HL7 v2 文件 (send HL7 v2 files over MLLP)");
  send->add_option("--to", to, "HOST:PORT")->required();
  send->add_option("--timeout", timeout_s, "等待应答的秒数 (seconds to wait for each ACK)");
  send->add_option("files", files, "文件 (files with one or many messages)")->required();

  std::string api = "http://127.0.0.1:8080";
  std::string status, facility, type, since;
  int limit = 50;
  bool as_json = false;
  auto* messages = app.add_subcommand("messages", "列出消息 (list messages)");
  messages->add_option("--api", api, "平台的 REST 地址 (hub REST API base URL)");
  messages->add_option("--status", status, "RECEIVED|FILTERED|QUEUED|SENT|ERROR");
  messages->add_option("--facility", facility, "机构编码 (facility id)");
  messages->add_option("--type", type, "消息类型 (message type), e.g. ADT^*");
  messages->add_option("--since", since, "起始时间 (since), e.g. 2026-11-22");
  messages->add_option("--limit", limit, "条数 (how many)");
  messages->add_flag("--json", as_json, "输出 JSON (print JSON)");

  int64_t id = 0;
  auto* message = app.add_subcommand("message", "查看一条消息 (show one message)");
  message->add_option("id", id, "消息编号 (message id)")->required();
  message->add_option("--api", api, "平台的 REST 地址 (hub REST API base URL)");
  message->add_flag("--json", as_json, "输出 JSON (print JSON)");

  auto* reprocess =
      app.add_subcommand("reprocess", "重新处理 ERROR 消息 (reprocess an ERROR message)");
  reprocess->add_option("id", id, "消息编号 (message id)")->required();
  reprocess->add_option("--api", api, "平台的 REST 地址 (hub REST API base URL)");

  auto* term = app.add_subcommand("terminology",
                                  "术语服务 (terminology: check, reload, unmapped, translate, retranslate)");
  term->require_subcommand(1);
  std::string term_dir;
  auto* term_check =
      term->add_subcommand("check", "离线检查术语目录 (load a terminology dir offline)");
  term_check->add_option("dir", term_dir, "术语目录 (terminology dir)")->required();
  auto* term_reload =
      term->add_subcommand("reload", "让运行中的平台重新加载术语 (reload on a running hub)");
  term_reload->add_option("--api", api, "平台的 REST 地址 (hub REST API base URL)");
  bool as_csv = false;
  auto* term_unmapped =
      term->add_subcommand("unmapped", "未映射的代码 (codes that did not translate)");
  term_unmapped->add_option("--api", api, "平台的 REST 地址 (hub REST API base URL)");
  term_unmapped->add_flag("--csv", as_csv,
                          "输出映射文件模板 CSV (print the concept-map CSV to fill in)");
  std::string t_system, t_code, t_target;
  auto* term_translate = term->add_subcommand("translate", "翻译一个代码 (translate one code)");
  term_translate->add_option("system", t_system, "源代码系统 (source system), e.g. HL7 0001")
      ->required();
  term_translate->add_option("code", t_code, "代码 (code)")->required();
  term_translate->add_option("target", t_target, "目标代码系统 (target system), e.g. GB/T 2261.1")
      ->required();
  term_translate->add_option("--api", api, "平台的 REST 地址 (hub REST API base URL)");
  hie::RetranslateCliArgs retr;
  bool retr_no_wait = false;
  auto* term_retranslate = term->add_subcommand(
      "retranslate",
      "用当前映射补全已存结果的标准代码 (give stored results the standard codes of the current "
      "maps)");
  term_retranslate
      ->add_option("--since", retr.since,
                   "自此时间起记录的结果 (results recorded since: 2026-11-01, RFC 3339)")
      ->required();
  term_retranslate->add_option("--api", api, "平台的 REST 地址 (hub REST API base URL)");
  term_retranslate->add_flag("--no-wait", retr_no_wait,
                             "开始后立即返回 (return once started; GET the progress later)");

  auto* store_cmd = app.add_subcommand("store", "存储维护 (store maintenance: migrate)");
  store_cmd->require_subcommand(1);
  hie::StoreMigrateArgs mig;
  auto* store_migrate = store_cmd->add_subcommand(
      "migrate", "把乡镇的内嵌库迁入县级数据库 (move an embedded store into PostgreSQL)");
  store_migrate->add_option("--from", mig.from, "源库 (source): sqlite:PATH")->required();
  store_migrate->add_option("--to", mig.to, "目标库 (target): postgresql://...")->required();
  store_migrate->add_option("--source-name", mig.source_name,
                            "源库在目标中的名字 (name of the source in the target; default: "
                            "the file's path)");
  store_migrate->add_option("--batch", mig.batch, "每个事务的消息数 (messages per transaction)");
  store_migrate->add_option("--limit", mig.limit,
                            "本次最多迁移的消息数，之后暂停 (stop after this many messages)");

  hie::PatientsCliArgs pat;
  auto* patients = app.add_subcommand(
      "patients", "患者主索引 (EMPI: find, show, reviews, accept, reject, merge, unmerge)");
  patients->require_subcommand(1);
  patients->fallthrough();
  patients->add_option("--api", pat.api, "平台的 REST 地址 (hub REST API base URL)");
  patients->add_option("--user", pat.user, "操作人，记入历史 (who acts; kept in the history)");
  auto* p_find =
      patients->add_subcommand("find", "PIX 或 PDQ 查询 (find by identifier or demographics)");
  p_find->add_option("--identifier", pat.identifier, "AUTHORITY|VALUE (机构 MR 号或 NI|身份证号)");
  p_find->add_option("--name", pat.name, "姓名 (name, PDQ)");
  p_find->add_option("--birth-date", pat.birth_date, "出生日期 (birth date, PDQ)");
  p_find->add_option("--sex", pat.sex, "性别 (sex, PDQ)");
  auto* p_show =
      patients->add_subcommand("show", "主记录与全部来源记录 (golden record and sources)");
  p_show->add_option("empi_id", pat.target, "EMPI 编号 (EMPI id, E123)")->required();
  auto* p_reviews = patients->add_subcommand("reviews", "待审核队列 (review queue)");
  p_reviews->add_option("--state", pat.state, "open | accepted | rejected | obsolete | all");
  auto* p_accept = patients->add_subcommand("accept", "接受一个审核项 (accept a review)");
  p_accept->add_option("review_id", pat.target, "审核编号 (review id)")->required();
  auto* p_reject = patients->add_subcommand("reject", "拒绝一个审核项 (reject a review)");
  p_reject->add_option("review_id", pat.target, "审核编号 (review id)")->required();
  auto* p_merge = patients->add_subcommand("merge", "合并两个患者 (merge FROM into EMPI_ID)");
  p_merge->add_option("empi_id", pat.target, "保留的 EMPI 编号 (surviving EMPI id)")->required();
  p_merge->add_option("--from", pat.from, "被合并的 EMPI 编号 (EMPI id merged)")->required();
  auto* p_unmerge = patients->add_subcommand("unmerge", "撤销合并 (undo a merge)");
  p_unmerge->add_option("merge_id", pat.target, "合并编号 (merge id)")->required();

  hie::PatientCliArgs rec;
  auto* patient = app.add_subcommand(
      "patient", "共享档案 (shared record: show = one-screen summary, labs = lab results)");
  patient->require_subcommand(1);
  patient->fallthrough();
  patient->add_option("--api", rec.api, "平台的 REST 地址 (hub REST API base URL)");
  patient->add_option("--user", rec.user, "查阅人，记入访问日志 (who reads; default $USER)");
  patient->add_option("--reader", rec.reader,
                      "查阅人所在机构 (reader's facility id, X-Facility-Id)");
  patient->add_flag("--json", rec.json, "输出 API 的 JSON (print the API's JSON)");
  auto* r_show = patient->add_subcommand(
      "show", "摘要：基本信息、诊断、最近检验、就诊、文档 (summary on one screen)");
  r_show->add_option("empi_id", rec.empi_id, "EMPI 编号 (EMPI id, E123)")->required();
  auto* r_labs = patient->add_subcommand("labs", "检验结果与互认状态 (lab results, recognition)");
  r_labs->add_option("empi_id", rec.empi_id, "EMPI 编号 (EMPI id, E123)")->required();
  r_labs->add_option("--code", rec.code, "项目代码，原代码或 LOINC (item code)");
  r_labs->add_option("--since", rec.since, "起始时间 (since: 2026-11-22, RFC 3339)");
  r_labs->add_option("--facility", rec.facility, "检测或发送机构 (performing/sending facility)");
  r_labs->add_option("--limit", rec.limit, "每页条数 (page size, <= 1000)");
  r_labs->add_option("--cursor", rec.cursor, "下一页 (next_cursor of the previous page)");
  r_labs->add_flag("--history", rec.history, "包括被更正的旧版本 (superseded versions too)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*patients) {
    pat.api = pat.api.empty() ? api : pat.api;
    for (auto* sc : patients->get_subcommands()) pat.action = sc->get_name();
    return hie::PatientsCli(pat);
  }
  if (*patient) {
    rec.api = rec.api.empty() ? api : rec.api;
    for (auto* sc : patient->get_subcommands()) rec.action = sc->get_name();
    return hie::PatientCli(rec);
  }
  if (*serve) return hie::Serve(config_path, data_dir);
  if (*send) return hie::Send(to, files, timeout_s);
  if (*messages) return hie::Messages(api, status, facility, type, since, limit, as_json);
  if (*message) return hie::ShowMessage(api, id, as_json);
  if (*reprocess) return hie::Reprocess(api, id);
  if (*term_check) return hie::TerminologyCheck(term_dir);
  if (*term_reload) return hie::TerminologyReload(api);
  if (*term_unmapped) return hie::TerminologyUnmapped(api, as_csv);
  if (*term_translate) return hie::TerminologyTranslate(api, t_system, t_code, t_target);
  if (*term_retranslate) {
    retr.api = api;
    retr.wait = !retr_no_wait;
    return hie::TerminologyRetranslate(retr);
  }
  if (*store_migrate) return hie::StoreMigrate(mig);
  return 2;
}
