#include "tools/load/runner.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <latch>
#include <nlohmann/json.hpp>
#include <thread>

#include "tools/load/mllp.h"

namespace hie::load {

namespace {

int64_t MonoNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Owns a socket descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

struct ConnResult {
  std::vector<int64_t> latencies_ns;
  uint64_t aa = 0, ae = 0, ar = 0, other = 0, mismatch = 0, errors = 0;
  uint64_t warmup_not_aa = 0;
  bool failed = false;
  std::string reason;
};

// One MLLP connection, driven by an event loop (LoopThread): non-blocking
// sends keep `window` frames in flight, ACKs come back in order.
class Connection {
 public:
  Connection(const LoadOptions& opt, const addrinfo* addr, int index, uint64_t warmup,
             uint64_t counted, ConnResult* out)
      : opt_(opt), addr_(addr), index_(index), warmup_(warmup), counted_(counted), out_(out) {}

  // Generates and connects (blocking); false when the connection failed.
  bool Prepare() {
    GeneratorOptions g;
    g.facility = opt_.facility;
    g.mix = opt_.mix;
    g.seed = 0x9E3779B97F4A7C15ULL * (index_ + 1);
    g.now_millis = WallMillis();
    MessageGenerator gen(g);
    const uint64_t total = warmup_ + counted_;
    frames_.reserve(total);
    control_ids_.reserve(total);
    for (uint64_t seq = 1; seq <= total; ++seq) {
      control_ids_.push_back(ControlId(opt_.run_id, index_, seq));
      frames_.push_back(FrameMllp(gen.Build(gen.KindFor(seq), control_ids_.back())));
    }
    send_ns_.assign(total, 0);
    out_->latencies_ns.reserve(counted_);
    if (!Connect()) {
      out_->warmup_not_aa += warmup_;
      out_->errors += counted_;
      failed_ = true;
      return false;
    }
    return true;
  }

  int fd() const { return sock_ ? sock_->fd() : -1; }
  bool failed() const { return failed_; }
  bool phase_done() const { return failed_ || next_ack_ == end_; }

  // Starts the warmup (counted=false) or the counted messages.
  void BeginPhase(bool counted) {
    counted_phase_ = counted;
    const uint64_t begin = counted ? warmup_ : 0;
    end_ = counted ? warmup_ + counted_ : warmup_;
    next_send_ = next_ack_ = begin;
    sent_off_ = 0;
    if (!failed_) Send();
  }

  // The socket is readable (or writable again): reads every ACK there is,
  // then sends what the window allows.
  void OnReady() {
    if (failed_) return;
    char chunk[64 * 1024];
    for (;;) {
      ssize_t n = recv(sock_->fd(), chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n == 0) return GiveUp("peer closed the connection");
      if (n < 0) return GiveUp(std::string("recv: ") + std::strerror(errno));
      const int64_t now = MonoNanos();
      buffer_.append(chunk, static_cast<size_t>(n));
      size_t pos = 0;
      for (;;) {
        Deframed f = NextFrame(std::string_view(buffer_).substr(pos));
        pos += f.consumed;
        if (!f.complete) break;
        if (next_ack_ == next_send_) {  // an ACK nobody asked for
          if (counted_phase_)
            ++out_->mismatch;
          else
            ++out_->warmup_not_aa;
          continue;
        }
        Record(next_ack_++, f.payload, now, counted_phase_);
      }
      buffer_.erase(0, pos);
      if (static_cast<size_t>(n) < sizeof chunk) break;  // drained: skip the EAGAIN read
    }
    Send();
  }

  // No ACK within the timeout: the unanswered rest counts as errors.
  void TimeOut() {
    if (!phase_done()) GiveUp("ACK timeout");
  }

 private:
  void Fail(std::string reason) {
    failed_ = true;
    out_->failed = true;
    if (out_->reason.empty()) out_->reason = "connection " + std::to_string(index_) + ": " + reason;
  }

  void GiveUp(std::string reason) {
    Fail(std::move(reason));
    const uint64_t lost = end_ - next_ack_;
    if (counted_phase_)
      out_->errors += lost;
    else
      out_->warmup_not_aa += lost;
    // Nothing more will be sent: the later phase's messages are lost too.
    if (!counted_phase_) out_->errors += counted_;
    next_ack_ = end_;
  }

  bool Connect() {
    sock_ = std::make_unique<Socket>(socket(addr_->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0));
    if (sock_->fd() < 0) {
      Fail(std::string("socket: ") + std::strerror(errno));
      return false;
    }
    if (connect(sock_->fd(), addr_->ai_addr, addr_->ai_addrlen) != 0 && errno != EINPROGRESS) {
      Fail(std::string("connect: ") + std::strerror(errno));
      return false;
    }
    pollfd p{sock_->fd(), POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, opt_.timeout_ms) != 1 ||
        getsockopt(sock_->fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      Fail(std::string("connect: ") + std::strerror(err != 0 ? err : ETIMEDOUT));
      return false;
    }
    int one = 1;
    setsockopt(sock_->fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }

  // Sends while the window allows; a frame the socket takes only in part is
  // finished when it is writable again.
  void Send() {
    const uint64_t window = static_cast<uint64_t>(std::max(1, opt_.window));
    while (!failed_ && next_send_ < end_ && next_send_ - next_ack_ < window) {
      const std::string& frame = frames_[next_send_];
      if (sent_off_ == 0) send_ns_[next_send_] = MonoNanos();
      ssize_t n =
          send(sock_->fd(), frame.data() + sent_off_, frame.size() - sent_off_, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) return GiveUp(std::string("send: ") + (n < 0 ? std::strerror(errno) : "closed"));
      sent_off_ += static_cast<size_t>(n);
      if (sent_off_ < frame.size()) continue;
      sent_off_ = 0;
      ++next_send_;
    }
  }

  void Record(uint64_t idx, std::string_view payload, int64_t now, bool counted) {
    auto ack = ParseAck(payload);
    const bool aa = ack && ack->code == "AA";
    const bool match = ack && ack->control_id == control_ids_[idx];
    if (!counted) {
      if (!aa || !match) ++out_->warmup_not_aa;
      return;
    }
    out_->latencies_ns.push_back(now - send_ns_[idx]);
    if (!ack)
      ++out_->other;
    else if (ack->code == "AA")
      ++out_->aa;
    else if (ack->code == "AE")
      ++out_->ae;
    else if (ack->code == "AR")
      ++out_->ar;
    else
      ++out_->other;
    if (!match) ++out_->mismatch;
  }

  const LoadOptions& opt_;
  const addrinfo* addr_;
  const int index_;
  const uint64_t warmup_, counted_;
  ConnResult* out_;
  std::unique_ptr<Socket> sock_;
  std::vector<std::string> frames_;
  std::vector<std::string> control_ids_;
  std::vector<int64_t> send_ns_;
  std::string buffer_;
  uint64_t next_send_ = 0, next_ack_ = 0, end_ = 0;
  size_t sent_off_ = 0;
  bool counted_phase_ = false;
  bool failed_ = false;
};

// Runs one phase over a share of the connections with epoll until each is
// done or has waited timeout_ms for an ACK.
void RunPhase(std::vector<std::unique_ptr<Connection>>& conns, bool counted, int timeout_ms) {
  Socket ep(epoll_create1(EPOLL_CLOEXEC));
  size_t open = 0;
  for (size_t i = 0; i < conns.size(); ++i) {
    Connection& c = *conns[i];
    if (c.failed()) continue;
    c.BeginPhase(counted);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    if (epoll_ctl(ep.fd(), EPOLL_CTL_ADD, c.fd(), &ev) != 0) {
      c.TimeOut();
      continue;
    }
    if (!c.phase_done()) ++open;
  }
  std::vector<epoll_event> events(std::max<size_t>(conns.size(), 1));
  int64_t last_progress = MonoNanos();
  while (open > 0) {
    int n = epoll_wait(ep.fd(), events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno == EINTR) continue;
    const int64_t now = MonoNanos();
    if (n > 0) last_progress = now;
    for (int e = 0; e < std::max(n, 0); ++e) {
      Connection& c = *conns[events[e].data.u64];
      if (c.phase_done()) continue;
      c.OnReady();
      if (c.phase_done()) --open;
    }
    if (n <= 0 && now - last_progress > int64_t{timeout_ms} * 1'000'000) {
      for (auto& c : conns) {
        if (!c->phase_done()) c->TimeOut();
      }
      open = 0;
    }
  }
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

int64_t Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  double rank = std::ceil(q * static_cast<double>(sorted.size()));
  size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(idx, sorted.size() - 1)];
}

LoadReport RunLoad(const LoadOptions& options) {
  LoadOptions opt = options;
  if (opt.run_id.empty()) opt.run_id = DefaultRunId();
  const int k = std::max(1, opt.connections);

  LoadReport report;
  report.run_id = opt.run_id;
  report.messages = opt.messages;
  report.connections = k;
  report.window = std::max(1, opt.window);
  report.warmup = opt.warmup;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(opt.port);
  if (int rc = getaddrinfo(opt.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    report.failed_connections = k;
    report.errors = opt.messages;
    report.warmup_not_aa = opt.warmup;
    report.failures.push_back("resolve " + opt.host + ": " + gai_strerror(rc));
    return report;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addr(res, &freeaddrinfo);

  std::vector<ConnResult> results(k);
  const int t = std::clamp(opt.threads, 1, k);
  std::vector<std::vector<std::unique_ptr<Connection>>> shares(t);
  for (int i = 0; i < k; ++i) {
    auto share = [&](uint64_t total) {
      return total / k + (static_cast<uint64_t>(i) < total % k ? 1 : 0);
    };
    shares[i % t].push_back(std::make_unique<Connection>(opt, addr.get(), i, share(opt.warmup),
                                                         share(opt.messages), &results[i]));
  }
  std::latch ready(t);
  std::latch go(1);
  std::vector<std::thread> threads;
  threads.reserve(t);
  for (int i = 0; i < t; ++i) {
    threads.emplace_back([&, i] {
      for (auto& c : shares[i]) c->Prepare();
      RunPhase(shares[i], /*counted=*/false, opt.timeout_ms);
      ready.count_down();
      go.wait();
      RunPhase(shares[i], /*counted=*/true, opt.timeout_ms);
    });
  }
  ready.wait();  // generation, connects and warmup are outside the clock
  const int64_t start = MonoNanos();
  go.count_down();
  for (auto& th : threads) th.join();
  const int64_t stop = MonoNanos();

  std::vector<int64_t> all;
  all.reserve(opt.messages);
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    report.aa += r.aa;
    report.ae += r.ae;
    report.ar += r.ar;
    report.other += r.other;
    report.mismatch += r.mismatch;
    report.errors += r.errors;
    report.warmup_not_aa += r.warmup_not_aa;
    if (r.failed) {
      ++report.failed_connections;
      report.failures.push_back(r.reason);
    }
  }
  std::sort(all.begin(), all.end());
  report.elapsed_s = static_cast<double>(stop - start) / 1e9;
  const uint64_t answered = report.aa + report.ae + report.ar + report.other;
  report.msgs_per_s = report.elapsed_s > 0 ? static_cast<double>(answered) / report.elapsed_s : 0;
  report.p50_ms = Ms(Percentile(all, 0.50));
  report.p99_ms = Ms(Percentile(all, 0.99));
  report.p999_ms = Ms(Percentile(all, 0.999));
  report.max_ms = Ms(all.empty() ? 0 : all.back());
  return report;
}

std::string FormatReportText(const LoadReport& r) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "run id       %s\n"
                "messages     %llu (warmup %llu)\n"
                "connections  %d (window %d)\n"
                "elapsed      %.3f s\n"
                "throughput   %.0f msgs/s\n"
                "latency ms   p50 %.3f  p99 %.3f  p999 %.3f  max %.3f\n"
                "acks         AA %llu  AE %llu  AR %llu  other %llu  mismatch %llu  errors %llu\n",
                r.run_id.c_str(), static_cast<unsigned long long>(r.messages),
                static_cast<unsigned long long>(r.warmup), r.connections, r.window, r.elapsed_s,
                r.msgs_per_s, r.p50_ms, r.p99_ms, r.p999_ms, r.max_ms,
                static_cast<unsigned long long>(r.aa), static_cast<unsigned long long>(r.ae),
                static_cast<unsigned long long>(r.ar), static_cast<unsigned long long>(r.other),
                static_cast<unsigned long long>(r.mismatch),
                static_cast<unsigned long long>(r.errors));
  std::string out = buf;
  if (r.warmup_not_aa > 0) out += "warmup       " + std::to_string(r.warmup_not_aa) + " not AA'd\n";
  for (const auto& f : r.failures) out += "failed       " + f + "\n";
  return out;
}

std::string FormatReportJson(const LoadReport& r) {
  nlohmann::json j = {
      {"run_id", r.run_id},
      {"messages", r.messages},
      {"connections", r.connections},
      {"window", r.window},
      {"warmup", r.warmup},
      {"elapsed_s", r.elapsed_s},
      {"msgs_per_s", r.msgs_per_s},
      {"p50_ms", r.p50_ms},
      {"p99_ms", r.p99_ms},
      {"p999_ms", r.p999_ms},
      {"max_ms", r.max_ms},
      {"aa", r.aa},
      {"ae", r.ae},
      {"ar", r.ar},
      {"other", r.other},
      {"mismatch", r.mismatch},
      {"errors", r.errors},
      {"warmup_not_aa", r.warmup_not_aa},
      {"failed_connections", r.failed_connections},
      {"failures", r.failures},
      {"ok", r.Ok()},
  };
  return j.dump();
}

}  // namespace hie::load
