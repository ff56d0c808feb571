// Translation throughput with the shipped tables plus a 50,000-row synthetic
// local map, and the load/reload time of that map. Each lookup benchmark
// also counts heap allocations in its timed loop (counter allocs_per_op,
// from a counting global operator new): the hot path must allocate nothing.
//   build-*/terminology/terminology_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <fstream>
#include <random>
#include <unordered_map>

#include "terminology/terminology.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace hie {
namespace {

// Allocations made between construction and Report(), per iteration.
class AllocCounter {
 public:
  AllocCounter() : start_(g_allocations.load(std::memory_order_relaxed)) {}
  void Report(benchmark::State& state) const {
    const uint64_t n = g_allocations.load(std::memory_order_relaxed) - start_;
    state.counters["allocs_per_op"] =
        static_cast<double>(n) / static_cast<double>(std::max<int64_t>(state.iterations(), 1));
  }

 private:
  uint64_t start_;
};

const std::filesystem::path kDataDir = HIE_SOURCE_DIR "/terminology/data";
constexpr int kRows = 50'000;

const std::vector<std::string>& LoincCodes() {
  static const std::vector<std::string> codes = {
      "6690-2", "789-8",   "718-7",  "777-3",   "1742-6",  "1920-8", "14682-9", "22664-7",
      "2345-7", "14749-6", "4548-4", "14647-2", "14927-8", "2823-3", "2951-2",  "5902-2"};
  return codes;
}

std::string LocalCode(int i) { return "LIS" + std::to_string(100000 + i); }

const std::string& SyntheticMap() {
  static const std::string text = [] {
    std::string t =
        "# synthetic local map for the benchmark\n"
        "source_system,source_code,source_display,target_system,target_code,target_display\n";
    for (int i = 0; i < kRows; ++i) {
      t += "local:BENCH," + LocalCode(i) + ",检验项目" + std::to_string(i) + ",LOINC," +
           LoincCodes()[i % LoincCodes().size()] + ",\n";
    }
    return t;
  }();
  return text;
}

std::shared_ptr<const TerminologySnapshot> Build() {
  TerminologyBuilder b;
  if (!b.AddDir(kDataDir).ok() || !b.AddCsv(SyntheticMap(), "bench-local.csv").ok()) abort();
  auto snap = b.Build();
  if (!snap.ok()) abort();
  return *snap;
}

const std::shared_ptr<const TerminologySnapshot>& Shared() {
  static const auto snap = Build();
  return snap;
}

// Codes in random order so the benchmark does not walk the table sequentially.
const std::vector<std::string>& Queries() {
  static const std::vector<std::string> q = [] {
    std::vector<std::string> v;
    for (int i = 0; i < kRows; ++i) v.push_back(LocalCode(i));
    std::shuffle(v.begin(), v.end(), std::mt19937(7));
    return v;
  }();
  return q;
}

void BM_TranslateById(benchmark::State& state) {
  const auto& snap = *Shared();
  const SystemId src = snap.FindSystem("local:BENCH");
  const SystemId loinc = snap.FindSystem("LOINC");
  const auto& q = Queries();
  size_t i = 0, found = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    TranslateResult r = snap.Translate(src, q[i], loinc);
    found += r.found;
    benchmark::DoNotOptimize(r);
    if (++i == q.size()) i = 0;
  }
  allocs.Report(state);
  if (found != static_cast<size_t>(state.iterations())) state.SkipWithError("miss");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TranslateById);

// Peer in the same run: the same 50,000 codes in a std::unordered_map keyed
// by the code string (one system, no normalisation, no aliases).
void BM_PeerStdUnorderedMap(benchmark::State& state) {
  static const std::unordered_map<std::string, std::string> map = [] {
    std::unordered_map<std::string, std::string> m;
    for (int i = 0; i < kRows; ++i) m.emplace(LocalCode(i), LoincCodes()[i % LoincCodes().size()]);
    return m;
  }();
  const auto& q = Queries();
  size_t i = 0, found = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    auto it = map.find(q[i]);
    found += it != map.end();
    benchmark::DoNotOptimize(it);
    if (++i == q.size()) i = 0;
  }
  allocs.Report(state);
  if (found != static_cast<size_t>(state.iterations())) state.SkipWithError("miss");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PeerStdUnorderedMap);

void BM_TranslateByName(benchmark::State& state) {
  const auto& snap = *Shared();
  const auto& q = Queries();
  size_t i = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    TranslateResult r = snap.Translate("local:BENCH", q[i], "2.16.840.1.113883.6.1");
    benchmark::DoNotOptimize(r);
    if (++i == q.size()) i = 0;
  }
  allocs.Report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TranslateByName);

void BM_TranslateSexWithPadding(benchmark::State& state) {
  const auto& snap = *Shared();
  const char* codes[] = {"M", "F", "U", "O"};
  size_t i = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    TranslateResult r = snap.Translate("HL7 0001", codes[i++ & 3], "GB/T 2261.1");
    benchmark::DoNotOptimize(r);
    TranslateResult e = snap.Translate("GB 3304", "1", "GB 3304");  // "1" -> "01"
    benchmark::DoNotOptimize(e);
  }
  allocs.Report(state);
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_TranslateSexWithPadding);

void BM_Miss(benchmark::State& state) {
  const auto& snap = *Shared();
  const SystemId src = snap.FindSystem("local:BENCH");
  const SystemId loinc = snap.FindSystem("LOINC");
  AllocCounter allocs;
  for (auto _ : state) {
    TranslateResult r = snap.Translate(src, "NOPE-1", loinc);
    benchmark::DoNotOptimize(r);
  }
  allocs.Report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Miss);

void BM_LoadShippedPlus50k(benchmark::State& state) {
  for (auto _ : state) {
    auto snap = Build();
    benchmark::DoNotOptimize(snap);
  }
  state.counters["rows"] = kRows;
}
BENCHMARK(BM_LoadShippedPlus50k)->Unit(benchmark::kMillisecond);

void BM_ReloadDirAndSwap(benchmark::State& state) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("hie_term_bench_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::copy(kDataDir, dir, std::filesystem::copy_options::recursive);
  std::ofstream(dir / "bench-local.csv") << SyntheticMap();
  Terminology term;
  for (auto _ : state) {
    if (!term.ReloadDir(dir).ok()) state.SkipWithError("reload failed");
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ReloadDirAndSwap)->Unit(benchmark::kMillisecond);

void BM_UnmappedRecordExisting(benchmark::State& state) {
  UnmappedRegister reg;
  int64_t now = 0;
  for (auto _ : state) reg.Record("local:BENCH", "XX1", "未知", "BENCH", "m", ++now, "LOINC");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UnmappedRecordExisting);

}  // namespace
}  // namespace hie

BENCHMARK_MAIN();
