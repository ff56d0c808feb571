// libFuzzer target for the CDA codec: any bytes go through ReadCda, and a
// document that reads is written back as a 检验报告 and read again. Built
// with -DHIE_FUZZ=ON (clang); seeds: ../shared/corpus/cda.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mappings/cda/cda_reader.h"
#include "mappings/cda/cda_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  hie::cda::CdaOptions options;
  options.limits.max_bytes = 1 << 20;
  auto bundle = hie::cda::ReadCda(xml, options);
  if (!bundle.ok()) return 0;
  hie::cda::CdaWriteOptions write_options;
  write_options.effective_time = "2024-01-01T00:00:00+08:00";
  auto written = hie::cda::WriteCda(*bundle, hie::cda::CdaDocumentKind::kLabReport, write_options);
  if (written.ok()) (void)hie::cda::ReadCda(*written, options);
  return 0;
}
