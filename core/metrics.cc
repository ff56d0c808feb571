#include "core/metrics.h"

#include <cmath>
#include <sstream>

namespace hie {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<int64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<int64_t>(std::llround(v * 1e6)), std::memory_order_relaxed);
}

std::vector<int64_t> Histogram::BucketCounts() const {
  std::vector<int64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

double Histogram::Sum() const {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name,
                                                    const std::string& help, const char* type) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.help = help;
    f.type = type;
  }
  return f;
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "counter").counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "gauge").gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const std::vector<double>& bounds,
                                         const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "histogram").histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void MetricsRegistry::AddCallbackGauge(
    const std::string& name, const std::string& help,
    std::function<std::vector<std::pair<std::string, int64_t>>()> fn) {
  std::lock_guard lock(mu_);
  FamilyFor(name, help, "gauge").callback = std::move(fn);
}

namespace {
std::string WithLabels(const std::string& name, const std::string& labels,
                       const std::string& extra = {}) {
  std::string all = labels;
  if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? name : name + "{" + all + "}";
}
std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

std::string MetricsRegistry::RenderPrometheus() const {
  std::ostringstream out;
  std::lock_guard lock(mu_);
  for (const auto& [name, f] : families_) {
    out << "# HELP " << name << ' ' << f.help << "\n# TYPE " << name << ' ' << f.type << '\n';
    for (const auto& [labels, c] : f.counters) out << WithLabels(name, labels) << ' ' << c->Value() << '\n';
    for (const auto& [labels, g] : f.gauges) out << WithLabels(name, labels) << ' ' << g->Value() << '\n';
    if (f.callback) {
      for (const auto& [labels, v] : f.callback()) out << WithLabels(name, labels) << ' ' << v << '\n';
    }
    for (const auto& [labels, h] : f.histograms) {
      auto counts = h->BucketCounts();
      int64_t cum = 0;
      for (size_t i = 0; i < h->bounds().size(); ++i) {
        cum += counts[i];
        out << WithLabels(name + "_bucket", labels, "le=\"" + Num(h->bounds()[i]) + "\"") << ' '
            << cum << '\n';
      }
      cum += counts.back();
      out << WithLabels(name + "_bucket", labels, "le=\"+Inf\"") << ' ' << cum << '\n';
      out << WithLabels(name + "_sum", labels) << ' ' << Num(h->Sum()) << '\n';
      out << WithLabels(name + "_count", labels) << ' ' << h->Count() << '\n';
    }
  }
  return out.str();
}

}  // namespace hie
