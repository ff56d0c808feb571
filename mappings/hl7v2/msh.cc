#include "mappings/hl7v2/msh.h"

namespace hie {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

HdParts ReadHd(const Er7Message& m, std::string_view field) {
  std::string base(field);
  HdParts hd;
  hd.namespace_id = Trim(m.Decoded(base + ".1"));
  hd.universal_id = Trim(m.Decoded(base + ".2"));
  hd.universal_id_type = Trim(m.Decoded(base + ".3"));
  return hd;
}

}  // namespace

Result<MshInfo> ReadMsh(std::string_view raw) {
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
  size_t eol = raw.find_first_of("\r\n", start);
  std::string_view line =
      raw.substr(start, eol == std::string_view::npos ? raw.size() - start : eol - start);
  HIE_ASSIGN_OR_RETURN(Er7Message m, Er7Message::Parse(line));
  MshInfo info;
  info.delimiters = m.delimiters();
  info.sending_application_hd = ReadHd(m, "MSH-3");
  info.sending_facility_hd = ReadHd(m, "MSH-4");
  info.receiving_application_hd = ReadHd(m, "MSH-5");
  info.receiving_facility_hd = ReadHd(m, "MSH-6");
  info.sending_application = info.sending_application_hd.namespace_id;
  info.sending_facility = info.sending_facility_hd.namespace_id;
  info.receiving_application = info.receiving_application_hd.namespace_id;
  info.receiving_facility = info.receiving_facility_hd.namespace_id;
  info.datetime = Trim(m.Decoded("MSH-7.1"));
  info.message_code = Trim(m.Decoded("MSH-9.1"));
  if (info.message_code.empty()) {  // empty, or only a trigger
    return Status(ErrorCode::kRequiredMissing,
                  "缺少必填字段 MSH-9 消息类型 (required field missing: message type)", "MSH-9");
  }
  info.trigger_event = Trim(m.Decoded("MSH-9.2"));
  info.message_structure = Trim(m.Decoded("MSH-9.3"));
  info.message_type =
      info.trigger_event.empty() ? info.message_code : info.message_code + "^" + info.trigger_event;
  info.control_id = Trim(m.Decoded("MSH-10"));
  if (info.control_id.empty()) {
    return Status(ErrorCode::kRequiredMissing,
                  "缺少必填字段 MSH-10 消息控制号 (required field missing: message control ID)",
                  "MSH-10");
  }
  info.processing_id = Trim(m.Decoded("MSH-11.1"));
  info.version = Trim(m.Decoded("MSH-12.1"));
  info.charset = Trim(m.Decoded("MSH-18[1]"));
  return info;
}

}  // namespace hie
