// HttpClient: blocking HTTP(S) requests on libcurl, for outbound deliveries.
// One client holds one curl easy handle and reuses it, so consecutive
// requests to the same destination share a keep-alive connection.
//
// Thread rules: one HttpClient per thread (not safe to share). Creating
// clients on several threads at once is safe (curl_global_init runs once).
//
// Results: any HTTP status is a successful Result (the caller classifies
// 2xx/4xx/5xx). A network failure is kNetworkError, a timeout kTimeout; the
// message names the URL with any user:password removed.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace hie {

struct HttpClientResponse {
  int status = 0;
  std::string body;  // at most HttpClient::kMaxBodyBytes; the rest is dropped
  std::vector<std::pair<std::string, std::string>> headers;  // of the final response
};

// "http://user:pw@host/x" -> "http://host/x"; for logs and error texts.
std::string RedactUrl(std::string_view url);

// Percent-encodes a query or path value (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view s);

class HttpClient {
 public:
  static constexpr size_t kMaxBodyBytes = 64 << 10;

  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // method: "GET", "POST", "PUT", ...; headers are sent as given; `timeout`
  // bounds the whole request (connect included). Redirects are not followed.
  Result<HttpClientResponse> Request(
      std::string_view method, const std::string& url,
      const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
      std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hie
