#include "core/posted_batch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace hie {
namespace {

TEST(PostedBatchTest, OneDrainPerBurstInOrder) {
  PostedBatch<int> b;
  EXPECT_TRUE(b.Add(1));  // post a drain
  EXPECT_FALSE(b.Add(2));
  EXPECT_FALSE(b.Add(3));
  EXPECT_EQ(b.Take(), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(b.Take().empty());
  EXPECT_TRUE(b.Add(4));  // the drain ran: the next item asks for another
  EXPECT_EQ(b.Take(), (std::vector<int>{4}));
}

TEST(PostedBatchTest, NothingLostAcrossThreads) {
  PostedBatch<int> b;
  std::atomic<int> posts{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        if (b.Add(t * 1000 + i)) posts.fetch_add(1);
      }
    });
  }
  size_t taken = 0;
  int drains = 0;
  while (taken < 4000) {
    if (drains < posts.load()) {  // a posted drain runs
      ++drains;
      taken += b.Take().size();
    }
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(taken, 4000u);
  EXPECT_EQ(drains, posts.load());  // every item reached a drain that was asked for
}

}  // namespace
}  // namespace hie
