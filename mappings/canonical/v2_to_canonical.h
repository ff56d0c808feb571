// HL7 v2 -> canonical model (see model.h for the conventions) for ADT
// A01/A04/A08/A28/A31/A40, ORU^R01 and DFT^P03.
//
// Segments mapped: MSH (MSH-7 -> Bundle.timestamp), PID, MRG (A40), PV1,
// OBR, OBX, NTE (after OBR -> DiagnosticReport.conclusion, after OBX ->
// Observation.note), DG1, FT1; Z-segments are kept in Bundle.meta.extension.
// Other segments (EVN, PD1, NK1, PV2, ORC, SPM, AL1, IN1, ...) are not
// carried into the canonical model yet.
//
// Errors are Statuses whose `where` names the segment/field ("OBX[3]-14")
// and whose message is Chinese with the English term.
//
// Thread rules: pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "mappings/canonical/model.h"
#include "mappings/hl7v2/er7.h"

namespace hie::canonical {

struct V2ReadOptions {
  // The facility's configured charset, used when MSH-18 is empty, or when
  // the bytes are not valid in the MSH-18 charset (senders that label GBK
  // text as UTF-8). Empty: UTF-8.
  std::string default_charset;
  // Larger input is refused with kTooLarge before decoding.
  size_t max_bytes = 16u << 20;
  // Lenient: a value that cannot be read (a bad timestamp such as
  // "99999999", an amount that is not a number) is left out instead of
  // failing the message, and reported in *warnings (when given) with its
  // field, e.g. for an AE acknowledgement. Missing required elements and
  // broken structure still fail.
  bool lenient = false;
  std::vector<Status>* warnings = nullptr;
};

// True for the message types mapped here ("ADT^A01", "ORU^R01", ...).
bool IsMappedV2Type(std::string_view message_type);

// Decodes `raw` (MSH-18 charset -> UTF-8), parses it and maps it.
// `facility` is the sending facility's id as the intake identified it; it
// names local code systems ("local:<facility>") and MR numbers. Empty: MSH-4.1.
Result<CanonicalMessage> V2ToCanonical(std::string_view raw, std::string_view facility,
                                       const V2ReadOptions& options = {});

// Maps an already parsed message whose text is UTF-8.
Result<CanonicalMessage> V2ToCanonical(const Er7Message& msg, std::string_view facility,
                                       const V2ReadOptions& options = {});

}  // namespace hie::canonical
