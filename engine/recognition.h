// Mutual recognition (检查检验结果互认, issue 6): whether a stored lab result
// may be taken instead of repeating the test, decided at the moment of the
// query and never stored (store/record_store.h keeps the facts only).
//
// A result is recognized only when ALL hold:
//   - its item has a standard (LOINC) code            else unmapped_code
//   - that code is in the catalogue (config `recognition`)  else not_in_catalogue
//   - its performing facility (performing_facility, else the sender) passed
//     the item's external quality assessment (室间质评) in the query's year
//     or the year before (China time): a pass published in year Y counts
//     through the end of Y+1              else facility_not_qualified
//   - its status is final, corrected or amended        else not_final
//   - it is the current version (not superseded)       else superseded
//   - its unit is the item's standard UCUM unit, spelled alike (g/l = g/L,
//     10^9/L = 10E9/L = 10*9/L, μmol/L = umol/L), or convertible by a fixed
//     factor (g/dL -> g/L, mg/dL -> g/L, 10*3/uL -> 10*9/L, ...; mass <-> molar
//     needs the molar mass and is refused)           else non_standard_unit
//   - its report time (issued, else the observation time) is known and the
//     query day is at most validity_days calendar days (China time) after
//     the report day                     else expired / no_report_time
// Otherwise `recognized` is false and EVERY failing reason is listed (code +
// Chinese text with the English term). When the item is unknown (unmapped or
// not in the catalogue) the item-dependent checks (facility, unit, window)
// cannot be made and are not listed; status and supersession still are.
//
// Thread rules: a RecognitionCatalogue is immutable after construction;
// Evaluate is safe from any thread at once.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.h"
#include "store/record_store.h"

namespace hie {

struct RecognitionReason {
  std::string code;     // unmapped_code | not_in_catalogue | facility_not_qualified |
                        // not_final | superseded | non_standard_unit | expired | no_report_time
  std::string message;  // Chinese with the English term
};

struct Recognition {
  bool recognized = false;
  std::vector<RecognitionReason> reasons;
  const RecognitionItem* item = nullptr;  // the catalogue entry, when in the catalogue
  std::string report_day;                 // YYYY-MM-DD (China time) when known
  std::string valid_until;                // last recognizable day, when item and day known
  // Set when the unit differed and was converted to the standard unit.
  std::optional<std::pair<std::string, std::string>> converted;  // (value, unit)
};

class RecognitionCatalogue {
 public:
  explicit RecognitionCatalogue(const RecognitionConfig& config);

  const RecognitionItem* Find(std::string_view std_code) const;
  size_t size() const { return items_.size(); }

  // `now_ms`: the moment of the query (Env::NowMillis, so tests can use a
  // fake clock).
  Recognition Evaluate(const LabResultRow& row, int64_t now_ms) const;

 private:
  std::vector<RecognitionItem> items_;
  std::map<std::string, size_t, std::less<>> by_code_;
};

// {"recognized":bool,"reasons":[{"code","message"}], "item":{code,name,
// validity_days,unit}?, "report_day"?, "valid_until"?, "converted":{value,unit}?}
nlohmann::json RecognitionJson(const Recognition& r);

// --- units (exposed for tests) ---
// A spelling-insensitive key of a UCUM-ish unit: "10^9/L", "10E9/L",
// "×10^9/L", "10*9/L" -> "10*9/l"; "μmol/L" -> "umol/l"; "[IU]/L" -> "iu/l".
std::string UnitKey(std::string_view unit);
// The value in `to` of `value` given in `from` (same unit: as is), or
// nullopt when the units differ and no fixed factor converts them, or the
// value is no plain decimal.
std::optional<std::string> ConvertUnitValue(std::string_view value, std::string_view from,
                                            std::string_view to);

// Calendar day number (days since 1970-01-01) of `ms` in China time (+08:00),
// and that day as YYYY-MM-DD; its year.
int64_t ChinaDay(int64_t ms);
std::string FormatDay(int64_t day);
int YearOfDay(int64_t day);

}  // namespace hie
