// The access log (engine/access_log.h): events are durable before `done`
// says OK, concurrent events share commits (group commit), a failed append
// fails every read of its batch, a stopped log refuses.
#include "engine/access_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace hie {
namespace {

// A RecordStore keeping access events in memory; AppendAccess can be made
// slow (to let a batch build up) or to fail.
class FakeRecords final : public RecordStore {
 public:
  Result<std::vector<LabResultRow>> LabResults(const LabResultFilter&) override {
    return std::vector<LabResultRow>{};
  }
  Result<std::vector<LabResultRow>> LabResultHistory(const std::string&) override {
    return std::vector<LabResultRow>{};
  }
  Result<std::vector<EncounterRow>> Encounters(const std::vector<int64_t>&, int) override {
    return std::vector<EncounterRow>{};
  }
  Result<std::vector<DiagnosisRow>> Diagnoses(const std::vector<int64_t>&, int) override {
    return std::vector<DiagnosisRow>{};
  }
  Result<std::vector<DocumentRow>> Documents(const std::vector<int64_t>&, int) override {
    return std::vector<DocumentRow>{};
  }
  Result<std::optional<DocumentRow>> GetDocument(int64_t) override {
    return std::optional<DocumentRow>();
  }
  Status AppendAccess(const std::vector<AccessEventRow>& events) override {
    std::unique_lock lock(mu_);
    ++appends;
    batches.push_back(events.size());
    gate_cv_.wait(lock, [&] { return open_; });
    if (fail) return Status(ErrorCode::kStoreError, "disk full");
    for (auto e : events) {
      e.id = static_cast<int64_t>(rows.size()) + 1;
      rows.push_back(std::move(e));
    }
    return Status::Ok();
  }
  Result<std::vector<AccessEventRow>> AccessOfPerson(int64_t person, int) override {
    std::lock_guard lock(mu_);
    std::vector<AccessEventRow> out;
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
      if (it->person_id == person) out.push_back(*it);
    }
    return out;
  }
  void Close() override {}

  void Hold() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    gate_cv_.notify_all();
  }
  size_t Rows() {
    std::lock_guard lock(mu_);
    return rows.size();
  }

  std::mutex mu_;
  std::condition_variable gate_cv_;
  bool open_ = true;
  bool fail = false;
  int appends = 0;
  std::vector<size_t> batches;
  std::vector<AccessEventRow> rows;
};

AccessEventRow Event(int64_t person, const std::string& what) {
  AccessEventRow e;
  e.actor = "doctor-li";
  e.facility_id = "CWS001";
  e.person_id = person;
  e.what = what;
  e.detail = "{}";
  return e;
}

TEST(AccessLogTest, EventIsStoredBeforeDone) {
  FakeRecords store;
  FakeEnv env(1'800'000'000'000);
  MetricsRegistry metrics;
  AccessLog log(store, env, metrics);
  log.Start();
  std::promise<size_t> rows_at_done;
  log.Record(Event(7, "lab-results"), [&](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    rows_at_done.set_value(store.Rows());
  });
  EXPECT_EQ(rows_at_done.get_future().get(), 1u);
  auto rows = store.AccessOfPerson(7, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].at_ms, 1'800'000'000'000);  // stamped from Env
  EXPECT_EQ((*rows)[0].actor, "doctor-li");
  EXPECT_EQ((*rows)[0].what, "lab-results");
}

TEST(AccessLogTest, ConcurrentEventsShareCommits) {
  FakeRecords store;
  FakeEnv env;
  MetricsRegistry metrics;
  AccessLog log(store, env, metrics);
  log.Start();
  store.Hold();  // the first append blocks: the rest pile up behind it
  std::atomic<int> ok{0};
  constexpr int kEvents = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEvents / 4; ++i) {
        log.Record(Event(t + 1, "summary"), [&](Status st) {
          if (st.ok()) ok.fetch_add(1);
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  store.Release();
  log.Stop();  // drains
  EXPECT_EQ(ok.load(), kEvents);
  EXPECT_EQ(store.Rows(), static_cast<size_t>(kEvents));
  // 200 events queued while the first commit was held: far fewer commits.
  EXPECT_LE(store.appends, 3) << "batches were not grouped";
}

TEST(AccessLogTest, FailedAppendFailsEveryReadOfTheBatch) {
  FakeRecords store;
  store.fail = true;
  FakeEnv env;
  MetricsRegistry metrics;
  AccessLog log(store, env, metrics);
  log.Start();
  Status st = log.RecordSync(Event(3, "document:9"));
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.message().find("disk full"), std::string::npos);
  EXPECT_EQ(HttpStatus(st.code()), 503);
  EXPECT_EQ(store.Rows(), 0u);
  store.fail = false;
  EXPECT_TRUE(log.RecordSync(Event(3, "document:9")).ok());
}

TEST(AccessLogTest, RecordAllAnswersOnceAfterEveryEvent) {
  FakeRecords store;
  FakeEnv env;
  MetricsRegistry metrics;
  AccessLog log(store, env, metrics);
  log.Start();
  std::promise<std::pair<Status, size_t>> p;
  int calls = 0;
  log.RecordAll({Event(1, "pix"), Event(2, "pix"), Event(3, "pix")}, [&](Status st) {
    ++calls;
    p.set_value({st, store.Rows()});
  });
  auto [st, rows] = p.get_future().get();
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(rows, 3u);  // all durable before the answer
  EXPECT_EQ(calls, 1);
  store.fail = true;
  std::promise<Status> q;
  log.RecordAll({Event(1, "pdq"), Event(2, "pdq")}, [&](Status s) { q.set_value(s); });
  EXPECT_EQ(q.get_future().get().code(), ErrorCode::kUnavailable);
  bool empty_done = false;
  log.RecordAll({}, [&](Status s) { empty_done = s.ok(); });
  EXPECT_TRUE(empty_done);
}

TEST(AccessLogTest, StoppedLogRefuses) {
  FakeRecords store;
  FakeEnv env;
  MetricsRegistry metrics;
  AccessLog log(store, env, metrics);
  EXPECT_EQ(log.RecordSync(Event(1, "person")).code(), ErrorCode::kUnavailable);  // not started
  log.Start();
  EXPECT_TRUE(log.RecordSync(Event(1, "person")).ok());
  log.Stop();
  EXPECT_EQ(log.RecordSync(Event(1, "person")).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(store.Rows(), 1u);
}

}  // namespace
}  // namespace hie
