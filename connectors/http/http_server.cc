#include "connectors/http/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/log.h"

namespace hie {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr char kServerName[] = "county-hie";
// After an over-limit body, at most this much more is read and discarded
// before the hub answers anyway and closes (bounded work per connection).
constexpr uint64_t kMaxDiscardBytes = 64ull << 20;
// Scratch buffer for bodies of unknown or over-limit size.
constexpr size_t kChunkBytes = 16 << 10;
// How long a closing connection waits for the peer's EOF (lingering close),
// so the last response is not lost to a TCP reset.
constexpr std::chrono::milliseconds kLingerTimeout{2000};

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 0xf]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string EndpointString(const tcp::endpoint& ep) {
  auto addr = ep.address();
  std::string host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

// Where in the request a Beast parse error sits, for the error body.
std::string_view ParseErrorWhere(const beast::error_code& ec) {
  if (ec == http::error::bad_method || ec == http::error::bad_target ||
      ec == http::error::bad_version) {
    return "request-line";
  }
  if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension ||
      ec == http::error::partial_message) {
    return "body";
  }
  return "header";
}

bool IsBenignCloseError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::operation_aborted || ec == beast::error::timeout ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::bad_descriptor || ec == net::error::not_connected;
}

}  // namespace

std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view qs) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view part = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(PercentDecode(part, true), std::string());
    } else {
      out.emplace_back(PercentDecode(part.substr(0, eq), true),
                       PercentDecode(part.substr(eq + 1), true));
    }
  }
  return out;
}

std::string JsonErrorBody(std::string_view code, std::string_view message, std::string_view where) {
  std::string out = "{\"error\":{\"code\":";
  AppendJsonString(out, code);
  out += ",\"message\":";
  AppendJsonString(out, message);
  out += ",\"where\":";
  AppendJsonString(out, where);
  out += "}}";
  return out;
}

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

std::string HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return {};
}

// ---------------------------------------------------------------------------

class Session;

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  State(net::io_context& io_ctx, HttpServerOptions o, HttpHandler h)
      : io(io_ctx), opts(std::move(o)), handler(std::move(h)), acceptor(net::make_strand(io_ctx)) {}

  void DoAccept();
  void Register(uint64_t id, const std::shared_ptr<Session>& s);
  void Unregister(uint64_t id);

  net::io_context& io;
  const HttpServerOptions opts;
  const HttpHandler handler;
  tcp::acceptor acceptor;  // used on its strand only
  std::atomic<uint16_t> port{0};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_id{1};

  mutable std::mutex mu;
  std::condition_variable drained_cv;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;  // guarded by mu
};

// One TCP connection. Every member is touched on the connection's strand only
// (the executor of stream_), except through PostResponse/PostStop, which post.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::State> state, uint64_t id)
      : stream_(std::move(socket)), state_(std::move(state)), id_(id) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = EndpointString(ep);
  }
  ~Session() { state_->Unregister(id_); }

  void Run() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // From any thread: queue the response on the strand.
  void PostResponse(HttpResponse resp) {
    net::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(resp)]() mutable {
      self->Write(std::move(r));
    });
  }

  // From any thread: the server is stopping; close if idle.
  void PostStop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::kReading) self->CloseNow();
    });
  }

 private:
  enum class Phase { kReading, kHandling, kWriting, kClosing, kClosed };

  // Holds the one right to answer; answers 500 if dropped unanswered.
  struct Responder {
    explicit Responder(std::shared_ptr<Session> s) : session(std::move(s)) {}
    ~Responder() {
      if (!done.exchange(true)) {
        HttpResponse r;
        r.status = 500;
        r.body = JsonErrorBody("internal", "处理程序未给出应答 (handler did not respond)", "");
        session->PostResponse(std::move(r));
      }
    }
    std::shared_ptr<Session> session;
    std::atomic<bool> done{false};
  };

  void ReadHeader() {
    if (state_->stopping.load()) return CloseNow();
    phase_ = Phase::kReading;
    req_ = HttpRequest{};
    truncated_ = false;
    received_ = 0;
    body_parser_.reset();
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(state_->opts.max_header_bytes));
    // Size checks are ours (see ReadBody): the parser must not refuse.
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(state_->opts.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *header_parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) {
      // A clean close between requests, a timeout or Stop: no answer due.
      if (IsBenignCloseError(ec) || phase_ != Phase::kReading) return CloseNow();
      return ParseError(ec);
    }
    const auto& msg = header_parser_->get();
    req_.method = std::string(msg.method_string());
    req_.target = std::string(msg.target());
    std::string_view target(msg.target().data(), msg.target().size());
    size_t qpos = target.find('?');
    req_.path = PercentDecode(target.substr(0, qpos), false);
    if (qpos != std::string_view::npos) req_.query = ParseQueryString(target.substr(qpos + 1));
    for (const auto& f : msg) {
      req_.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    req_.peer = peer_;
    keep_alive_ = msg.keep_alive();
    if (header_parser_->is_done()) {
      header_parser_.reset();
      return Dispatch();
    }
    if (auto cl = header_parser_->content_length()) content_length_ = *cl;
    body_parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    // Known size within the limit: read straight into the request body;
    // otherwise through the scratch buffer, keeping what fits.
    direct_ = content_length_ && *content_length_ <= state_->opts.max_body_bytes;
    if (direct_) {
      req_.body.resize(static_cast<size_t>(*content_length_));
    } else if (!chunk_) {
      chunk_ = std::make_unique<char[]>(kChunkBytes);
    }
    ReadBody();
  }

  void ReadBody() {
    auto& body = body_parser_->get().body();
    if (direct_) {
      body.data = req_.body.data() + received_;
      body.size = req_.body.size() - static_cast<size_t>(received_);
    } else {
      body.data = chunk_.get();
      body.size = kChunkBytes;
    }
    body.more = true;
    buffer_size_ = body.size;
    stream_.expires_after(state_->opts.idle_timeout);
    http::async_read(
        stream_, buffer_, *body_parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      if (IsBenignCloseError(ec) || phase_ != Phase::kReading) return CloseNow();
      return ParseError(ec);
    }
    auto& body = body_parser_->get().body();
    const size_t got = buffer_size_ - body.size;
    const size_t max = state_->opts.max_body_bytes;
    if (!direct_) {
      size_t room = req_.body.size() < max ? max - req_.body.size() : 0;
      req_.body.append(chunk_.get(), std::min(room, got));
    }
    received_ += got;
    if (received_ > max) truncated_ = true;
    if (body_parser_->is_done()) return Dispatch();
    if (truncated_ && received_ - max > kMaxDiscardBytes) {
      // Enough discarding; answer now and close.
      return Dispatch();
    }
    ReadBody();
  }

  void Dispatch() {
    phase_ = Phase::kHandling;
    stream_.expires_never();
    req_.body_truncated = truncated_;
    if (truncated_) keep_alive_ = false;
    req_.body_size =
        content_length_ ? static_cast<size_t>(*content_length_) : static_cast<size_t>(received_);
    // Body not read to its end (discard cap hit): the stream is unusable.
    if (body_parser_ && !body_parser_->is_done()) keep_alive_ = false;
    body_parser_.reset();
    content_length_.reset();
    auto responder = std::make_shared<Responder>(shared_from_this());
    HttpRespond respond = [responder](HttpResponse r) {
      if (responder->done.exchange(true)) return;  // exactly once
      // Let go of the session now: copies of `respond` that the caller keeps
      // must not hold the connection open.
      std::shared_ptr<Session> session = std::move(responder->session);
      session->PostResponse(std::move(r));
    };
    try {
      state_->handler(std::move(req_), std::move(respond));
    } catch (const std::exception& e) {
      HIE_LOG_ERROR("http handler threw: {}", e.what());
      // The Responder answers 500 when its last copy goes away.
    }
  }

  void ParseError(const beast::error_code& ec) {
    HIE_LOG_DEBUG("http parse error from {}: {}", peer_, ec.message());
    keep_alive_ = false;
    phase_ = Phase::kHandling;
    HttpResponse r;
    if (ec == http::error::header_limit) {
      r.status = 431;
      r.body = JsonErrorBody("too_large", "HTTP 请求头过大 (request header too large)", "header");
    } else {
      r.status = 400;
      r.body = JsonErrorBody("parse_error",
                             "HTTP 请求无法解析 (malformed HTTP request): " + ec.message(),
                             ParseErrorWhere(ec));
    }
    Write(std::move(r));
  }

  void Write(HttpResponse r) {
    if (phase_ != Phase::kHandling) return;  // closed meanwhile, or a stray call
    phase_ = Phase::kWriting;
    const bool keep = keep_alive_ && !state_->stopping.load();
    res_ = {};
    res_.version(11);
    res_.result(r.status >= 100 && r.status <= 999 ? static_cast<unsigned>(r.status) : 500u);
    res_.set(http::field::server, kServerName);
    if (!r.content_type.empty()) res_.set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res_.insert(k, v);
    res_.body() = std::move(r.body);
    res_.keep_alive(keep);
    res_.prepare_payload();
    stream_.expires_after(state_->opts.idle_timeout);
    http::async_write(stream_, res_,
                      [self = shared_from_this(), keep](beast::error_code ec, size_t) {
                        self->OnWrite(ec, keep);
                      });
  }

  void OnWrite(beast::error_code ec, bool keep) {
    res_ = {};
    if (ec) return CloseNow();
    if (!keep) return LingerClose();
    ReadHeader();
  }

  // Half-close and drain until the peer closes, so our last response is not
  // destroyed by a reset caused by unread input.
  void LingerClose() {
    phase_ = Phase::kClosing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return CloseNow();
    if (!chunk_) chunk_ = std::make_unique<char[]>(kChunkBytes);
    stream_.expires_after(std::min(state_->opts.idle_timeout, kLingerTimeout));
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(chunk_.get(), kChunkBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->CloseNow();
                              self->DrainSome();
                            });
  }

  void CloseNow() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::State> state_;
  const uint64_t id_;
  std::string peer_;
  Phase phase_ = Phase::kReading;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  std::optional<uint64_t> content_length_;
  std::unique_ptr<char[]> chunk_;  // allocated only when needed
  size_t buffer_size_ = 0;         // size offered to the parser in ReadBody
  uint64_t received_ = 0;          // body bytes seen so far
  bool truncated_ = false;
  bool direct_ = false;  // body read straight into req_.body
  bool keep_alive_ = true;
  HttpRequest req_;
  http::response<http::string_body> res_;
};

void HttpServer::State::DoAccept() {
  acceptor.async_accept(net::make_strand(io),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket sock) {
                          if (ec) {
                            if (ec == net::error::operation_aborted || !self->acceptor.is_open())
                              return;
                            HIE_LOG_WARN("http accept failed: {}", ec.message());
                          } else {
                            beast::error_code ignored;
                            sock.set_option(tcp::no_delay(true), ignored);
                            uint64_t id = self->next_id.fetch_add(1);
                            auto session = std::make_shared<Session>(std::move(sock), self, id);
                            self->Register(id, session);
                            session->Run();  // closes at once if stopping
                          }
                          if (!self->stopping.load()) self->DoAccept();
                        });
}

void HttpServer::State::Register(uint64_t id, const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mu);
  sessions.emplace(id, s);
}

void HttpServer::State::Unregister(uint64_t id) {
  std::lock_guard lock(mu);
  sessions.erase(id);
  if (sessions.empty()) drained_cv.notify_all();
}

// ---------------------------------------------------------------------------

HttpServer::HttpServer(net::io_context& io, HttpServerOptions opts, HttpHandler handler)
    : state_(std::make_shared<State>(io, std::move(opts), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  const auto& o = state_->opts;
  const std::string addr_text = o.host + ":" + std::to_string(o.port);
  auto fail = [&](const std::string& what, const beast::error_code& ec) {
    return Status(
        ErrorCode::kUnavailable,
        "无法监听 HTTP 地址 (listen failed) " + addr_text + ": " + what + ": " + ec.message(),
        addr_text);
  };
  beast::error_code ec;
  tcp::endpoint ep;
  auto ip = net::ip::make_address(o.host, ec);
  if (!ec) {
    ep = tcp::endpoint(ip, o.port);
  } else {
    tcp::resolver resolver(state_->io);
    auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
    if (ec || results.empty()) return fail("resolve", ec);
    ep = results.begin()->endpoint();
  }
  auto& acc = state_->acceptor;
  acc.open(ep.protocol(), ec);
  if (ec) return fail("open", ec);
  acc.set_option(net::socket_base::reuse_address(true), ec);
  acc.bind(ep, ec);
  if (ec) {
    acc.close(ec);
    return fail("bind", ec);
  }
  acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acc.close(ec);
    return fail("listen", ec);
  }
  state_->port = acc.local_endpoint().port();
  net::post(acc.get_executor(), [s = state_] { s->DoAccept(); });
  return Status::Ok();
}

uint16_t HttpServer::port() const { return state_->port.load(); }

void HttpServer::Stop() {
  if (state_->stopping.exchange(true)) return;
  net::post(state_->acceptor.get_executor(), [s = state_] {
    beast::error_code ec;
    s->acceptor.close(ec);
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(state_->mu);
    for (auto& [id, w] : state_->sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->PostStop();
}

bool HttpServer::WaitDrained(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  return state_->drained_cv.wait_for(lock, timeout, [&] { return state_->sessions.empty(); });
}

size_t HttpServer::ActiveConnections() const {
  std::lock_guard lock(state_->mu);
  return state_->sessions.size();
}

}  // namespace hie
