// Turns a source PersonRecord into the NormalizedRecord the comparators use:
// every field through its normalizer, the ID card cross-checked against the
// record's own birth date and sex, and gaps filled from a valid ID card.
// Thread rules: holds a NameNormalizer (ICU), so one instance per thread:
// Create() once, then Clone() for each worker. Not safe to share.
#pragma once

#include <memory>

#include "core/status.h"
#include "empi/name_normalizer.h"
#include "empi/types.h"

namespace hie::empi {

class RecordNormalizer {
 public:
  static Result<std::unique_ptr<RecordNormalizer>> Create();
  std::unique_ptr<RecordNormalizer> Clone() const;

  // A field that cannot be read is left empty (a missing value, no evidence);
  // the record fails with kInvalidArgument only if it has neither a usable
  // name nor a usable ID number, or its record_id is empty.
  Result<NormalizedRecord> Normalize(const PersonRecord& in);

  NameNormalizer& names() { return *names_; }

 private:
  explicit RecordNormalizer(std::unique_ptr<NameNormalizer> names) : names_(std::move(names)) {}
  std::unique_ptr<NameNormalizer> names_;
};

// True if the ID's encoded birth date or sex contradicts the record's own
// (a relative's card). A lunar-calendar offset or a day/month swap of the
// record's date is not a contradiction.
bool IdContradictsRecord(const IdCard& id, const BirthDate& birth, Sex sex);

}  // namespace hie::empi
