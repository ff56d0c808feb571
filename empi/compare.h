// Field comparators: each turns two normalized records into an agreement
// level for one field. Level 0 always means "no evidence" (a value missing,
// or an ID card that contradicts its own record); it carries weight 0.
// Thread rules: pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "empi/types.h"

namespace hie::empi {

enum class Field : uint8_t { kId = 0, kName, kBirth, kSex, kPhone, kAddress };
inline constexpr size_t kFieldCount = 6;

namespace level {
// ID number
inline constexpr uint8_t kIdExact = 1, kIdTypo = 2, kIdDisagree = 3;
// name
inline constexpr uint8_t kNameExact = 1, kNameHomophone = 2, kNameSimilar = 3, kNamePartial = 4,
                         kNameDisagree = 5;
// birth date
inline constexpr uint8_t kBirthExact = 1, kBirthSwap = 2, kBirthNear = 3, kBirthYear = 4,
                         kBirthDisagree = 5;
// sex
inline constexpr uint8_t kSexAgree = 1, kSexDisagree = 2;
// phone
inline constexpr uint8_t kPhoneExact = 1, kPhoneTypo = 2, kPhoneDisagree = 3;
// address
inline constexpr uint8_t kAddrExact = 1, kAddrVillage = 2, kAddrTownship = 3, kAddrDisagree = 4;
}  // namespace level

// Number of non-zero levels of each field.
inline constexpr std::array<uint8_t, kFieldCount> kLevelCount = {3, 5, 5, 2, 3, 4};

using ComparisonVector = std::array<uint8_t, kFieldCount>;

// Jaro-Winkler similarity in [0, 1] of two byte strings (prefix scale 0.1,
// prefix up to 4).
double JaroWinkler(std::string_view a, std::string_view b);

// Exactly one substituted character, or one adjacent transposition.
bool OneEditApart(std::string_view a, std::string_view b);

// ID: exact / one transposition or single-digit typo / disagree; 0 if either
// is missing, of different kinds, or contradicts its own record.
uint8_t CompareId(const NormalizedRecord& a, const NormalizedRecord& b);
// Name: exact / same pinyin (homophone) / similar (Jaro-Winkler on pinyin of
// surname and given name, or the two swapped) / one part agrees / disagree.
uint8_t CompareName(const NormalizedName& a, const NormalizedName& b);
// Birth date: exact / day-month swap / one side is the lunar-calendar
// birthday of the other (农历) or one digit off / only the year known on one
// side (partial date or YYYY-01-01 placeholder) and it agrees / disagree.
uint8_t CompareBirth(const BirthDate& a, const BirthDate& b);
uint8_t CompareSex(Sex a, Sex b);
uint8_t ComparePhone(const Phone& a, const Phone& b);
// Address: exact / same village / same township / disagree.
uint8_t CompareAddress(const NormalizedAddress& a, const NormalizedAddress& b);

ComparisonVector Compare(const NormalizedRecord& a, const NormalizedRecord& b);

// "拼音相同 (homophone)" etc. for the review queue; level 0 gives
// "无证据 (no evidence)".
std::string_view LevelLabel(Field field, uint8_t level);
std::string_view FieldLabel(Field field);

}  // namespace hie::empi
