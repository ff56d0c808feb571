// Realistic HL7 v2 test traffic for the MLLP load generator (hie-load):
// ADT^A04 registrations and ORU^R01 lab reports as a Chinese county hospital
// sends them (UTF-8, Chinese names, 18-digit resident ID cards with a valid
// ISO 7064 MOD 11-2 check character, MR numbers), plus the ID card helpers.
// Thread rules: a MessageGenerator is not thread-safe; give each thread its
// own (they are cheap). The free functions are pure.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace hie::load {

enum class MessageKind { kAdtA04, kOruR01 };
enum class TypeMix { kAdt, kOru, kMix };

// "ADT" | "ORU" | "mix" (case-insensitive); false when unknown.
bool ParseTypeMix(std::string_view text, TypeMix* out);

// ISO 7064 MOD 11-2 check character ('0'..'9' or 'X') of the first 17 digits
// of a resident ID card number. Precondition: first17 is 17 ASCII digits.
char IdCardCheckChar(std::string_view first17);
// True when `id` is 17 digits followed by the right check character.
bool IsValidIdCard(std::string_view id);

// A run id that differs between runs (unix seconds and pid, base 36), so the
// hub's (MSH-4, MSH-10) dedupe never mistakes a new run for a resend.
std::string DefaultRunId();
// "<run_id>-<conn>-<seq>": the MSH-10 of message `seq` on connection `conn`.
std::string ControlId(std::string_view run_id, int conn, uint64_t seq);

struct GeneratorOptions {
  std::string facility = "XQRMYY";  // MSH-4; must be a facility the hub knows
  TypeMix mix = TypeMix::kMix;
  uint64_t seed = 1;
  int64_t now_millis = 0;  // message timestamps; 0 = fixed 2026-01-01 08:00
};

class MessageGenerator {
 public:
  explicit MessageGenerator(GeneratorOptions options);

  // Which kind message number `seq` is under the configured mix (mix
  // alternates ADT and ORU so every run has both in equal measure).
  MessageKind KindFor(uint64_t seq) const;
  // One message in ER7 (segments ended by '\r'), MSH-10 = control_id.
  std::string Build(MessageKind kind, std::string_view control_id);
  // A fresh 18-digit ID card number with a valid check character.
  std::string RandomIdCard();

 private:
  struct Person {
    std::string name_field;  // PID-5: whole name in .1, or family^given
    std::string id_card;
    std::string mr_number;
    std::string birth_date;  // YYYYMMDD
    char sex;                // 'M' | 'F'
    std::string address;
    std::string phone;
  };
  Person RandomPerson();
  std::string RandomDoctor();  // XCN: id^name
  std::string Msh(std::string_view type, std::string_view control_id) const;
  std::string Pid(const Person& p) const;
  std::string AdtA04(std::string_view control_id);
  std::string OruR01(std::string_view control_id);
  uint64_t Uniform(uint64_t n) { return rng_() % n; }

  GeneratorOptions options_;
  std::mt19937_64 rng_;
  std::string timestamp_;  // YYYYMMDDHHMMSS
  uint64_t counter_ = 0;   // order and visit numbers
};

}  // namespace hie::load
