#include "empi/match_index.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string_view>

namespace hie::empi {
namespace {

uint64_t HashKey(std::string_view tag, std::string_view value) {
  // FNV-1a over tag and value; collisions only add candidates.
  uint64_t h = 1469598103934665603ULL;
  for (char c : tag) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  h = (h ^ 0xFF) * 1099511628211ULL;
  for (char c : value) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

std::string DateKey(const BirthDate& b) {
  return std::to_string(b.year * 10000 + b.month * 100 + b.day);
}

}  // namespace

std::string_view RuleLabel(Rule rule) {
  switch (rule) {
    case Rule::kNone:
      return "";
    case Rule::kIdAndName:
      return "身份证号与姓名一致 (same ID number and name)";
    case Rule::kIdConflict:
      return "身份证号冲突 (conflicting ID numbers)";
    case Rule::kTwins:
      return "疑似双胞胎 (probable twins)";
    case Rule::kHousehold:
      return "同户不同人 (same household, different person)";
    case Rule::kIdNameConflict:
      return "同一证件不同姓名 (one ID card, another name)";
  }
  return "";
}

std::string_view OutcomeLabel(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAutoLink:
      return "自动关联 (auto-link)";
    case Outcome::kReview:
      return "人工审核 (review)";
    case Outcome::kNewPerson:
      return "新建患者 (new person)";
  }
  return "";
}

std::vector<uint64_t> BlockingKeys(const NormalizedRecord& r, bool wide) {
  std::vector<uint64_t> keys;
  keys.reserve(8);
  if (r.id.kind != IdKind::kNone) keys.push_back(HashKey("I", r.id.number));
  if (!r.phone.digits.empty()) keys.push_back(HashKey("P", r.phone.digits));
  const std::string& sur = r.name.pinyin_surname;
  const std::string& giv = r.name.pinyin_given;
  if (r.birth.known()) {
    const std::string year = std::to_string(r.birth.year);
    if (!sur.empty()) {
      // Surname + birth year alone makes blocks of hundreds in a large
      // county (王, 李, 张 ...): split by the given name's initial unless the
      // given name is missing.
      if (giv.empty() || wide) keys.push_back(HashKey("S", sur + year));
      if (!giv.empty()) keys.push_back(HashKey("SG", sur + year + giv.substr(0, 1)));
    }
    if (r.birth.informative()) {
      if (!giv.empty()) keys.push_back(HashKey("G", giv + DateKey(r.birth)));
      if (!sur.empty()) keys.push_back(HashKey("D", sur + DateKey(r.birth)));
    }
  }
  if (!r.address.village.empty() && !giv.empty()) {
    keys.push_back(HashKey("V", r.address.village + "|" + giv));
  }
  return keys;
}

Rule ApplyRules(const NormalizedRecord& a, const NormalizedRecord& b, const ComparisonVector& v) {
  const auto id = v[static_cast<size_t>(Field::kId)];
  const auto name = v[static_cast<size_t>(Field::kName)];
  const auto birth = v[static_cast<size_t>(Field::kBirth)];
  const auto sex = v[static_cast<size_t>(Field::kSex)];
  const auto phone = v[static_cast<size_t>(Field::kPhone)];
  const auto addr = v[static_cast<size_t>(Field::kAddress)];
  const bool both_valid_ids = a.id.kind == IdKind::kResident && b.id.kind == IdKind::kResident &&
                              a.id.checksum_ok && b.id.checksum_ok;
  const bool name_matches = name == level::kNameExact || name == level::kNameHomophone;
  const bool shared_home = (addr == level::kAddrExact || addr == level::kAddrVillage);
  // Same surname and birth date, a different given name, one home or phone:
  // twins, even when one used the other's ID card.
  const bool other_id_exact = id == level::kIdExact && a.id.kind == IdKind::kOther;
  if (birth == level::kBirthExact && !name_matches && name != 0 && !other_id_exact &&
      a.name.pinyin_surname == b.name.pinyin_surname &&
      // Chinese twins' names often differ in one character only (子涵 / 子萱);
      // Latin names must differ by more than a typo.
      (a.name.han || JaroWinkler(a.name.pinyin_given, b.name.pinyin_given) < 0.9) &&
      (shared_home || phone == level::kPhoneExact)) {
    return Rule::kTwins;
  }
  if (id == level::kIdExact && both_valid_ids && name_matches) return Rule::kIdAndName;
  if (id == level::kIdDisagree && both_valid_ids) return Rule::kIdConflict;
  if (id == level::kIdExact) {
    // The same resident card under another name: a relative's card whose
    // birth date and sex happen to fit. Never enough alone.
    return a.id.kind == IdKind::kResident &&
                   (name == level::kNamePartial || name == level::kNameDisagree)
               ? Rule::kIdNameConflict
               : Rule::kNone;
  }
  // Spouses and relatives share phone and home; a person does not differ
  // from themself in name, or in sex and birth date together.
  if (phone == level::kPhoneExact && shared_home &&
      (name == level::kNamePartial || name == level::kNameDisagree ||
       (sex == level::kSexDisagree && birth != level::kBirthExact && !name_matches))) {
    return Rule::kHousehold;
  }
  return Rule::kNone;
}

void MatchIndex::Counts::Add(const std::string& key) {
  if (key.empty()) return;
  uint32_t& c = count[key];
  sum_squares += 2.0 * c + 1.0;
  ++c;
}

MatchIndex::MatchIndex(std::shared_ptr<const FsModel> model, MatchOptions options)
    : model_(std::move(model)), options_(options) {}

Status MatchIndex::Add(NormalizedRecord record, uint64_t person_id) {
  if (person_id == 0) {
    return Status(ErrorCode::kInvalidArgument, "患者主索引号不能为 0 (person id must not be 0)");
  }
  if (by_record_id_.count(record.record_id) != 0) {
    return Status(ErrorCode::kConflict, "记录已在索引中 (record already indexed)",
                  record.record_id);
  }
  const auto index = static_cast<uint32_t>(records_.size());
  for (uint64_t key : BlockingKeys(record)) blocks_[key].push_back(index);
  name_counts_.Add(record.name.text);
  pinyin_counts_.Add(record.name.pinyin());
  by_record_id_.emplace(record.record_id, index);
  records_.push_back(std::move(record));
  persons_.push_back(person_id);
  return Status::Ok();
}

Status MatchIndex::SetPerson(const std::string& record_id, uint64_t person_id) {
  if (person_id == 0) {
    return Status(ErrorCode::kInvalidArgument, "患者主索引号不能为 0 (person id must not be 0)");
  }
  auto it = by_record_id_.find(record_id);
  if (it == by_record_id_.end()) {
    return Status(ErrorCode::kNotFound, "记录不在索引中 (record not indexed)", record_id);
  }
  persons_[it->second] = person_id;
  return Status::Ok();
}

Status MatchIndex::Replace(NormalizedRecord record) {
  auto it = by_record_id_.find(record.record_id);
  if (it == by_record_id_.end()) {
    return Status(ErrorCode::kNotFound, "记录不在索引中 (record not indexed)", record.record_id);
  }
  const uint32_t index = it->second;
  std::vector<uint64_t> old_keys = BlockingKeys(records_[index]);
  for (uint64_t key : BlockingKeys(record)) {
    if (std::find(old_keys.begin(), old_keys.end(), key) == old_keys.end()) {
      blocks_[key].push_back(index);
    }
  }
  if (record.name.text != records_[index].name.text) name_counts_.Add(record.name.text);
  if (record.name.pinyin() != records_[index].name.pinyin()) {
    pinyin_counts_.Add(record.name.pinyin());
  }
  records_[index] = std::move(record);
  return Status::Ok();
}

double MatchIndex::NameFrequencyAdjustment(const NormalizedName& name, uint8_t name_level) const {
  const Counts* counts = nullptr;
  std::string key;
  if (name_level == level::kNameExact) {
    counts = &name_counts_;
    key = name.text;
  } else if (name_level == level::kNameHomophone) {
    counts = &pinyin_counts_;
    key = name.pinyin();
  } else {
    return 0.0;
  }
  const double n = static_cast<double>(records_.size());
  if (n < 1000) return 0.0;  // too few records to know what is common
  auto it = counts->count.find(key);
  const double c = it == counts->count.end() ? 1.0 : it->second;
  // u of this value over u of an average value: sum(f^2) / f.
  const double average_u = counts->sum_squares / (n * n);
  const double value_u = c / n;
  const double adj = std::log2(average_u / value_u);
  return std::clamp(adj, model_->tf_min_adjust, model_->tf_max_adjust);
}

ScoredCandidate MatchIndex::ScorePair(const NormalizedRecord& in, uint32_t index,
                                      const std::array<double, 2>& name_adjust) const {
  const NormalizedRecord& other = records_[index];
  ScoredCandidate c;
  c.record = index;
  c.person_id = persons_[index];
  c.levels = Compare(in, other);
  c.weight = model_->Score(c.levels);
  const uint8_t name = c.levels[static_cast<size_t>(Field::kName)];
  if (name == level::kNameExact) c.weight += name_adjust[0];
  if (name == level::kNameHomophone) c.weight += name_adjust[1];
  c.rule = ApplyRules(in, other, c.levels);
  return c;
}

std::vector<ScoredCandidate> MatchIndex::Candidates(const NormalizedRecord& record) const {
  std::vector<uint32_t> ids;
  for (uint64_t key : BlockingKeys(record)) {
    auto it = blocks_.find(key);
    if (it == blocks_.end()) continue;
    const auto& block = it->second;
    const size_t from = block.size() > options_.block_cap ? block.size() - options_.block_cap : 0;
    ids.insert(ids.end(), block.begin() + static_cast<std::ptrdiff_t>(from), block.end());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<ScoredCandidate> out;
  out.reserve(ids.size());
  // The frequency adjustment depends on the incoming name only: once.
  const std::array<double, 2> name_adjust = {
      NameFrequencyAdjustment(record.name, level::kNameExact),
      NameFrequencyAdjustment(record.name, level::kNameHomophone)};
  for (uint32_t id : ids) {
    if (records_[id].record_id == record.record_id) continue;
    out.push_back(ScorePair(record, id, name_adjust));
  }
  return out;
}

MatchResult MatchIndex::Match(const NormalizedRecord& record) const {
  struct Agg {
    PersonCandidate best;
    bool any = false;
    bool vetoed = false;
  };
  std::unordered_map<uint64_t, Agg> by_person;
  for (ScoredCandidate& c : Candidates(record)) {
    Agg& a = by_person[c.person_id];
    if (c.rule == Rule::kIdConflict) a.vetoed = true;
    if (c.rule == Rule::kTwins || c.rule == Rule::kHousehold || c.rule == Rule::kIdConflict) {
      continue;
    }
    // Evidence that must be seen by a person: at most review. Name and place
    // alone, with no ID number, birth date or phone agreeing, are too weak
    // to link automatically.
    const uint8_t id = c.levels[static_cast<size_t>(Field::kId)];
    const uint8_t birth = c.levels[static_cast<size_t>(Field::kBirth)];
    const bool no_anchor =
        id == 0 && birth == 0 && c.levels[static_cast<size_t>(Field::kPhone)] != level::kPhoneExact;
    // Two full birth dates that disagree (not a swap, lunar date or one-digit
    // slip) without an agreeing ID: relatives of one name, or a real error;
    // a person decides. Only where the trained weights say that matches
    // rarely disagree on birth dates (not in data sets full of shifted
    // dates).
    const bool birth_conflict = birth == level::kBirthDisagree && id != level::kIdExact &&
                                model_->Weight(Field::kBirth, level::kBirthDisagree) <= -3.0 &&
                                record.birth.informative() &&
                                records_[c.record].birth.informative();
    if (c.rule == Rule::kIdNameConflict || no_anchor || birth_conflict) {
      c.weight = std::min(c.weight, model_->upper - 0.01);
    }
    const bool certain = c.rule == Rule::kIdAndName;
    const bool better = !a.any || (certain && a.best.rule != Rule::kIdAndName) ||
                        ((certain || a.best.rule != Rule::kIdAndName) && c.weight > a.best.weight);
    if (better) {
      a.best = PersonCandidate{c.person_id, c.weight, c.rule, c.record, c.levels};
      a.any = true;
    }
  }
  MatchResult result;
  for (auto& [person, a] : by_person) {
    if (a.any && !a.vetoed) result.persons.push_back(a.best);
  }
  std::sort(result.persons.begin(), result.persons.end(),
            [](const PersonCandidate& x, const PersonCandidate& y) {
              const bool cx = x.rule == Rule::kIdAndName, cy = y.rule == Rule::kIdAndName;
              if (cx != cy) return cx;
              if (x.weight != y.weight) return x.weight > y.weight;
              return x.person_id < y.person_id;
            });
  if (result.persons.size() > options_.max_persons) result.persons.resize(options_.max_persons);
  if (result.persons.empty()) return result;
  const PersonCandidate& top = result.persons[0];
  const auto strong = [&](const PersonCandidate& p) {
    return p.rule == Rule::kIdAndName || p.weight >= model_->upper;
  };
  if (top.rule == Rule::kIdAndName) {
    // Same valid ID card and name: this person. Other strongly matched
    // persons are probable duplicates, offered for review as a merge.
    result.outcome = Outcome::kAutoLink;
    result.person_id = top.person_id;
    for (size_t i = 1; i < result.persons.size(); ++i) {
      if (strong(result.persons[i]))
        result.duplicate_suspects.push_back(result.persons[i].person_id);
    }
  } else if (strong(top)) {
    // Two persons both strongly matched by weights alone: never decide
    // between them automatically.
    if (result.persons.size() > 1 && strong(result.persons[1]) &&
        top.weight - result.persons[1].weight < options_.ambiguity_margin) {
      result.outcome = Outcome::kReview;
    } else {
      result.outcome = Outcome::kAutoLink;
      result.person_id = top.person_id;
      for (size_t i = 1; i < result.persons.size(); ++i) {
        if (strong(result.persons[i])) {
          result.duplicate_suspects.push_back(result.persons[i].person_id);
        }
      }
    }
  } else if (top.weight >= model_->lower) {
    result.outcome = Outcome::kReview;
  }
  return result;
}

std::vector<std::pair<uint32_t, uint32_t>> BlockedPairs(
    const std::vector<NormalizedRecord>& records, size_t block_cap) {
  std::unordered_map<uint64_t, std::vector<uint32_t>> blocks;
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  std::vector<uint32_t> ids;
  for (uint32_t j = 0; j < records.size(); ++j) {
    ids.clear();
    const auto keys = BlockingKeys(records[j], /*wide=*/true);
    for (uint64_t key : keys) {
      auto& block = blocks[key];
      const size_t from = block.size() > block_cap ? block.size() - block_cap : 0;
      ids.insert(ids.end(), block.begin() + static_cast<std::ptrdiff_t>(from), block.end());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (uint32_t i : ids) pairs.emplace_back(i, j);
    for (uint64_t key : keys) blocks[key].push_back(j);
  }
  return pairs;
}

}  // namespace hie::empi
