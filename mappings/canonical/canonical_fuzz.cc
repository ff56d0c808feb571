// libFuzzer target for the canonical codecs. The first byte picks the path:
// even -> HL7 v2 bytes through V2ToCanonical, and a message that maps is
// written back with CanonicalToV2 and mapped again; odd -> FHIR JSON through
// ReadFhir, WriteFhir, ReadFhir and CanonicalToV2. Built with -DHIE_FUZZ=ON
// (clang); seeds: tests/golden/v2 (prefix a 0 byte) and the *.fhir.json there.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mappings/canonical/canonical_to_v2.h"
#include "mappings/canonical/fhir.h"
#include "mappings/canonical/v2_to_canonical.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool fhir = (data[0] & 1) != 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace hie::canonical;
  if (!fhir) {
    V2ReadOptions options;
    options.max_bytes = 1 << 20;
    auto m = V2ToCanonical(text, "F1", options);
    if (!m.ok()) return 0;
    (void)ToJson(*m).dump();
    auto v2 = CanonicalToV2(*m);
    if (!v2.ok()) return 0;
    // What we wrote must map again.
    if (!V2ToCanonical(*v2, "F1").ok()) std::abort();
    return 0;
  }
  FhirReadOptions options;
  options.max_bytes = 1 << 20;
  auto m = ReadFhir(text, "F1", options);
  if (!m.ok()) return 0;
  auto again = ReadFhir(WriteFhir(*m), "F1");
  if (!again.ok()) std::abort();
  if (m->control_id.empty()) m->control_id = "C1";
  (void)CanonicalToV2(*m);
  return 0;
}
