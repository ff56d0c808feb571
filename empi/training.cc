#include "empi/training.h"

#include <algorithm>
#include <random>

#include "empi/match_index.h"

namespace hie::empi {

Result<TrainingReport> TrainFromRecords(const std::vector<NormalizedRecord>& records,
                                        size_t block_cap, FsModel& model, bool allow_plain_em) {
  TrainingReport report;
  report.records = records.size();
  std::vector<ComparisonVector> vectors;
  std::array<std::vector<double>, kFieldCount> m_count, u_count, all_count;
  for (size_t f = 0; f < kFieldCount; ++f) {
    m_count[f].assign(kLevelCount[f], 0.5);  // smoothing
    u_count[f].assign(kLevelCount[f], 0.5);
    all_count[f].assign(kLevelCount[f], 0.5);
  }
  for (auto [i, j] : BlockedPairs(records, block_cap)) {
    const NormalizedRecord& a = records[i];
    const NormalizedRecord& b = records[j];
    ComparisonVector v = Compare(a, b);
    // Pairs the deterministic rules decide (twins, households, conflicting
    // IDs) are not explained by the weights: leaving them out keeps EM from
    // mistaking households for persons.
    const Rule rule = ApplyRules(a, b, v);
    if (rule == Rule::kNone || rule == Rule::kIdAndName || rule == Rule::kIdNameConflict) {
      vectors.push_back(v);
    }
    for (size_t f = 0; f < kFieldCount; ++f) {
      if (v[f] != 0) all_count[f][v[f] - 1] += 1.0;
    }
    const bool valid = a.id.kind == IdKind::kResident && b.id.kind == IdKind::kResident &&
                       a.id.checksum_ok && b.id.checksum_ok;
    if (!valid) continue;
    const uint8_t id = v[static_cast<size_t>(Field::kId)];
    auto* counts = id == level::kIdExact ? &m_count : id == level::kIdDisagree ? &u_count : nullptr;
    if (!counts) continue;
    (id == level::kIdExact ? report.anchor_matches : report.anchor_non_matches)++;
    for (size_t f = 1; f < kFieldCount; ++f) {
      if (v[f] != 0) (*counts)[f][v[f] - 1] += 1.0;
    }
  }
  report.blocked_pairs = vectors.size();
  EmOptions options;
  const bool anchored = report.anchor_matches >= 50 && report.anchor_non_matches >= 50;
  if (!anchored && !allow_plain_em) {
    return Status(ErrorCode::kInvalidArgument,
                  "身份证号锚点对太少，无法锚定估计 (too few ID-anchored pairs)");
  }
  if (anchored) {
    for (size_t f = 1; f < kFieldCount; ++f) {
      double sm = 0, su = 0, sa = 0;
      for (double c : m_count[f]) sm += c;
      for (double c : u_count[f]) su += c;
      for (double c : all_count[f]) sa += c;
      FieldParams p;
      for (size_t l = 0; l < kLevelCount[f]; ++l) {
        p.m.push_back(m_count[f][l] / sm);
        p.u.push_back(u_count[f][l] / su);
      }
      if (static_cast<Field>(f) == Field::kBirth) {
        // Records with a valid ID card take their birth date from it, so
        // anchor pairs never show partial or placeholder dates: start u of
        // "only the year known" at its share among all blocked pairs and let
        // EM estimate the birth u.
        const size_t year_only = level::kBirthYear - 1;
        p.u[year_only] = std::max(p.u[year_only], all_count[f][year_only] / sa);
        double total = 0;
        for (double u : p.u) total += u;
        for (double& u : p.u) u /= total;
      } else {
        options.fix_u[f] = true;
      }
      model.set_params(static_cast<Field>(f), std::move(p));
    }
  }
  if (!anchored && records.size() > 1) {
    // Without anchors, blocked pairs may be mostly matches and say little
    // about non-matches: add random pairs (almost all non-matches), as many
    // as there are blocked pairs.
    std::mt19937_64 rng(records.size());
    std::uniform_int_distribution<size_t> pick(0, records.size() - 1);
    const size_t extra = std::max<size_t>(vectors.size(), 10000);
    for (size_t k = 0; k < extra; ++k) {
      const size_t i = pick(rng), j = pick(rng);
      if (i != j) vectors.push_back(Compare(records[i], records[j]));
    }
  }
  HIE_ASSIGN_OR_RETURN(report.em, TrainEm(vectors, model, options));
  return report;
}

}  // namespace hie::empi
