#include "core/env.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

TEST(EnvTest, FakeClockMovesOnlyWhenTold) {
  FakeEnv env(1000);
  EXPECT_EQ(env.NowMillis(), 1000);
  env.Advance(250);
  EXPECT_EQ(env.NowMillis(), 1250);
}

TEST(EnvTest, TimeRoundTrips) {
  int64_t t = ParseTimeMillis("2026-11-22T07:18:18.123Z");
  ASSERT_GT(t, 0);
  EXPECT_EQ(FormatTimeMillis(t), "2026-11-22T07:18:18.123Z");
  EXPECT_EQ(ParseTimeMillis("2026-11-22T15:18:18.123+08:00"), t);
  EXPECT_EQ(ParseTimeMillis("1970-01-02"), 86400000);
  EXPECT_EQ(ParseTimeMillis("yesterday"), -1);
  EXPECT_EQ(ParseTimeMillis("2026-13-01"), -1);
}

}  // namespace
}  // namespace hie
