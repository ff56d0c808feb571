// Parse throughput of the ER7 parser: the shared corpus and a realistic
// ORU^R01 with 10 OBX. Goal: >= 300 MB/s for parsing alone. Also the other
// per-message steps of the MLLP intake (ReadMsh, BuildAck, DecodeToUtf8).
// `er7_bench --dump-workload DIR` writes the exact messages measured
// (DIR/corpus/NNNNN.hl7, every segment ended by CR, and DIR/oru.hl7) so
// bench/parse.sh can give the same input to the peer parsers.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mappings/canonical/v2_to_canonical.h"
#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/batch.h"
#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/msh.h"

namespace hie {
namespace {

const std::vector<std::string>& CorpusMessages() {
  static const std::vector<std::string> messages = [] {
    std::vector<std::string> out;
    namespace fs = std::filesystem;
    const fs::path root = fs::path(HIE_CORPUS_DIR) / "hl7v2";
    if (!fs::exists(root)) return out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string text = ss.str();
      // CR-terminated (as on the wire), so every parser compared gets the same bytes.
      auto split = SplitEr7(text, /*normalize_to_cr=*/true);
      if (!split.ok()) continue;
      for (auto& m : split->normalized) {
        if (Er7Message::Parse(m).ok()) out.push_back(std::move(m));
      }
    }
    return out;
  }();
  return messages;
}

std::string Oru() {
  std::string s =
      "MSH|^~\\&|LIS|XYZRMYY^1.2.156.112604.1^ISO|COUNTY-HIE|HUB|20261122071818||ORU^R01^ORU_R01|"
      "LIS20261122000123|P|2.5|||AL|NE|CHN|UNICODE UTF-8\r"
      "PID|1||A0012345^^^XYZRMYY^MR~110101199001011234^^^CHN^NI||张三^^^^^^L||19900101|M|||"
      "北京市东城区某某街道1号^^北京^北京^100010^CHN^H||^PRN^PH^^^^13800138000|||M\r"
      "PV1|1|O|内科门诊^^^XYZRMYY||||1234^李医生|||||||||||V20261122001|||||||||||||||||||||||||"
      "20261122070000\r"
      "ORC|RE|ORD123|LAB456|||||||||1234^李医生\r"
      "OBR|1|ORD123|LAB456|CBC^血常规^L|||20261122070500|||||||20261122071000||1234^李医生||||||"
      "20261122071800|||F\r";
  const char* items[][4] = {
      {"WBC", "白细胞计数", "6.1", "10*9/L"},     {"RBC", "红细胞计数", "4.8", "10*12/L"},
      {"HGB", "血红蛋白", "135", "g/L"},          {"HCT", "红细胞压积", "42.1", "%"},
      {"MCV", "平均红细胞体积", "88", "fL"},      {"MCH", "平均血红蛋白量", "29.5", "pg"},
      {"MCHC", "平均血红蛋白浓度", "335", "g/L"}, {"PLT", "血小板计数", "220", "10*9/L"},
      {"NEUT%", "中性粒细胞百分比", "58.2", "%"}, {"LYMPH%", "淋巴细胞百分比", "32.4", "%"}};
  int i = 1;
  for (auto& it : items) {
    s += "OBX|" + std::to_string(i++) + "|NM|" + it[0] + "^" + it[1] + "^L||" + it[2] + "|" +
         it[3] + "|3.5-9.5|N|||F|||20261122071500||1234^检验员\r";
  }
  return s;
}

void BM_ParseCorpus(benchmark::State& state) {
  const auto& msgs = CorpusMessages();
  if (msgs.empty()) {
    state.SkipWithError("corpus not found");
    return;
  }
  size_t bytes = 0;
  for (const auto& m : msgs) bytes += m.size();
  for (auto _ : state) {
    for (const auto& m : msgs) {
      auto r = Er7Message::Parse(m);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * msgs.size()));
}
BENCHMARK(BM_ParseCorpus);

void BM_ParseOru(benchmark::State& state) {
  const std::string oru = Oru();
  for (auto _ : state) {
    auto r = Er7Message::Parse(oru);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * oru.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["msg_bytes"] = static_cast<double>(oru.size());
}
BENCHMARK(BM_ParseOru);

// Parse plus the reads a pipeline does: MSH, PID and every OBX value.
void BM_ParseOruAndRead(benchmark::State& state) {
  const std::string oru = Oru();
  for (auto _ : state) {
    auto r = Er7Message::Parse(oru);
    benchmark::DoNotOptimize(r->Get("MSH-9.2"));
    benchmark::DoNotOptimize(r->Get("PID-3[2].1"));
    benchmark::DoNotOptimize(r->Get("PID-5.1"));
    for (size_t k = 1; k <= 10; ++k) {
      auto seg = r->FindSegment("OBX", k);
      benchmark::DoNotOptimize(r->field(*seg, 5));
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * oru.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseOruAndRead);

// Parse plus the mapping to the canonical model (what delivery does).
void BM_ParseAndMapOru(benchmark::State& state) {
  const std::string oru = Oru();
  for (auto _ : state) {
    auto r = canonical::V2ToCanonical(oru, "XYZRMYY");
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * oru.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseAndMapOru);

void BM_ReadMsh(benchmark::State& state) {
  const std::string oru = Oru();
  for (auto _ : state) {
    auto r = ReadMsh(oru);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ReadMsh);

// The MLLP intake's answer to a good message.
void BM_BuildAckAccept(benchmark::State& state) {
  auto msh = ReadMsh(Oru());
  if (!msh.ok()) {
    state.SkipWithError(msh.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    std::string ack =
        BuildAck(&*msh, AckCode::kAA, Status::Ok(), "H1764000000123-7", "20261122071818");
    benchmark::DoNotOptimize(ack);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BuildAckAccept);

// A UTF-8 message is only validated (and copied).
void BM_DecodeUtf8(benchmark::State& state) {
  const std::string oru = Oru();
  for (auto _ : state) {
    auto r = DecodeToUtf8(oru, "UNICODE UTF-8");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * oru.size()));
}
BENCHMARK(BM_DecodeUtf8);

void BM_DecodeGb18030(benchmark::State& state) {
  auto gb = EncodeFromUtf8(Oru(), "GB18030");
  if (!gb.ok()) {
    state.SkipWithError("encode failed");
    return;
  }
  for (auto _ : state) {
    auto r = DecodeToUtf8(*gb, "GB 18030-2000");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * gb->size()));
}
BENCHMARK(BM_DecodeGb18030);

int DumpWorkload(const std::string& dir) {
  namespace fs = std::filesystem;
  const auto& msgs = CorpusMessages();
  if (msgs.empty()) {
    std::fprintf(stderr, "corpus not found under %s\n", HIE_CORPUS_DIR);
    return 1;
  }
  fs::create_directories(fs::path(dir) / "corpus");
  char name[32];
  for (size_t i = 0; i < msgs.size(); ++i) {
    std::snprintf(name, sizeof name, "%05zu.hl7", i);
    std::ofstream(fs::path(dir) / "corpus" / name, std::ios::binary) << msgs[i];
  }
  std::ofstream(fs::path(dir) / "oru.hl7", std::ios::binary) << Oru();
  std::printf("%zu\n", msgs.size());
  return 0;
}

}  // namespace
}  // namespace hie

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == "--dump-workload") return hie::DumpWorkload(argv[i + 1]);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
