// Write intents in the durable SQLite store (store.h WriteIntent): logged
// before their batch runs, redone at open by the registered replayer; an
// intent whose fn failed is cancelled and never redone; a log holding an
// intent no replayer knows is refused, not skipped.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/redo_test_util.h"
#include "store/store.h"

namespace hie {
namespace {

namespace fs = std::filesystem;

constexpr uint8_t kKind = 7;

using redo_test::Msg;

// What both the live fn and the replayer do for intent `i`; odd hundreds
// fail after writing (their savepoint must undo it, their intent be
// cancelled).
Status Apply(int i, WriteTxn& txn) {
  HIE_ASSIGN_OR_RETURN(int64_t id, txn.InsertMessage(Msg(i)));
  TraceEvent e;
  e.at_ms = 1000 + i;
  e.step = "received";
  e.outcome = "ok";
  HIE_RETURN_IF_ERROR(txn.AppendTrace(id, e));
  if (i % 3 == 0) HIE_RETURN_IF_ERROR(txn.InsertDelivery(id, "D1", "p", 1000).status());
  if (i >= 100 && (i / 100) % 2 == 1) return Status(ErrorCode::kInvalidArgument, "refused");
  return Status::Ok();
}

StoreOptions Options(const std::string& db, bool with_replayer) {
  StoreOptions o;
  o.path = db;
  o.durable_full = true;
  o.commit_interval_ms = 600'000;  // never commits by itself: a death loses the transaction
  if (with_replayer) {
    o.replayers[kKind] = [](std::string_view bytes, WriteTxn& txn) {
      return Apply(std::stoi(std::string(bytes)), txn);
    };
  }
  return o;
}

// Writes `ids` as intent writes in one hand-off and waits for every answer.
std::vector<Status> WriteIntents(Store& store, const std::vector<int>& ids) {
  std::vector<std::promise<Status>> done(ids.size());
  std::vector<Store::PendingWrite> writes;
  for (size_t k = 0; k < ids.size(); ++k) {
    const int i = ids[k];
    Store::PendingWrite w;
    w.fn = [i](WriteTxn& txn) { return Apply(i, txn); };
    w.done = [p = &done[k]](const Status& st) { p->set_value(st); };
    w.intent = {kKind, std::to_string(i)};
    writes.push_back(std::move(w));
  }
  store.WriteMany(std::move(writes));
  std::vector<Status> out;
  for (auto& p : done) out.push_back(p.get_future().get());
  return out;
}

// Runs `f` in a child process; returns its exit code. `f` dies by _exit
// while its store is open, so nothing is committed or closed.
template <typename F>
int InChild(F f) {
  pid_t pid = fork();
  if (pid == 0) _exit(f());
  int wstatus = 0;
  if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus)) return -1;
  return WEXITSTATUS(wstatus);
}

class RedoIntentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hie-intent-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = dir_ + "/hub.db";
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Every write is in the redo log only (so the open below must redo it).
  void ExpectNothingCommitted() { EXPECT_EQ(redo_test::CommittedMessages(db_), 0); }
  // Opens the store (which redoes the log) and lists its messages.
  void Reopen(std::unique_ptr<Store>* store, std::vector<MessageRecord>* list) {
    auto opened = OpenSqliteStore(Options(db_, true));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    *store = std::move(opened).value();
    MessageFilter f;
    f.limit = 1000;
    auto listed = (*store)->ListMessages(f);
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    *list = std::move(listed).value();
  }
  // The parent's end of a child that ran with `pipefd` open and wrote the
  // ids it saw live before it died: the child exited 0 and sent them all.
  static void ReceiveIds(int rc, int pipefd[2], std::vector<int64_t>* ids) {
    close(pipefd[1]);
    const auto want = static_cast<ssize_t>(ids->size() * sizeof(int64_t));
    const ssize_t got = read(pipefd[0], ids->data(), ids->size() * sizeof(int64_t));
    close(pipefd[0]);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(got, want);
  }
  std::string dir_, db_;
};

TEST_F(RedoIntentTest, AnsweredIntentsAreRedoneAndFailedOnesAreNot) {
  const int rc = InChild([&] {
    auto store = OpenSqliteStore(Options(db_, true));
    if (!store.ok()) return 3;
    for (int round = 0; round < 4; ++round) {
      // 0..99 succeed, 100..199 fail, 200..299 succeed, 300..399 fail; the
      // failures share batches with successes.
      std::vector<int> ids;
      for (int i = 0; i < 100; ++i) ids.push_back(round * 100 + i);
      auto results = WriteIntents(**store, ids);
      for (size_t k = 0; k < ids.size(); ++k) {
        if (results[k].ok() != ((ids[k] / 100) % 2 == 0)) return 4;
      }
    }
    _exit(0);  // no Close() (not even the store's destructor): the transaction dies
  });
  ASSERT_EQ(rc, 0);
  ExpectNothingCommitted();

  std::unique_ptr<Store> store;
  std::vector<MessageRecord> list;
  ASSERT_NO_FATAL_FAILURE(Reopen(&store, &list));
  ASSERT_EQ(list.size(), 200u);
  for (const auto& m : list) {
    const int i = std::stoi(m.control_id.substr(1));
    EXPECT_EQ((i / 100) % 2, 0) << m.control_id << " failed but was redone";
  }
  auto depths = store->QueueDepths();
  ASSERT_TRUE(depths.ok());
  EXPECT_EQ(depths->at("D1"), 34 + 33);  // multiples of 3 in 0..99 and 200..299
  // Dedupe holds for a redone write; new writes continue after it.
  Status st = store->WriteSync([](WriteTxn& txn) -> Status {
    HIE_ASSIGN_OR_RETURN(auto hit, txn.FindByDedupeKey("F1", "C250"));
    if (!hit) return Status(ErrorCode::kNotFound, "C250 lost");
    return txn.InsertMessage(Msg(5000)).status();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  store->Close();
}

TEST_F(RedoIntentTest, AnIntentWithoutItsReplayerIsRefused) {
  ASSERT_EQ(InChild([&] {
              auto store = OpenSqliteStore(Options(db_, true));
              if (!store.ok()) return 3;
              if (!WriteIntents(**store, {1, 2, 3})[0].ok()) return 4;
              _exit(0);  // the store open, its transaction uncommitted
            }),
            0);
  ExpectNothingCommitted();
  auto refused = OpenSqliteStore(Options(db_, false));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("intent"), std::string::npos)
      << refused.status().ToString();
  // Nothing was lost by refusing: with the replayer the writes come back.
  auto store = OpenSqliteStore(Options(db_, true));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto list = (*store)->ListMessages(MessageFilter{});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 3u);
  (*store)->Close();
}

// Intent writes from one thread and plain writes from another (recorded as
// the operations they ran) share the redo log, then the process dies with
// the transaction open: the replay must run them in the order they ran live
// (a recorded insert checks it gets the id it got live, so a wrong order
// fails the open). A change that logs intents anywhere but on the writer
// must keep this (one that did not failed here 3 times in 5).
TEST_F(RedoIntentTest, IntentsAndRecordedWritesFromTwoThreadsReplayInTheOrderTheyRan) {
  std::vector<int64_t> live_ids(200, 0);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const int rc = InChild([&] {
    close(pipefd[0]);
    auto store = OpenSqliteStore(Options(db_, true));
    if (!store.ok()) return 3;
    std::thread recorded([&] {
      // Plain writes (no intent) with their own ids, 1000..1199.
      for (int i = 0; i < 200; ++i) {
        auto id = std::make_shared<int64_t>(0);
        Status st = (**store).WriteSync([i, id](WriteTxn& txn) -> Status {
          HIE_ASSIGN_OR_RETURN(*id, txn.InsertMessage(Msg(1000 + i)));
          TraceEvent e;
          e.at_ms = 1;
          e.step = "received";
          e.outcome = "ok";
          return txn.AppendTrace(*id, e);
        });
        if (!st.ok()) {
          fprintf(stderr, "recorded write failed: %s\n", st.ToString().c_str());
          _exit(5);
        }
        live_ids[static_cast<size_t>(i)] = *id;
      }
    });
    for (int round = 0; round < 20; ++round) {
      std::vector<int> ids;
      for (int i = 0; i < 5; ++i) ids.push_back(round * 5 + i);  // all succeed (< 100)
      for (const Status& st : WriteIntents(**store, ids)) {
        if (!st.ok()) {
          fprintf(stderr, "intent write failed: %s\n", st.ToString().c_str());
          _exit(4);
        }
      }
    }
    recorded.join();
    (void)!write(pipefd[1], live_ids.data(), live_ids.size() * sizeof(int64_t));
    _exit(0);  // the transaction dies with the process
  });
  ASSERT_NO_FATAL_FAILURE(ReceiveIds(rc, pipefd, &live_ids));
  ExpectNothingCommitted();

  std::unique_ptr<Store> store;
  std::vector<MessageRecord> list;
  ASSERT_NO_FATAL_FAILURE(Reopen(&store, &list));
  ASSERT_EQ(list.size(), 300u);
  std::map<std::string, int64_t> by_control;
  for (const auto& m : list) by_control[m.control_id] = m.id;
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(by_control["C" + std::to_string(1000 + i)], live_ids[static_cast<size_t>(i)])
        << "recorded write " << i << " got another id after the replay";
  }
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(by_control.count("C" + std::to_string(i)), 1u) << "intent " << i << " lost";
  }
  store->Close();
}

// A plain write handed in among intent writes (an EMPI trace among intake
// messages) must not take them off the intent path: the writer splits the
// hand-off into runs, in order. Every intent is then in the log as an
// intent, redone by its replayer, and the recorded writes between them
// replay with their live ids.
TEST_F(RedoIntentTest, APlainWriteAmongIntentsLeavesThemOnTheIntentPath) {
  std::vector<int64_t> live_ids(30, 0);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const int rc = InChild([&] {
    close(pipefd[0]);
    auto store = OpenSqliteStore(Options(db_, true));
    if (!store.ok()) return 3;
    std::vector<std::promise<Status>> done(90);
    std::vector<Store::PendingWrite> writes;
    for (int k = 0; k < 90; ++k) {
      Store::PendingWrite w;
      if (k % 3 == 2) {  // plain: control ids C1000..C1029
        const int j = k / 3;
        w.fn = [j, id = &live_ids[static_cast<size_t>(j)]](WriteTxn& txn) -> Status {
          HIE_ASSIGN_OR_RETURN(*id, txn.InsertMessage(Msg(1000 + j)));
          return Status::Ok();
        };
      } else {  // intents 0..59
        const int i = k - k / 3;
        w.fn = [i](WriteTxn& txn) { return Apply(i, txn); };
        w.intent = {kKind, std::to_string(i)};
      }
      w.done = [p = &done[static_cast<size_t>(k)]](const Status& st) { p->set_value(st); };
      writes.push_back(std::move(w));
    }
    (**store).WriteMany(std::move(writes));
    for (auto& p : done) {
      if (!p.get_future().get().ok()) return 4;
    }
    (void)!write(pipefd[1], live_ids.data(), live_ids.size() * sizeof(int64_t));
    _exit(0);  // the transaction dies with the process
  });
  ASSERT_NO_FATAL_FAILURE(ReceiveIds(rc, pipefd, &live_ids));
  ExpectNothingCommitted();

  int replayed = 0;
  StoreOptions o = Options(db_, true);
  o.replayers[kKind] = [&replayed](std::string_view bytes, WriteTxn& txn) {
    ++replayed;
    return Apply(std::stoi(std::string(bytes)), txn);
  };
  auto opened = OpenSqliteStore(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(replayed, 60) << "intents logged as recorded operations instead";
  MessageFilter f;
  f.limit = 1000;
  auto list = (*opened)->ListMessages(f);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 90u);
  std::map<std::string, int64_t> by_control;
  for (const auto& m : *list) by_control[m.control_id] = m.id;
  for (int j = 0; j < 30; ++j) {
    EXPECT_EQ(by_control["C" + std::to_string(1000 + j)], live_ids[static_cast<size_t>(j)])
        << "plain write " << j << " got another id after the replay";
  }
  (*opened)->Close();
}

}  // namespace
}  // namespace hie
