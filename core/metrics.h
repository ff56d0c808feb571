// A small metrics registry rendered in the Prometheus text format.
// Metrics are created once (at wiring time) and then updated lock-free from
// any thread; labelled families hand out one child per label value.
// Thread rules: Counter/Gauge/Histogram updates are lock-free and safe from
// any thread; creating metrics and rendering take the registry's mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hie {

class Counter {
 public:
  void Inc(int64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  int64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  int64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Fixed upper bounds, cumulative on render; sum kept in micro-units.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  std::vector<int64_t> BucketCounts() const;  // non-cumulative, +Inf last
  int64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<int64_t>[]> buckets_;
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_micros_{0};
};

class MetricsRegistry {
 public:
  // Returns the metric for (name, label set), creating it on first use.
  // `labels` is pre-rendered: `destination="county-platform"` or empty.
  Counter& GetCounter(const std::string& name, const std::string& help,
                      const std::string& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help,
                  const std::string& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& bounds, const std::string& labels = {});
  // A gauge whose value is computed at render time (e.g. queue depth).
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<std::vector<std::pair<std::string, int64_t>>()> fn);

  std::string RenderPrometheus() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::function<std::vector<std::pair<std::string, int64_t>>()> callback;
  };
  Family& FamilyFor(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace hie
