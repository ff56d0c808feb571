#include "connectors/http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>

namespace hie {

namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");  // start-up only
    }
  });
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* resp = static_cast<HttpClientResponse*>(user);
  const size_t n = size * nmemb;
  if (resp->body.size() < HttpClient::kMaxBodyBytes) {
    resp->body.append(data, std::min(n, HttpClient::kMaxBodyBytes - resp->body.size()));
  }
  return n;  // keep reading (and dropping) so the connection stays reusable
}

size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* resp = static_cast<HttpClientResponse*>(user);
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    resp->headers.clear();  // a new response (after 100 Continue or similar)
    return n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    resp->headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                               std::string(Trim(line.substr(colon + 1))));
  }
  return n;
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string_view authority =
      url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, start));
  out += url.substr(start + at + 1);
  return out;
}

struct HttpClient::Impl {
  std::unique_ptr<CURL, CurlDeleter> handle;
  char errbuf[CURL_ERROR_SIZE] = {};
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  GlobalInitOnce();
  impl_->handle.reset(curl_easy_init());
  if (!impl_->handle) throw std::runtime_error("curl_easy_init failed");  // start-up only
}

HttpClient::~HttpClient() = default;

Result<HttpClientResponse> HttpClient::Request(
    std::string_view method, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
    std::chrono::milliseconds timeout) {
  CURL* h = impl_->handle.get();
  // Reset options only: live connections and the DNS cache survive.
  curl_easy_reset(h);
  HttpClientResponse resp;
  impl_->errbuf[0] = '\0';

  std::unique_ptr<curl_slist, SlistDeleter> list;
  auto add = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next) {
      (void)list.release();
      list.reset(next);
    }
  };
  for (const auto& [k, v] : headers) add(k + ": " + v);
  add("Expect:");  // no 100-continue round trip on larger bodies

  const std::string method_str(method);
  const long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, impl_->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  if (method_str == "GET" && body.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (method_str == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    if (method_str != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_str.c_str());
  }

  CURLcode rc = curl_easy_perform(h);
  // The options point at locals: drop them before returning.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    std::string detail = impl_->errbuf[0] ? impl_->errbuf : curl_easy_strerror(rc);
    const std::string where = RedactUrl(url);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return Status(ErrorCode::kTimeout,
                    "HTTP 请求超时 (timeout) " + std::to_string(timeout.count()) + "ms " +
                        method_str + " " + where + ": " + detail,
                    where);
    }
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
      return Status(ErrorCode::kConfigError, "HTTP 地址无效 (bad URL) " + where + ": " + detail,
                    where);
    }
    return Status(ErrorCode::kNetworkError,
                  "HTTP 请求失败 (network error) " + method_str + " " + where + ": " + detail,
                  where);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  resp.status = static_cast<int>(status);
  return resp;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace hie
