// Canonical model -> HL7 v2 ER7 for ADT A01/A04/A08/A28/A31/A40, ORU^R01 and
// DFT^P03: the mirror image of v2_to_canonical.h, so that v2 -> canonical ->
// v2 -> canonical gives the same canonical JSON.
//
// Segments are written in the order of the bundle's entries: Patient -> PID
// (a Patient "replaced-by" another -> MRG), Encounter -> PV1,
// DiagnosticReport -> OBR, NTE (conclusion) and the OBX/NTE of its results,
// Observation not in a report -> OBX/NTE, Condition -> DG1,
// ExplanationOfBenefit -> FT1 (items, then settlement rows); ADT and DFT get
// an EVN; Z-segments kept in Bundle.meta.extension come last. Data are
// escaped (\F\ \S\ \T\ \R\ \E\, line breaks as \.br\). Other resources are
// not written.
//
// Thread rules: pure functions, safe from any thread.
#pragma once

#include <string>

#include "core/status.h"
#include "mappings/canonical/model.h"
#include "mappings/hl7v2/er7.h"

namespace hie::canonical {

struct V2WriteOptions {
  std::string sending_application = "HIE";  // MSH-3
  std::string receiving_application;        // MSH-5
  std::string receiving_facility;           // MSH-6
  std::string version = "2.4";              // MSH-12
  // "" or "UTF-8": UTF-8 text, MSH-18 "UNICODE UTF-8". "GB18030" / "GBK":
  // the bytes are encoded in GB 18030, MSH-18 "GB 18030-2000".
  std::string charset;
  SegmentTerminator terminator = SegmentTerminator::kCR;
};

// Errors: a message type not mapped -> kUnsupportedType "MSH-9"; an empty
// control_id -> kRequiredMissing "MSH-10" (set it, e.g. from the source's
// MSH-10 or Idempotency-Key, before writing); a time that
// is not FHIR -> kParseError naming the JSON pointer; a character the
// charset cannot hold -> kUnsupportedCharset.
Result<std::string> CanonicalToV2(const CanonicalMessage& msg, const V2WriteOptions& options = {});

}  // namespace hie::canonical
