// Tests of the load generator: messages (ID card checksums, unique MSH-10,
// required fields), MLLP framing and ACK reading, percentiles, and a short
// run against an in-process ACK server on port 0.
#include "tools/load/generator.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tools/load/mllp.h"
#include "tools/load/runner.h"

namespace hie::load {
namespace {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t end = s.find(sep, pos);
    out.emplace_back(
        s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

// Segments of an ER7 message, each split into fields (fields[0] = name;
// for MSH, fields[i] = MSH-(i+1) because MSH-1 is the separator itself).
std::vector<std::vector<std::string>> Parse(std::string_view msg) {
  std::vector<std::vector<std::string>> segs;
  for (const auto& seg : Split(msg, '\r')) {
    if (!seg.empty()) segs.push_back(Split(seg, '|'));
  }
  return segs;
}

TEST(IdCardTest, KnownNumbers) {
  // The example of GB 11643-1999.
  EXPECT_EQ(IdCardCheckChar("11010519491231002"), 'X');
  EXPECT_TRUE(IsValidIdCard("11010519491231002X"));
  EXPECT_FALSE(IsValidIdCard("110105194912310021"));
  EXPECT_FALSE(IsValidIdCard("11010519491231002"));
  EXPECT_FALSE(IsValidIdCard("1101051949123100AX"));
}

TEST(IdCardTest, GeneratedNumbersAreValid) {
  MessageGenerator gen({});
  int x_seen = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string id = gen.RandomIdCard();
    ASSERT_TRUE(IsValidIdCard(id)) << id;
    x_seen += id[17] == 'X';
  }
  EXPECT_GT(x_seen, 0);  // the 'X' check character is exercised
}

TEST(GeneratorTest, AdtA04HasRequiredFields) {
  GeneratorOptions o;
  o.facility = "CWS001";
  MessageGenerator gen(o);
  std::string msg = gen.Build(MessageKind::kAdtA04, "run-0-1");
  auto segs = Parse(msg);
  ASSERT_EQ(segs.size(), 4u);
  EXPECT_EQ(segs[0][0], "MSH");
  EXPECT_EQ(segs[0][3], "CWS001");           // MSH-4
  EXPECT_EQ(segs[0][8], "ADT^A04^ADT_A01");  // MSH-9
  EXPECT_EQ(segs[0][9], "run-0-1");          // MSH-10
  EXPECT_EQ(segs[0][17], "UNICODE UTF-8");   // MSH-18
  EXPECT_EQ(segs[1][0], "EVN");
  ASSERT_EQ(segs[2][0], "PID");
  auto ids = Split(segs[2][3], '~');
  ASSERT_EQ(ids.size(), 2u);
  auto mr = Split(ids[0], '^');
  auto ni = Split(ids[1], '^');
  EXPECT_EQ(mr[3], "CWS001");
  EXPECT_EQ(mr[4], "MR");
  EXPECT_EQ(ni[3], "NI");
  EXPECT_TRUE(IsValidIdCard(ni[0]));
  EXPECT_EQ(segs[2][7], ni[0].substr(6, 8));  // PID-7 agrees with the ID card
  EXPECT_TRUE(segs[2][8] == "M" || segs[2][8] == "F");
  EXPECT_GT(segs[2][5].size(), 3u);  // a UTF-8 Chinese name (3 bytes a character)
  EXPECT_EQ(segs[3][0], "PV1");
}

TEST(GeneratorTest, OruR01HasTenNumericObx) {
  MessageGenerator gen({});
  auto segs = Parse(gen.Build(MessageKind::kOruR01, "x-1-2"));
  ASSERT_EQ(segs.size(), 13u);  // MSH PID OBR + 10 OBX
  EXPECT_EQ(segs[0][8], "ORU^R01^ORU_R01");
  EXPECT_EQ(segs[2][0], "OBR");
  for (int i = 3; i < 13; ++i) {
    const auto& obx = segs[i];
    ASSERT_EQ(obx[0], "OBX");
    EXPECT_EQ(obx[1], std::to_string(i - 2));
    EXPECT_EQ(obx[2], "NM");
    EXPECT_NO_THROW((void)std::stod(obx[5])) << obx[5];
    EXPECT_FALSE(obx[6].empty());                    // unit
    EXPECT_NE(obx[7].find('-'), std::string::npos);  // range
    EXPECT_TRUE(obx[8] == "N" || obx[8] == "H" || obx[8] == "L");
    EXPECT_EQ(obx[11], "F");
  }
}

TEST(GeneratorTest, MixAlternatesAndControlIdsAreUnique) {
  MessageGenerator gen({});
  EXPECT_EQ(gen.KindFor(1), MessageKind::kOruR01);
  EXPECT_EQ(gen.KindFor(2), MessageKind::kAdtA04);
  std::set<std::string> seen;
  for (int conn = 0; conn < 12; ++conn) {
    for (uint64_t seq = 1; seq <= 120; ++seq) {
      EXPECT_TRUE(seen.insert(ControlId("r1", conn, seq)).second);
    }
  }
  // "1-11" on connection 1 vs "11-1" on connection 11 must not collide.
  EXPECT_NE(ControlId("r", 1, 11), ControlId("r", 11, 1));
  EXPECT_NE(DefaultRunId(), "");
}

TEST(MllpTest, FrameIsWellFormed) {
  MessageGenerator gen({});
  std::string msg = gen.Build(MessageKind::kOruR01, "a-0-1");
  std::string frame = FrameMllp(msg);
  ASSERT_EQ(frame.size(), msg.size() + 3);
  EXPECT_EQ(frame.front(), kStartBlock);
  EXPECT_EQ(frame[frame.size() - 2], kEndBlock);
  EXPECT_EQ(frame.back(), kCarriageReturn);
  // No framing byte inside the payload, and the payload ends with a segment.
  EXPECT_EQ(msg.find(kStartBlock), std::string::npos);
  EXPECT_EQ(msg.find(kEndBlock), std::string::npos);
  EXPECT_EQ(msg.back(), '\r');
  Deframed d = NextFrame(frame);
  ASSERT_TRUE(d.complete);
  EXPECT_EQ(d.consumed, frame.size());
  EXPECT_EQ(d.payload, msg);
}

TEST(MllpTest, DeframesPartialsAndJunk) {
  std::string two = "xx" + FrameMllp("MSH|a") + FrameMllp("MSH|b");
  Deframed first = NextFrame(two);
  ASSERT_TRUE(first.complete);
  EXPECT_EQ(first.payload, "MSH|a");
  Deframed second = NextFrame(std::string_view(two).substr(first.consumed));
  ASSERT_TRUE(second.complete);
  EXPECT_EQ(second.payload, "MSH|b");

  std::string partial = "zz" + FrameMllp("MSH|c").substr(0, 5);
  Deframed p = NextFrame(partial);
  EXPECT_FALSE(p.complete);
  EXPECT_EQ(p.consumed, 2u);                                          // only the junk may go
  EXPECT_FALSE(NextFrame(std::string("\x0bMSH|d\x1c", 6)).complete);  // 0x1C without 0x0D
}

TEST(MllpTest, ParsesAck) {
  auto ack = ParseAck(
      "MSH|^~\\&|HIE|COUNTY|HIS|XQRMYY|20260101||ACK^A04^ACK|9|P|2.5\rMSA|AE|r-0-7|text\r");
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->code, "AE");
  EXPECT_EQ(ack->control_id, "r-0-7");
  auto bare = ParseAck("MSH|^~\\&|a\nMSA|AA|id");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->control_id, "id");
  EXPECT_FALSE(ParseAck("MSH|^~\\&|a\rPID|1").has_value());
  EXPECT_FALSE(ParseAck("garbage").has_value());
}

TEST(StatsTest, NearestRankPercentile) {
  std::vector<int64_t> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(i);
  EXPECT_EQ(Percentile(v, 0.50), 500);
  EXPECT_EQ(Percentile(v, 0.99), 990);
  EXPECT_EQ(Percentile(v, 0.999), 999);
  EXPECT_EQ(Percentile(v, 1.0), 1000);
  EXPECT_EQ(Percentile({}, 0.5), 0);
  EXPECT_EQ(Percentile({7}, 0.999), 7);
}

// A minimal MLLP server on 127.0.0.1:0 that answers every frame with the ACK
// `reply(msh10)` builds. Serves connections until destroyed.
class AckServer {
 public:
  explicit AckServer(std::function<std::string(const std::string&)> reply)
      : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] {
      for (;;) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        workers_.emplace_back([this, c] { Serve(c); });
      }
    });
  }
  ~AckServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    accept_.join();
    for (auto& w : workers_) w.join();
  }
  int port() const { return port_; }

 private:
  void Serve(int c) {
    std::string buf;
    char chunk[8192];
    for (;;) {
      ssize_t n = recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      for (;;) {
        Deframed f = NextFrame(buf);
        if (!f.complete) break;
        auto msh = Split(Split(f.payload, '\r')[0], '|');
        std::string ack = FrameMllp(reply_(msh.size() > 9 ? msh[9] : ""));
        buf.erase(0, f.consumed);
        if (send(c, ack.data(), ack.size(), MSG_NOSIGNAL) < 0) break;
      }
    }
    close(c);
  }

  std::function<std::string(const std::string&)> reply_;
  int fd_ = -1;
  int port_ = 0;
  std::thread accept_;
  std::vector<std::thread> workers_;  // touched only by the accept thread until join
};

std::string Ack(std::string_view code, std::string_view id) {
  return "MSH|^~\\&|HIE|C|HIS|F|20260101||ACK|1|P|2.5\rMSA|" + std::string(code) + "|" +
         std::string(id) + "\r";
}

TEST(RunLoadTest, CountsEveryAaAcrossConnections) {
  AckServer server([](const std::string& id) { return Ack("AA", id); });
  LoadOptions o;
  o.port = server.port();
  o.messages = 301;  // not a multiple of the connection count
  o.connections = 4;
  o.window = 3;
  o.warmup = 10;
  o.run_id = "t1";
  LoadReport r = RunLoad(o);
  EXPECT_TRUE(r.Ok()) << FormatReportText(r);
  EXPECT_EQ(r.aa, 301u);
  EXPECT_EQ(r.mismatch, 0u);
  EXPECT_GT(r.msgs_per_s, 0);
  EXPECT_LE(r.p50_ms, r.p99_ms);
  EXPECT_LE(r.p999_ms, r.max_ms);
  EXPECT_NE(FormatReportJson(r).find("\"aa\":301"), std::string::npos);
}

TEST(RunLoadTest, SeveralEventLoopThreadsShareTheConnections) {
  AckServer server([](const std::string& id) { return Ack("AA", id); });
  LoadOptions o;
  o.port = server.port();
  o.messages = 1000;
  o.connections = 7;
  o.threads = 3;  // 3 + 2 + 2 connections
  o.window = 5;
  o.warmup = 21;
  o.run_id = "t3";
  LoadReport r = RunLoad(o);
  EXPECT_TRUE(r.Ok()) << FormatReportText(r);
  EXPECT_EQ(r.aa, 1000u);
  EXPECT_EQ(r.warmup_not_aa, 0u);
}

TEST(RunLoadTest, CountsAeArAndMismatches) {
  std::atomic<int> n{0};
  AckServer server([&n](const std::string& id) {
    int i = n++;
    if (i % 10 == 3) return Ack("AE", id);
    if (i % 10 == 5) return Ack("AR", id);
    if (i % 10 == 7) return Ack("AA", id + "x");
    return Ack("AA", id);
  });
  LoadOptions o;
  o.port = server.port();
  o.messages = 100;
  o.connections = 1;
  o.run_id = "t2";
  LoadReport r = RunLoad(o);
  EXPECT_FALSE(r.Ok());
  EXPECT_EQ(r.ae, 10u);
  EXPECT_EQ(r.ar, 10u);
  EXPECT_EQ(r.aa, 80u);
  EXPECT_EQ(r.mismatch, 10u);
  EXPECT_EQ(r.errors, 0u);
}

TEST(RunLoadTest, ConnectionRefusedIsAFailure) {
  int port;
  {
    AckServer server([](const std::string& id) { return Ack("AA", id); });
    port = server.port();
  }  // closed: nothing listens on the port now
  LoadOptions o;
  o.port = port;
  o.messages = 5;
  o.connections = 2;
  LoadReport r = RunLoad(o);
  EXPECT_FALSE(r.Ok());
  EXPECT_EQ(r.failed_connections, 2);
  EXPECT_EQ(r.errors, 5u);
}

}  // namespace
}  // namespace hie::load
