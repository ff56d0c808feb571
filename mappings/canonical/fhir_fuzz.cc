// libFuzzer target for the FHIR R4 JSON codec: any bytes through ReadFhir;
// a document that reads is written with WriteFhir and must read again (the
// codec's round trip), and is written as HL7 v2 (CanonicalToV2) and CDA
// (WriteCda, lab report) without crashing. Built with -DHIE_FUZZ=ON (clang,
// mappings/fuzz.cmake); seeds: tests/golden (*.json).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mappings/canonical/canonical_to_v2.h"
#include "mappings/canonical/fhir.h"
#include "mappings/cda/cda_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace hie::canonical;
  (void)JsonDepth(text, 64);
  FhirReadOptions options;
  options.max_bytes = 1 << 20;
  auto m = ReadFhir(text, "F1", options);
  if (!m.ok()) return 0;
  auto again = ReadFhir(WriteFhir(*m), "F1");
  if (!again.ok()) std::abort();
  (void)WriteFhir(*m, FhirWriteOptions{.message_bundle = true});
  if (m->control_id.empty()) m->control_id = "C1";
  (void)CanonicalToV2(*m);
  hie::cda::CdaWriteOptions cda;
  cda.effective_time = "2024-01-01T00:00:00+08:00";
  (void)hie::cda::WriteCda(m->bundle, hie::cda::CdaDocumentKind::kLabReport, cda);
  return 0;
}
