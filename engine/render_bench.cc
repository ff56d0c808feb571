// What the formats and terminology work costs per message, single thread:
// the unmapped check the audit worker runs after each ACK (canonical model +
// ApplyTerminology + register), and rendering each destination format, for a
// realistic ORU^R01 (10 OBX) with the shipped tables plus a local map.
//   build-*/engine/render_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/env.h"
#include "core/metrics.h"
#include "engine/canonicalize.h"
#include "engine/transform.h"

namespace hie {
namespace {

namespace fs = std::filesystem;

std::string Oru10() {
  static const char* kItems[][4] = {
      {"WBC", "白细胞计数", "6.5", "10*9/L"}, {"RBC", "红细胞计数", "4.8", "10*12/L"},
      {"HGB", "血红蛋白", "135", "g/L"},      {"PLT", "血小板计数", "210", "10*9/L"},
      {"ALT", "谷丙转氨酶", "23", "U/L"},     {"AST", "谷草转氨酶", "21", "U/L"},
      {"CREA", "肌酐", "78", "umol/L"},       {"UREA", "尿素", "5.1", "mmol/L"},
      {"GLU", "葡萄糖", "5.6", "mmol/L"},     {"XX9", "未映射项目", "1.0", "g/L"}};
  std::string m =
      "MSH|^~\\&|LIS|BENCH|HIE|COUNTY|20260101120000||ORU^R01^ORU_R01|B1|P|2.4|||||CHN|UNICODE "
      "UTF-8\rPID|1||MR1^^^BENCH^MR~430124199003071234^^^^NI||张三||19900307|M\r"
      "PV1|1|O|检验科\rOBR|1|O1|F1|CBC^血常规^L|||20260101100000||||||||||||||20260101110000||HM|F\r";
  for (int i = 0; i < 10; ++i) {
    m += "OBX|" + std::to_string(i + 1) + "|NM|" + kItems[i][0] + "^" + kItems[i][1] + "^L||" +
         kItems[i][2] + "|" + kItems[i][3] + "|1-10|N|||F|||20260101100000\r";
  }
  return m;
}

struct Fixture {
  fs::path dir;
  FakeEnv env;
  MetricsRegistry metrics;
  std::unique_ptr<TerminologyService> svc;
  std::unique_ptr<Renderer> renderer;
  MessageRecord msg;

  Fixture() {
    dir = fs::temp_directory_path() / ("hie-render-bench-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(fs::path(HIE_SOURCE_DIR) / "terminology/data")) {
      if (e.path().extension() == ".csv") fs::copy_file(e.path(), dir / e.path().filename());
    }
    std::ofstream(dir / "local-BENCH.csv")
        << "source_system,source_code,source_display,target_system,target_code,target_display\n"
        << "local:BENCH,WBC,,LOINC,6690-2,\nlocal:BENCH,RBC,,LOINC,789-8,\n"
        << "local:BENCH,HGB,,LOINC,718-7,\nlocal:BENCH,PLT,,LOINC,777-3,\n"
        << "local:BENCH,ALT,,LOINC,1742-6,\nlocal:BENCH,AST,,LOINC,1920-8,\n"
        << "local:BENCH,CREA,,LOINC,14682-9,\nlocal:BENCH,UREA,,LOINC,22664-7,\n"
        << "local:BENCH,GLU,,LOINC,2345-7,\nlocal:BENCH,CBC,,LOINC,58410-2,\n";
    svc = std::make_unique<TerminologyService>(dir.string(), std::vector<std::string>{"BENCH"}, env,
                                               &metrics);
    if (!svc->Load().ok()) abort();
    renderer = std::make_unique<Renderer>(svc.get());
    msg.id = 1;
    msg.raw = Oru10();
    msg.content_type = "application/hl7-v2";
    msg.facility_id = "BENCH";
    msg.charset = "UNICODE UTF-8";
    msg.message_type = "ORU^R01";
    msg.control_id = "B1";
  }
  ~Fixture() { fs::remove_all(dir); }
};

Fixture& F() {
  static Fixture f;
  return f;
}

void BM_CanonicalizeOnly(benchmark::State& state) {
  for (auto _ : state) {
    auto c = Canonicalize(F().msg);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CanonicalizeOnly);

void BM_ApplyTerminologyOnly(benchmark::State& state) {
  auto c = Canonicalize(F().msg);
  if (!c.ok()) abort();
  auto snap = F().svc->Current();
  for (auto _ : state) {
    state.PauseTiming();
    canonical::CanonicalMessage m = *c;
    std::vector<UnmappedFind> finds;
    state.ResumeTiming();
    ApplyTerminology(m, *snap, &finds);
    benchmark::DoNotOptimize(finds);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ApplyTerminologyOnly);

// The whole per-message check the audit worker runs after the ACK.
void BM_CheckCommitted(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(F().svc->CheckCommitted(F().msg));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckCommitted);

void BM_Render(benchmark::State& state, DestinationFormat format) {
  for (auto _ : state) {
    auto out = F().renderer->Render(F().msg, format);
    if (!out.ok()) state.SkipWithError(out.status().ToString().c_str());
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Render, hl7v2_passthrough, DestinationFormat::kHl7v2);
BENCHMARK_CAPTURE(BM_Render, json_fhir, DestinationFormat::kJson);
BENCHMARK_CAPTURE(BM_Render, cda_c0007, DestinationFormat::kCda);

}  // namespace
}  // namespace hie

BENCHMARK_MAIN();
