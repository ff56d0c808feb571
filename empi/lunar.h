// Chinese lunisolar calendar lookup (农历), for birthdays recorded in the
// lunar calendar as if they were Gregorian: a person born 1980-03-05 may
// tell a clinic "正月十九" and have 1980-01-19 written down.
// The table covers 1900-01-31 .. 2100-12-31 and is computed once from ICU's
// Chinese calendar on first use (about a tenth of a second).
// Thread rules: Get() is safe from any thread (static initialisation); the
// table is immutable afterwards.
#pragma once

#include <cstdint>
#include <vector>

namespace hie::empi {

struct LunarDate {
  int month = 0;  // 1..12, 0 if out of range
  int day = 0;    // 1..30
  bool leap_month = false;
};

class LunarCalendar {
 public:
  static const LunarCalendar& Get();
  // Lunar month and day of a Gregorian date; month 0 when out of range.
  LunarDate FromGregorian(int year, int month, int day) const;

 private:
  LunarCalendar();
  int first_day_ = 0;              // days since 1970-01-01 of table entry 0
  std::vector<uint16_t> entries_;  // month * 32 + day, leap flag 0x8000
};

}  // namespace hie::empi
