#include "connectors/mllp/mllp_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace hie {
namespace {

constexpr size_t kClientReadBytes = size_t{64} * 1024;

int RemainingMillis(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  return left.count() > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left.count());
}

}  // namespace

MllpClient::MllpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)),
      port_(port),
      timeout_(timeout),
      where_(host_ + ":" + std::to_string(port)),
      buf_(kClientReadBytes) {}

MllpClient::~MllpClient() { Close(); }

Status MllpClient::Error(ErrorCode code, std::string_view what, int err) const {
  std::string msg(what);
  msg += " " + where_;
  if (err != 0) {
    msg += ": ";
    msg += std::strerror(err);
  }
  return Status(code, std::move(msg), where_);
}

void MllpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  decoder_ = MllpDecoder(decoder_.max_message_bytes());
  ready_.clear();
}

Status MllpClient::Connect() {
  Close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(port_);
  const int gai = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    return Status(ErrorCode::kNetworkError,
                  "无法解析地址 (resolve failed) " + where_ + ": " + ::gai_strerror(gai), where_);
  }
  const Deadline deadline = NewDeadline();
  int last_err = ECONNREFUSED;
  bool timed_out = false;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_err = errno;
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      fd_ = fd;
      const int ready = PollUntil(POLLOUT, deadline);
      fd_ = -1;
      if (ready == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        if (ready == 0) timed_out = true;
        errno = ready == 0 ? ETIMEDOUT : errno;
        rc = -1;
      }
    }
    if (rc == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      fd_ = fd;
      ::freeaddrinfo(res);
      return Status::Ok();
    }
    last_err = errno;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (timed_out) return Error(ErrorCode::kTimeout, "连接超时 (connect timeout)");
  return Error(ErrorCode::kNetworkError, "连接失败 (connect failed)", last_err);
}

int MllpClient::PollUntil(short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd_, events, 0};
    const int rc = ::poll(&p, 1, RemainingMillis(deadline));
    if (rc > 0) return 1;
    if (rc == 0) {
      if (RemainingMillis(deadline) > 0) continue;  // woke early
      return 0;
    }
    if (errno != EINTR) return -1;
  }
}

Status MllpClient::WriteAll(std::string_view bytes, Deadline deadline, size_t* sent) {
  *sent = 0;
  if (fd_ < 0) return Error(ErrorCode::kNetworkError, "未连接 (not connected)");
  while (*sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + *sent, bytes.size() - *sent, MSG_NOSIGNAL);
    if (n > 0) {
      *sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const int ready = PollUntil(POLLOUT, deadline);
      if (ready == 1) continue;
      const int err = errno;
      Close();
      if (ready == 0) return Error(ErrorCode::kTimeout, "发送超时 (send timeout)");
      return Error(ErrorCode::kNetworkError, "发送失败 (send failed)", err);
    }
    const int err = errno;
    Close();
    return Error(ErrorCode::kNetworkError, "发送失败 (send failed)", err);
  }
  return Status::Ok();
}

bool MllpClient::PeerClosed() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;  // nothing pending: still open
  if (p.revents & (POLLERR | POLLHUP)) return true;
  char c;
  const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

Status MllpClient::Send(std::string_view payload) {
  if (fd_ < 0) HIE_RETURN_IF_ERROR(Connect());
  size_t sent = 0;
  return WriteAll(MllpFrame(payload), NewDeadline(), &sent);
}

Status MllpClient::SendRaw(std::string_view bytes) {
  if (fd_ < 0) HIE_RETURN_IF_ERROR(Connect());
  size_t sent = 0;
  return WriteAll(bytes, NewDeadline(), &sent);
}

Result<std::string> MllpClient::ReadReply() {
  if (fd_ < 0 && ready_.empty()) {
    return Error(ErrorCode::kNetworkError, "未连接 (not connected)");
  }
  const Deadline deadline = NewDeadline();
  for (;;) {
    while (!ready_.empty()) {
      MllpDecodedFrame f = std::move(ready_.front());
      ready_.pop_front();
      switch (f.kind) {
        case MllpDecodedFrame::Kind::kMessage:
          return std::move(f.payload);
        case MllpDecodedFrame::Kind::kOversized:
          return Status(ErrorCode::kTooLarge,
                        "回复过大 (reply too large) " + std::to_string(f.size) + " bytes", where_);
        case MllpDecodedFrame::Kind::kTruncated:
          break;  // the peer restarted a frame; the next one is the answer
      }
    }
    if (fd_ < 0) return Error(ErrorCode::kNetworkError, "未连接 (not connected)");
    const int ready = PollUntil(POLLIN, deadline);
    if (ready == 0) {
      Close();  // a late reply must not answer the next message
      return Error(ErrorCode::kTimeout, "等待回复超时 (reply timeout)");
    }
    if (ready < 0) {
      const int err = errno;
      Close();
      return Error(ErrorCode::kNetworkError, "接收失败 (receive failed)", err);
    }
    const ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    if (n > 0) {
      tmp_.clear();
      decoder_.Feed(std::string_view(buf_.data(), static_cast<size_t>(n)), &tmp_);
      for (auto& f : tmp_) ready_.push_back(std::move(f));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    const int err = n == 0 ? 0 : errno;
    Close();
    if (n == 0)
      return Error(ErrorCode::kNetworkError, "连接被对方关闭 (connection closed by peer)");
    return Error(ErrorCode::kNetworkError, "接收失败 (receive failed)", err);
  }
}

Result<std::string> MllpClient::Exchange(std::string_view payload) {
  bool fresh = false;
  if (fd_ >= 0 && PeerClosed()) Close();
  if (fd_ < 0) {
    HIE_RETURN_IF_ERROR(Connect());
    fresh = true;
  }
  const std::string frame = MllpFrame(payload);
  size_t sent = 0;
  Status st = WriteAll(frame, NewDeadline(), &sent);
  if (!st.ok() && sent == 0 && !fresh && st.code() == ErrorCode::kNetworkError) {
    // The connection died between the check and the send; nothing went out.
    HIE_RETURN_IF_ERROR(Connect());
    st = WriteAll(frame, NewDeadline(), &sent);
  }
  HIE_RETURN_IF_ERROR(st);
  return ReadReply();
}

}  // namespace hie
