// MLLP framing and ACK reading for the load generator: wrap a message in
// 0x0B ... 0x1C 0x0D, cut complete frames out of a receive buffer, and read
// MSA-1 / MSA-2 out of an ACK.
// Thread rules: pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hie::load {

inline constexpr char kStartBlock = 0x0B;
inline constexpr char kEndBlock = 0x1C;
inline constexpr char kCarriageReturn = 0x0D;

// 0x0B + message + 0x1C 0x0D.
std::string FrameMllp(std::string_view message);

// The first complete frame in `buffer`. Bytes before the start block are
// skipped (counted in `consumed`). `complete` is false when no whole frame is
// there yet; `consumed` then says how many leading junk bytes may be dropped.
struct Deframed {
  bool complete = false;
  size_t consumed = 0;
  std::string_view payload;  // the message between the framing bytes
};
Deframed NextFrame(std::string_view buffer);

// MSA-1 (acknowledgment code) and MSA-2 (control id echoed) of an ACK.
struct AckFields {
  std::string code;
  std::string control_id;
};
// nullopt when the message has no MSH or no MSA segment.
std::optional<AckFields> ParseAck(std::string_view message);

}  // namespace hie::load
