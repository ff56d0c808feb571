#include "tools/load/mllp.h"

namespace hie::load {

std::string FrameMllp(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 3);
  out.push_back(kStartBlock);
  out.append(message);
  out.push_back(kEndBlock);
  out.push_back(kCarriageReturn);
  return out;
}

Deframed NextFrame(std::string_view buffer) {
  Deframed out;
  size_t start = buffer.find(kStartBlock);
  if (start == std::string_view::npos) {
    out.consumed = buffer.size();  // all junk
    return out;
  }
  for (size_t i = start + 1; i + 1 < buffer.size(); ++i) {
    if (buffer[i] == kEndBlock && buffer[i + 1] == kCarriageReturn) {
      out.complete = true;
      out.payload = buffer.substr(start + 1, i - start - 1);
      out.consumed = i + 2;
      return out;
    }
  }
  out.consumed = start;  // keep the partial frame
  return out;
}

namespace {

// Field `index` (MSA-1 = 1) of a segment using separator `sep`.
std::string_view Field(std::string_view segment, char sep, int index) {
  size_t pos = 0;
  for (int i = 0; i < index; ++i) {
    pos = segment.find(sep, pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  size_t end = segment.find(sep, pos);
  return segment.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
}

}  // namespace

std::optional<AckFields> ParseAck(std::string_view message) {
  if (message.size() < 4 || message.substr(0, 3) != "MSH") return std::nullopt;
  const char sep = message[3];
  size_t pos = 0;
  while (pos < message.size()) {
    size_t end = message.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = message.size();
    std::string_view seg = message.substr(pos, end - pos);
    if (seg.size() >= 4 && seg.substr(0, 3) == "MSA" && seg[3] == sep) {
      AckFields f;
      f.code = std::string(Field(seg, sep, 1));
      f.control_id = std::string(Field(seg, sep, 2));
      return f;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace hie::load
