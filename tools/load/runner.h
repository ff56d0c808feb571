// The load run of hie-load: K connections, spread over T event-loop threads
// (epoll, non-blocking sockets; default 1, like a real sender), send N
// pre-generated MLLP messages in total, keep `window` frames in flight per
// connection, check every ACK (MSA-1 AA, MSA-2 = the MSH-10 sent) and time
// each message from send to ACK.
// Thread rules: RunLoad starts and joins its own threads; call it from one
// thread. The report helpers are pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/load/generator.h"

namespace hie::load {

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 2575;
  uint64_t messages = 10'000;  // counted messages, over all connections
  int connections = 1;
  int window = 1;       // frames in flight per connection
  int threads = 1;      // event-loop threads the connections are spread over
  uint64_t warmup = 0;  // sent and checked first, not counted
  std::string facility = "XQRMYY";
  TypeMix mix = TypeMix::kMix;
  std::string run_id;       // empty = DefaultRunId()
  int timeout_ms = 30'000;  // per ACK
};

struct LoadReport {
  std::string run_id;
  uint64_t messages = 0;
  int connections = 0;
  int window = 0;
  uint64_t warmup = 0;
  double elapsed_s = 0;
  double msgs_per_s = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  uint64_t aa = 0, ae = 0, ar = 0, other = 0;  // MSA-1 of counted messages
  uint64_t mismatch = 0;                       // MSA-2 differed from the MSH-10 sent
  uint64_t errors = 0;                         // counted messages with no ACK (connection failed)
  uint64_t warmup_not_aa = 0;                  // warmup messages not AA'd or not answered
  int failed_connections = 0;
  std::vector<std::string> failures;  // first reason per failed connection

  // True when every counted and warmup message was AA'd with the right MSA-2.
  bool Ok() const {
    return aa == messages && mismatch == 0 && errors == 0 && warmup_not_aa == 0 &&
           failed_connections == 0;
  }
};

LoadReport RunLoad(const LoadOptions& options);

// Nearest-rank percentile (q in [0,1]) of sorted values; 0 when empty.
int64_t Percentile(const std::vector<int64_t>& sorted, double q);

std::string FormatReportText(const LoadReport& report);
std::string FormatReportJson(const LoadReport& report);

}  // namespace hie::load
