// MLLP framing (HL7 v2 over TCP): <VT=0x0B> payload <FS=0x1C><CR=0x0D>.
//
// MllpDecoder turns a byte stream fed in arbitrary chunks into frames. It is
// lenient the way real hospital systems need:
//  - bytes outside a frame (before 0x0B) are garbage: skipped and counted;
//  - 0x1C alone ends a frame; a 0x0D right after it is consumed if present;
//  - a frame longer than max_message_bytes keeps its first max bytes, the
//    rest is discarded up to the end block, and it comes out kOversized with
//    its true size;
//  - a new 0x0B inside a frame ends the unfinished frame as kTruncated;
//  - Finish() at connection end turns a partial frame into kTruncated.
// The hot path scans with memchr and appends whole spans (no per-byte work).
// Thread rules: an MllpDecoder is used by one thread (one connection) at a
// time; MllpFrame is a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hie {

inline constexpr char kMllpStartBlock = 0x0B;
inline constexpr char kMllpEndBlock = 0x1C;
inline constexpr char kMllpCarriageReturn = 0x0D;

// Wraps a payload: 0x0B payload 0x1C 0x0D.
std::string MllpFrame(std::string_view payload);
// Appends the framed payload to `out` (reuses its capacity).
void AppendMllpFrame(std::string_view payload, std::string* out);

struct MllpDecodedFrame {
  enum class Kind { kMessage, kOversized, kTruncated };
  Kind kind = Kind::kMessage;
  std::string payload;  // at most max_message_bytes bytes
  size_t size = 0;      // true size of the frame body in bytes
};

class MllpDecoder {
 public:
  explicit MllpDecoder(size_t max_message_bytes = 16 << 20);

  // Consumes `data`; appends every frame it completes to `out` (does not
  // clear `out`).
  void Feed(std::string_view data, std::vector<MllpDecodedFrame>* out);

  // Connection end: a frame still open becomes kTruncated (returns true and
  // fills `out`). The decoder is reset either way.
  bool Finish(MllpDecodedFrame* out);

  // True while inside a frame (some bytes received, end block not yet seen).
  bool in_frame() const { return state_ == State::kInFrame; }
  // Bytes skipped outside frames since construction.
  uint64_t garbage_bytes() const { return garbage_bytes_; }
  size_t max_message_bytes() const { return max_; }

 private:
  enum class State { kIdle, kInFrame, kAfterEnd };
  void AppendBody(const char* p, size_t n);
  void Emit(MllpDecodedFrame::Kind kind, std::vector<MllpDecodedFrame>* out);

  size_t max_;
  State state_ = State::kIdle;
  std::string cur_;      // body received so far (capped at max_)
  size_t cur_size_ = 0;  // true body size so far
  uint64_t garbage_bytes_ = 0;
};

}  // namespace hie
