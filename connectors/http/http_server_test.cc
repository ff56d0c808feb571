#include "connectors/http/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

namespace hie {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Runs an io_context on two threads (strands must keep connections safe).
class Loop {
 public:
  Loop() : guard_(net::make_work_guard(io_)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~Loop() {
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  net::io_context& io() { return io_; }

 private:
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

// A blocking test client on one TCP connection.
class Conn {
 public:
  explicit Conn(uint16_t port) : sock_(io_) {
    sock_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  void SendRaw(std::string_view bytes) { net::write(sock_, net::buffer(bytes)); }
  http::response<http::string_body> Read() {
    http::response<http::string_body> res;
    http::read(sock_, buf_, res);
    return res;
  }
  http::response<http::string_body> Do(http::request<http::string_body> req) {
    req.version(11);
    req.set(http::field::host, "localhost");
    req.prepare_payload();
    http::write(sock_, req);
    return Read();
  }
  void Close() {
    beast::error_code ec;
    sock_.close(ec);
  }
  // True when the server closed the connection (EOF on the next read).
  bool ClosedByPeer() {
    beast::error_code ec;
    char c;
    if (buf_.size() > 0) return false;
    sock_.read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  net::io_context io_;
  tcp::socket sock_;
  beast::flat_buffer buf_;
};

http::request<http::string_body> Get(std::string target) {
  http::request<http::string_body> req{http::verb::get, target, 11};
  return req;
}

http::request<http::string_body> Post(std::string target, std::string body) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::content_type, "application/hl7-v2");
  req.body() = std::move(body);
  return req;
}

// Records every request; answers 200 with the path, or keeps the responder
// when told to.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<HttpRequest> requests;
  std::deque<HttpRespond> held;
  bool hold = false;

  HttpHandler Handler() {
    return [this](HttpRequest req, HttpRespond respond) {
      std::unique_lock lock(mu);
      HttpResponse r;
      r.body = "{\"path\":\"" + req.path + "\"}";
      r.headers.emplace_back("X-Seen", std::to_string(requests.size() + 1));
      if (req.body_truncated) r.status = 413;
      requests.push_back(std::move(req));
      bool keep = hold && requests.back().path != "/fast";
      if (keep) held.push_back(std::move(respond));
      cv.notify_all();
      lock.unlock();
      if (!keep) respond(std::move(r));
    };
  }
  void WaitRequests(size_t n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return requests.size() >= n; });
  }
  HttpRespond TakeHeld() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !held.empty(); });
    HttpRespond r = std::move(held.front());
    held.pop_front();
    return r;
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions opts = {}) {
    server_ = std::make_unique<HttpServer>(loop_.io(), opts, rec_.Handler());
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
      EXPECT_TRUE(server_->WaitDrained(std::chrono::seconds(30)));
    }
  }
  Loop loop_;
  Recorder rec_;
  std::unique_ptr<HttpServer> server_;
};

TEST(HttpServerHelpers, PercentDecodeAndQuery) {
  EXPECT_EQ(PercentDecode("%E5%BC%A0%e4%b8%89", false), "张三");
  EXPECT_EQ(PercentDecode("a+b%2", false), "a+b%2");
  EXPECT_EQ(PercentDecode("a+b%zz%", true), "a b%zz%");
  auto q = ParseQueryString("a=1&&b=&c&a=2");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"b", ""}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"a", "2"}));
  EXPECT_EQ(JsonErrorBody("x", "a\"b\n", "w"),
            R"({"error":{"code":"x","message":"a\"b\n","where":"w"}})");
}

TEST_F(HttpServerTest, GetDecodesPathQueryAndHeaders) {
  StartServer();
  Conn c(server_->port());
  auto req =
      Get("/api/v1/patients/%E5%BC%A0?name=%E5%BC%A0%E4%B8%89&identifier=NI%7C110&q=a+b&name=x");
  req.set("X-Facility-Id", "XQRMYY");
  auto res = c.Do(std::move(req));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::server], "county-hie");
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(res["X-Seen"], "1");
  EXPECT_EQ(res.body(), "{\"path\":\"/api/v1/patients/张\"}");
  ASSERT_EQ(rec_.requests.size(), 1u);
  const HttpRequest& r = rec_.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target,
            "/api/v1/patients/%E5%BC%A0?name=%E5%BC%A0%E4%B8%89&identifier=NI%7C110&q=a+b&name=x");
  EXPECT_EQ(r.path, "/api/v1/patients/张");
  ASSERT_EQ(r.query.size(), 4u);
  EXPECT_EQ(r.Query("name"), "张三");  // first value
  EXPECT_EQ(r.query[3].second, "x");
  EXPECT_EQ(r.Query("identifier"), "NI|110");
  EXPECT_EQ(r.Query("q"), "a b");
  EXPECT_EQ(r.Query("missing"), "");
  EXPECT_EQ(r.Header("x-facility-id"), "XQRMYY");
  EXPECT_EQ(r.Header("X-FACILITY-ID"), "XQRMYY");
  EXPECT_EQ(r.Header("Nope"), "");
  EXPECT_EQ(r.peer.rfind("127.0.0.1:", 0), 0u) << r.peer;
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(r.body_truncated);
}

TEST_F(HttpServerTest, PostBodyContentLengthAndChunked) {
  StartServer();
  Conn c(server_->port());
  std::string body = "MSH|^~\\&|LIS|XQRMYY|||20240101||ORU^R01|1|P|2.5\r" + std::string(5000, 'x');
  auto res = c.Do(Post("/api/v1/messages", body));
  EXPECT_EQ(res.result_int(), 200);
  // Chunked transfer coding, written by hand.
  c.SendRaw(
      "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
  res = c.Read();
  EXPECT_EQ(res.result_int(), 200);
  ASSERT_EQ(rec_.requests.size(), 2u);
  EXPECT_EQ(rec_.requests[0].method, "POST");
  EXPECT_EQ(rec_.requests[0].body, body);
  EXPECT_EQ(rec_.requests[0].body_size, body.size());
  EXPECT_EQ(rec_.requests[0].Header("content-type"), "application/hl7-v2");
  EXPECT_EQ(rec_.requests[1].body, "hello, world");
  EXPECT_EQ(rec_.requests[1].body_size, 12u);
  EXPECT_FALSE(rec_.requests[1].body_truncated);
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  Conn c(server_->port());
  for (int i = 0; i < 5; ++i) {
    auto res = i % 2 ? c.Do(Get("/g" + std::to_string(i))) : c.Do(Post("/p", "body"));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res["X-Seen"], std::to_string(i + 1));
  }
  ASSERT_EQ(rec_.requests.size(), 5u);
  for (const auto& r : rec_.requests) EXPECT_EQ(r.peer, rec_.requests[0].peer);
  EXPECT_EQ(server_->ActiveConnections(), 1u);
  // Pipelined: two requests in one write, answered in order.
  c.SendRaw("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.Read().body(), "{\"path\":\"/a\"}");
  EXPECT_EQ(c.Read().body(), "{\"path\":\"/b\"}");
  // Connection: close is honoured.
  auto req = Get("/last");
  req.keep_alive(false);
  auto res = c.Do(std::move(req));
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpServerTest, RespondLaterFromAnotherThread) {
  rec_.hold = true;
  StartServer();
  Conn c(server_->port());
  c.SendRaw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  HttpRespond respond = rec_.TakeHeld();
  std::thread t([respond] {
    HttpResponse r;
    r.status = 202;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "已接收";
    respond(r);
    respond(r);  // a second call is ignored
  });
  t.join();
  auto res = c.Read();
  EXPECT_EQ(res.result_int(), 202);
  EXPECT_EQ(res.body(), "已接收");
  EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
  // The connection is still usable, and only one response was sent.
  auto res2 = c.Do(Get("/fast"));
  EXPECT_EQ(res2.result_int(), 200);
  EXPECT_EQ(res2.body(), "{\"path\":\"/fast\"}");
}

TEST_F(HttpServerTest, DroppedResponderAnswers500) {
  rec_.hold = true;
  StartServer();
  Conn c(server_->port());
  c.SendRaw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  { HttpRespond dropped = rec_.TakeHeld(); }
  auto res = c.Read();
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_NE(res.body().find("\"internal\""), std::string::npos);
}

TEST_F(HttpServerTest, OverLimitBodyIsTruncatedAnsweredAndClosed) {
  HttpServerOptions opts;
  opts.max_body_bytes = 1024;
  StartServer(opts);
  {
    Conn c(server_->port());
    std::string big(100000, 'a');
    for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('0' + i % 10);
    auto res = c.Do(Post("/api/v1/messages", big));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_FALSE(res.keep_alive());
    EXPECT_TRUE(c.ClosedByPeer());
    ASSERT_EQ(rec_.requests.size(), 1u);
    EXPECT_TRUE(rec_.requests[0].body_truncated);
    EXPECT_EQ(rec_.requests[0].body, big.substr(0, 1024));
    EXPECT_EQ(rec_.requests[0].body_size, big.size());
  }
  {
    // Chunked, no Content-Length: the size seen is reported.
    Conn c(server_->port());
    std::string raw = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) raw += "320\r\n" + std::string(800, 'b') + "\r\n";
    raw += "0\r\n\r\n";
    c.SendRaw(raw);
    auto res = c.Read();
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_TRUE(c.ClosedByPeer());
    ASSERT_EQ(rec_.requests.size(), 2u);
    EXPECT_TRUE(rec_.requests[1].body_truncated);
    EXPECT_EQ(rec_.requests[1].body, std::string(1024, 'b'));
    EXPECT_EQ(rec_.requests[1].body_size, 2400u);
  }
  {
    // Exactly at the limit is not truncated.
    Conn c(server_->port());
    auto res = c.Do(Post("/exact", std::string(1024, 'c')));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_TRUE(res.keep_alive());
    ASSERT_EQ(rec_.requests.size(), 3u);
    EXPECT_FALSE(rec_.requests[2].body_truncated);
  }
}

TEST_F(HttpServerTest, MalformedRequestGets400JsonAndClose) {
  StartServer();
  struct Case {
    std::string raw, where;
  };
  for (const Case& k :
       {Case{"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", "request-line"},
        Case{"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "header"},
        Case{"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "header"},
        Case{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "body"}}) {
    Conn c(server_->port());
    c.SendRaw(k.raw);
    auto res = c.Read();
    EXPECT_EQ(res.result_int(), 400) << k.raw;
    EXPECT_EQ(res[http::field::server], "county-hie");
    EXPECT_NE(
        res.body().find("{\"error\":{\"code\":\"parse_error\",\"message\":\"HTTP 请求无法解析"),
        std::string::npos)
        << res.body();
    EXPECT_NE(res.body().find("\"where\":\"" + k.where + "\""), std::string::npos) << res.body();
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_TRUE(rec_.requests.empty());
}

TEST_F(HttpServerTest, StopDrainsInFlightAndClosesIdle) {
  rec_.hold = true;
  StartServer();
  const uint16_t port = server_->port();
  Conn idle(port);
  EXPECT_EQ(idle.Do(Get("/fast")).result_int(), 200);
  Conn busy(port);
  busy.SendRaw("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  HttpRespond respond = rec_.TakeHeld();

  server_->Stop();
  EXPECT_TRUE(idle.ClosedByPeer());
  EXPECT_FALSE(server_->WaitDrained(std::chrono::milliseconds(0)));  // busy is in flight

  HttpResponse r;
  r.status = 202;
  r.body = "{\"id\":1}";
  respond(std::move(r));
  auto res = busy.Read();
  EXPECT_EQ(res.result_int(), 202);
  EXPECT_EQ(res.body(), "{\"id\":1}");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(busy.ClosedByPeer());
  busy.Close();  // as a client does after Connection: close; ends the server's linger
  EXPECT_TRUE(server_->WaitDrained(std::chrono::seconds(30)));
  EXPECT_EQ(server_->ActiveConnections(), 0u);

  // No longer accepting.
  net::io_context io;
  tcp::socket s(io);
  beast::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_EQ(ec, net::error::connection_refused);
}

TEST_F(HttpServerTest, StartFailureNamesTheAddress) {
  StartServer();
  HttpServerOptions opts;
  opts.port = server_->port();
  HttpServer second(loop_.io(), opts, rec_.Handler());
  Status st = second.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(opts.port)), std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace hie
