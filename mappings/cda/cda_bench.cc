// Google Benchmark: CDA read and write throughput (documents/s, bytes/s) on
// the golden 检验报告 and a C-CDA document of the shared corpus.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "mappings/cda/cda_reader.h"
#include "mappings/cda/cda_writer.h"

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void BM_ReadCda(benchmark::State& state, const std::string& path) {
  const std::string xml = Slurp(path);
  hie::cda::CdaOptions options;
  options.oid_table = hie::cda::OidTable::BuiltIn();
  for (auto _ : state) {
    auto r = hie::cda::ReadCda(xml, options);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * xml.size()));
  state.SetItemsProcessed(state.iterations());
}

// Writing one document from the canonical model read from its golden file.
void BM_WriteCda(benchmark::State& state, const std::string& golden,
                 hie::cda::CdaDocumentKind kind) {
  const std::string xml = Slurp(std::string(HIE_SOURCE_DIR) + "/tests/golden/cda/" + golden);
  auto bundle = hie::cda::ReadCda(xml, {});
  if (!bundle.ok()) {
    state.SkipWithError(bundle.status().ToString().c_str());
    return;
  }
  hie::cda::CdaWriteOptions options;
  options.oid_table = hie::cda::OidTable::BuiltIn();
  size_t bytes = 0;
  for (auto _ : state) {
    auto r = hie::cda::WriteCda(*bundle, kind, options);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    if (r.ok()) bytes += r->size();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_ReadCda, ws_lab_report,
                  std::string(HIE_SOURCE_DIR) + "/tests/golden/cda/lab-report.glucose.cda.xml");
BENCHMARK_CAPTURE(BM_ReadCda, ccda_ccd,
                  std::string(HIE_CORPUS_DIR) + "/cda/microsoft-fhir-converter/C-CDA_R2-1_CCD.xml");
BENCHMARK_CAPTURE(BM_WriteCda, lab_report_C0007, "lab-report.glucose.cda.xml",
                  hie::cda::CdaDocumentKind::kLabReport);
BENCHMARK_CAPTURE(BM_WriteCda, outpatient_record_C0002, "outpatient-record.fever.cda.xml",
                  hie::cda::CdaDocumentKind::kOutpatientRecord);
BENCHMARK_CAPTURE(BM_WriteCda, health_record_B0001, "health-record-basic.li-si.cda.xml",
                  hie::cda::CdaDocumentKind::kHealthRecordBasic);

}  // namespace

BENCHMARK_MAIN();
