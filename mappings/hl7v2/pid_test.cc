#include "mappings/hl7v2/pid.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

std::string Key(const std::string& pid, std::string_view facility = "XYZRMYY") {
  std::string text = "MSH|^~\\&|HIS|XYZRMYY|||20240101||ADT^A04|1|P|2.5\r" + pid;
  auto m = Er7Message::Parse(text);
  EXPECT_TRUE(m.ok());
  return m.ok() ? PatientKey(*m, facility) : "";
}

TEST(PatientKey, PrefersMedicalRecordNumber) {
  EXPECT_EQ(Key("PID|1||110101199001011234^^^CHN^NI~A123^^^XYZRMYY^MR||张三\r"), "MR:XYZRMYY:A123");
  EXPECT_EQ(Key("PID|1||A123^^^XYZRMYY^mr\r", "F1"), "MR:F1:A123");
}

TEST(PatientKey, FallsBackToIdCardThenFirstId) {
  EXPECT_EQ(Key("PID|1||X9^^^HOSP^PI~110101199001011234^^^CHN^NI\r"), "NI:110101199001011234");
  EXPECT_EQ(Key("PID|1||^^^A^PI~X9^^^HOSP&1.2.3&ISO^PI\r"), "ID:HOSP:X9");
  EXPECT_EQ(Key("PID|1||A\\T\\B\r"), "ID::A&B");
  EXPECT_EQ(Key("PID|1|OLD7\r"), "ID::OLD7");  // v2.3 PID-2
}

TEST(PatientKey, EmptyWithoutPidOrId) {
  EXPECT_EQ(Key("EVN|A04\r"), "");
  EXPECT_EQ(Key("PID|1||\r"), "");
}

}  // namespace
}  // namespace hie
