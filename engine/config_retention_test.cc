// The `retention:` section: values, defaults and refusals with file:line.
#include <gtest/gtest.h>

#include "engine/config.h"
#include "engine/retention.h"

namespace hie {
namespace {

constexpr const char* kBase =
    "hub: {name: t}\n"
    "facilities: [{id: F1}]\n";

Result<Config> Parse(const std::string& retention) {
  return ParseConfig(std::string(kBase) + retention, "hub.yaml");
}

TEST(ConfigRetention, AbsentMeansForever) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->retention.enabled());
  EXPECT_EQ(c->retention.check_interval_ms, 3'600'000);
}

TEST(ConfigRetention, ValuesAndCutoffs) {
  auto c = Parse("retention: {content_days: 30, metadata_days: 365, check_interval: 10m}\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->retention.enabled());
  EXPECT_EQ(c->retention.content_days, 30);
  EXPECT_EQ(c->retention.metadata_days, 365);
  EXPECT_EQ(c->retention.check_interval_ms, 600'000);
  const int64_t now = 1'800'000'000'000;
  RetentionCutoffs cut = RetentionRunner::CutoffsAt(c->retention, now);
  EXPECT_EQ(cut.content_before_ms, now - 30LL * 86'400'000);
  EXPECT_EQ(cut.metadata_before_ms, now - 365LL * 86'400'000);
  // Content only: metadata kept forever (cutoff 0).
  c = Parse("retention:\n  content_days: 7\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(RetentionRunner::CutoffsAt(c->retention, now).metadata_before_ms, 0);
}

void ExpectRefused(const std::string& retention, const std::string& line,
                   const std::string& needle) {
  auto c = Parse(retention);
  ASSERT_FALSE(c.ok()) << retention;
  EXPECT_EQ(c.status().code(), ErrorCode::kConfigError);
  EXPECT_EQ(c.status().where(), "hub.yaml:" + line) << c.status().ToString();
  EXPECT_NE(c.status().message().find(needle), std::string::npos) << c.status().message();
}

TEST(ConfigRetention, RefusedWithFileAndLine) {
  ExpectRefused("retention:\n  metadata_days: 30\n  content_days: 90\n", "5", "metadata_days");
  ExpectRefused("retention:\n  content_days: -1\n", "4", "0–36500");
  ExpectRefused("retention:\n  content_days: 2.5\n", "4", "whole number");
  ExpectRefused("retention:\n  content_dayz: 3\n", "4", "unknown key");
  ExpectRefused("retention:\n  check_interval: 10ms\n", "4", "at least 1s");
  ExpectRefused("retention:\n  check_interval: soon\n", "4", "check_interval");
  ExpectRefused("retention: 30\n", "3", "expected a map");
}

}  // namespace
}  // namespace hie
