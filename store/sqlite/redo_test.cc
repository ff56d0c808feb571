// The redo log of the durable SQLite store: records round-trip, a torn tail
// is ignored, and a process that dies with its SQLite transaction still open
// loses none of the writes whose DoneFn ran (they are replayed at open).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "store/sqlite/redo_log.h"
#include "store/sqlite/redo_test_util.h"
#include "store/store.h"

namespace hie {
namespace {

namespace fs = std::filesystem;
using redo_test::TempDir;

using redo_test::Msg;

TEST(RedoLog, Crc32IsTheStandardOne) {
  EXPECT_EQ(sqlite::Crc32(0, "123456789", 9), 0xCBF43926u);
  // Any split gives the same checksum (8-byte steps and the byte tail).
  const std::string text(1000, 'q');
  const uint32_t whole = sqlite::Crc32(0, text.data(), text.size());
  for (size_t cut : {0u, 1u, 7u, 8u, 9u, 513u, 999u}) {
    EXPECT_EQ(
        sqlite::Crc32(sqlite::Crc32(0, text.data(), cut), text.data() + cut, text.size() - cut),
        whole)
        << cut;
  }
}

// Overwrites `n` bytes at `off` with `c`.
void Scribble(const std::string& path, uint64_t off, size_t n, char c) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(off));
  for (size_t i = 0; i < n; ++i) f.put(c);
}

TEST(RedoLog, RecordsRoundTripAndATornTailIsIgnored) {
  TempDir dir;
  std::string path = dir.path() + "/log";
  uint64_t end = 0;
  {
    auto log = sqlite::RedoLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE(log->Truncate().ok());
    ASSERT_TRUE(log->Append(1, "one").ok());
    ASSERT_TRUE(log->Append(2, std::string(5000, 'x')).ok());
    ASSERT_TRUE(log->Append(3, "three").ok());
    end = sqlite::RedoLog::kHeaderBytes + log->size();
  }
  // Written in place ahead of a zeroed extension: the file is bigger than
  // its records.
  EXPECT_GE(fs::file_size(path), sqlite::RedoLog::kHeaderBytes + sqlite::RedoLog::kExtendBytes);
  // The last record's end never reached the disk, as after a power loss
  // mid-write.
  Scribble(path, end - 3, 3, '\0');
  auto records = sqlite::RedoLog::ReadAll(path);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].seq, 1u);
  EXPECT_EQ((*records)[0].payload, "one");
  EXPECT_EQ((*records)[1].payload.size(), 5000u);

  // A flipped byte ends the log there too.
  Scribble(path, sqlite::RedoLog::kHeaderBytes + 17, 1, 'Z');  // the first payload
  records = sqlite::RedoLog::ReadAll(path);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 0u);
}

// Emptying writes over the file in place: the records of the earlier round
// behind the new ones are never read back, even where a new record ends
// exactly where an old one begins.
TEST(RedoLog, AnEmptiedLogHidesTheEarlierRound) {
  TempDir dir;
  std::string path = dir.path() + "/log";
  auto log = sqlite::RedoLog::Open(path);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE(log->Truncate().ok());
  for (uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(log->Append(s, "old-" + std::to_string(s)).ok());
  ASSERT_TRUE(log->Truncate().ok());
  ASSERT_TRUE(log->Append(6, "new-6").ok());  // the size of "old-1": old-2 follows at once
  auto records = sqlite::RedoLog::ReadAll(path);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].seq, 6u);
  EXPECT_EQ((*records)[0].payload, "new-6");
  ASSERT_TRUE(log->Truncate().ok());
  records = sqlite::RedoLog::ReadAll(path);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
  // Reopening keeps the records until the next Truncate.
  ASSERT_TRUE(log->Append(7, "kept").ok());
  auto again = sqlite::RedoLog::Open(path);
  ASSERT_TRUE(again.ok());
  records = sqlite::RedoLog::ReadAll(path);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].payload, "kept");
}

// A log left by a crashed hub of the earlier layout (records from offset 0,
// no header) is still read.
TEST(RedoLog, TheEarlierLayoutIsStillRead) {
  TempDir dir;
  std::string path = dir.path() + "/log";
  std::string file;
  auto put = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) file.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  for (uint64_t seq : {4u, 5u}) {
    const std::string payload = "p" + std::to_string(seq);
    char s[8];
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((seq >> (8 * i)) & 0xFF);
    put(payload.size(), 4);
    put(sqlite::Crc32(sqlite::Crc32(0, s, 8), payload.data(), payload.size()), 4);
    put(seq, 8);
    file += payload;
  }
  std::ofstream(path, std::ios::binary) << file;
  auto records = sqlite::RedoLog::ReadAll(path);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].seq, 4u);
  EXPECT_EQ((*records)[1].payload, "p5");
}

// The child writes messages, waits for each DoneFn, then dies without
// closing: its SQLite transaction never commits. The parent reopens.
TEST(RedoLog, AcknowledgedWritesSurviveADeathWithTheTransactionOpen) {
  TempDir dir;
  const std::string db = dir.path() + "/hub.db";
  constexpr int kMessages = 300;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    StoreOptions o;
    o.path = db;
    o.durable_full = true;
    o.commit_interval_ms = 600'000;  // never commits: everything must replay
    auto store = OpenSqliteStore(o);
    if (!store.ok()) _exit(3);
    for (int i = 0; i < kMessages; ++i) {
      Status st = (*store)->WriteSync([i](WriteTxn& txn) -> Status {
        HIE_ASSIGN_OR_RETURN(int64_t id, txn.InsertMessage(Msg(i)));
        TraceEvent e;
        e.at_ms = 1000 + i;
        e.step = "received";
        e.outcome = "ok";
        e.detail = "t";
        HIE_RETURN_IF_ERROR(txn.AppendTrace(id, e));
        if (i % 3 == 0) HIE_RETURN_IF_ERROR(txn.InsertDelivery(id, "D1", "p", 1000).status());
        return Status::Ok();
      });
      if (!st.ok()) _exit(4);
    }
    // A failed fn must not be replayed: its savepoint was rolled back.
    Status bad = (*store)->WriteSync([](WriteTxn& txn) -> Status {
      (void)txn.InsertMessage(Msg(99999));
      return Status(ErrorCode::kInvalidArgument, "refused");
    });
    if (bad.ok()) _exit(5);
    _exit(0);  // no Close(): the open transaction dies with the process
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);
  // Nothing reached the database; everything is in the log.
  {
    EXPECT_EQ(redo_test::CommittedMessages(db), 0);
    auto records = sqlite::RedoLog::ReadAll(db + "-redo");
    ASSERT_TRUE(records.ok());
    EXPECT_EQ(records->size(), static_cast<size_t>(kMessages + 1));
  }

  StoreOptions o;
  o.path = db;
  o.durable_full = true;
  auto store = OpenSqliteStore(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  MessageFilter f;
  f.limit = 1000;
  auto list = (*store)->ListMessages(f);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), static_cast<size_t>(kMessages));
  for (const auto& m : *list) EXPECT_NE(m.control_id, "C99999");
  auto first = (*store)->GetMessage((*list).back().id);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->control_id, "C0");
  EXPECT_EQ(first->response, "ACK C0");
  auto trace = (*store)->GetTrace(first->id);
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->size(), 1u);
  auto deliveries = (*store)->GetDeliveries(first->id);
  ASSERT_TRUE(deliveries.ok());
  EXPECT_EQ(deliveries->size(), 1u);
  auto depths = (*store)->QueueDepths();
  ASSERT_TRUE(depths.ok());
  EXPECT_EQ(depths->at("D1"), kMessages / 3);

  // Dedupe holds for a replayed message, and new writes continue the ids.
  Status st = (*store)->WriteSync([](WriteTxn& txn) -> Status {
    HIE_ASSIGN_OR_RETURN(auto hit, txn.FindByDedupeKey("F1", "C5"));
    if (!hit) return Status(ErrorCode::kNotFound, "C5 lost");
    return txn.InsertMessage(Msg(kMessages)).status();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  (*store)->Close();

  // A second open replays nothing more and sees the same.
  auto again = OpenSqliteStore(o);
  ASSERT_TRUE(again.ok());
  list = (*again)->ListMessages(f);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), static_cast<size_t>(kMessages + 1));
}

}  // namespace
}  // namespace hie
