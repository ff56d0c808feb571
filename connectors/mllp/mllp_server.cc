#include "connectors/mllp/mllp_server.h"

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "connectors/mllp/mllp_framing.h"
#include "core/log.h"
#include "core/posted_batch.h"

namespace hie {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Per-read buffer; reused for the connection's life. 16 KiB holds ~80 small
// HL7 messages while keeping 2048 idle connections cheap.
constexpr size_t kReadBufferBytes = size_t{16} * 1024;
// Upper bound of one batched write; more ready replies wait for the next.
constexpr size_t kMaxWriteBatchBytes = 1 << 20;

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  if (addr.is_v6()) return "[" + addr.to_string() + "]:" + std::to_string(ep.port());
  return addr.to_string() + ":" + std::to_string(ep.port());
}

// Lets the server reach connections of any stream type.
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual void BeginDrain() = 0;  // any thread
  virtual void ForceClose() = 0;  // any thread
  // On an io thread, from the server's reply drain: hands a reply to the
  // connection's strand (inline when the strand is free).
  virtual void DeliverReply(uint64_t seq, std::string payload) = 0;
};

}  // namespace

class MllpServer::Impl : public std::enable_shared_from_this<MllpServer::Impl> {
 public:
  Impl(asio::io_context& io, MllpServerOptions opts, MllpHandler handler)
      : io_(io),
        opts_(std::move(opts)),
        handler_(std::move(handler)),
        acceptor_strand_(asio::make_strand(io)),
        acceptor_(acceptor_strand_),
        retry_timer_(acceptor_strand_) {
    if (opts_.max_inflight_per_connection == 0) opts_.max_inflight_per_connection = 1;
  }

  Status Start();
  void Stop();
  void ForceCloseAll();

  // Adds a connection unless the server is stopping (checked under the same
  // lock Stop() takes, so no connection escapes the drain).
  bool Register(uint64_t id, const std::shared_ptr<ConnectionBase>& conn) {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    conns_.emplace(id, conn);
    live_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  void Unregister(uint64_t id) {
    std::lock_guard lock(mu_);
    if (conns_.erase(id) > 0) live_.fetch_sub(1, std::memory_order_relaxed);
  }

  // From any thread but the connection's strand: queues a reply. The first
  // reply queued posts one drain to the io_context, which hands out every
  // reply queued by then: a group commit's ACKs wake an io thread once, not
  // once per message.
  void QueueReply(std::shared_ptr<ConnectionBase> conn, uint64_t seq, std::string payload) {
    replies_.AddAndPost(ReadyReply{std::move(conn), seq, std::move(payload)},
                        [self = shared_from_this()] {
                          asio::post(self->io_, [self] {
                            for (ReadyReply& r : self->replies_.Take())
                              r.conn->DeliverReply(r.seq, std::move(r.payload));
                          });
                        });
  }

  const MllpServerOptions& opts() const { return opts_; }
  bool handler_enabled() const { return handler_enabled_.load(std::memory_order_acquire); }
  void disable_handler() { handler_enabled_.store(false, std::memory_order_release); }
  const MllpHandler& handler() const { return handler_; }
  size_t live() const { return live_.load(std::memory_order_relaxed); }
  uint16_t port() const { return port_.load(std::memory_order_acquire); }

  struct Counters {
    std::atomic<uint64_t> accepted{0}, rejected{0}, frames{0}, oversized{0}, truncated{0},
        garbage{0}, idle_closed{0}, replies{0};
  } counters;

 private:
  struct ReadyReply {
    std::shared_ptr<ConnectionBase> conn;
    uint64_t seq = 0;
    std::string payload;
  };

  void DoAccept();
  void OnAccept(const boost::system::error_code& ec, const std::shared_ptr<tcp::socket>& sock);

  asio::io_context& io_;
  MllpServerOptions opts_;
  const MllpHandler handler_;
  asio::strand<asio::io_context::executor_type> acceptor_strand_;
  tcp::acceptor acceptor_;          // used only on acceptor_strand_ once accepting
  asio::steady_timer retry_timer_;  // back-off after accept errors (EMFILE)
  std::atomic<uint16_t> port_{0};
  std::atomic<bool> handler_enabled_{true};
  std::atomic<size_t> live_{0};
  std::atomic<uint64_t> next_id_{1};
  std::mutex mu_;
  bool stopping_ = false;                                              // guarded by mu_
  std::unordered_map<uint64_t, std::weak_ptr<ConnectionBase>> conns_;  // guarded by mu_
  PostedBatch<ReadyReply> replies_;  // replies from other threads, for one drain
};

namespace {

// One accepted connection. Everything below runs on the connection's strand
// (the stream's executor) except the Post* entry points.
template <class Stream>
class MllpConnection final : public ConnectionBase,
                             public std::enable_shared_from_this<MllpConnection<Stream>> {
 public:
  MllpConnection(std::shared_ptr<MllpServer::Impl> server, Stream stream, uint64_t id,
                 std::string peer)
      : server_(std::move(server)),
        stream_(std::move(stream)),
        ex_(stream_.get_executor()),
        timer_(ex_),
        id_(id),
        peer_(std::move(peer)),
        decoder_(server_->opts().max_message_bytes),
        read_buf_(kReadBufferBytes) {}

  void Start() {
    asio::post(ex_, [self = this->shared_from_this()] {
      if (self->closed_) return;
      // TLS: an ssl::stream would run async_handshake here before reading.
      self->TouchActivity();
      self->ArmIdle(self->server_->opts().idle_timeout);
      self->Pump();
    });
  }

  void BeginDrain() override {
    asio::post(ex_, [self = this->shared_from_this()] { self->OnDrain(); });
  }
  void ForceClose() override {
    asio::post(ex_, [self = this->shared_from_this()] { self->Close(); });
  }

  // From the reply token, any thread. On this strand (the handler answered
  // synchronously) the reply is taken at once; from elsewhere (the store's
  // completion of a group commit) a plain TCP connection writes it there and
  // then (ReplyDirect), other streams go through the server's reply drain.
  void PostReply(uint64_t seq, std::string payload) {
    if (OnOwnStrand()) {
      OnReply(seq, std::move(payload));
      return;
    }
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      ReplyDirect(seq, std::move(payload));
    } else {
      server_->QueueReply(this->shared_from_this(), seq, std::move(payload));
    }
  }
  bool OnOwnStrand() const {
    using Strand = asio::strand<asio::io_context::executor_type>;
    const Strand* strand = ex_.template target<Strand>();
    return strand != nullptr && strand->running_in_this_thread();
  }
  void DeliverReply(uint64_t seq, std::string payload) override {
    asio::dispatch(ex_, [self = this->shared_from_this(), seq, p = std::move(payload)]() mutable {
      self->OnReply(seq, std::move(p));
    });
  }
  void PostAbandoned(uint64_t seq) {
    asio::post(ex_, [self = this->shared_from_this(), seq] { self->OnAbandoned(seq); });
  }

 private:
  // Held by the MllpReply closure: guarantees at most one reply and notices a
  // reply callback that was dropped without being called.
  struct ReplyToken {
    std::shared_ptr<MllpConnection> conn;
    uint64_t seq = 0;
    std::atomic<bool> used{false};
    ReplyToken(std::shared_ptr<MllpConnection> c, uint64_t s) : conn(std::move(c)), seq(s) {}
    ~ReplyToken() {
      if (!used.load(std::memory_order_acquire)) conn->PostAbandoned(seq);
    }
    void Reply(std::string payload) {
      if (used.exchange(true, std::memory_order_acq_rel)) {
        HIE_LOG_WARN("MLLP 重复回复被忽略 (duplicate reply ignored) connection={} seq={}",
                     conn->id_, seq);
        return;
      }
      conn->PostReply(seq, std::move(payload));
    }
  };

  struct Slot {
    std::string reply;
    bool ready = false;
  };

  // Marks reply `seq` ready; false if it is stale (the connection closed or
  // the slot is gone). Under mu_.
  bool MarkReady(uint64_t seq, std::string payload) {
    if (closed_ || seq < head_seq_ || seq - head_seq_ >= pending_.size()) return false;
    Slot& slot = pending_[seq - head_seq_];
    slot.reply = std::move(payload);
    slot.ready = true;
    return true;
  }

  // Moves the ready replies at the head, in arrival order, into out_ as
  // frames. Under mu_, with no write in flight.
  void TakeReady() {
    out_.clear();
    uint64_t n = 0;
    while (!pending_.empty() && pending_.front().ready && out_.size() < kMaxWriteBatchBytes) {
      AppendMllpFrame(pending_.front().reply, &out_);
      pending_.pop_front();
      ++head_seq_;
      ++n;
    }
    if (n > 0) server_->counters.replies.fetch_add(n, std::memory_order_relaxed);
  }

  // Off the strand: writes the ready replies to the socket at once when no
  // write is in flight (non-blocking), so a group commit's ACKs leave from
  // the thread that completed it instead of waking an io thread first: on
  // this VM a wake of a thread whose CPU is idle costs 60-120 us. Bytes the
  // socket does not take at once, a failed send and a paused read go on
  // through the strand. mu_ keeps the socket open meanwhile (Close() takes
  // it), so the descriptor cannot be another connection's.
  void ReplyDirect(uint64_t seq, std::string payload) {
    enum class Then { kNothing, kWrite, kClose, kPump } then = Then::kNothing;
    {
      std::lock_guard lock(mu_);
      if (!MarkReady(seq, std::move(payload)) || writing_) return;
      bool sent = false;
      for (;;) {  // one write per kMaxWriteBatchBytes of ready replies
        TakeReady();
        if (out_.empty()) break;  // all written, or an earlier reply is not ready yet
        const ssize_t w =
            ::send(stream_.native_handle(), out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == static_cast<ssize_t>(out_.size())) {
          out_.clear();
          sent = true;
          continue;
        }
        if (w >= 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
          out_.erase(0, w > 0 ? static_cast<size_t>(w) : 0);
          writing_ = true;
          then = Then::kWrite;
        } else {
          HIE_LOG_DEBUG("MLLP 写失败 (write failed) connection={} peer={}: {}", id_, peer_,
                        std::strerror(errno));
          then = Then::kClose;
        }
        break;
      }
      if (sent) TouchActivity();
      if (then == Then::kNothing && sent && wants_pump_.load(std::memory_order_acquire)) {
        then = Then::kPump;
      }
    }
    if (then == Then::kNothing) return;
    asio::post(ex_, [self = this->shared_from_this(), then] {
      if (then == Then::kWrite) {
        self->WriteOut();
      } else if (then == Then::kClose) {
        self->Close();
      } else {
        self->Pump();
      }
    });
  }

  void Pump() {
    Flush();
    MaybeClose();
    DoRead();
  }

  void DoRead() {
    if (closed_ || reading_ || draining_ || read_eof_) return;
    {
      std::lock_guard lock(mu_);
      const bool paused = pending_.size() >= server_->opts().max_inflight_per_connection;
      // A reply written off the strand must come back here to resume reading.
      wants_pump_.store(paused, std::memory_order_release);
      if (paused) return;
    }
    reading_ = true;
    stream_.async_read_some(asio::buffer(read_buf_),
                            [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                              size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const boost::system::error_code& ec, size_t n) {
    reading_ = false;
    if (closed_) return;
    if (draining_) {  // data after Stop() is not taken in
      Pump();
      return;
    }
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
        HIE_LOG_DEBUG("MLLP 连接读错误 (read error) connection={} peer={}: {}", id_, peer_,
                      ec.message());
      }
      read_eof_ = true;
      DeliverPartialAsTruncated();
      Pump();
      return;
    }
    TouchActivity();
    const uint64_t garbage_before = decoder_.garbage_bytes();
    frames_.clear();
    decoder_.Feed(std::string_view(read_buf_.data(), n), &frames_);
    if (decoder_.garbage_bytes() != garbage_before) {
      const uint64_t g = decoder_.garbage_bytes() - garbage_before;
      server_->counters.garbage.fetch_add(g, std::memory_order_relaxed);
      if (garbage_before == 0) {
        HIE_LOG_WARN("MLLP 帧外字节已跳过 (bytes outside a frame skipped) connection={} peer={}",
                     id_, peer_);
      }
    }
    in_batch_ = true;  // replies given inline are written together afterwards
    for (MllpDecodedFrame& f : frames_) {
      if (closed_) break;
      Deliver(std::move(f));
    }
    in_batch_ = false;
    frames_.clear();
    Pump();
  }

  void Deliver(MllpDecodedFrame f) {
    if (!server_->handler_enabled()) return;
    MllpInbound in;
    in.payload = std::move(f.payload);
    in.size = f.size;
    in.peer = peer_;
    in.connection_id = id_;
    switch (f.kind) {
      case MllpDecodedFrame::Kind::kTruncated:
        in.kind = MllpInbound::Kind::kTruncated;
        server_->counters.truncated.fetch_add(1, std::memory_order_relaxed);
        HIE_LOG_WARN("MLLP 帧不完整 (truncated frame) connection={} peer={} bytes={}", id_, peer_,
                     in.size);
        server_->handler()(std::move(in), [](const std::string&) {});
        return;
      case MllpDecodedFrame::Kind::kOversized:
        in.kind = MllpInbound::Kind::kOversized;
        server_->counters.oversized.fetch_add(1, std::memory_order_relaxed);
        HIE_LOG_WARN("MLLP 消息过大 (message too large) connection={} peer={} bytes={} max={}", id_,
                     peer_, in.size, server_->opts().max_message_bytes);
        break;
      case MllpDecodedFrame::Kind::kMessage:
        in.kind = MllpInbound::Kind::kMessage;
        server_->counters.frames.fetch_add(1, std::memory_order_relaxed);
        break;
    }
    uint64_t seq = 0;
    {
      std::lock_guard lock(mu_);
      seq = head_seq_ + pending_.size();
      pending_.emplace_back();
    }
    auto token = std::make_shared<ReplyToken>(this->shared_from_this(), seq);
    server_->handler()(std::move(in), [token = std::move(token)](std::string ack) {
      token->Reply(std::move(ack));
    });
  }

  void DeliverPartialAsTruncated() {
    MllpDecodedFrame f;
    if (decoder_.Finish(&f)) Deliver(std::move(f));
  }

  void OnReply(uint64_t seq, std::string payload) {
    {
      std::lock_guard lock(mu_);
      if (!MarkReady(seq, std::move(payload))) return;
    }
    if (!in_batch_) Pump();
  }

  void OnAbandoned(uint64_t seq) {
    {
      std::lock_guard lock(mu_);
      if (closed_ || seq < head_seq_ || seq - head_seq_ >= pending_.size()) return;
      if (pending_[seq - head_seq_].ready) return;
    }
    // Later replies cannot overtake this one, so the connection cannot go on.
    HIE_LOG_ERROR("MLLP 处理程序未回复 (handler dropped a reply) connection={} peer={}", id_,
                  peer_);
    Close();
  }

  // Writes every reply that is ready in arrival order, several in one write.
  void Flush() {
    {
      std::lock_guard lock(mu_);
      if (writing_ || closed_) return;
      TakeReady();
      if (out_.empty()) return;
      writing_ = true;
    }
    WriteOut();
  }

  // Writes out_ (writing_ is set: nothing else touches out_ meanwhile).
  void WriteOut() {
    if (closed_) return;
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                        size_t) { self->OnWrite(ec); });
  }

  void OnWrite(const boost::system::error_code& ec) {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
    }
    if (closed_) return;
    if (ec) {
      // The peer went away; answers still owed are dropped (the sender will
      // resend what it saw no ACK for).
      HIE_LOG_DEBUG("MLLP 写失败 (write failed) connection={} peer={}: {}", id_, peer_,
                    ec.message());
      Close();
      return;
    }
    TouchActivity();
    Pump();
  }

  void MaybeClose() {
    if (closed_ || !(read_eof_ || draining_)) return;
    wants_pump_.store(true, std::memory_order_release);  // a reply off the strand may end it
    {
      std::lock_guard lock(mu_);
      if (writing_ || !pending_.empty()) return;
    }
    Close();
  }

  void OnDrain() {
    if (closed_ || draining_) return;
    draining_ = true;
    DeliverPartialAsTruncated();
    Pump();
  }

  void ArmIdle(std::chrono::nanoseconds delay) {
    if (server_->opts().idle_timeout.count() <= 0) return;  // 0 = never time out
    timer_.expires_after(delay);
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      self->OnIdleTimer(ec);
    });
  }

  void OnIdleTimer(const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted || closed_) return;
    const auto idle = server_->opts().idle_timeout;
    const auto quiet = SteadyClock::now() - SteadyClock::time_point(SteadyClock::duration(
                                                last_activity_ns_.load(std::memory_order_relaxed)));
    bool quiet_now = false;
    {
      std::lock_guard lock(mu_);
      quiet_now = pending_.empty() && !writing_;
    }
    if (quiet_now && quiet >= idle) {
      server_->counters.idle_closed.fetch_add(1, std::memory_order_relaxed);
      HIE_LOG_INFO("MLLP 空闲连接关闭 (idle connection closed) connection={} peer={}", id_, peer_);
      DeliverPartialAsTruncated();
      Close();
      return;
    }
    // Busy (replies owed) or recently active: look again later.
    ArmIdle(quiet >= idle ? std::chrono::nanoseconds(idle) : idle - quiet);
  }

  void Close() {
    if (closed_) return;
    {
      std::lock_guard lock(mu_);  // no write off the strand while the socket closes
      closed_ = true;
      boost::system::error_code ignored;
      stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.lowest_layer().close(ignored);
      pending_.clear();
    }
    timer_.cancel();
    server_->Unregister(id_);
  }

  const std::shared_ptr<MllpServer::Impl> server_;
  Stream stream_;
  typename Stream::executor_type ex_;  // the connection's strand
  asio::steady_timer timer_;
  const uint64_t id_;
  const std::string peer_;
  MllpDecoder decoder_;
  std::vector<char> read_buf_;
  std::vector<MllpDecodedFrame> frames_;  // reused per read
  void TouchActivity() {
    last_activity_ns_.store(SteadyClock::now().time_since_epoch().count(),
                            std::memory_order_relaxed);
  }

  // The reply state is shared with ReplyDirect on completing threads; the
  // rest of the connection is the strand's.
  std::mutex mu_;
  std::deque<Slot> pending_;  // guarded by mu_: frames awaiting their reply, arrival order
  uint64_t head_seq_ = 0;     // guarded by mu_: sequence number of pending_.front()
  std::string out_;           // guarded by mu_ unless writing_: the write in flight (reused)
  bool writing_ = false;      // guarded by mu_
  // Set by the strand only, under mu_; read by the strand freely.
  std::atomic<bool> closed_{false};
  std::atomic<bool> wants_pump_{false};  // the strand waits for replies to resume or close
  std::atomic<SteadyClock::rep> last_activity_ns_{0};
  bool reading_ = false;
  bool in_batch_ = false;
  bool read_eof_ = false;
  bool draining_ = false;
};

}  // namespace

Status MllpServer::Impl::Start() {
  const std::string where = opts_.host + ":" + std::to_string(opts_.port);
  auto fail = [&](std::string_view what, const boost::system::error_code& ec) {
    return Status(
        ErrorCode::kNetworkError,
        "MLLP 监听失败 (listen failed) " + where + " " + std::string(what) + ": " + ec.message(),
        where);
  };
  boost::system::error_code ec;
  tcp::endpoint ep;
  const auto addr = asio::ip::make_address(opts_.host, ec);
  if (!ec) {
    ep = tcp::endpoint(addr, opts_.port);
  } else {
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(opts_.host, std::to_string(opts_.port), ec);
    if (ec || results.empty()) return fail("resolve", ec);
    ep = results.begin()->endpoint();
  }
  acceptor_.open(ep.protocol(), ec);
  if (ec) return fail("open", ec);
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor_.bind(ep, ec);
  if (ec) {
    acceptor_.close(ec);
    return fail("bind", ec);
  }
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.close(ec);
    return fail("listen", ec);
  }
  const auto local = acceptor_.local_endpoint(ec);
  port_.store(local.port(), std::memory_order_release);
  HIE_LOG_INFO("MLLP 监听 (listening) {}", FormatEndpoint(local));
  asio::post(acceptor_strand_, [self = shared_from_this()] { self->DoAccept(); });
  return Status::Ok();
}

void MllpServer::Impl::DoAccept() {
  if (!acceptor_.is_open()) return;
  // Each connection gets its own strand as its socket's executor.
  auto sock = std::make_shared<tcp::socket>(asio::make_strand(io_));
  acceptor_.async_accept(*sock,
                         [self = shared_from_this(), sock](const boost::system::error_code& ec) {
                           self->OnAccept(ec, sock);
                         });
}

void MllpServer::Impl::OnAccept(const boost::system::error_code& ec,
                                const std::shared_ptr<tcp::socket>& sock) {
  boost::system::error_code ignored;
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // E.g. out of file descriptors: back off instead of spinning.
    HIE_LOG_WARN("MLLP 接受连接失败 (accept failed): {}", ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e) self->DoAccept();
    });
    return;
  }
  if (live() >= opts_.max_connections) {
    counters.rejected.fetch_add(1, std::memory_order_relaxed);
    HIE_LOG_WARN("MLLP 连接数已满 (too many connections) max={}", opts_.max_connections);
    sock->close(ignored);
    DoAccept();
    return;
  }
  sock->set_option(tcp::no_delay(true), ignored);
  const auto remote = sock->remote_endpoint(ignored);
  std::string peer = ignored ? std::string("unknown") : FormatEndpoint(remote);
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  auto conn = std::make_shared<MllpConnection<tcp::socket>>(shared_from_this(), std::move(*sock),
                                                            id, std::move(peer));
  if (Register(id, conn)) {
    counters.accepted.fetch_add(1, std::memory_order_relaxed);
    conn->Start();
  } else {
    conn->ForceClose();
  }
  DoAccept();
}

void MllpServer::Impl::Stop() {
  std::vector<std::shared_ptr<ConnectionBase>> live_conns;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, weak] : conns_) {
      if (auto c = weak.lock()) live_conns.push_back(std::move(c));
    }
  }
  asio::post(acceptor_strand_, [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
  for (auto& c : live_conns) c->BeginDrain();
}

void MllpServer::Impl::ForceCloseAll() {
  std::vector<std::shared_ptr<ConnectionBase>> live_conns;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, weak] : conns_) {
      if (auto c = weak.lock()) live_conns.push_back(std::move(c));
    }
  }
  for (auto& c : live_conns) c->ForceClose();
}

MllpServer::MllpServer(asio::io_context& io, MllpServerOptions opts, MllpHandler handler)
    : impl_(std::make_shared<Impl>(io, std::move(opts), std::move(handler))) {}

MllpServer::~MllpServer() {
  impl_->disable_handler();
  try {
    impl_->Stop();
    impl_->ForceCloseAll();
  } catch (const std::exception& e) {  // allocation failure while posting
    HIE_LOG_ERROR("MLLP 服务关闭出错 (server shutdown error): {}", e.what());
  }
}

Status MllpServer::Start() { return impl_->Start(); }
uint16_t MllpServer::port() const { return impl_->port(); }
void MllpServer::Stop() { impl_->Stop(); }
size_t MllpServer::connection_count() const { return impl_->live(); }

MllpServerStats MllpServer::stats() const {
  const auto& c = impl_->counters;
  MllpServerStats s;
  s.connections_accepted = c.accepted.load(std::memory_order_relaxed);
  s.connections_rejected = c.rejected.load(std::memory_order_relaxed);
  s.frames = c.frames.load(std::memory_order_relaxed);
  s.oversized = c.oversized.load(std::memory_order_relaxed);
  s.truncated = c.truncated.load(std::memory_order_relaxed);
  s.garbage_bytes = c.garbage.load(std::memory_order_relaxed);
  s.idle_closed = c.idle_closed.load(std::memory_order_relaxed);
  s.replies_written = c.replies.load(std::memory_order_relaxed);
  return s;
}

}  // namespace hie
