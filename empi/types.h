// Value types of the EMPI matching library: the raw person record a source
// sends, and the normalized form the comparators work on.
// Thread rules: plain value types; safe to copy and to read from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace hie::empi {

enum class Sex : uint8_t { kUnknown = 0, kMale, kFemale };

// A source record as it arrives (all UTF-8, any field may be empty).
struct PersonRecord {
  std::string record_id;   // unique per source record, e.g. "facility/MRN"
  std::string name;        // full name; split with the surname table
  std::string surname;     // optional: given explicitly (Latin data sets)
  std::string given_name;  // optional: given explicitly
  std::string sex;         // "M"/"F", "1"/"2" (GB/T 2261.1), "男"/"女"
  std::string birth_date;  // "1980-03-05", "19800305", "1980-03", "1980"
  std::string id_number;   // resident ID card (18 or 15 digits) or another id
  std::string phone;       // any format; an e-mail is kept as a contact key
  std::string address;     // free text
  std::string township;    // optional: explicit township / suburb
  std::string village;     // optional: explicit village / street
};

// A birth date that may be partial. month/day are 0 when unknown.
struct BirthDate {
  int year = 0;
  int month = 0;
  int day = 0;
  // YYYY-01-01 (or YYYY-06-30 etc.) typed when only the year was known.
  bool placeholder = false;
  bool known() const { return year != 0; }
  bool full() const { return year != 0 && month != 0 && day != 0; }
  // Full and not a placeholder: the day carries information.
  bool informative() const { return full() && !placeholder; }
};

enum class IdKind : uint8_t { kNone = 0, kResident, kOther };

// A resident ID card number (居民身份证号码) or another identifier.
struct IdCard {
  IdKind kind = IdKind::kNone;
  std::string number;        // 18 chars for kResident (upper-case X), digits else
  bool checksum_ok = false;  // ISO 7064 MOD 11-2 (kResident only)
  bool upgraded_from_15 = false;
  BirthDate birth;          // encoded birth date (kResident)
  Sex sex = Sex::kUnknown;  // encoded sex (kResident)
};

struct NormalizedName {
  std::string text;            // simplified, half-width, no spaces or '·'
  std::string surname;         // simplified surname characters
  std::string given;           // simplified given-name characters
  std::string pinyin_surname;  // toneless, lower-case, no spaces
  std::string pinyin_given;
  bool han = false;  // written in Chinese characters
  bool empty() const { return text.empty(); }
  std::string pinyin() const { return pinyin_surname + pinyin_given; }
};

struct Phone {
  std::string digits;   // national form: 11-digit mobile or area code + number
  bool mobile = false;  // 1[3-9]xxxxxxxxx
};

struct NormalizedAddress {
  std::string full;      // below the county level when it could be cut there
  std::string township;  // 乡/镇/街道, or an explicit suburb
  std::string village;   // 村/社区, or an explicit street
};

// Everything the comparators need, computed once per record.
struct NormalizedRecord {
  std::string record_id;
  NormalizedName name;
  Sex sex = Sex::kUnknown;
  BirthDate birth;
  IdCard id;
  // The ID's encoded birth date or sex contradicts this record: probably a
  // relative's card. Such an ID is evidence of nothing.
  bool id_contradicts_record = false;
  Phone phone;
  NormalizedAddress address;
};

}  // namespace hie::empi
