#include "mappings/hl7v2/msh.h"

#include <array>

namespace hie {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// *out = Trim(Er7Unescape(raw)): unescaped, then spaces and tabs cut (an
// escape such as \X20\ can produce them). Without an escape character in
// `raw` that is the trimmed view, copied once.
void Clean(std::string_view raw, const Er7Delimiters& d, std::string* out) {
  if (raw.empty()) {
    out->clear();
    return;
  }
  if (d.escape != '\0') {
    for (char c : raw) {
      if (c == d.escape) {
        *out = Trim(Er7Unescape(raw, d));
        return;
      }
    }
  }
  size_t b = 0, e = raw.size();
  while (b < e && IsSpace(raw[b])) ++b;
  while (e > b && IsSpace(raw[e - 1])) --e;
  out->assign(raw.substr(b, e - b));
}

// Components 1..3 of the first repetition of a raw field, in one pass: what
// the paths "MSH-f.1" .. "MSH-f.3" give (Er7Piece of Er7Piece).
std::array<std::string_view, 3> FirstComponents(std::string_view f, const Er7Delimiters& d) {
  std::array<std::string_view, 3> out{};
  size_t k = 0, start = 0, i = 0;
  for (; i < f.size(); ++i) {
    const char c = f[i];
    if (c == d.repetition && d.repetition != '\0') break;
    if (c == d.component) {
      out[k] = f.substr(start, i - start);
      start = i + 1;
      if (++k == out.size()) return out;
    }
  }
  out[k] = f.substr(start, i - start);
  return out;
}

void ReadHd(std::string_view field, const Er7Delimiters& d, HdParts* hd) {
  const auto c = FirstComponents(field, d);
  Clean(c[0], d, &hd->namespace_id);
  Clean(c[1], d, &hd->universal_id);
  Clean(c[2], d, &hd->universal_id_type);
}

}  // namespace

Status ReadMsh(std::string_view raw, MshInfo* out) {
  size_t start = 0;
  for (;;) {  // MLLP start byte, blank lines, UTF-8 byte order mark
    if (start < raw.size() &&
        (raw[start] == '\x0b' || raw[start] == ' ' || raw[start] == '\r' || raw[start] == '\n')) {
      ++start;
    } else if (raw.substr(start, 3) == "\xEF\xBB\xBF") {
      start += 3;
    } else {
      break;
    }
  }
  const size_t eol = Er7FindFieldEnd(raw, start, '\r');  // first CR or LF
  std::string_view line = raw.substr(start, eol - start);
  // The line holds no CR or LF, so Er7Message::Parse would make it one MSH
  // segment: after the same header checks, its fields are the pieces between
  // field separators (MSH-2 first).
  size_t at = 0;
  HIE_ASSIGN_OR_RETURN(const Er7Delimiters d, Er7ReadHeader(line, &at));
  std::array<std::string_view, 19> fields{};  // [n]: MSH-n, n = 2 .. 18
  for (size_t n = 2, begin = at + 4;; ++n) {
    const size_t end = Er7FindFieldEnd(line, begin, d.field);
    fields[n] = line.substr(begin, end - begin);
    if (n + 1 == fields.size() || end == line.size()) break;
    begin = end + 1;
  }
  auto field = [&](size_t n) { return fields[n]; };
  MshInfo& info = *out;
  info.delimiters = d;
  ReadHd(field(3), d, &info.sending_application_hd);
  ReadHd(field(4), d, &info.sending_facility_hd);
  ReadHd(field(5), d, &info.receiving_application_hd);
  ReadHd(field(6), d, &info.receiving_facility_hd);
  info.sending_application = info.sending_application_hd.namespace_id;
  info.sending_facility = info.sending_facility_hd.namespace_id;
  info.receiving_application = info.receiving_application_hd.namespace_id;
  info.receiving_facility = info.receiving_facility_hd.namespace_id;
  Clean(FirstComponents(field(7), d)[0], d, &info.datetime);
  const auto type = FirstComponents(field(9), d);
  Clean(type[0], d, &info.message_code);
  if (info.message_code.empty()) {  // empty, or only a trigger
    return Status(ErrorCode::kRequiredMissing,
                  "缺少必填字段 MSH-9 消息类型 (required field missing: message type)", "MSH-9");
  }
  Clean(type[1], d, &info.trigger_event);
  Clean(type[2], d, &info.message_structure);
  if (info.trigger_event.empty()) {
    info.message_type = info.message_code;
  } else {
    info.message_type.reserve(info.message_code.size() + 1 + info.trigger_event.size());
    info.message_type.assign(info.message_code).append(1, '^').append(info.trigger_event);
  }
  Clean(field(10), d, &info.control_id);  // the whole field, as "MSH-10"
  if (info.control_id.empty()) {
    return Status(ErrorCode::kRequiredMissing,
                  "缺少必填字段 MSH-10 消息控制号 (required field missing: message control ID)",
                  "MSH-10");
  }
  Clean(FirstComponents(field(11), d)[0], d, &info.processing_id);
  Clean(FirstComponents(field(12), d)[0], d, &info.version);
  Clean(Er7Piece(field(18), d.repetition, 1), d, &info.charset);  // "MSH-18[1]"
  return Status::Ok();
}

Result<MshInfo> ReadMsh(std::string_view raw) {
  MshInfo info;
  HIE_RETURN_IF_ERROR(ReadMsh(raw, &info));
  return info;
}

}  // namespace hie
