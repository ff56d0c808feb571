// Renders a stored message in a destination's format. Today: `hl7v2` (the
// message as UTF-8 ER7, MSH-18 rewritten to UNICODE UTF-8) and `json` (an
// envelope holding the ER7 text and its identifiers). `cda` needs the formats
// issue's CDA writer: until then it is refused with kNotImplemented, never
// faked.
// Thread rules: pure functions; safe from any thread.
#pragma once

#include <string>

#include "core/message.h"
#include "core/status.h"
#include "engine/config.h"

namespace hie {

struct RenderedPayload {
  std::string content_type;  // for HTTP
  std::string body;
  std::string file_extension;  // ".hl7", ".json", ".xml"
};

// The message's text in UTF-8, decoded from its stored charset.
Result<std::string> MessageTextUtf8(const MessageRecord& m);

Result<RenderedPayload> RenderForDestination(const MessageRecord& m, DestinationFormat format);

}  // namespace hie
