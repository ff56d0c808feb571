// MLLP server and client against each other on 127.0.0.1, port 0, with the
// io_context run by two threads (as in the hub).
#include "connectors/mllp/mllp_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/mllp/mllp_client.h"
#include "connectors/mllp/mllp_framing.h"

namespace hie {
namespace {

using namespace std::chrono_literals;

// Polls `pred` until true or 10 s pass (generous: the machine is shared).
template <class Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// What the handler saw, plus replies it kept for later.
struct Inbox {
  std::mutex mu;
  std::vector<MllpInbound> seen;
  std::vector<MllpReply> held;

  void Add(MllpInbound in) {
    std::lock_guard lock(mu);
    seen.push_back(std::move(in));
  }
  void Hold(MllpReply r) {
    std::lock_guard lock(mu);
    held.push_back(std::move(r));
  }
  size_t count() {
    std::lock_guard lock(mu);
    return seen.size();
  }
  size_t held_count() {
    std::lock_guard lock(mu);
    return held.size();
  }
  MllpInbound at(size_t i) {
    std::lock_guard lock(mu);
    return seen.at(i);
  }
  std::vector<MllpReply> TakeHeld() {
    std::lock_guard lock(mu);
    return std::move(held);
  }
};

int RawConnect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void RawWrite(int fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

// Closes with RST instead of FIN.
void RawReset(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  ::close(fd);
}

class MllpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    server_.reset();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  // Starts a server whose handler records every inbound and then calls
  // `on_message` (default: answer "ACK:<payload>" at once).
  void StartServer(MllpServerOptions opts = {},
                   std::function<void(const MllpInbound&, MllpReply)> on_message = {}) {
    if (!on_message) {
      on_message = [](const MllpInbound& in, MllpReply reply) { reply("ACK:" + in.payload); };
    }
    server_ = std::make_unique<MllpServer>(io_, std::move(opts),
                                           [this, on_message](MllpInbound in, MllpReply reply) {
                                             MllpInbound copy = in;
                                             inbox_.Add(std::move(copy));
                                             on_message(in, std::move(reply));
                                           });
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->port(), 0);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  MllpClient NewClient(std::chrono::milliseconds timeout = 10s) {
    return MllpClient("127.0.0.1", server_->port(), timeout);
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::vector<std::thread> threads_;
  Inbox inbox_;
  std::unique_ptr<MllpServer> server_;
};

TEST_F(MllpServerTest, ExchangesOneMessage) {
  StartServer();
  MllpClient c = NewClient();
  ASSERT_TRUE(c.Connect().ok());
  auto r = c.Exchange("MSH|^~\\&|HIS|XQRMYY");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "ACK:MSH|^~\\&|HIS|XQRMYY");
  ASSERT_EQ(inbox_.count(), 1u);
  const MllpInbound in = inbox_.at(0);
  EXPECT_EQ(in.kind, MllpInbound::Kind::kMessage);
  EXPECT_EQ(in.size, in.payload.size());
  EXPECT_EQ(in.peer.rfind("127.0.0.1:", 0), 0u) << in.peer;
  EXPECT_NE(in.connection_id, 0u);
  // The connection stays open for more.
  auto r2 = c.Exchange("second");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2, "ACK:second");
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(MllpServerTest, StartFailsWithAddressWhenPortTaken) {
  StartServer();
  MllpServerOptions opts;
  opts.port = server_->port();
  MllpServer second(io_, opts, [](MllpInbound, MllpReply) {});
  Status st = second.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kNetworkError);
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(opts.port)), std::string::npos)
      << st.message();
}

TEST_F(MllpServerTest, RepliesFollowArrivalOrderWhenHandlerAnswersOutOfOrder) {
  std::thread late;
  std::mutex mu;
  MllpReply first;
  StartServer({}, [&](const MllpInbound& in, MllpReply reply) {
    if (in.payload == "1") {
      std::lock_guard lock(mu);
      first = std::move(reply);
      return;
    }
    reply("ACK:" + in.payload);  // 2 and 3 answer at once
    if (in.payload == "3") {
      late = std::thread([&] {
        std::this_thread::sleep_for(20ms);
        std::lock_guard lock(mu);
        first("ACK:1");
      });
    }
  });
  MllpClient c = NewClient();
  ASSERT_TRUE(c.SendRaw(MllpFrame("1") + MllpFrame("2") + MllpFrame("3")).ok());
  for (const char* want : {"ACK:1", "ACK:2", "ACK:3"}) {
    auto r = c.ReadReply();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, want);
  }
  late.join();
}

TEST_F(MllpServerTest, ManyConnectionsAtOnce) {
  StartServer();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::vector<std::unique_ptr<MllpClient>>> clients(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        clients[t].push_back(std::make_unique<MllpClient>("127.0.0.1", server_->port(), 10s));
        if (!clients[t].back()->Connect().ok()) ++failures;
      }
      for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < kPerThread; ++i) {
          const std::string msg =
              std::to_string(t) + "/" + std::to_string(i) + "/" + std::to_string(round);
          auto r = clients[t][i]->Exchange(msg);
          if (!r.ok() || *r != "ACK:" + msg) ++failures;
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server_->connection_count(), size_t{kThreads * kPerThread});
  EXPECT_EQ(inbox_.count(), size_t{kThreads * kPerThread * 4});
  clients.clear();
  EXPECT_TRUE(WaitUntil([&] { return server_->connection_count() == 0; }));
}

TEST_F(MllpServerTest, PipelinedThroughputSmoke) {
  StartServer();
  constexpr int kConns = 8;
  constexpr int kMsgs = 2000;
  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kConns; ++t) {
    ts.emplace_back([&, t] {
      MllpClient c("127.0.0.1", server_->port(), 10s);
      std::string batch;
      for (int i = 0; i < kMsgs; ++i) AppendMllpFrame("MSH|" + std::to_string(i), &batch);
      if (!c.SendRaw(batch).ok()) ++failures;
      for (int i = 0; i < kMsgs; ++i) {
        auto r = c.ReadReply();
        if (!r.ok() || *r != "ACK:MSH|" + std::to_string(i)) {
          ++failures;
          return;
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server_->stats().replies_written, uint64_t{kConns * kMsgs});
}

TEST_F(MllpServerTest, OversizedFrameIsReportedAndConnectionStaysUsable) {
  MllpServerOptions opts;
  opts.max_message_bytes = 1000;
  StartServer(opts, [](const MllpInbound& in, MllpReply reply) {
    reply(in.kind == MllpInbound::Kind::kOversized ? "AR:too-large" : "ACK:" + in.payload);
  });
  MllpClient c = NewClient();
  const std::string big = "MSH|" + std::string(4996, 'x');
  auto r = c.Exchange(big);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "AR:too-large");
  const MllpInbound in = inbox_.at(0);
  EXPECT_EQ(in.kind, MllpInbound::Kind::kOversized);
  EXPECT_EQ(in.size, 5000u);
  EXPECT_EQ(in.payload, big.substr(0, 1000));
  auto r2 = c.Exchange("small");
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(*r2, "ACK:small");
  EXPECT_EQ(server_->stats().oversized, 1u);
}

TEST_F(MllpServerTest, ResetMidFrameDeliversTruncated) {
  StartServer();
  const int fd = RawConnect(server_->port());
  ASSERT_GE(fd, 0);
  RawWrite(fd, MllpFrame("whole") +
                   "\x0b"
                   "PID|partial");
  ASSERT_TRUE(WaitUntil([&] { return inbox_.count() >= 1; }));
  RawReset(fd);
  ASSERT_TRUE(WaitUntil([&] { return inbox_.count() >= 2; }));
  const MllpInbound in = inbox_.at(1);
  EXPECT_EQ(in.kind, MllpInbound::Kind::kTruncated);
  EXPECT_EQ(in.payload, "PID|partial");
  EXPECT_EQ(in.size, 11u);
  EXPECT_TRUE(WaitUntil([&] { return server_->connection_count() == 0; }));
  // The server carries on.
  MllpClient c = NewClient();
  auto r = c.Exchange("next");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "ACK:next");
}

TEST_F(MllpServerTest, OrderlyCloseMidFrameDeliversTruncated) {
  StartServer();
  MllpClient c = NewClient();
  ASSERT_TRUE(c.SendRaw("\x0b"
                        "MSH|half")
                  .ok());
  c.Close();
  ASSERT_TRUE(WaitUntil([&] { return inbox_.count() >= 1; }));
  EXPECT_EQ(inbox_.at(0).kind, MllpInbound::Kind::kTruncated);
  EXPECT_EQ(inbox_.at(0).payload, "MSH|half");
}

TEST_F(MllpServerTest, GarbageBetweenFramesIsIgnored) {
  StartServer();
  MllpClient c = NewClient();
  ASSERT_TRUE(c.SendRaw("junk" + MllpFrame("A") + "\r\n\r\nmore junk" + MllpFrame("B")).ok());
  auto a = c.ReadReply();
  auto b = c.ReadReply();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, "ACK:A");
  EXPECT_EQ(*b, "ACK:B");
  EXPECT_EQ(inbox_.count(), 2u);
  EXPECT_EQ(server_->stats().garbage_bytes, 4u + 4u + 9u);
}

TEST_F(MllpServerTest, SlowSenderOneByteAtATime) {
  StartServer();
  MllpClient c = NewClient();
  const std::string frame = MllpFrame("MSH|^~\\&|SLOW|1");
  for (char ch : frame) {
    ASSERT_TRUE(c.SendRaw(std::string(1, ch)).ok());
    std::this_thread::sleep_for(1ms);
  }
  auto r = c.ReadReply();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "ACK:MSH|^~\\&|SLOW|1");
}

TEST_F(MllpServerTest, IdleConnectionIsClosed) {
  MllpServerOptions opts;
  opts.idle_timeout = 200ms;
  StartServer(opts);
  MllpClient c = NewClient(20s);
  ASSERT_TRUE(c.Connect().ok());
  auto r = c.ReadReply();  // nothing comes; the server closes
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNetworkError) << r.status().ToString();
  EXPECT_TRUE(WaitUntil([&] { return server_->connection_count() == 0; }));
  EXPECT_EQ(server_->stats().idle_closed, 1u);
}

TEST_F(MllpServerTest, IdleTimeoutSparesConnectionAwaitingReply) {
  MllpServerOptions opts;
  opts.idle_timeout = 100ms;
  StartServer(opts, [&](const MllpInbound&, MllpReply reply) { inbox_.Hold(std::move(reply)); });
  MllpClient c = NewClient();
  ASSERT_TRUE(c.Send("slow-commit").ok());
  ASSERT_TRUE(WaitUntil([&] { return inbox_.held_count() == 1; }));
  std::this_thread::sleep_for(400ms);  // several idle periods with a reply owed
  for (auto& r : inbox_.TakeHeld()) r("ACK:late");
  auto r = c.ReadReply();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "ACK:late");
}

TEST_F(MllpServerTest, StopDrainsInFlightReplies) {
  StartServer({}, [&](const MllpInbound&, MllpReply reply) { inbox_.Hold(std::move(reply)); });
  MllpClient c = NewClient();
  ASSERT_TRUE(c.Send("in-flight").ok());
  ASSERT_TRUE(WaitUntil([&] { return inbox_.held_count() == 1; }));
  server_->Stop();
  // No new connections once the acceptor is closed.
  EXPECT_TRUE(WaitUntil([&] {
    MllpClient probe = NewClient(1s);
    return !probe.Connect().ok();
  }));
  EXPECT_EQ(server_->connection_count(), 1u);  // still draining
  for (auto& r : inbox_.TakeHeld()) r("ACK:drained");
  auto r = c.ReadReply();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "ACK:drained");
  auto after = c.ReadReply();  // then the server closes
  EXPECT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), ErrorCode::kNetworkError);
  EXPECT_TRUE(WaitUntil([&] { return server_->connection_count() == 0; }));
}

TEST_F(MllpServerTest, ClientClosingBeforeReplyIsHarmless) {
  StartServer({}, [&](const MllpInbound& in, MllpReply reply) {
    if (in.payload == "hold") {
      inbox_.Hold(std::move(reply));
    } else {
      reply("ACK:" + in.payload);
    }
  });
  {
    MllpClient c = NewClient();
    ASSERT_TRUE(c.Send("hold").ok());
    ASSERT_TRUE(WaitUntil([&] { return inbox_.held_count() == 1; }));
    const int fd = RawConnect(server_->port());
    RawWrite(fd, MllpFrame("hold"));
    ASSERT_TRUE(WaitUntil([&] { return inbox_.held_count() == 2; }));
    RawReset(fd);
  }  // both clients gone before the replies
  std::this_thread::sleep_for(20ms);
  for (auto& r : inbox_.TakeHeld()) r("ACK:too-late");
  EXPECT_TRUE(WaitUntil([&] { return server_->connection_count() == 0; }));
  MllpClient c2 = NewClient();
  auto r = c2.Exchange("still-alive");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "ACK:still-alive");
}

TEST_F(MllpServerTest, HalfClosedSenderStillGetsItsReplies) {
  StartServer();
  const int fd = RawConnect(server_->port());
  ASSERT_GE(fd, 0);
  RawWrite(fd, MllpFrame("A") + MllpFrame("B"));
  ::shutdown(fd, SHUT_WR);
  std::string got;
  char buf[256];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, n);
  }
  ::close(fd);
  EXPECT_EQ(got, MllpFrame("ACK:A") + MllpFrame("ACK:B"));
}

TEST_F(MllpServerTest, ReadingPausesAtMaxInflight) {
  MllpServerOptions opts;
  opts.max_inflight_per_connection = 2;
  StartServer(opts, [&](const MllpInbound&, MllpReply reply) { inbox_.Hold(std::move(reply)); });
  MllpClient c = NewClient();
  ASSERT_TRUE(c.Send("1").ok());
  ASSERT_TRUE(c.Send("2").ok());
  ASSERT_TRUE(WaitUntil([&] { return inbox_.count() == 2; }));
  ASSERT_TRUE(c.Send("3").ok());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox_.count(), 2u);  // the third waits in the socket
  for (auto& r : inbox_.TakeHeld()) r("ACK");
  ASSERT_TRUE(WaitUntil([&] { return inbox_.count() == 3; }));
  for (auto& r : inbox_.TakeHeld()) r("ACK");
  for (int i = 0; i < 3; ++i) {
    auto r = c.ReadReply();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

// Replies given off the io threads are written there and then; what the
// socket does not take at once (the reader is slow) must still arrive
// whole and in order, through the event loop.
TEST_F(MllpServerTest, LargeRepliesFromAnotherThreadArriveWholeAndInOrder) {
  StartServer({}, [&](const MllpInbound&, MllpReply reply) { inbox_.Hold(std::move(reply)); });
  const int fd = RawConnect(server_->port());
  ASSERT_GE(fd, 0);
  RawWrite(fd, MllpFrame("A") + MllpFrame("B") + MllpFrame("C"));
  ASSERT_TRUE(WaitUntil([&] { return inbox_.count() == 3; }));
  std::vector<std::string> bodies;
  for (char ch : std::string("abc")) bodies.push_back(std::string(3 << 20, ch));  // 3 MiB each
  auto held = inbox_.TakeHeld();
  std::thread replier([&] {
    // Answered last-first: the first two wait for the first.
    held[2](bodies[2]);
    held[1](bodies[1]);
    held[0](bodies[0]);
  });
  std::this_thread::sleep_for(200ms);  // the socket buffers fill before anything is read
  const std::string want = MllpFrame(bodies[0]) + MllpFrame(bodies[1]) + MllpFrame(bodies[2]);
  timeval tv{10, 0};  // a lost write fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string got;
  std::vector<char> buf(1 << 16);
  while (got.size() < want.size()) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    got.append(buf.data(), static_cast<size_t>(n));
  }
  replier.join();
  ::close(fd);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "reply bytes differ";
}

TEST_F(MllpServerTest, ConnectionsOverTheLimitAreRefused) {
  MllpServerOptions opts;
  opts.max_connections = 2;
  StartServer(opts);
  MllpClient a = NewClient(), b = NewClient(), extra = NewClient();
  ASSERT_TRUE(a.Exchange("a").ok());
  ASSERT_TRUE(b.Exchange("b").ok());
  auto r = extra.Exchange("c");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(server_->stats().connections_rejected, 1u);
  EXPECT_TRUE(a.Exchange("a2").ok());
}

TEST_F(MllpServerTest, DroppedReplyClosesTheConnection) {
  StartServer({}, [](const MllpInbound&, MllpReply) {});  // never answers, drops it
  MllpClient c = NewClient();
  auto r = c.Exchange("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNetworkError);
}

TEST_F(MllpServerTest, SecondReplyIsIgnored) {
  StartServer({}, [](const MllpInbound& in, MllpReply reply) {
    reply("ACK:" + in.payload);
    reply("again");
  });
  MllpClient c = NewClient();
  auto r1 = c.Exchange("1");
  auto r2 = c.Exchange("2");
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(*r1, "ACK:1");
  EXPECT_EQ(*r2, "ACK:2");
}

// ---- client ----

TEST_F(MllpServerTest, ClientTimesOutAgainstSilentServer) {
  StartServer({}, [&](const MllpInbound&, MllpReply reply) { inbox_.Hold(std::move(reply)); });
  MllpClient c = NewClient(200ms);
  auto r = c.Exchange("anyone?");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout);
  EXPECT_FALSE(c.connected());  // a late reply cannot answer the next message
  inbox_.TakeHeld();
}

TEST_F(MllpServerTest, ClientReconnectsAfterServerClosedIdleConnection) {
  MllpServerOptions opts;
  opts.idle_timeout = 100ms;
  StartServer(opts);
  MllpClient c = NewClient();
  ASSERT_TRUE(c.Exchange("first").ok());
  ASSERT_TRUE(WaitUntil([&] { return server_->stats().idle_closed == 1; }));
  std::this_thread::sleep_for(20ms);  // let the FIN reach the client socket
  auto r = c.Exchange("second");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "ACK:second");
  EXPECT_EQ(server_->stats().connections_accepted, 2u);
}

TEST(MllpClientTest, ConnectRefusedNamesTheAddress) {
  // Take a free port, then release it so nothing listens there.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);
  ::close(fd);
  MllpClient c("127.0.0.1", port, 2s);
  Status st = c.Connect();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kNetworkError);
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << st.message();
  auto r = c.Exchange("x");
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace hie
