// The record reads' pool (engine/read_pool.h): runs what is posted, refuses
// beyond its bound, runs what is queued on Stop and refuses after.
#include "engine/read_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace hie {
namespace {

TEST(ReadPoolTest, RunsBoundsAndDrains) {
  ReadPool pool(1, 2);
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> started;
  ASSERT_TRUE(pool.Post([&] {
    started.set_value();
    open.wait();  // holds the only thread
    ++ran;
  }));
  started.get_future().wait();
  EXPECT_TRUE(pool.Post([&] { ++ran; }));
  EXPECT_TRUE(pool.Post([&] { ++ran; }));
  EXPECT_FALSE(pool.Post([&] { ++ran; })) << "a third queued read must be refused";
  gate.set_value();
  pool.Stop();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(pool.Post([&] { ++ran; }));
}

}  // namespace
}  // namespace hie
