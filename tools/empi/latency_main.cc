// hie-empi-latency: incremental match latency at a given index size. Builds
// an index of a synthetic county (records added under their true person,
// no matching), then times normalize + match + add for held-back incoming
// records and prints p50 / p90 / p99. Run by hand, not as a test:
//   build-empi/tools/hie-empi-latency --persons 100000 --weights empi/data/weights-county-v1.json
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "empi/match_index.h"
#include "empi/record_normalizer.h"
#include "tools/empi/population.h"

namespace hie::empi::tools {
namespace {

using Clock = std::chrono::steady_clock;

double Us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// CPU time of this thread in microseconds: excludes time the scheduler gave
// to other processes (the machine is shared), unlike the wall clock.
double CpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void Print(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1))]; };
  std::printf("%-22s p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  max %8.1f us\n", what, at(0.5),
              at(0.9), at(0.99), v.back());
}

int Run(int argc, char** argv) {
  CLI::App app{"EMPI 增量匹配延迟 (incremental match latency)"};
  PopulationOptions options;
  options.persons = 100000;
  std::string weights;
  size_t queries = 5000, block_cap = 200;
  app.add_option("--persons", options.persons, "索引中的人数 (persons in the index)");
  app.add_option("--seed", options.seed, "随机种子 (random seed)");
  app.add_option("--queries", queries, "计时的新记录数 (incoming records timed)");
  app.add_option("--weights", weights, "权重文件 (weights JSON)")->required();
  app.add_option("--block-cap", block_cap, "每个块读取上限 (records read per block)");
  CLI11_PARSE(app, argc, argv);

  auto model = FsModel::Load(weights);
  if (!model.ok()) {
    std::fprintf(stderr, "错误 (error): %s\n", model.status().ToString().c_str());
    return 1;
  }
  auto normalizer = RecordNormalizer::Create();
  if (!normalizer.ok()) {
    std::fprintf(stderr, "错误 (error): %s\n", normalizer.status().ToString().c_str());
    return 1;
  }
  const auto g0 = Clock::now();
  auto records = GeneratePopulation(options);
  const auto g1 = Clock::now();
  queries = std::min(queries, records.size() / 10);
  const size_t base = records.size() - queries;
  MatchOptions mo;
  mo.block_cap = block_cap;
  MatchIndex index(std::make_shared<const FsModel>(std::move(model).value()), mo);
  for (size_t i = 0; i < base; ++i) {
    auto n = (*normalizer)->Normalize(records[i].record);
    if (!n.ok()) continue;
    const uint64_t person = std::stoull(records[i].true_person.substr(1));
    if (!index.Add(std::move(n).value(), person).ok()) return 1;
  }
  const auto g2 = Clock::now();
  std::printf("persons %zu, indexed records %zu (generate %.1f s, normalize+index %.1f s)\n",
              options.persons, index.size(), Us(g1 - g0) / 1e6, Us(g2 - g1) / 1e6);
  std::vector<double> norm_us, match_us, match_cpu_us, add_us, total_us, candidates;
  uint64_t next = 1ULL << 40;
  for (size_t i = base; i < records.size(); ++i) {
    const auto t0 = Clock::now();
    auto n = (*normalizer)->Normalize(records[i].record);
    if (!n.ok()) continue;
    const auto t1 = Clock::now();
    const double c1 = CpuUs();
    MatchResult m = index.Match(*n);
    const double c2 = CpuUs();
    const auto t2 = Clock::now();
    match_cpu_us.push_back(c2 - c1);
    candidates.push_back(static_cast<double>(index.Candidates(*n).size()));
    const uint64_t person = m.outcome == Outcome::kAutoLink ? m.person_id : next++;
    if (!index.Add(std::move(n).value(), person).ok()) return 1;
    const auto t3 = Clock::now();
    norm_us.push_back(Us(t1 - t0));
    match_us.push_back(Us(t2 - t1));
    add_us.push_back(Us(t3 - t2));
    total_us.push_back(Us(t3 - t0));
  }
  std::printf("incoming records timed: %zu\n", total_us.size());
  Print("normalize", norm_us);
  Print("match (block+score)", match_us);
  Print("match, thread CPU", match_cpu_us);
  Print("add", add_us);
  Print("total", total_us);
  std::sort(candidates.begin(), candidates.end());
  std::printf("candidates per record: p50 %.0f  p99 %.0f  max %.0f\n",
              candidates[candidates.size() / 2], candidates[candidates.size() * 99 / 100],
              candidates.back());
  return 0;
}

}  // namespace
}  // namespace hie::empi::tools

int main(int argc, char** argv) { return hie::empi::tools::Run(argc, argv); }
