// The WAL-gathering VFS (wal_vfs.h): writing connections use it, readers on
// other threads never see a commit whose frames are not in the file, and a
// process that dies right after its commits loses none of them.
#include "store/sqlite/wal_vfs.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "store/sqlite/redo_test_util.h"
#include "store/sqlite/sqlite_conn.h"

namespace hie::sqlite {
namespace {

using redo_test::TempDir;

ConnOptions Writer() {
  ConnOptions o;
  o.durable_full = false;  // as the store's writer: the WAL is not synced at commit
  o.auto_checkpoint = false;
  return o;
}

// Commits `rows` rows of ~3 KB in one transaction (many frames per commit).
void CommitRows(Conn& c, int first, int rows) {
  ASSERT_TRUE(c.Exec("BEGIN IMMEDIATE", "t").ok());
  for (int i = first; i < first + rows; ++i) {
    auto s = c.Static("INSERT INTO t(id, body) VALUES(?1, ?2)", "t");
    ASSERT_TRUE(s.ok());
    std::string body(3000, static_cast<char>('a' + i % 26));
    s->Int(1, i);
    s->Blob(2, body);
    ASSERT_TRUE(s->Run().ok());
  }
  ASSERT_TRUE(c.Exec("COMMIT", "t").ok());
}

int64_t Count(Conn& c) {
  auto s = c.Dynamic("SELECT count(*), coalesce(sum(length(body)), 0) FROM t", "t");
  EXPECT_TRUE(s.ok());
  auto row = s->Step();
  EXPECT_TRUE(row.ok() && *row);
  // Every row is whole: a frame read before it was written would show up
  // as a short or corrupt row (or an error above).
  EXPECT_EQ(s->ColInt(1), s->ColInt(0) * 3000);
  return s->ColInt(0);
}

TEST(WalVfs, WritingConnectionsGatherAndReadersSeeWholeCommits) {
  ASSERT_NE(CoalescingVfsName(), nullptr);
  TempDir dir;
  const std::string db = dir.path() + "/t.db";
  auto w = Conn::Open(db, Writer());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE((*w)->wal_coalescing());
  ASSERT_TRUE((*w)->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)", "t").ok());

  ConnOptions ro;
  ro.read_only = true;
  auto r = Conn::Open(db, ro);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)->wal_coalescing());

  constexpr int kCommits = 120, kRows = 60;  // ~180 KB a commit: several pieces
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    int64_t last = 0;
    while (!done.load()) {
      int64_t n = Count(**r);
      EXPECT_EQ(n % kRows, 0);  // whole transactions only
      EXPECT_GE(n, last);       // never goes back
      last = n;
      reads.fetch_add(1);
    }
  });
  for (int k = 0; k < kCommits; ++k) {
    CommitRows(**w, k * kRows, kRows);
    if (k % 50 == 49) {
      // A checkpoint copies frames from the file: they must all be there.
      ASSERT_EQ(sqlite3_wal_checkpoint_v2((*w)->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                          nullptr),
                SQLITE_OK);
    }
  }
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(Count(**r), kCommits * kRows);
  // A rolled-back transaction leaves nothing visible.
  ASSERT_TRUE((*w)->Exec("BEGIN IMMEDIATE", "t").ok());
  ASSERT_TRUE((*w)->Exec("INSERT INTO t(id, body) VALUES(-1, zeroblob(3000))", "t").ok());
  ASSERT_TRUE((*w)->Exec("ROLLBACK", "t").ok());
  EXPECT_EQ(Count(**r), kCommits * kRows);
  CommitRows(**w, kCommits * kRows, kRows);
  EXPECT_EQ(Count(**r), (kCommits + 1) * kRows);
}

TEST(WalVfs, ADeathRightAfterTheCommitsLosesNone) {
  TempDir dir;
  const std::string db = dir.path() + "/t.db";
  constexpr int kCommits = 60, kRows = 10;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto w = Conn::Open(db, Writer());
    if (!w.ok() || !(*w)->wal_coalescing()) _exit(3);
    if (!(*w)->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)", "t").ok()) _exit(4);
    for (int k = 0; k < kCommits; ++k) CommitRows(**w, k * kRows, kRows);
    _exit(0);  // no close: whatever sat in a buffer would be lost
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ConnOptions ro;
  ro.read_only = true;
  auto r = Conn::Open(db, ro);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Count(**r), kCommits * kRows);
}

}  // namespace
}  // namespace hie::sqlite
