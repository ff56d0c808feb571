// `hie`: the hub's one executable. Sub-commands:
//   serve      run the hub (CONTRACT §2)
//   send       an MLLP client: send files of HL7 v2 messages, print each ACK
//   messages   list messages of a running hub (REST API)
//   message    one message with its trace and deliveries
//   reprocess  run an ERROR message again
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
#include "engine/config.h"
#include "engine/hub.h"
#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/batch.h"

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
    std::cerr << "启动失败 (start failed): " << st.ToString() << "\n";
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
        std::cout << where << "\t无法解析应答 (unreadable ACK)\t" << ack.status().ToString() << "\n";
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
    return Status(ErrorCode::kParseError,
                  "接口返回的不是 JSON (API answered non-JSON), HTTP " + std::to_string(resp->status));
  }
  if (resp->status >= 400) {
    auto e = j.value("error", nlohmann::json::object());
    return Status(ErrorCode::kInvalidArgument,
                  "HTTP " + std::to_string(resp->status) + ": " + e.value("message", std::string()),
                  e.value("where", std::string()));
  }
  return j;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
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
                static_cast<long long>(m.value("id", 0LL)),
                m.value("received_at", "").c_str(), m.value("facility", "").c_str(),
                m.value("message_type", "").c_str(), m.value("control_id", "").c_str(),
                m.value("status", "").c_str());
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
  std::cout << "消息 (message) " << id << " 已重新处理 (reprocessing), 状态 (status): "
            << j->value("status", "") << "\n";
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

  auto* reprocess = app.add_subcommand("reprocess", "重新处理 ERROR 消息 (reprocess an ERROR message)");
  reprocess->add_option("id", id, "消息编号 (message id)")->required();
  reprocess->add_option("--api", api, "平台的 REST 地址 (hub REST API base URL)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*serve) return hie::Serve(config_path, data_dir);
  if (*send) return hie::Send(to, files, timeout_s);
  if (*messages) return hie::Messages(api, status, facility, type, since, limit, as_json);
  if (*message) return hie::ShowMessage(api, id, as_json);
  if (*reprocess) return hie::Reprocess(api, id);
  return 2;
}
