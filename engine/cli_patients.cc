#include "engine/cli_patients.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "connectors/http/http_client.h"

namespace hie {
namespace {

int Call(const PatientsCliArgs& a, const std::string& method, const std::string& path,
         const std::string& body = "") {
  HttpClient client;
  std::vector<std::pair<std::string, std::string>> headers;
  if (method == "POST") headers.emplace_back("Content-Type", "application/json");
  if (!a.user.empty()) headers.emplace_back("X-User", a.user);
  auto r = client.Request(method, a.api + path, headers,
                          method == "POST" && body.empty() ? "{}" : body, std::chrono::seconds(30));
  if (!r.ok()) {
    std::cerr << "无法连接平台 (cannot reach the hub): " << r.status().ToString() << "\n";
    return 1;
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status >= 400) {
    std::string msg = "HTTP " + std::to_string(r->status);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      msg += ": " + j["error"].value("message", std::string());
    }
    std::cerr << "失败 (failed) " << msg << "\n";
    return 1;
  }
  std::cout << (j.is_discarded() ? r->body : j.dump(2)) << "\n";
  return 0;
}

}  // namespace

int PatientsCli(const PatientsCliArgs& a) {
  if (a.action == "find") {
    if (!a.identifier.empty())
      return Call(a, "GET", "/api/v1/patients?identifier=" + UrlEncode(a.identifier));
    if (a.name.empty()) {
      std::cerr << "需要 --identifier 或 --name (give --identifier AUTHORITY|VALUE or --name)\n";
      return 2;
    }
    std::string q = "?name=" + UrlEncode(a.name);
    if (!a.birth_date.empty()) q += "&birth_date=" + UrlEncode(a.birth_date);
    if (!a.sex.empty()) q += "&sex=" + UrlEncode(a.sex);
    return Call(a, "GET", "/api/v1/patients" + q);
  }
  if (a.action == "show") return Call(a, "GET", "/api/v1/patients/" + UrlEncode(a.target));
  if (a.action == "reviews")
    return Call(a, "GET", "/api/v1/empi/reviews?state=" + UrlEncode(a.state));
  if (a.action == "accept" || a.action == "reject") {
    return Call(a, "POST", "/api/v1/empi/reviews/" + UrlEncode(a.target) + "/" + a.action);
  }
  if (a.action == "merge") {
    return Call(a, "POST", "/api/v1/patients/" + UrlEncode(a.target) + "/merge",
                nlohmann::json{{"from", a.from}}.dump());
  }
  if (a.action == "unmerge")
    return Call(a, "POST", "/api/v1/empi/merges/" + UrlEncode(a.target) + "/unmerge");
  return 2;
}

}  // namespace hie
