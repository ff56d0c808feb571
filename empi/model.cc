#include "empi/model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hie::empi {
namespace {

constexpr std::array<std::string_view, kFieldCount> kFieldKeys = {"id",  "name",  "birth",
                                                                  "sex", "phone", "address"};
constexpr double kFloor = 1e-6;

Status ConfigError(std::string msg) { return Status(ErrorCode::kConfigError, std::move(msg)); }

}  // namespace

void FsModel::set_params(Field f, FieldParams p) {
  const size_t i = static_cast<size_t>(f);
  weights_[i].assign(p.m.size(), 0.0);
  for (size_t l = 0; l < p.m.size(); ++l) {
    weights_[i][l] = std::log2(std::max(p.m[l], kFloor) / std::max(p.u[l], kFloor));
  }
  fields_[i] = std::move(p);
}

double FsModel::Score(const ComparisonVector& v) const {
  double s = 0;
  for (size_t f = 0; f < kFieldCount; ++f) s += Weight(static_cast<Field>(f), v[f]);
  return s;
}

FsModel FsModel::Initial() {
  FsModel m;
  m.version = "initial";
  // Levels from best to worst: matches concentrate on the first levels,
  // non-matches on the last.
  m.set_params(Field::kId, {{0.90, 0.05, 0.05}, {0.001, 0.001, 0.998}});
  m.set_params(Field::kName, {{0.80, 0.08, 0.06, 0.04, 0.02}, {0.01, 0.01, 0.03, 0.30, 0.65}});
  m.set_params(Field::kBirth, {{0.80, 0.03, 0.07, 0.08, 0.02}, {0.01, 0.001, 0.02, 0.10, 0.869}});
  m.set_params(Field::kSex, {{0.98, 0.02}, {0.5, 0.5}});
  m.set_params(Field::kPhone, {{0.70, 0.05, 0.25}, {0.05, 0.001, 0.949}});
  m.set_params(Field::kAddress, {{0.60, 0.20, 0.10, 0.10}, {0.05, 0.10, 0.20, 0.65}});
  return m;
}

std::string FsModel::ToJson() const {
  nlohmann::ordered_json j;
  j["format"] = "hie-empi-weights/1";
  j["version"] = version;
  j["trained_on"] = trained_on;
  j["lambda"] = lambda;
  j["thresholds"] = {{"upper", upper}, {"lower", lower}};
  j["name_frequency_adjustment"] = {{"min", tf_min_adjust}, {"max", tf_max_adjust}};
  for (size_t f = 0; f < kFieldCount; ++f) {
    nlohmann::ordered_json field;
    std::vector<std::string> labels;
    for (size_t l = 1; l <= kLevelCount[f]; ++l) {
      labels.emplace_back(LevelLabel(static_cast<Field>(f), static_cast<uint8_t>(l)));
    }
    field["levels"] = labels;
    field["m"] = fields_[f].m;
    field["u"] = fields_[f].u;
    field["weight_log2"] = weights_[f];
    j["fields"][std::string(kFieldKeys[f])] = field;
  }
  return j.dump(2) + "\n";
}

Result<FsModel> FsModel::FromJson(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return ConfigError("权重文件不是合法 JSON (weights file is not valid JSON)");
  if (j.value("format", "") != "hie-empi-weights/1") {
    return ConfigError("权重文件格式不符 (weights file format is not hie-empi-weights/1)");
  }
  FsModel m;
  m.version = j.value("version", "");
  m.trained_on = j.value("trained_on", "");
  m.lambda = j.value("lambda", 0.01);
  if (m.version.empty()) return ConfigError("权重文件缺少版本 (weights file has no version)");
  if (!j.contains("thresholds") || !j["thresholds"].is_object()) {
    return ConfigError("权重文件缺少阈值 (weights file has no thresholds)");
  }
  m.upper = j["thresholds"].value("upper", 0.0);
  m.lower = j["thresholds"].value("lower", 0.0);
  if (m.lower > m.upper) return ConfigError("阈值 lower > upper (thresholds out of order)");
  if (j.contains("name_frequency_adjustment") && j["name_frequency_adjustment"].is_object()) {
    m.tf_min_adjust = j["name_frequency_adjustment"].value("min", m.tf_min_adjust);
    m.tf_max_adjust = j["name_frequency_adjustment"].value("max", m.tf_max_adjust);
  }
  if (!j.contains("fields") || !j["fields"].is_object()) {
    return ConfigError("权重文件缺少字段 (weights file has no fields)");
  }
  for (size_t f = 0; f < kFieldCount; ++f) {
    const std::string key(kFieldKeys[f]);
    const auto& fields = j["fields"];
    if (!fields.contains(key) || !fields[key].is_object()) {
      return Status(ErrorCode::kConfigError, "权重文件缺少字段 (field missing in weights file)",
                    key);
    }
    const auto& fj = fields[key];
    FieldParams p;
    for (const char* which : {"m", "u"}) {
      if (!fj.contains(which) || !fj[which].is_array() || fj[which].size() != kLevelCount[f]) {
        return Status(ErrorCode::kConfigError, "权重文件字段级别数不符 (wrong number of levels)",
                      key);
      }
      auto& out = which[0] == 'm' ? p.m : p.u;
      for (const auto& v : fj[which]) {
        if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
          return Status(ErrorCode::kConfigError, "概率须在 0 与 1 之间 (probability out of range)",
                        key);
        }
        out.push_back(v.get<double>());
      }
    }
    m.set_params(static_cast<Field>(f), std::move(p));
  }
  return m;
}

Result<FsModel> FsModel::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return Status(ErrorCode::kConfigError, "无法读取权重文件 (cannot read weights file)", path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto m = FromJson(ss.str());
  if (!m.ok()) return Status(m.status().code(), m.status().message(), path);
  return m;
}

Status FsModel::Save(const std::string& path) const {
  std::ofstream out(path);
  if (!out)
    return Status(ErrorCode::kInternal, "无法写入权重文件 (cannot write weights file)", path);
  out << ToJson();
  if (!out) return Status(ErrorCode::kInternal, "写入权重文件失败 (write failed)", path);
  return Status::Ok();
}

Result<EmReport> TrainEm(const std::vector<ComparisonVector>& pairs, FsModel& model,
                         const EmOptions& options) {
  if (pairs.empty()) {
    return Status(ErrorCode::kInvalidArgument, "没有候选对可供训练 (no candidate pairs)");
  }
  // Aggregate identical vectors: there are few distinct patterns.
  std::map<ComparisonVector, double> patterns;
  for (const auto& v : pairs) patterns[v] += 1.0;
  std::array<FieldParams, kFieldCount> p;
  for (size_t f = 0; f < kFieldCount; ++f) p[f] = model.params(static_cast<Field>(f));
  double lambda = model.lambda;
  EmReport report;
  report.pairs = pairs.size();
  for (int it = 0; it < options.max_iterations; ++it) {
    std::array<std::vector<double>, kFieldCount> mc, uc;
    for (size_t f = 0; f < kFieldCount; ++f) {
      mc[f].assign(kLevelCount[f], 1e-3);  // light smoothing
      uc[f].assign(kLevelCount[f], 1e-3);
    }
    double match_total = 0;
    for (const auto& [v, count] : patterns) {
      double lm = std::log(lambda), lu = std::log(1 - lambda);
      for (size_t f = 0; f < kFieldCount; ++f) {
        if (v[f] == 0) continue;
        lm += std::log(std::max(p[f].m[v[f] - 1], kFloor));
        lu += std::log(std::max(p[f].u[v[f] - 1], kFloor));
      }
      const double pm = 1.0 / (1.0 + std::exp(lu - lm));
      match_total += pm * count;
      for (size_t f = 0; f < kFieldCount; ++f) {
        if (v[f] == 0) continue;
        mc[f][v[f] - 1] += pm * count;
        uc[f][v[f] - 1] += (1 - pm) * count;
      }
    }
    double change = 0;
    const double new_lambda = match_total / static_cast<double>(pairs.size());
    change = std::max(change, std::abs(new_lambda - lambda));
    lambda = std::clamp(new_lambda, 1e-6, 1 - 1e-6);
    for (size_t f = 0; f < kFieldCount; ++f) {
      double sm = 0, su = 0;
      for (size_t l = 0; l < kLevelCount[f]; ++l) {
        sm += mc[f][l];
        su += uc[f][l];
      }
      for (size_t l = 0; l < kLevelCount[f]; ++l) {
        double nm = mc[f][l] / sm;
        change = std::max(change, std::abs(nm - p[f].m[l]));
        p[f].m[l] = nm;
        if (!options.fix_u[f]) {
          double nu = uc[f][l] / su;
          change = std::max(change, std::abs(nu - p[f].u[l]));
          p[f].u[l] = nu;
        }
      }
    }
    report.iterations = it + 1;
    if (change < options.tolerance) break;
  }
  // Agreement levels are ordered from best to worst, so their weights must
  // not increase down the list: pool adjacent levels that violate the order
  // (sparse levels otherwise get absurd weights).
  for (size_t f = 0; f < kFieldCount; ++f) {
    const size_t n = kLevelCount[f];
    std::vector<std::pair<size_t, size_t>> blocks;  // [first, last] level ranges
    std::vector<double> bm, bu;
    for (size_t l = 0; l < n; ++l) {
      blocks.push_back({l, l});
      bm.push_back(p[f].m[l]);
      bu.push_back(p[f].u[l]);
      while (blocks.size() > 1) {
        const size_t k = blocks.size() - 1;
        const double w_prev = std::log(std::max(bm[k - 1], kFloor) / std::max(bu[k - 1], kFloor));
        const double w_last = std::log(std::max(bm[k], kFloor) / std::max(bu[k], kFloor));
        if (w_last <= w_prev) break;
        blocks[k - 1].second = blocks[k].second;
        bm[k - 1] += bm[k];
        bu[k - 1] += bu[k];
        blocks.pop_back();
        bm.pop_back();
        bu.pop_back();
      }
    }
    if (blocks.size() == n) continue;
    for (size_t b = 0; b < blocks.size(); ++b) {
      // One m/u ratio inside a pooled block, block totals kept.
      double mass = 0;
      for (size_t l = blocks[b].first; l <= blocks[b].second; ++l) {
        mass += options.fix_u[f] ? p[f].u[l] : p[f].m[l] + p[f].u[l];
      }
      for (size_t l = blocks[b].first; l <= blocks[b].second; ++l) {
        if (options.fix_u[f]) {
          p[f].m[l] = mass > 0 ? bm[b] * p[f].u[l] / mass : 0;
        } else {
          const double share = mass > 0 ? (p[f].m[l] + p[f].u[l]) / mass : 0;
          p[f].m[l] = bm[b] * share;
          p[f].u[l] = bu[b] * share;
        }
      }
    }
  }
  for (size_t f = 0; f < kFieldCount; ++f) model.set_params(static_cast<Field>(f), p[f]);
  model.lambda = lambda;
  report.lambda = lambda;
  return report;
}

}  // namespace hie::empi
