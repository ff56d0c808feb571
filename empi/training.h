// Estimation of the Fellegi-Sunter model from the county's own unlabeled
// records. Plain EM over blocked pairs tends to find households (shared
// phone and address) instead of persons, so it is anchored:
//  - u of name, birth, sex, phone and address: counted over blocked pairs
//    whose two valid, mutually consistent resident ID numbers differ (certain
//    non-matches that still include spouses, siblings and neighbours);
//  - m starting values: counted over pairs whose valid ID numbers agree;
//  - EM over all blocked pairs then estimates lambda, every m and the u of
//    the ID field, with the anchored u values held fixed.
// Thread rules: pure function.
#pragma once

#include <vector>

#include "core/status.h"
#include "empi/model.h"
#include "empi/types.h"

namespace hie::empi {

struct TrainingReport {
  size_t records = 0;
  size_t blocked_pairs = 0;
  size_t anchor_matches = 0;      // pairs with agreeing valid IDs
  size_t anchor_non_matches = 0;  // pairs with conflicting valid IDs
  EmReport em;
};

// Estimates m, u and lambda into `model` (thresholds and version untouched).
// kInvalidArgument if there are too few anchor pairs (< 50 of each kind) to
// anchor the estimate; then plain EM from `model`'s values is used only if
// `allow_plain_em` is set.
Result<TrainingReport> TrainFromRecords(const std::vector<NormalizedRecord>& records,
                                        size_t block_cap, FsModel& model,
                                        bool allow_plain_em = false);

}  // namespace hie::empi
