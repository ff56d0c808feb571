// Splitting a file or request body into individual HL7 v2 messages: FHS/BHS
// batch envelopes or plain consecutive messages, CR / LF / CRLF line ends,
// blank lines, MLLP framing bytes and comment lines between messages
// (anything that is not a segment) are tolerated.
// Thread rules: pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hie {

struct Er7Split {
  // Each message from its "MSH" to the end of its last segment's terminator;
  // views into the input, which must outlive them.
  std::vector<std::string_view> messages;
  // Filled only when normalizing: the same messages with every segment
  // ended by CR (parsed by Er7Message's rules, so a lone LF that is data in
  // a CR-terminated message stays data).
  std::vector<std::string> normalized;
  bool batch = false;  // FHS or BHS seen
};

// A segment line outside any message (e.g. a PID after BHS without MSH, or a
// BHS/FHS in the middle of a message followed by the rest of it) ->
// kParseError with where "line N". Input without any MSH -> kParseError "MSH".
Result<Er7Split> SplitEr7(std::string_view text, bool normalize_to_cr = false);

}  // namespace hie
