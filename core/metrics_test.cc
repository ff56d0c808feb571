#include "core/metrics.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

TEST(MetricsTest, RendersPrometheusText) {
  MetricsRegistry reg;
  reg.GetCounter("hie_received_total", "messages received", "source=\"mllp\"").Inc(3);
  auto& h = reg.GetHistogram("hie_commit_seconds", "commit latency", {0.001, 0.01});
  h.Observe(0.0005);
  h.Observe(0.5);
  std::string text = reg.RenderPrometheus();
  EXPECT_NE(text.find("hie_received_total{source=\"mllp\"} 3"), std::string::npos);
  EXPECT_NE(text.find("hie_commit_seconds_bucket{le=\"0.001\"} 1"), std::string::npos);
  EXPECT_NE(text.find("hie_commit_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(text.find("hie_commit_seconds_count 2"), std::string::npos);
}

}  // namespace
}  // namespace hie
