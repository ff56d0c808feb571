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

TEST(PostHoldTest, PostsWaitForTheOutermostHoldAndKeepOrder) {
  std::vector<int> ran;
  PostHold::Post([&] { ran.push_back(0); });  // no hold: at once
  EXPECT_EQ(ran, (std::vector<int>{0}));
  {
    PostHold outer;
    PostHold::Post([&] { ran.push_back(1); });
    {
      PostHold inner;
      PostHold::Post([&] { ran.push_back(2); });
    }
    EXPECT_EQ(ran, (std::vector<int>{0}));  // the inner hold's end is not the end
  }
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2}));
}

TEST(PostHoldTest, ABurstUnderAHoldPostsOneDrain) {
  PostedBatch<int> b;
  int posts = 0;
  std::vector<int> drained;
  auto drain = [&] {
    ++posts;
    for (int v : b.Take()) drained.push_back(v);
  };
  {
    PostHold hold;
    // Without the hold the first post would drain at once and the next
    // item would need a post of its own.
    for (int i = 0; i < 4; ++i) b.AddAndPost(i, drain);
    EXPECT_EQ(posts, 0);
  }
  EXPECT_EQ(posts, 1);
  EXPECT_EQ(drained, (std::vector<int>{0, 1, 2, 3}));
  b.AddAndPost(4, drain);  // no hold: posts (drains) at once
  EXPECT_EQ(posts, 2);
}

TEST(PostHoldTest, AHoldIsPerThread) {
  std::atomic<int> ran{0};
  PostHold hold;
  std::thread([&] { PostHold::Post([&] { ran.fetch_add(1); }); }).join();
  EXPECT_EQ(ran.load(), 1);  // the other thread had no hold
}

}  // namespace
}  // namespace hie
