// Micro benchmarks of the SQLite store: group-commit write throughput of the
// intake and pipeline writes (no WriteSync: Write() as fast as possible, then
// wait for the last done), and the outbox queries over a 100k backlog.
// Run: build/store/store_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "store/store.h"

namespace hie {
namespace {

struct TempStore {
  explicit TempStore(bool durable) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hie_store_bench_XXXXXX").string();
    dir = mkdtemp(tmpl.data());
    StoreOptions o;
    o.path = dir + "/hub.db";
    o.durable_full = durable;
    store = std::move(OpenSqliteStore(o)).value();
  }
  ~TempStore() {
    store->Close();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  std::unique_ptr<Store> store;
};

// prefix + decimal n (not "lit" + std::to_string(n): g++ 12 warns falsely).
std::string Key(const char* prefix, int64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

NewMessage BenchMsg(int64_t i) {
  NewMessage m;
  m.facility_id = Key("F", i % 16);
  m.dedupe_key = Key("C", i);
  m.control_id = m.dedupe_key;
  m.message_type = i % 3 == 0 ? "ORU^R01" : "ADT^A04";
  m.content_type = "application/hl7-v2";
  m.source = "mllp";
  m.peer = "10.1.2.3:40000";
  m.charset = "UTF-8";
  m.raw = std::string(1024, 'x');
  m.response = "MSH|^~\\&|HUB|||||20260101||ACK^A04|" + m.dedupe_key + "|P|2.5\rMSA|AA|" +
               m.dedupe_key + "\r";
  m.received_at_ms = 1'700'000'000'000 + i;
  return m;
}

int64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// Calls Write `n` times with `make(i)` and waits until every done ran.
// Returns the writer thread's CPU nanoseconds between the first and the last
// done (dones run on the writer), a number a loaded machine disturbs less
// than wall time.
template <typename MakeFn>
int64_t WriteMany(Store& s, int64_t first, int64_t n, MakeFn make) {
  std::atomic<int64_t> left{n};
  int64_t cpu_first = -1, cpu_last = 0;
  std::promise<void> all;
  for (int64_t i = first; i < first + n; ++i) {
    s.Write(make(i), [&](const Status& st) {
      if (!st.ok()) std::abort();
      if (cpu_first < 0) cpu_first = ThreadCpuNanos();
      if (--left == 0) {
        cpu_last = ThreadCpuNanos();
        all.set_value();
      }
    });
  }
  all.get_future().wait();
  return cpu_last - cpu_first;
}

// The message is built by the caller (as intake does), not on the writer.
Store::WriteFn IntakeFn(int64_t i) {
  return [m = BenchMsg(i)](WriteTxn& t) -> Status {
    auto hit = t.FindByDedupeKey(m.facility_id, m.dedupe_key);
    if (!hit.ok()) return hit.status();
    auto id = t.InsertMessage(m);
    if (!id.ok()) return id.status();
    return t.AppendTrace(*id, {m.received_at_ms, "received", "ok", "已接收 (received)"});
  };
}

// args: durable (0/1). Each iteration: 100k more intake writes into the same
// store (so later iterations see a warm cache and a growing table).
void BM_IntakeWrite(benchmark::State& state) {
  const bool durable = state.range(0) != 0;
  constexpr int64_t kN = 100'000;
  TempStore ts(durable);
  int64_t next = 0, cpu = 0;
  for (auto _ : state) {
    cpu += WriteMany(*ts.store, next, kN, IntakeFn);
    next += kN;
  }
  state.SetItemsProcessed(state.iterations() * kN);
  state.counters["writer_cpu_us_per_msg"] =
      static_cast<double>(cpu) / 1000.0 / static_cast<double>(state.iterations() * kN);
}
BENCHMARK(BM_IntakeWrite)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The pipeline's write per message after intake: meta, status, trace, one
// delivery. Each iteration: 100k intake writes (untimed), then 100k of these.
void BM_PipelineWrite(benchmark::State& state) {
  const bool durable = state.range(0) != 0;
  constexpr int64_t kN = 100'000;
  TempStore ts(durable);
  int64_t next = 0, cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    WriteMany(*ts.store, next, kN, IntakeFn);  // ids next+1 .. next+kN
    state.ResumeTiming();
    cpu += WriteMany(*ts.store, next + 1, kN, [](int64_t id) -> Store::WriteFn {
      return [id, patient = Key("P", id % 5000)](WriteTxn& t) -> Status {
        HIE_RETURN_IF_ERROR(t.UpdateMeta(id, "ADT^A04", patient));
        HIE_RETURN_IF_ERROR(t.UpdateStatus(id, MessageStatus::kQueued, 1, Status::Ok()));
        HIE_RETURN_IF_ERROR(t.AppendTrace(id, {1, "routed", "ok", ""}));
        return t.InsertDelivery(id, "county-platform", patient, 1).status();
      };
    });
    next += kN;
  }
  state.SetItemsProcessed(state.iterations() * kN);
  state.counters["writer_cpu_us_per_msg"] =
      static_cast<double>(cpu) / 1000.0 / static_cast<double>(state.iterations() * kN);
}
BENCHMARK(BM_PipelineWrite)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// DueDeliveries over a backlog of 100k QUEUED deliveries.
// arg 0: patients in the backlog (100k = one each, 1 = a single chain).
// The first head is in flight (excluded) and 1000 heads are in backoff.
void BM_DueDeliveries(benchmark::State& state) {
  const int64_t patients = state.range(0);
  constexpr int64_t kBacklog = 100'000;
  TempStore ts(false);
  Store& s = *ts.store;
  WriteMany(s, 0, kBacklog, [patients](int64_t i) -> Store::WriteFn {
    return [i, patients](WriteTxn& t) {
      return t.InsertDelivery(i + 1, "dest", Key("P", i % patients), 1).status();
    };
  });
  // 1000 heads in backoff (when there are that many).
  int64_t backoff = std::min<int64_t>(patients, 1000);
  WriteMany(s, 2, backoff, [](int64_t id) -> Store::WriteFn {
    return [id](WriteTxn& t) {
      return t.UpdateDelivery(id, DeliveryState::kQueued, 1, INT64_MAX / 2, "timeout", 2);
    };
  });
  std::set<int64_t> in_flight = {1};
  size_t got = 0;
  for (auto _ : state) {
    auto r = s.DueDeliveries("dest", 1000, 100, in_flight);
    if (!r.ok()) std::abort();
    got = r->size();
    benchmark::DoNotOptimize(got);
  }
  state.counters["returned"] = static_cast<double>(got);
}
BENCHMARK(BM_DueDeliveries)->Arg(100'000)->Arg(5'000)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_QueueDepthsAndNextDue(benchmark::State& state) {
  TempStore ts(false);
  Store& s = *ts.store;
  WriteMany(s, 0, 100'000, [](int64_t i) -> Store::WriteFn {
    return [i](WriteTxn& t) { return t.InsertDelivery(i + 1, "dest", Key("P", i), 1).status(); };
  });
  for (auto _ : state) {
    auto d = s.QueueDepths();
    auto n = s.NextDueAt("dest");
    if (!d.ok() || !n.ok()) std::abort();
  }
}
BENCHMARK(BM_QueueDepthsAndNextDue)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hie

BENCHMARK_MAIN();
