#include "connectors/mllp/mllp_framing.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace hie {

void AppendMllpFrame(std::string_view payload, std::string* out) {
  out->reserve(out->size() + payload.size() + 3);
  out->push_back(kMllpStartBlock);
  out->append(payload);
  out->push_back(kMllpEndBlock);
  out->push_back(kMllpCarriageReturn);
}

std::string MllpFrame(std::string_view payload) {
  std::string out;
  AppendMllpFrame(payload, &out);
  return out;
}

MllpDecoder::MllpDecoder(size_t max_message_bytes) : max_(max_message_bytes) {}

void MllpDecoder::AppendBody(const char* p, size_t n) {
  cur_size_ += n;
  if (cur_.size() < max_) cur_.append(p, std::min(n, max_ - cur_.size()));
}

void MllpDecoder::Emit(MllpDecodedFrame::Kind kind, std::vector<MllpDecodedFrame>* out) {
  MllpDecodedFrame& f = out->emplace_back();
  f.kind = kind;
  f.size = cur_size_;
  f.payload = std::move(cur_);
  cur_.clear();  // a moved-from string is valid but unspecified
  cur_size_ = 0;
}

void MllpDecoder::Feed(std::string_view data, std::vector<MllpDecodedFrame>* out) {
  const char* p = data.data();
  const char* const end = p + data.size();
  while (p < end) {
    switch (state_) {
      case State::kAfterEnd:
        // Lenient: the CR after FS is optional.
        if (*p == kMllpCarriageReturn) ++p;
        state_ = State::kIdle;
        break;
      case State::kIdle: {
        const char* s = static_cast<const char*>(std::memchr(p, kMllpStartBlock, end - p));
        if (s == nullptr) {
          garbage_bytes_ += end - p;
          p = end;
        } else {
          garbage_bytes_ += s - p;
          p = s + 1;
          state_ = State::kInFrame;
          cur_.clear();
          cur_size_ = 0;
        }
        break;
      }
      case State::kInFrame: {
        const size_t n = end - p;
        const char* e = static_cast<const char*>(std::memchr(p, kMllpEndBlock, n));
        const size_t span = e != nullptr ? static_cast<size_t>(e - p) : n;
        const char* s = static_cast<const char*>(std::memchr(p, kMllpStartBlock, span));
        if (s != nullptr) {
          // A new start block before the end block: the sender gave up on
          // the unfinished frame and started over.
          AppendBody(p, s - p);
          Emit(MllpDecodedFrame::Kind::kTruncated, out);
          p = s + 1;  // still in a frame: the new one
          break;
        }
        AppendBody(p, span);
        if (e == nullptr) {
          p = end;
        } else {
          Emit(cur_size_ > max_ ? MllpDecodedFrame::Kind::kOversized
                                : MllpDecodedFrame::Kind::kMessage,
               out);
          p = e + 1;
          state_ = State::kAfterEnd;
        }
        break;
      }
    }
  }
}

bool MllpDecoder::Finish(MllpDecodedFrame* out) {
  const bool open = state_ == State::kInFrame;
  if (open) {
    out->kind = MllpDecodedFrame::Kind::kTruncated;
    out->size = cur_size_;
    out->payload = std::move(cur_);
  }
  cur_.clear();
  cur_size_ = 0;
  state_ = State::kIdle;
  return open;
}

}  // namespace hie
