// The store keeps its WAL short even while another connection (as the
// EMPI's and the shared record's writers do) commits to the same database
// file all the time: the WAL starts over again and again (checkpointer.h),
// and no write is lost by it.
#include "store/sqlite/checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "core/metrics.h"
#include "store/sqlite/redo_log.h"
#include "store/sqlite/redo_test_util.h"
#include "store/sqlite/sqlite_conn.h"
#include "store/store.h"

namespace hie {
namespace {

using redo_test::TempDir;

// The WAL header's checkpoint sequence number: SQLite adds one each time
// the WAL starts over. -1 while there is no header.
int64_t WalRestarts(const std::string& wal) {
  std::ifstream in(wal, std::ios::binary);
  unsigned char h[16];
  if (!in.read(reinterpret_cast<char*>(h), sizeof h)) return -1;
  return (int64_t{h[12]} << 24) | (h[13] << 16) | (h[14] << 8) | h[15];
}

double MetricValue(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

// Commits a row now and then on its own connection, as the EMPI's writer.
class OtherWriter {
 public:
  explicit OtherWriter(const std::string& db) {
    sqlite::ConnOptions o;
    o.durable_full = false;
    o.auto_checkpoint = false;
    auto c = sqlite::Conn::Open(db, o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return;
    conn_ = std::move(*c);
    EXPECT_TRUE(conn_->Exec("CREATE TABLE IF NOT EXISTS other_writer(x)", "t").ok());
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        if (conn_->Exec("INSERT INTO other_writer VALUES(randomblob(500))", "t").ok()) ++rows_;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  ~OtherWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int rows() const { return rows_.load(); }

 private:
  std::unique_ptr<sqlite::Conn> conn_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rows_{0};
  std::thread thread_;
};

TEST(Checkpointer, LimitsFollowTheRestartLength) {
  const auto l = sqlite::WalLimits::ForRestartAt(16384);
  EXPECT_EQ(l.restart, 16384);
  EXPECT_EQ(l.pass, 4096);
  EXPECT_EQ(l.forced, 65536);
  EXPECT_LT(l.tail, l.fresh_tail);
  EXPECT_LT(l.fresh_tail, l.restart);
  EXPECT_EQ(sqlite::WalLimits::ForRestartAt(1).restart, 64);
}

TEST(Checkpointer, TheWalStartsOverWhileAnotherWriterKeepsCommitting) {
  TempDir dir;
  const std::string db = dir.path() + "/hub.db";
  MetricsRegistry metrics;
  StoreOptions o;
  o.path = db;
  o.durable_full = false;
  o.commit_interval_ms = 5;
  o.wal_restart_frames = 256;
  o.metrics = &metrics;
  auto store = OpenSqliteStore(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  // As the EMPI's writer: its own connection, the same options.
  OtherWriter other(db);
  int written = 0;
  // Back to back, as under load: a pause lets a PASSIVE pass complete
  // and the WAL start over by itself, and the test would not tell.
  auto write_some = [&] {
    for (int k = 0; k < 20; ++k, ++written) {
      ASSERT_TRUE((*store)
                      ->WriteSync([i = written](WriteTxn& txn) -> Status {
                        return txn.InsertMessage(redo_test::Msg(i)).status();
                      })
                      .ok());
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // Both writers under way first.
  while ((other.rows() < 50 || WalRestarts(db + "-wal") < 0) &&
         std::chrono::steady_clock::now() < deadline) {
    write_some();
  }
  ASSERT_GE(other.rows(), 50) << "the other writer never got to write";
  const int64_t first = WalRestarts(db + "-wal");
  while (std::chrono::steady_clock::now() < deadline && WalRestarts(db + "-wal") < first + 2) {
    write_some();
  }
  other.Stop();
  EXPECT_GE(WalRestarts(db + "-wal"), first + 2) << "the WAL never started over";
  EXPECT_GE(MetricValue(metrics.RenderPrometheus(), "hie_store_wal_restarts_total"), 2);
  // The redo log started over with the WAL (its size limit is far away).
  auto records = sqlite::RedoLog::ReadAll(db + "-redo");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_LT(records->size(), static_cast<size_t>(written));
  (*store)->Close();
  store->reset();
  EXPECT_EQ(redo_test::CommittedMessages(db), written);
}

}  // namespace
}  // namespace hie
