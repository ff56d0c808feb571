#include "connectors/http/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <mutex>
#include <thread>

#include "connectors/http/http_server.h"

namespace hie {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

class Loop {
 public:
  Loop() : guard_(net::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Loop() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  net::io_context& io() { return io_; }

 private:
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::thread thread_;
};

std::string HeaderOf(const HttpClientResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(
        loop_.io(), HttpServerOptions{}, [this](HttpRequest req, HttpRespond respond) {
          std::lock_guard lock(mu_);
          seen_.push_back(req);
          if (req.path == "/hang") {
            hung_.push_back(std::move(respond));  // answered at teardown
            return;
          }
          HttpResponse r;
          r.status = req.path == "/created" ? 201 : 503;
          if (req.path == "/big") {
            r.status = 200;
            r.body = std::string(100000, 'z');
          } else {
            r.body = req.method + ":" + req.body;
          }
          r.headers.emplace_back("X-Echo", req.Header("X-Source-Facility"));
          respond(std::move(r));
        });
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      for (auto& r : hung_) r(HttpResponse{});
      hung_.clear();
    }
    server_->Stop();
    EXPECT_TRUE(server_->WaitDrained(30s));
  }

  Loop loop_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
  std::mutex mu_;
  std::vector<HttpRequest> seen_;
  std::vector<HttpRespond> hung_;
};

TEST(RedactUrl, DropsCredentials) {
  EXPECT_EQ(RedactUrl("http://user:pw@host:9/x?y=1"), "http://host:9/x?y=1");
  EXPECT_EQ(RedactUrl("https://host/a@b"), "https://host/a@b");
  EXPECT_EQ(RedactUrl("http://host"), "http://host");
}

TEST_F(HttpClientTest, RoundTripStatusBodyHeadersAndKeepAlive) {
  HttpClient client;
  auto r = client.Request("POST", base_ + "/created",
                          {{"Content-Type", "application/json"},
                           {"X-Source-Facility", "XQRMYY"},
                           {"Idempotency-Key", "m1:county-platform"}},
                          "{\"a\":\"张三\"}", 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "POST:{\"a\":\"张三\"}");
  EXPECT_EQ(HeaderOf(*r, "X-Echo"), "XQRMYY");
  EXPECT_EQ(HeaderOf(*r, "Server"), "county-hie");

  // Any status is a successful Result; PUT and GET work; the connection is reused.
  auto r2 = client.Request("PUT", base_ + "/other", {}, "x", 10s);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 503);
  EXPECT_EQ(r2->body, "PUT:x");
  auto r3 = client.Request("GET", base_ + "/other", {}, "", 10s);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->body, "GET:");

  std::lock_guard lock(mu_);
  ASSERT_EQ(seen_.size(), 3u);
  EXPECT_EQ(seen_[0].Header("Idempotency-Key"), "m1:county-platform");
  EXPECT_EQ(seen_[0].Header("Expect"), "");
  EXPECT_EQ(seen_[1].peer, seen_[0].peer);  // same TCP connection
  EXPECT_EQ(seen_[2].peer, seen_[0].peer);
}

TEST_F(HttpClientTest, ResponseBodyIsCapped) {
  HttpClient client;
  auto r = client.Request("GET", base_ + "/big", {}, "", 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::string(HttpClient::kMaxBodyBytes, 'z'));
}

TEST_F(HttpClientTest, ConnectionRefusedIsNetworkError) {
  uint16_t port;
  {
    net::io_context io;
    tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  HttpClient client;
  auto r = client.Request("POST", "http://deliver:s3cret@127.0.0.1:" + std::to_string(port) + "/in",
                          {}, "x", 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNetworkError);
  EXPECT_NE(r.status().message().find("http://127.0.0.1:" + std::to_string(port) + "/in"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos);
}

TEST_F(HttpClientTest, SilentServerIsTimeout) {
  HttpClient client;
  auto r = client.Request("POST", base_ + "/hang", {}, "x", 200ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout) << r.status().ToString();
  EXPECT_NE(r.status().message().find(base_ + "/hang"), std::string::npos);
  // The client recovers for the next request.
  auto r2 = client.Request("POST", base_ + "/created", {}, "y", 10s);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->status, 201);
}

TEST(HttpClientBadUrl, IsConfigError) {
  HttpClient client;
  auto r = client.Request("GET", "ftp://127.0.0.1/x", {}, "", 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kConfigError);
}

}  // namespace
}  // namespace hie
