// Normalizers for the structured fields of a person record: resident ID card
// numbers (GB 11643), birth dates, phone numbers and addresses.
// Names need ICU and live in name_normalizer.h.
// Every function returns kInvalidArgument for input it cannot read (never
// throws) and never logs the value it was given.
// Thread rules: pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "empi/types.h"

namespace hie::empi {

// ISO 7064 MOD 11-2 check character ('0'..'9' or 'X') of the first 17 digits.
// Precondition: `first17` holds 17 ASCII digits.
char IdCheckChar(std::string_view first17);

// Reads a resident ID card number: strips spaces, full-width digits and a
// lower-case x; upgrades 15 digits to 18 (century 19, recomputed check
// character); decodes birth date and sex. An 18-digit number with a wrong
// check character is still returned (checksum_ok = false): a typo is
// evidence. Digits of another length give kind kOther (e.g. FEBRL ids).
Result<IdCard> NormalizeIdCard(std::string_view raw);

// Reads "1980-03-05", "1980/3/5", "19800305", "1980年3月5日", "1980-03",
// "198003", "1980". YYYY-01-01 is flagged as a placeholder (low information).
Result<BirthDate> ParseBirthDate(std::string_view raw);
// Days since 1970-01-01 of a full date (proleptic Gregorian).
int DaysFromCivil(int year, int month, int day);
bool IsValidDate(int year, int month, int day);

// Reads "+86 138 1234 5678", "0086-13812345678", "(0739)5123456".
// Mobiles come out as 11 digits.
Result<Phone> NormalizePhone(std::string_view raw);

// Reads "M"/"F", "1"/"2" (GB/T 2261.1), "男"/"女", "male"/"female".
Sex ParseSex(std::string_view raw);

// Cuts an address below the county: "湖南省邵阳市隆回县桃洪镇城西村3组12号"
// -> township "桃洪镇", village "城西村", full "桃洪镇城西村3组12号".
// Full-width characters are folded; traditional characters are the name
// normalizer's job and should be folded before calling this.
NormalizedAddress NormalizeAddress(std::string_view raw, std::string_view township = {},
                                   std::string_view village = {});

}  // namespace hie::empi
