// Blocking MLLP client for outbound deliveries, the `hie send` CLI and tests.
// Plain POSIX sockets; every wait is a poll() bounded by the timeout given
// at construction (per Connect, and per Exchange/Send/ReadReply).
//
// After a kTimeout or a network error the connection is closed: a late
// reply would otherwise be taken for the answer to the next message. The
// next Exchange connects again.
//
// Thread rules: one client per thread; an MllpClient is not shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mllp/mllp_framing.h"
#include "core/status.h"

namespace hie {

class MllpClient {
 public:
  MllpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout);
  ~MllpClient();
  MllpClient(const MllpClient&) = delete;
  MllpClient& operator=(const MllpClient&) = delete;

  // kNetworkError (or kTimeout) naming host:port on failure.
  Status Connect();
  // Sends one framed message and waits for one framed reply (its payload).
  // kTimeout / kNetworkError. Connects if needed; reconnects once if the
  // connection was found closed before anything was sent.
  Result<std::string> Exchange(std::string_view payload);
  // Sends one framed message without waiting (pipelining tests).
  Status Send(std::string_view payload);
  // Sends bytes as they are, no framing (tests: garbage, partial frames).
  Status SendRaw(std::string_view bytes);
  // The next framed reply. kTooLarge for a reply over max_reply_bytes.
  Result<std::string> ReadReply();
  void Close();

  bool connected() const { return fd_ >= 0; }
  const std::string& address() const { return where_; }  // "host:port"
  void set_max_reply_bytes(size_t n) { decoder_ = MllpDecoder(n); }

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  Deadline NewDeadline() const { return std::chrono::steady_clock::now() + timeout_; }
  // Waits for `events` on fd_ until the deadline: 1 ready, 0 timeout, -1 error.
  int PollUntil(short events, Deadline deadline);
  // Writes all bytes; *sent counts what went out (for the reconnect rule).
  Status WriteAll(std::string_view bytes, Deadline deadline, size_t* sent);
  // True when the peer has closed (or reset) an idle connection.
  bool PeerClosed();
  Status Error(ErrorCode code, std::string_view what, int err = 0) const;

  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  std::string where_;
  int fd_ = -1;
  MllpDecoder decoder_{64u << 20};
  std::deque<MllpDecodedFrame> ready_;  // decoded, not yet returned
  std::vector<MllpDecodedFrame> tmp_;   // reused per read
  std::vector<char> buf_;
};

}  // namespace hie
