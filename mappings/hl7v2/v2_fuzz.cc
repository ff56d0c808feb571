// libFuzzer target for the HL7 v2 codec: any bytes through the intake's
// readers (SplitEr7, ReadMsh, DecodeToUtf8, Er7Message::Parse, every field
// unescaped, PatientKey, BuildAck/ReadAck) and the v2 -> canonical mapping.
// Invariants checked (abort = a finding): what the parser accepted
// serializes to text that parses again and serializes the same; a message
// that maps to the canonical model and is written back with CanonicalToV2
// maps again. Built with -DHIE_FUZZ=ON (clang, mappings/fuzz.cmake); seeds:
// ../shared/corpus/hl7v2 and tests/golden/v2.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mappings/canonical/canonical_to_v2.h"
#include "mappings/canonical/v2_to_canonical.h"
#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/batch.h"
#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/msh.h"
#include "mappings/hl7v2/pid.h"

namespace {

void ParseAndWalk(std::string_view text) {
  auto parsed = hie::Er7Message::Parse(text);
  if (!parsed.ok()) return;
  size_t bytes = 0;
  for (size_t s = 0; s < parsed->segment_count() && s < 64; ++s) {
    for (size_t f = 1; f <= parsed->field_count(s) && f <= 64; ++f) {
      bytes += parsed->Unescape(parsed->field(s, f)).size();
    }
  }
  (void)bytes;
  (void)hie::PatientKey(*parsed, "F1");
  (void)parsed->Get("PID-3");
  (void)parsed->Decoded("PID-5.1");
  const std::string once = parsed->Serialize();
  auto again = hie::Er7Message::Parse(once);
  if (!again.ok()) std::abort();                 // serialized text must parse
  if (again->Serialize() != once) std::abort();  // and be stable
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto split = hie::SplitEr7(text, /*normalize_to_cr=*/true); split.ok()) {
    for (const auto& m : split->normalized) ParseAndWalk(m);
  }
  auto msh = hie::ReadMsh(text);
  std::string utf8;
  if (msh.ok()) {
    auto decoded = hie::DecodeToUtf8(text, msh->charset);
    if (decoded.ok()) utf8 = std::move(*decoded);
    const std::string ack = hie::BuildAck(&*msh, hie::AckCode::kAE,
                                          hie::Status(hie::ErrorCode::kParseError, "x", "PID-3"),
                                          "A1", "20240101000000");
    if (!hie::ReadAck(ack).ok()) std::abort();  // our own ACK must read back
  } else {
    utf8 = std::string(text);
  }
  ParseAndWalk(utf8);

  using namespace hie::canonical;
  V2ReadOptions options;
  options.max_bytes = 1 << 20;
  options.lenient = (size & 1) != 0;
  auto m = V2ToCanonical(text, "F1", options);
  if (!m.ok()) return 0;
  (void)ToJson(*m).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto v2 = CanonicalToV2(*m);
  if (!v2.ok()) return 0;
  if (!V2ToCanonical(*v2, "F1").ok()) std::abort();  // what we wrote must map again
  return 0;
}
