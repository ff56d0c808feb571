// hie-empi-evaluate: runs the EMPI matcher over labelled files and prints
// pairwise precision, recall, F1, false-merge pairs and review-queue size.
// Records are matched one by one in file order, as they would arrive.
// Never prints names, ID numbers or phones: only record ids and evidence.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "empi/match_index.h"
#include "empi/record_normalizer.h"
#include "empi/training.h"
#include "tools/empi/labelled_csv.h"

namespace hie::empi::tools {
namespace {

double Pairs(double n) { return n * (n - 1) / 2; }

std::string Levels(const ComparisonVector& v) {
  static constexpr const char* kShort[] = {"id", "name", "birth", "sex", "phone", "addr"};
  std::string s;
  for (size_t f = 0; f < kFieldCount; ++f) {
    s += kShort[f];
    s += "=";
    s += std::to_string(v[f]);
    s += " ";
  }
  return s;
}

struct Metrics {
  double tp = 0, predicted = 0, truth = 0;
  double precision() const { return predicted == 0 ? 1.0 : tp / predicted; }
  double recall() const { return truth == 0 ? 1.0 : tp / truth; }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r == 0 ? 0 : 2 * p * r / (p + r);
  }
};

Metrics Pairwise(const std::vector<uint64_t>& pred, const std::vector<int>& truth) {
  std::unordered_map<uint64_t, double> np;
  std::unordered_map<int, double> nt;
  std::map<std::pair<uint64_t, int>, double> cell;
  for (size_t i = 0; i < pred.size(); ++i) {
    np[pred[i]]++;
    nt[truth[i]]++;
    cell[{pred[i], truth[i]}]++;
  }
  Metrics m;
  for (auto& [k, n] : np) m.predicted += Pairs(n);
  for (auto& [k, n] : nt) m.truth += Pairs(n);
  for (auto& [k, n] : cell) m.tp += Pairs(n);
  return m;
}

int Run(int argc, char** argv) {
  CLI::App app{"EMPI 匹配评估 (EMPI matching evaluation)"};
  std::vector<std::string> files;
  std::string weights_path, save_path, version = "trained";
  bool train = false, plain_em = false;
  double upper = NAN, lower = NAN;
  size_t block_cap = 200, explain = 0;
  app.add_option("files", files, "带标注的 CSV (labelled CSV files)")->required();
  app.add_option("--weights", weights_path, "权重文件 (frozen weights JSON)");
  app.add_flag("--train-em", train, "在本数据上用 EM 估计 m/u (estimate m/u by EM, unlabeled)");
  app.add_flag("--plain-em", plain_em, "无身份证锚点时用普通 EM (plain EM without ID anchors)");
  app.add_option("--save-weights", save_path, "保存训练得到的权重 (write trained weights)");
  app.add_option("--version", version, "权重版本 (weights version)");
  app.add_option("--upper", upper, "自动关联阈值 (auto-link threshold)");
  app.add_option("--lower", lower, "审核阈值 (review threshold)");
  double margin = 5.0;
  app.add_option("--margin", margin,
                 "两人均超阈值时所需领先 (lead needed between two strong persons)");
  app.add_option("--block-cap", block_cap, "每个块读取上限 (records read per block)");
  app.add_option("--explain", explain, "列出若干错误关联与漏配 (show N false links and misses)");
  CLI11_PARSE(app, argc, argv);

  std::vector<LabelledRecord> labelled;
  for (const auto& f : files) {
    auto r = ReadLabelled(f);
    if (!r.ok()) {
      std::fprintf(stderr, "错误 (error): %s\n", r.status().ToString().c_str());
      return 1;
    }
    labelled.insert(labelled.end(), r->begin(), r->end());
  }
  auto normalizer = RecordNormalizer::Create();
  if (!normalizer.ok()) {
    std::fprintf(stderr, "错误 (error): %s\n", normalizer.status().ToString().c_str());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<NormalizedRecord> records(labelled.size());
  std::vector<bool> usable(labelled.size(), false);
  size_t unusable = 0;
  for (size_t i = 0; i < labelled.size(); ++i) {
    auto n = (*normalizer)->Normalize(labelled[i].record);
    if (n.ok()) {
      records[i] = std::move(n).value();
      usable[i] = true;
    } else {
      ++unusable;
    }
  }
  const auto t1 = std::chrono::steady_clock::now();

  FsModel model = FsModel::Initial();
  if (!weights_path.empty()) {
    auto m = FsModel::Load(weights_path);
    if (!m.ok()) {
      std::fprintf(stderr, "错误 (error): %s\n", m.status().ToString().c_str());
      return 1;
    }
    model = std::move(m).value();
  }
  if (train) {
    std::vector<NormalizedRecord> ok_records;
    for (size_t i = 0; i < records.size(); ++i) {
      if (usable[i]) ok_records.push_back(records[i]);
    }
    auto rep = TrainFromRecords(ok_records, block_cap, model, plain_em);
    if (!rep.ok()) {
      std::fprintf(stderr, "错误 (error): %s\n", rep.status().ToString().c_str());
      return 1;
    }
    model.version = version;
    model.trained_on = files[0] + " (" + std::to_string(ok_records.size()) + " records, " +
                       std::to_string(rep->blocked_pairs) + " blocked pairs, " +
                       std::to_string(rep->anchor_matches) + "/" +
                       std::to_string(rep->anchor_non_matches) + " ID-anchored pairs, EM " +
                       std::to_string(rep->em.iterations) + " iterations)";
    std::printf("EM: %zu pairs, anchors %zu/%zu, %d iterations, lambda %.4f\n", rep->blocked_pairs,
                rep->anchor_matches, rep->anchor_non_matches, rep->em.iterations, rep->em.lambda);
  }
  if (!std::isnan(upper)) model.upper = upper;
  if (!std::isnan(lower)) model.lower = lower;
  if (!save_path.empty()) {
    Status st = model.Save(save_path);
    if (!st.ok()) {
      std::fprintf(stderr, "错误 (error): %s\n", st.ToString().c_str());
      return 1;
    }
  }
  auto shared = std::make_shared<const FsModel>(model);
  MatchOptions options;
  options.block_cap = block_cap;
  options.ambiguity_margin = margin;
  MatchIndex index(shared, options);

  std::unordered_map<std::string, int> label_ids;
  std::vector<int> truth(labelled.size());
  for (size_t i = 0; i < labelled.size(); ++i) {
    truth[i] = label_ids.emplace(labelled[i].true_person, static_cast<int>(label_ids.size()))
                   .first->second;
  }
  std::vector<uint64_t> pred(labelled.size()), pred_oracle(labelled.size());
  std::vector<size_t> file_of;                        // index record -> position in the file
  std::unordered_map<uint64_t, uint64_t> oracle_of;   // matcher person -> oracle person
  std::unordered_map<int, uint64_t> person_of_truth;  // first person seen per true label
  size_t auto_links = 0, reviews = 0, news = 0, false_links = 0, misses = 0, not_blocked = 0;
  size_t shown_false = 0, shown_miss = 0;
  uint64_t next_person = 1, next_oracle = 1;
  std::vector<double> latency_us;
  latency_us.reserve(labelled.size());
  const auto tm = std::chrono::steady_clock::now();
  for (size_t i = 0; i < labelled.size(); ++i) {
    if (!usable[i]) {
      pred[i] = pred_oracle[i] = (1ULL << 62) | i;
      continue;
    }
    const auto s = std::chrono::steady_clock::now();
    MatchResult m = index.Match(records[i]);
    latency_us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s).count());
    uint64_t person = 0, oracle = 0;
    if (m.outcome == Outcome::kAutoLink) {
      ++auto_links;
      person = m.person_id;
      oracle = oracle_of[person];
      const PersonCandidate& top = m.persons[0];
      const size_t other = file_of[top.best_record];
      if (truth[other] != truth[i]) {
        ++false_links;
        if (shown_false < explain) {
          ++shown_false;
          std::printf("错误关联 (false link): %s -> %s weight %.1f rule %d %s\n",
                      labelled[i].record.record_id.c_str(),
                      labelled[other].record.record_id.c_str(), top.weight,
                      static_cast<int>(top.rule), Levels(top.levels).c_str());
        }
      }
    } else {
      if (m.outcome == Outcome::kReview)
        ++reviews;
      else
        ++news;
      person = next_person++;
      // Oracle reviewer: accepts the top candidate when it is the same person.
      if (m.outcome == Outcome::kReview && truth[file_of[m.persons[0].best_record]] == truth[i]) {
        oracle = oracle_of[m.persons[0].person_id];
      }
    }
    if (oracle == 0) oracle = next_oracle++;
    oracle_of[person] = oracle;
    // A miss: the person was already known but the record was not linked.
    auto known = person_of_truth.find(truth[i]);
    if (m.outcome != Outcome::kAutoLink && known != person_of_truth.end()) {
      ++misses;
      std::vector<ScoredCandidate> cands = index.Candidates(records[i]);
      const ScoredCandidate* best = nullptr;
      for (const auto& c : cands) {
        if (truth[file_of[c.record]] == truth[i] && (!best || c.weight > best->weight)) best = &c;
      }
      if (!best) ++not_blocked;
      if (shown_miss < explain) {
        ++shown_miss;
        if (best) {
          std::printf("漏配 (miss, %s): %s ~ %s weight %.1f rule %d %s\n",
                      m.outcome == Outcome::kReview ? "review" : "new",
                      labelled[i].record.record_id.c_str(),
                      labelled[file_of[best->record]].record.record_id.c_str(), best->weight,
                      static_cast<int>(best->rule), Levels(best->levels).c_str());
        } else {
          std::printf("漏配 (miss, not blocked): %s\n", labelled[i].record.record_id.c_str());
        }
      }
    }
    if (known == person_of_truth.end()) person_of_truth.emplace(truth[i], person);
    pred[i] = person;
    pred_oracle[i] = oracle;
    Status st = index.Add(records[i], person);
    if (!st.ok()) {
      std::fprintf(stderr, "错误 (error): %s\n", st.ToString().c_str());
      return 1;
    }
    file_of.push_back(i);
  }
  const auto t2 = std::chrono::steady_clock::now();
  std::sort(latency_us.begin(), latency_us.end());
  auto pct = [&](double q) {
    return latency_us.empty() ? 0.0 : latency_us[static_cast<size_t>(q * (latency_us.size() - 1))];
  };
  const Metrics a = Pairwise(pred, truth);
  const Metrics o = Pairwise(pred_oracle, truth);
  const double n = static_cast<double>(labelled.size());
  std::printf("记录 (records) %zu, 真实人数 (true persons) %zu, 无法使用 (unusable) %zu\n",
              labelled.size(), label_ids.size(), unusable);
  std::printf("权重 (weights) %s, upper %.2f, lower %.2f, block cap %zu\n", model.version.c_str(),
              model.upper, model.lower, block_cap);
  std::printf("结果 (outcomes): 自动关联 auto-link %zu, 审核 review %zu (%.2f%%), 新建 new %zu\n",
              auto_links, reviews, 100.0 * reviews / n, news);
  std::printf(
      "自动 (auto only):  precision %.5f recall %.5f F1 %.5f  false-merge pairs %.0f "
      "(true pairs %.0f, predicted %.0f)\n",
      a.precision(), a.recall(), a.f1(), a.predicted - a.tp, a.truth, a.predicted);
  std::printf("审核后 (after oracle review): precision %.5f recall %.5f F1 %.5f\n", o.precision(),
              o.recall(), o.f1());
  std::printf(
      "错误关联记录 (false links) %zu, 漏配记录 (missed records) %zu, 其中未被分块召回 "
      "(not blocked) %zu\n",
      false_links, misses, not_blocked);
  std::printf("耗时 (time): normalize %.1f us/record, match p50 %.1f us p99 %.1f us\n",
              std::chrono::duration<double, std::micro>(t1 - t0).count() / n, pct(0.5), pct(0.99));
  const double bulk_s = std::chrono::duration<double>((t1 - t0) + (t2 - tm)).count();
  std::printf("整批去重 (bulk dedupe, normalize + match + add): %.1f s, %.0f records/s\n", bulk_s,
              n / bulk_s);
  return 0;
}

}  // namespace
}  // namespace hie::empi::tools

int main(int argc, char** argv) { return hie::empi::tools::Run(argc, argv); }
