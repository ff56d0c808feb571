// HttpServer: a small HTTP/1.1 server on Boost.Beast for the REST API,
// /metrics and the dashboard. It runs on the caller's io_context (the same
// event loop as MLLP), supports keep-alive, and hands each parsed request to
// one HttpHandler, which answers through an HttpRespond callback, possibly
// later and from another thread (e.g. after the durable commit).
//
// Thread rules:
//  - The io_context may be run by several threads: every connection runs on
//    its own strand, the acceptor on another. The handler is called on the
//    connection's strand and must not block for long (hand work off instead).
//  - HttpRespond must be called exactly once, from any thread. Extra calls
//    are ignored; if every copy is dropped without a call, the client gets a
//    500 so the connection never hangs.
//  - Start/Stop/port/WaitDrained are safe from any thread. WaitDrained blocks
//    and must not be called from a thread that runs the io_context.
//  - The handler must stay valid while connections may still call it (until
//    WaitDrained returns true or the io_context stops).
//
// Request bodies: at most max_body_bytes are kept. A larger body still
// reaches the handler, with body_truncated=true and the first max bytes, so
// the hub can keep the evidence and answer 413; the rest is read and thrown
// away (bounded memory) and the connection is closed after the response.
// Malformed HTTP is answered 400 with a JSON error body and closed.
//
// TLS seam (not implemented): a connection (class Session in
// http_server.cc) touches its stream only through `stream_` (a
// beast::tcp_stream) in the read/write/close helpers. To add HTTPS, turn
// Session into a template on the stream type and instantiate it with
// beast::ssl_stream<beast::tcp_stream> built from the accepted socket and an
// `std::shared_ptr<boost::asio::ssl::context>` that HttpServerOptions would
// carry; run async_handshake(server) before the first read and
// async_shutdown instead of the TCP half-close. Beast's http::async_read /
// async_write work unchanged on either stream.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace hie {

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // raw target "/api/v1/messages?status=ERROR"
  std::string path;    // percent-decoded path "/api/v1/messages"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order ('+' = space)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool body_truncated = false;  // body exceeded max_body_bytes: body holds the first max bytes
  size_t body_size = 0;         // true size (Content-Length) when known, else bytes seen
  std::string peer;             // "127.0.0.1:5555"

  std::string Header(std::string_view name) const;  // case-insensitive; "" if absent
  std::string Query(std::string_view name) const;   // first value; "" if absent
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpRespond = std::function<void(HttpResponse)>;  // exactly once, from any thread
using HttpHandler = std::function<void(HttpRequest, HttpRespond)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the OS picks one; see HttpServer::port()
  size_t max_body_bytes = 16 << 20;
  size_t max_header_bytes = 64 << 10;  // request line + headers
  std::chrono::milliseconds idle_timeout{60000};
};

// Percent-decodes `in` ("%E5%BC%A0" -> "张"); with plus_is_space, '+' becomes
// ' ' (query strings). Invalid escapes are kept literally.
std::string PercentDecode(std::string_view in, bool plus_is_space);
// Splits "a=1&b=%20x" into decoded pairs, in order.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view qs);
// {"error":{"code":..,"message":..,"where":..}} with JSON escaping.
std::string JsonErrorBody(std::string_view code, std::string_view message, std::string_view where);

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpServerOptions opts, HttpHandler handler);
  ~HttpServer();  // Stop()s; open connections finish on their own
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens, then accepts on the io_context. The error names the
  // address, e.g. "无法监听 HTTP 地址 (listen failed) 127.0.0.1:8080: ...".
  Status Start();
  // The bound port (useful with port 0); 0 before Start.
  uint16_t port() const;
  // Stops accepting; idle keep-alive connections are closed, requests being
  // handled get their response and then the connection closes. Returns at
  // once; see WaitDrained.
  void Stop();
  // Blocks until every connection has closed or the timeout passes; true
  // when drained. Not from an io_context thread.
  bool WaitDrained(std::chrono::milliseconds timeout);
  // Connections currently open.
  size_t ActiveConnections() const;

  struct State;  // shared with the connections (defined in the .cc)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hie
