// Fellegi-Sunter model: per-field m and u probabilities for each agreement
// level, the thresholds that turn a total match weight into auto-link /
// review / new person, and the EM estimation of m and u from unlabeled
// candidate pairs. A trained model is frozen into a versioned JSON weights
// file (see empi/data/) so that matching is reproducible and auditable.
// Thread rules: FsModel is immutable after loading; share one const instance
// (e.g. std::shared_ptr<const FsModel>) between any number of threads.
// TrainEm is a pure function.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "empi/compare.h"

namespace hie::empi {

struct FieldParams {
  std::vector<double> m;  // P(level | match), index = level - 1
  std::vector<double> u;  // P(level | non-match)
};

class FsModel {
 public:
  // Uninformative starting values (used as the EM start point).
  static FsModel Initial();
  // Reads a weights file's text; kConfigError with the reason otherwise.
  static Result<FsModel> FromJson(std::string_view text);
  static Result<FsModel> Load(const std::string& path);
  std::string ToJson() const;
  Status Save(const std::string& path) const;

  // log2(m / u) of one level (0 for level 0).
  double Weight(Field field, uint8_t level) const {
    return level == 0 ? 0.0 : weights_[static_cast<size_t>(field)][level - 1];
  }
  double Score(const ComparisonVector& v) const;

  const FieldParams& params(Field f) const { return fields_[static_cast<size_t>(f)]; }
  void set_params(Field f, FieldParams p);

  std::string version;     // e.g. "county-v1"
  std::string trained_on;  // free text: data set, record count, date
  double lambda = 0.01;    // share of matches among the training pairs
  double upper = 12.0;     // total weight >= upper: auto-link
  double lower = 4.0;      // total weight < lower: new person
  // Frequency adjustment of an exact name agreement is clamped to this range.
  double tf_min_adjust = -4.0;
  double tf_max_adjust = 6.0;

 private:
  std::array<FieldParams, kFieldCount> fields_;
  std::array<std::vector<double>, kFieldCount> weights_;
};

struct EmOptions {
  int max_iterations = 100;
  double tolerance = 1e-6;
  // Fields whose u is kept at its starting value (estimated elsewhere).
  std::array<bool, kFieldCount> fix_u = {};
};

struct EmReport {
  int iterations = 0;
  double lambda = 0;
  size_t pairs = 0;
};

// Estimates lambda, m and u by expectation-maximisation on comparison
// vectors of unlabeled candidate pairs (level 0 = missing, skipped).
// `model` gives the starting values and receives the estimates;
// thresholds and version are left unchanged.
Result<EmReport> TrainEm(const std::vector<ComparisonVector>& pairs, FsModel& model,
                         const EmOptions& options = {});

}  // namespace hie::empi
