// Reading the MSH header of a raw HL7 v2 message before anything else: the
// intake needs sender, type, control id and charset to route, deduplicate
// and answer with an ACK, even when the rest of the message is broken or in
// a non-UTF-8 charset. MSH is ASCII in practice, so this works on the raw
// bytes and stops at the first segment end.
// Thread rules: pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "mappings/hl7v2/er7.h"

namespace hie {

// An HD (hierarchic designator) value, unescaped.
struct HdParts {
  std::string namespace_id;       // HD.1
  std::string universal_id;       // HD.2
  std::string universal_id_type;  // HD.3
  bool empty() const {
    return namespace_id.empty() && universal_id.empty() && universal_id_type.empty();
  }
};

// MSH fields, unescaped. HD fields give their namespace id (HD.1); the
// *_hd members keep all three parts for echoing in ACKs.
struct MshInfo {
  std::string sending_application;    // MSH-3.1
  std::string sending_facility;       // MSH-4.1 (may be empty: the caller decides)
  std::string receiving_application;  // MSH-5.1
  std::string receiving_facility;     // MSH-6.1
  std::string datetime;               // MSH-7.1
  std::string message_code;           // MSH-9.1, e.g. "ADT"
  std::string trigger_event;          // MSH-9.2, e.g. "A04"
  std::string message_structure;      // MSH-9.3, e.g. "ADT_A01"
  std::string message_type;           // "ADT^A04", or just the code without trigger
  std::string control_id;             // MSH-10
  std::string processing_id;          // MSH-11.1
  std::string version;                // MSH-12.1
  std::string charset;                // MSH-18, first repetition
  HdParts sending_application_hd, sending_facility_hd;
  HdParts receiving_application_hd, receiving_facility_hd;
  Er7Delimiters delimiters;
};

// Errors: no "MSH" at the start -> kParseError "MSH"; bad separator ->
// "MSH-1"; bad encoding characters -> "MSH-2"; empty MSH-9.1 / MSH-10 ->
// kRequiredMissing "MSH-9" / "MSH-10". Leading MLLP/whitespace is skipped.
Result<MshInfo> ReadMsh(std::string_view raw);
// The same into a caller's MshInfo (fresh, default-constructed), without the
// moves of a Result; on error *out is partly filled and must not be used.
Status ReadMsh(std::string_view raw, MshInfo* out);

}  // namespace hie
