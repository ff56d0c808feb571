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

TEST(EnvTest, SinceTakesEpochMillisAChinaDayOrATime) {
  EXPECT_EQ(ParseSinceMillis("1700000000000"), 1700000000000);
  EXPECT_EQ(ParseSinceMillis("0"), 0);
  // A bare date is that day's midnight in China (UTC+8), the same for every
  // endpoint that takes a `since`.
  EXPECT_EQ(ParseSinceMillis("2026-11-22"), ParseTimeMillis("2026-11-22T00:00:00+08:00"));
  EXPECT_EQ(ParseSinceMillis("2026-11-22T08:00:00Z"), ParseTimeMillis("2026-11-22T08:00:00Z"));
  EXPECT_EQ(ParseSinceMillis(""), -1);
  EXPECT_EQ(ParseSinceMillis("yesterday"), -1);
  EXPECT_EQ(ParseSinceMillis("99999999999999999999"), -1);  // too long for a time, no overflow
}

}  // namespace
}  // namespace hie
