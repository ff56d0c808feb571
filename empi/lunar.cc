#include "empi/lunar.h"

#include <unicode/calendar.h>
#include <unicode/timezone.h>

#include <memory>

#include "empi/fields.h"

namespace hie::empi {

const LunarCalendar& LunarCalendar::Get() {
  static const LunarCalendar kCalendar;
  return kCalendar;
}

LunarCalendar::LunarCalendar() {
  first_day_ = DaysFromCivil(1900, 1, 31);  // 1900 正月初一
  const int last_day = DaysFromCivil(2100, 12, 31);
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Calendar> cal(icu::Calendar::createInstance(
      icu::TimeZone::createTimeZone("GMT"), icu::Locale("zh_CN@calendar=chinese"), status));
  if (U_FAILURE(status) || !cal) return;  // empty table: lunar lookups give month 0
  entries_.reserve(static_cast<size_t>(last_day - first_day_ + 1));
  int month = 0, day = 0;
  bool leap = false;
  for (int d = first_day_; d <= last_day; ++d) {
    if (day >= 1 && day < 29) {
      ++day;  // every lunar month has at least 29 days: no need to ask ICU
    } else {
      cal->setTime(static_cast<UDate>(d) * 86400000.0 + 43200000.0, status);
      month = cal->get(UCAL_MONTH, status) + 1;
      day = cal->get(UCAL_DATE, status);
      leap = cal->get(UCAL_IS_LEAP_MONTH, status) != 0;
      if (U_FAILURE(status)) {
        entries_.clear();
        return;
      }
    }
    entries_.push_back(static_cast<uint16_t>((leap ? 0x8000 : 0) | (month * 32 + day)));
  }
}

LunarDate LunarCalendar::FromGregorian(int year, int month, int day) const {
  if (!IsValidDate(year, month, day)) return {};
  const int d = DaysFromCivil(year, month, day) - first_day_;
  if (d < 0 || static_cast<size_t>(d) >= entries_.size()) return {};
  const uint16_t e = entries_[static_cast<size_t>(d)];
  return LunarDate{(e & 0x7FFF) / 32, (e & 0x7FFF) % 32, (e & 0x8000) != 0};
}

}  // namespace hie::empi
