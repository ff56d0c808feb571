#include "engine/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace hie {
namespace {

TEST(BackoffTest, GrowsAndIsCapped) {
  FakeEnv env;
  for (int i = 0; i < 200; ++i) {
    int64_t b1 = BackoffMillis(1, 1000, 300000, env);
    EXPECT_GE(b1, 500);
    EXPECT_LE(b1, 1000);
    int64_t b4 = BackoffMillis(4, 1000, 300000, env);
    EXPECT_GE(b4, 4000);
    EXPECT_LE(b4, 8000);
    int64_t b30 = BackoffMillis(30, 1000, 300000, env);
    EXPECT_GE(b30, 150000);
    EXPECT_LE(b30, 300000);
  }
}

TEST(BackoffTest, JitterSpreadsRetries) {
  FakeEnv env;
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) seen.insert(BackoffMillis(3, 1000, 300000, env));
  EXPECT_GT(seen.size(), 10u);
}

}  // namespace
}  // namespace hie
