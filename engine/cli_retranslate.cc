#include "engine/cli_retranslate.h"

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "connectors/http/http_client.h"

namespace hie {
namespace {

using nlohmann::json;

struct Reply {
  int status = 0;
  json body;  // discarded when not JSON
  std::string text;
};

Result<Reply> Call(HttpClient& client, const std::string& method, const std::string& url,
                   const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  auto r = client.Request(method, url, headers, body, std::chrono::seconds(60));
  if (!r.ok()) return r.status();
  Reply out;
  out.status = r->status;
  out.text = r->body;
  out.body = json::parse(r->body, nullptr, false);
  return out;
}

std::string ErrorText(const Reply& r) {
  if (r.body.is_object() && r.body.contains("error") && r.body["error"].is_object()) {
    const json& e = r.body["error"];
    const std::string where = e.value("where", std::string());
    return (where.empty() ? "" : where + ": ") + e.value("message", std::string());
  }
  return "HTTP " + std::to_string(r.status) + " " + r.text.substr(0, 200);
}

int64_t Num(const json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_number_integer() ? j[k].get<int64_t>() : 0;
}

std::string Line(const json& p) {
  auto kind = [&](const char* k, const char* zh) {
    const json c = p.value(k, json::object());
    return std::string(zh) + " " + std::to_string(Num(c, "updated")) + "/" +
           std::to_string(Num(c, "scanned"));
  };
  return "已扫描 (scanned) " + std::to_string(Num(p, "scanned")) + "，已更新 (updated) " +
         std::to_string(Num(p, "updated")) + " [" + kind("lab_results", "检验") + "，" +
         kind("diagnoses", "诊断") + "，" + kind("documents", "文档") + "]";
}

}  // namespace

int TerminologyRetranslate(const RetranslateCliArgs& a) {
  HttpClient client;
  const std::string url = a.api + "/api/v1/terminology/retranslate";
  auto started = Call(client, "POST", url, json{{"since", a.since}}.dump());
  if (!started.ok()) {
    std::cerr << "无法连接平台 (cannot reach the hub): " << started.status().ToString() << "\n";
    return 1;
  }
  if (started->status != 202) {
    std::cerr << "重新翻译未开始 (retranslation not started): " << ErrorText(*started) << "\n";
    return started->status == 400 ? 2 : 1;
  }
  std::cerr << "重新翻译已开始 (retranslation started): 自 (since) "
            << started->body.value("since", std::string()) << " 起记录的结果\n";
  if (!a.wait) {
    std::cout << Line(started->body) << "\n";
    return 0;
  }
  json p = started->body;
  std::string last;
  while (p.value("state", std::string()) == "running") {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto r = Call(client, "GET", url, "");
    if (!r.ok() || r->status != 200) {
      std::cerr << "无法查询进度 (cannot read the progress): "
                << (r.ok() ? ErrorText(*r) : r.status().ToString()) << "\n";
      return 1;
    }
    p = r->body;
    const std::string line = Line(p);
    if (line != last) std::cerr << "  " << line << "\n";
    last = line;
  }
  const std::string state = p.value("state", std::string());
  if (state == "done") {
    std::cout << "重新翻译完成 (retranslation done): " << Line(p) << "\n";
    return 0;
  }
  std::cout << "重新翻译未完成 (retranslation " << state << "): " << Line(p) << "\n";
  if (p.contains("error")) std::cerr << p.value("error", std::string()) << "\n";
  std::cerr << "可以再次运行，已完成的部分不会重复 (safe to run again: finished pages are kept)\n";
  return 1;
}

}  // namespace hie
