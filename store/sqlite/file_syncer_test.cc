// FileSyncer: every batch handed in completes once, after a sync that
// started after it, in the order handed in, with several syncs at once; a
// failed sync fails that batch and every later one.
#include "store/sqlite/file_syncer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hie::sqlite {
namespace {

std::string TempFile() {
  char tmpl[] = "/tmp/hie-syncer-XXXXXX";
  int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  (void)::write(fd, "x", 1);
  ::close(fd);
  return tmpl;
}

TEST(FileSyncerTest, BatchesCompleteOnceInOrderWithSyncsInParallel) {
  const std::string path = TempFile();
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> failed{0};
  {
    FileSyncer syncer(path, 2);
    for (int i = 0; i < 400; ++i) {
      std::vector<FileSyncer::Pending> batch;
      for (int k = 0; k < 3; ++k) {
        const int n = i * 3 + k;
        batch.push_back({[&, n](const Status& st) {
                           if (!st.ok()) failed.fetch_add(1);
                           {
                             std::lock_guard lock(mu);
                             order.push_back(n);
                           }
                           // A slow callback: a sync ending meanwhile must not
                           // complete later batches ahead of this one's rest.
                           if (n % 3 == 0)
                             std::this_thread::sleep_for(std::chrono::microseconds(300));
                         },
                         Status::Ok()});
      }
      syncer.After(std::move(batch));
      if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    syncer.Stop();  // drains
    EXPECT_TRUE(syncer.Broken().ok());
  }
  ASSERT_EQ(order.size(), 1200u);
  for (int n = 0; n < 1200; ++n) EXPECT_EQ(order[n], n) << "completed out of order";
  EXPECT_EQ(failed.load(), 0);
  std::remove(path.c_str());
}

TEST(FileSyncerTest, AFnsOwnErrorIsKeptAndTheCallbacksRunOnASyncer) {
  const std::string path = TempFile();
  FileSyncer syncer(path, 2);
  std::promise<Status> got;
  std::promise<bool> on_syncer;
  std::vector<FileSyncer::Pending> batch;
  batch.push_back({[&](const Status& st) { got.set_value(st); },
                   Status(ErrorCode::kInvalidArgument, "refused")});
  batch.push_back(
      {[&](const Status&) { on_syncer.set_value(syncer.OnSyncerThread()); }, Status::Ok()});
  syncer.After(std::move(batch));
  EXPECT_EQ(got.get_future().get().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(on_syncer.get_future().get());
  syncer.Stop();
  std::remove(path.c_str());
}

TEST(FileSyncerTest, AFailedSyncFailsThatBatchAndEveryLaterOne) {
  FileSyncer syncer("/nonexistent-hie-dir/redo", 2);  // the open fails
  std::atomic<int> errors{0};
  for (int i = 0; i < 5; ++i) {
    syncer.After({{[&](const Status& st) {
                     if (st.code() == ErrorCode::kStoreError) errors.fetch_add(1);
                   },
                   Status::Ok()}});
  }
  syncer.Stop();
  EXPECT_EQ(errors.load(), 5);
  EXPECT_FALSE(syncer.Broken().ok());
}

}  // namespace
}  // namespace hie::sqlite
