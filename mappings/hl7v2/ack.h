// HL7 v2 acknowledgements: building the ACK the MLLP intake answers with and
// reading the ACK a destination (or `hie send`) gets back.
// Thread rules: pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "mappings/hl7v2/msh.h"

namespace hie {

enum class AckCode { kAA, kAE, kAR };
std::string_view AckCodeText(AckCode code);  // "AA" / "AE" / "AR"

// An ER7 ACK with CR segment ends, in UTF-8 (MSH-18 "UNICODE UTF-8"):
//   MSH  sender/receiver swapped (our MSH-3/4 = their MSH-5/6, "COUNTY-HIE"
//        when empty), MSH-9 ACK^<trigger>^ACK, MSH-10 ack_control_id,
//        MSH-11/12 theirs (default P / 2.5)
//   MSA  code | their MSH-10 | error.ToString() for AE/AR
//   ERR  (AE/AR only) ERR-2 location from error.where() ("PID-3" ->
//        PID^1^3), ERR-3 <Hl7ErrorCode>^<English text>^HL70357, ERR-4 E,
//        ERR-8 error.ToString(); for v2.1-2.4 receivers also ERR-1.
// `msh` is null when the MSH could not be read.
std::string BuildAck(const MshInfo* msh, AckCode code, const Status& error,
                     std::string_view ack_control_id, std::string_view timestamp);

struct AckInfo {
  std::string code;        // MSA-1: AA AE AR CA CE CR
  std::string control_id;  // MSA-2: the acknowledged MSH-10
  std::string text;        // MSA-3, or ERR-8 when MSA-3 is empty
  std::string error_code;  // ERR-3.1 (or ERR-1.4.1), may be empty
  bool accepted() const { return code == "AA" || code == "CA"; }
};

// Parses an ACK (MLLP framing tolerated; decoded per its MSH-18).
// No MSA -> kParseError "MSA"; unknown MSA-1 -> kParseError "MSA-1".
Result<AckInfo> ReadAck(std::string_view ack);

}  // namespace hie
