// In-memory EMPI match index: blocking on several keys, comparison of the
// incoming record with every blocked candidate, deterministic rules for the
// clear cases, Fellegi-Sunter weights (with frequency-adjusted names) for the
// rest, and the three outcomes: auto-link, review, new person.
//
// Blocking keys: ID number; pinyin surname + birth year + given initial
// (surname + birth year when there is no given name); phone; pinyin given
// name + birth date; pinyin surname + birth date; village + pinyin given
// name. Each block is read only
// up to its `block_cap` most recent records, so one match costs about the
// same whatever the index size.
//
// Caps (at most review, never auto-link): the same resident ID under another
// name; name and place alone with no ID, birth date or phone agreeing; two
// full birth dates in conflict without an agreeing ID (where the model says
// matches rarely disagree on birth dates). Two persons above the upper
// threshold within `ambiguity_margin` bits of each other: review.
//
// No chaining: an incoming record is linked to a person only on its own
// comparison with that person's records; two existing persons are never
// joined by a match (that is a merge, an explicit reviewed operation).
//
// Thread rules: const methods (Candidates, Match, accessors) may run from any
// number of threads at once; Add needs exclusive access (e.g. a
// std::shared_mutex: shared for Match, unique for Add). The model is shared
// read-only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "empi/compare.h"
#include "empi/model.h"
#include "empi/types.h"

namespace hie::empi {

struct MatchOptions {
  size_t block_cap = 200;  // most recent records read per block
  size_t max_persons = 5;  // person candidates kept in a MatchResult
  // When two persons are above the upper threshold, the best is linked only
  // if it leads by this many bits (log2); otherwise the record is reviewed.
  double ambiguity_margin = 5.0;
};

// Deterministic rule that decided a pair, if any.
enum class Rule : uint8_t {
  kNone = 0,
  kIdAndName,       // same valid ID card number and a matching name: same person
  kIdConflict,      // two different valid ID numbers, each consistent with its
                    // own record: different persons (vetoes the whole person)
  kTwins,           // same surname and birth date, shared home or phone, a
                    // different given name: twins, not one person
  kHousehold,       // shared phone and address but a different name (or sex
                    // and birth date): spouses or relatives, not one person
  kIdNameConflict,  // same ID number under a different name: a relative's
                    // card; capped below auto-link (review at most)
};
std::string_view RuleLabel(Rule rule);

enum class Outcome : uint8_t { kAutoLink, kReview, kNewPerson };
std::string_view OutcomeLabel(Outcome outcome);

struct ScoredCandidate {
  uint32_t record = 0;  // index of the candidate record in the MatchIndex
  uint64_t person_id = 0;
  double weight = 0;  // total log2 match weight (rules aside)
  Rule rule = Rule::kNone;
  ComparisonVector levels{};
};

struct PersonCandidate {
  uint64_t person_id = 0;
  double weight = 0;        // best weight over the person's blocked records
  Rule rule = Rule::kNone;  // kIdAndName if any record matched by rule
  uint32_t best_record = 0;
  ComparisonVector levels{};  // field levels of the best record: the evidence
};

struct MatchResult {
  Outcome outcome = Outcome::kNewPerson;
  uint64_t person_id = 0;                // the person to link to when kAutoLink
  std::vector<PersonCandidate> persons;  // best first, vetoed persons left out
  // Other persons that also matched by rule or above the upper threshold
  // when the record was auto-linked by rule: probably one person recorded
  // twice, to be offered to review as a merge (never merged here).
  std::vector<uint64_t> duplicate_suspects;
};

class MatchIndex {
 public:
  explicit MatchIndex(std::shared_ptr<const FsModel> model, MatchOptions options = {});

  // Adds a normalized record as a record of `person_id` (> 0).
  // kInvalidArgument for person 0; kConflict if record_id is already indexed.
  Status Add(NormalizedRecord record, uint64_t person_id);

  // Moves an indexed record to another person (link, unlink, merge,
  // unmerge). kNotFound for an unknown record_id, kInvalidArgument for 0.
  Status SetPerson(const std::string& record_id, uint64_t person_id);
  // Replaces the content of an indexed record (its source sent an update);
  // the person stays. The new content's blocks are added; blocks of the old
  // content keep the record too (it is then compared by its new content).
  Status Replace(NormalizedRecord record);

  // Every blocked candidate record with its weight and rule (unordered).
  std::vector<ScoredCandidate> Candidates(const NormalizedRecord& record) const;
  // Candidates grouped by person and the outcome for the incoming record.
  MatchResult Match(const NormalizedRecord& record) const;

  size_t size() const { return records_.size(); }
  const NormalizedRecord& record(uint32_t i) const { return records_[i]; }
  uint64_t person_of(uint32_t i) const { return persons_[i]; }
  const FsModel& model() const { return *model_; }

  // Weight of a name agreement adjusted for how common the name is (王伟
  // counts for less than a rare name); level must be exact or homophone.
  double NameFrequencyAdjustment(const NormalizedName& name, uint8_t name_level) const;

 private:
  struct Counts {
    std::unordered_map<std::string, uint32_t> count;
    double sum_squares = 0;
    void Add(const std::string& key);
  };
  ScoredCandidate ScorePair(const NormalizedRecord& in, uint32_t index,
                            const std::array<double, 2>& name_adjust) const;

  std::shared_ptr<const FsModel> model_;
  MatchOptions options_;
  std::vector<NormalizedRecord> records_;
  std::vector<uint64_t> persons_;
  std::unordered_map<std::string, uint32_t> by_record_id_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> blocks_;
  Counts name_counts_;
  Counts pinyin_counts_;
};

// Hashed blocking keys of a record (see the file comment). `wide` adds
// pinyin surname + birth year for every record: training uses it to see
// enough pairs of different persons; matching does not need it.
std::vector<uint64_t> BlockingKeys(const NormalizedRecord& record, bool wide = false);

// Deterministic rule for a compared pair (kNone when the weights decide).
Rule ApplyRules(const NormalizedRecord& a, const NormalizedRecord& b, const ComparisonVector& v);

// Candidate pairs (i < j) that wide blocking yields over `records` taken in
// order, each block read up to `block_cap` records: the unlabeled pairs EM
// trains on.
std::vector<std::pair<uint32_t, uint32_t>> BlockedPairs(
    const std::vector<NormalizedRecord>& records, size_t block_cap);

}  // namespace hie::empi
