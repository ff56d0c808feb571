#include "engine/transform.h"

#include <nlohmann/json.hpp>

#include "core/env.h"
#include "mappings/hl7v2/charset.h"

namespace hie {
namespace {

bool IsUtf8Label(std::string_view l) {
  return l.empty() || l == "UNICODE UTF-8" || l == "UTF-8" || l == "UTF8" || l == "utf-8";
}

// Sets MSH-18 to "UNICODE UTF-8" in ER7 text, keeping every other byte.
std::string RewriteMsh18(std::string text) {
  if (text.size() < 8 || text.compare(0, 3, "MSH") != 0) return text;
  const char fs = text[3];
  size_t seg_end = text.find_first_of("\r\n");
  if (seg_end == std::string::npos) seg_end = text.size();
  // Field n of MSH (n >= 2) begins after the (n-1)th separator.
  size_t pos = 3;
  int field = 1;
  while (field < 18) {
    size_t next = text.find(fs, pos + 1);
    if (next == std::string::npos || next >= seg_end) return text;  // no MSH-18
    pos = next;
    ++field;
  }
  size_t start = pos + 1;
  size_t end = text.find(fs, start);
  if (end == std::string::npos || end > seg_end) end = seg_end;
  text.replace(start, end - start, "UNICODE UTF-8");
  return text;
}

}  // namespace

Result<std::string> MessageTextUtf8(const MessageRecord& m) {
  if (IsUtf8Label(m.charset)) return m.raw;
  HIE_ASSIGN_OR_RETURN(std::string text, DecodeToUtf8(m.raw, m.charset));
  return RewriteMsh18(std::move(text));
}

Result<RenderedPayload> RenderForDestination(const MessageRecord& m, DestinationFormat format) {
  switch (format) {
    case DestinationFormat::kHl7v2: {
      HIE_ASSIGN_OR_RETURN(std::string text, MessageTextUtf8(m));
      return RenderedPayload{"application/hl7-v2; charset=utf-8", std::move(text), ".hl7"};
    }
    case DestinationFormat::kJson: {
      HIE_ASSIGN_OR_RETURN(std::string text, MessageTextUtf8(m));
      nlohmann::json j;
      j["id"] = m.id;
      j["facility"] = m.facility_id;
      j["control_id"] = m.control_id;
      j["message_type"] = m.message_type;
      j["received_at"] = FormatTimeMillis(m.received_at_ms);
      j["content_type"] = "application/hl7-v2";
      j["hl7v2"] = text;
      return RenderedPayload{"application/json; charset=utf-8",
                             j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                             ".json"};
    }
    case DestinationFormat::kCda:
      return Status(ErrorCode::kNotImplemented,
                    "CDA 输出尚未实现 (CDA output not implemented yet; it comes with the formats "
                    "issue): 请将目的地 format 设为 hl7v2 或 json",
                    "destinations.format");
  }
  return Status(ErrorCode::kInternal, "unknown format");
}

}  // namespace hie
