#include "mappings/hl7v2/batch.h"

#include "mappings/hl7v2/er7.h"

namespace hie {
namespace {

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsIdChar(char c) { return IsUpper(c) || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsIdChar(c) || (c >= 'a' && c <= 'z'); }

// "XXX" followed by a separator (any printable non-alphanumeric) or nothing.
bool IsSegmentLine(std::string_view line) {
  if (line.size() < 3 || !IsUpper(line[0]) || !IsIdChar(line[1]) || !IsIdChar(line[2])) {
    return false;
  }
  if (line.size() == 3) return true;
  char c = line[3];
  return !IsAlnum(c) && static_cast<unsigned char>(c) > 0x20 &&
         static_cast<unsigned char>(c) < 0x7f;
}

bool IsEnvelope(std::string_view id) {
  return id == "FHS" || id == "BHS" || id == "BTS" || id == "FTS";
}

}  // namespace

Result<Er7Split> SplitEr7(std::string_view text, bool normalize_to_cr) {
  Er7Split out;
  const size_t n = text.size();
  size_t pos = 0;
  size_t line_no = 0;
  size_t msg_begin = std::string_view::npos;  // start of the open message
  size_t msg_end = 0;                         // end of its last segment line
  auto close = [&]() {
    if (msg_begin != std::string_view::npos) {
      out.messages.push_back(text.substr(msg_begin, msg_end - msg_begin));
      msg_begin = std::string_view::npos;
    }
  };
  while (pos < n) {
    ++line_no;
    size_t eol = pos;
    while (eol < n && text[eol] != '\r' && text[eol] != '\n') ++eol;
    size_t next = eol;
    if (next < n) next += (text[next] == '\r' && next + 1 < n && text[next + 1] == '\n') ? 2 : 1;
    // Strip MLLP framing and indentation around the line.
    size_t b = pos;
    for (;;) {  // MLLP start byte, indentation, UTF-8 byte order mark
      if (b < eol && (text[b] == '\x0b' || text[b] == ' ' || text[b] == '\t')) {
        ++b;
      } else if (text.substr(b, 3) == "\xEF\xBB\xBF") {
        b += 3;
      } else {
        break;
      }
    }
    size_t e = eol;
    while (e > b && (text[e - 1] == '\x1c' || text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
    std::string_view line = text.substr(b, e - b);
    if (!IsSegmentLine(line)) {  // blank, framing or comment line
      pos = next;
      continue;
    }
    std::string_view id = line.substr(0, 3);
    if (id == "MSH") {
      close();
      msg_begin = b;
      msg_end = next;
    } else if (IsEnvelope(id)) {
      close();
      out.batch = out.batch || id == "FHS" || id == "BHS";
    } else if (msg_begin == std::string_view::npos) {
      return Status(
          ErrorCode::kParseError,
          "段 " + std::string(id) + " 不在任何消息内 (segment outside a message, MSH missing)",
          "line " + std::to_string(line_no));
    } else {
      msg_end = next;
    }
    pos = next;
  }
  close();
  if (out.messages.empty()) {
    return Status(ErrorCode::kParseError, "未找到 MSH 段 (no MSH segment found)", "MSH");
  }
  if (normalize_to_cr) {
    out.normalized.reserve(out.messages.size());
    for (std::string_view m : out.messages) {
      auto parsed = Er7Message::Parse(m);
      if (parsed.ok()) {
        out.normalized.push_back(parsed->Serialize(SegmentTerminator::kCR));
        continue;
      }
      std::string s;  // unparseable: still normalize line ends for the error store
      for (size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\r' && i + 1 < m.size() && m[i + 1] == '\n') continue;
        s += m[i] == '\n' ? '\r' : m[i];
      }
      out.normalized.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace hie
