// MLLP server: accepts HL7 v2 senders over TCP (Boost.Asio), cuts frames
// with MllpDecoder and hands each frame to an MllpHandler together with a
// reply callback. Replies on one connection are written in the order the
// frames arrived, even when the handler answers out of order (pipelining: up
// to max_inflight_per_connection unanswered frames; reading pauses beyond).
// Ready replies are batched into one write.
//
// Thread rules:
//  - Every connection runs on its own strand, so the io_context may be run by
//    any number of threads. The handler is called on the connection's strand
//    and must not block: hand the work off and call `reply` later, from any
//    thread, exactly once per kMessage/kOversized frame. A reply dropped
//    without being called closes the connection (its ACK can never be sent
//    in order).
//  - Start/Stop/port/connection_count/stats may be called from any thread.
//  - Destroy the server after Stop() has drained or after the io_context has
//    stopped; the destructor force-closes whatever is still open and calls
//    the handler no more.
//
// TLS seam: the connection is a class template over its stream type
// (MllpConnection<Stream> in mllp_server.cc, instantiated for
// boost::asio::ip::tcp::socket). TLS plugs in by instantiating it with
// boost::asio::ssl::stream<tcp::socket>, building that stream from the
// accepted socket plus an ssl::context held in the options, and running
// async_handshake(server) before the first read; reads, writes and framing
// stay unchanged (the connection only calls async_read_some/async_write and
// lowest_layer() for close/endpoint).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

namespace hie {

struct MllpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = any free port
  size_t max_message_bytes = 16 << 20;
  std::chrono::milliseconds idle_timeout{300000};  // 0 = never
  size_t max_inflight_per_connection = 64;  // frames awaiting a reply; reading pauses beyond it
  size_t max_connections = 2048;
};

struct MllpInbound {
  enum class Kind { kMessage, kOversized, kTruncated };
  Kind kind = Kind::kMessage;
  std::string payload;  // the frame's bytes (for kOversized: the first max_message_bytes)
  size_t size = 0;      // true size in bytes
  std::string peer;     // "127.0.0.1:54321"
  uint64_t connection_id = 0;
};

// reply(payload): exactly once per kMessage/kOversized frame, from any thread;
// the server frames it. For kTruncated (the sender reset or restarted
// mid-frame) the reply is a no-op: keep the bytes, nobody to answer.
using MllpReply = std::function<void(std::string ack_payload)>;
using MllpHandler = std::function<void(MllpInbound in, MllpReply reply)>;

// Totals since Start (for /metrics).
struct MllpServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections
  uint64_t frames = 0;                // kMessage
  uint64_t oversized = 0;
  uint64_t truncated = 0;
  uint64_t garbage_bytes = 0;  // bytes skipped outside frames
  uint64_t idle_closed = 0;
  uint64_t replies_written = 0;
};

class MllpServer {
 public:
  MllpServer(boost::asio::io_context& io, MllpServerOptions opts, MllpHandler handler);
  ~MllpServer();
  MllpServer(const MllpServer&) = delete;
  MllpServer& operator=(const MllpServer&) = delete;

  // Binds, listens and starts accepting. kNetworkError naming host:port.
  Status Start();
  // The bound port (valid after Start).
  uint16_t port() const;
  // Stops accepting; each connection stops reading and closes once its
  // in-flight replies are written (drain). Returns at once; watch
  // connection_count() to know when draining is over.
  void Stop();
  // Open connections (including ones draining).
  size_t connection_count() const;
  MllpServerStats stats() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared with connections and pending handlers
};

}  // namespace hie
