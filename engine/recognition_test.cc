// Mutual recognition (engine/recognition.h): each reason on its own, all
// reasons together, unit spellings and conversions, the window on a fake
// clock (China days), the EQA year rule.
#include "engine/recognition.h"

#include <gtest/gtest.h>

#include <set>

#include "core/env.h"

namespace hie {
namespace {

// 2026-11-20 10:00 +08:00.
const int64_t kReport = ParseTimeMillis("2026-11-20T10:00:00+08:00");
constexpr int64_t kDay = 86'400'000;

RecognitionConfig Catalogue() {
  RecognitionConfig c;
  RecognitionItem hgb;
  hgb.code = "718-7";
  hgb.name = "血红蛋白";
  hgb.validity_days = 7;
  hgb.unit = "g/L";
  hgb.qualified = {{"XQRMYY", 2026}, {"WSY01", 2025}, {"OLD01", 2024}};
  RecognitionItem wbc;
  wbc.code = "6690-2";
  wbc.name = "白细胞计数";
  wbc.validity_days = 3;
  wbc.unit = "10*9/L";
  wbc.qualified = {{"XQRMYY", 2026}};
  RecognitionItem glu;
  glu.code = "2345-7";
  glu.validity_days = 1;
  glu.unit = "mmol/L";
  glu.qualified = {{"XQRMYY", 2026}};
  c.items = {hgb, wbc, glu};
  return c;
}

LabResultRow Hgb() {
  LabResultRow r;
  r.id = 1;
  r.facility_id = "XQRMYY";
  r.status = "final";
  r.code_system = "local:XQRMYY";
  r.code = "HGB";
  r.std_code = "718-7";
  r.value = "135";
  r.value_type = "quantity";
  r.unit = "g/L";
  r.std_unit = "g/L";
  r.issued_ms = kReport;
  r.effective_ms = kReport - 3'600'000;
  return r;
}

std::set<std::string> Codes(const Recognition& r) {
  std::set<std::string> s;
  for (const auto& x : r.reasons) s.insert(x.code);
  return s;
}

class RecognitionTest : public ::testing::Test {
 protected:
  RecognitionCatalogue cat_{Catalogue()};
  int64_t now_ = kReport + 2 * kDay;
};

TEST_F(RecognitionTest, FinalQualifiedStandardInWindowIsRecognized) {
  Recognition r = cat_.Evaluate(Hgb(), now_);
  EXPECT_TRUE(r.recognized);
  EXPECT_TRUE(r.reasons.empty());
  ASSERT_NE(r.item, nullptr);
  EXPECT_EQ(r.report_day, "2026-11-20");
  EXPECT_EQ(r.valid_until, "2026-11-27");
  EXPECT_FALSE(r.converted.has_value());
  auto j = RecognitionJson(r);
  EXPECT_EQ(j["recognized"], true);
  EXPECT_EQ(j["item"]["validity_days"], 7);
}

TEST_F(RecognitionTest, UnmappedCode) {
  LabResultRow row = Hgb();
  row.std_code.clear();
  Recognition r = cat_.Evaluate(row, now_);
  EXPECT_FALSE(r.recognized);
  EXPECT_EQ(Codes(r), std::set<std::string>{"unmapped_code"});
  EXPECT_NE(r.reasons[0].message.find("HGB"), std::string::npos);
  EXPECT_NE(r.reasons[0].message.find("(item code not mapped to LOINC)"), std::string::npos);
}

TEST_F(RecognitionTest, NotInCatalogue) {
  LabResultRow row = Hgb();
  row.std_code = "2160-0";
  Recognition r = cat_.Evaluate(row, now_);
  EXPECT_EQ(Codes(r), std::set<std::string>{"not_in_catalogue"});
  EXPECT_EQ(r.item, nullptr);
}

TEST_F(RecognitionTest, FacilityNotQualified) {
  LabResultRow row = Hgb();
  row.facility_id = "CWS001";
  EXPECT_EQ(Codes(cat_.Evaluate(row, now_)), std::set<std::string>{"facility_not_qualified"});
  // The performing facility counts, not the sender.
  row.performing_facility = "XQRMYY";
  EXPECT_TRUE(cat_.Evaluate(row, now_).recognized);
}

TEST_F(RecognitionTest, EqaPassOfLastYearCountsTheYearBeforeDoesNot) {
  LabResultRow row = Hgb();
  row.facility_id = "WSY01";  // passed in 2025: fine through 2026
  EXPECT_TRUE(cat_.Evaluate(row, now_).recognized);
  // On 2027-01-02 (China) 2025 is too old; the result is also out of its window.
  const int64_t jan2027 = ParseTimeMillis("2027-01-02T09:00:00+08:00");
  EXPECT_EQ(Codes(cat_.Evaluate(row, jan2027)),
            (std::set<std::string>{"facility_not_qualified", "expired"}));
  row.facility_id = "OLD01";  // 2024
  Recognition r = cat_.Evaluate(row, now_);
  EXPECT_EQ(Codes(r), std::set<std::string>{"facility_not_qualified"});
  EXPECT_NE(r.reasons[0].message.find("2024"), std::string::npos);
}

TEST_F(RecognitionTest, NotFinal) {
  LabResultRow row = Hgb();
  for (const char* s : {"preliminary", "registered", "cancelled", ""}) {
    row.status = s;
    EXPECT_EQ(Codes(cat_.Evaluate(row, now_)), std::set<std::string>{"not_final"}) << s;
  }
  for (const char* s : {"final", "corrected", "amended"}) {
    row.status = s;
    EXPECT_TRUE(cat_.Evaluate(row, now_).recognized) << s;
  }
}

TEST_F(RecognitionTest, Superseded) {
  LabResultRow row = Hgb();
  row.current = false;
  row.superseded_by = 9;
  EXPECT_EQ(Codes(cat_.Evaluate(row, now_)), std::set<std::string>{"superseded"});
}

TEST_F(RecognitionTest, NonStandardUnit) {
  LabResultRow row = Hgb();
  row.unit = "mmol/L";
  row.std_unit = "mmol/L";  // molar for a mass item: no fixed factor
  Recognition r = cat_.Evaluate(row, now_);
  EXPECT_EQ(Codes(r), std::set<std::string>{"non_standard_unit"});
  EXPECT_NE(r.reasons[0].message.find("g/L"), std::string::npos);
  row.unit = row.std_unit = "";
  EXPECT_EQ(Codes(cat_.Evaluate(row, now_)), std::set<std::string>{"non_standard_unit"});
  // A non-numeric value cannot be converted.
  row.unit = row.std_unit = "g/dL";
  row.value = "<5";
  EXPECT_EQ(Codes(cat_.Evaluate(row, now_)), std::set<std::string>{"non_standard_unit"});
}

TEST_F(RecognitionTest, ConvertibleUnitIsRecognizedWithTheConvertedValue) {
  LabResultRow row = Hgb();
  row.unit = row.std_unit = "g/dL";
  row.value = "13.5";
  Recognition r = cat_.Evaluate(row, now_);
  ASSERT_TRUE(r.recognized) << r.reasons.size();
  ASSERT_TRUE(r.converted.has_value());
  EXPECT_EQ(r.converted->first, "135");
  EXPECT_EQ(r.converted->second, "g/L");
  // The unmapped spelling as received is judged when there is no UCUM unit.
  LabResultRow w;
  w = Hgb();
  w.std_code = "6690-2";
  w.value = "6.1";
  w.unit = "10^9/L";
  w.std_unit = "";
  Recognition rw = cat_.Evaluate(w, now_);
  EXPECT_TRUE(rw.recognized);
  EXPECT_FALSE(rw.converted.has_value());  // same unit, spelled otherwise
  w.unit = "10^3/uL";
  rw = cat_.Evaluate(w, now_);
  ASSERT_TRUE(rw.recognized);
  EXPECT_EQ(rw.converted->first, "6.1");
}

TEST_F(RecognitionTest, WindowIsCalendarDaysInChinaTime) {
  LabResultRow row = Hgb();  // reported 2026-11-20 10:00 +08:00, 7 days
  EXPECT_TRUE(cat_.Evaluate(row, ParseTimeMillis("2026-11-27T23:59:00+08:00")).recognized);
  Recognition r = cat_.Evaluate(row, ParseTimeMillis("2026-11-28T00:01:00+08:00"));
  EXPECT_EQ(Codes(r), std::set<std::string>{"expired"});
  EXPECT_NE(r.reasons[0].message.find("2026-11-27"), std::string::npos);
  // Issued unknown: the observation time is the report time.
  row.issued_ms = 0;
  row.effective_ms = ParseTimeMillis("2026-11-19T23:30:00+08:00");
  EXPECT_EQ(Codes(cat_.Evaluate(row, ParseTimeMillis("2026-11-27T08:00:00+08:00"))),
            std::set<std::string>{"expired"});
  row.effective_ms = 0;
  EXPECT_EQ(Codes(cat_.Evaluate(row, now_)), std::set<std::string>{"no_report_time"});
}

TEST_F(RecognitionTest, EveryFailingReasonIsListed) {
  LabResultRow row = Hgb();
  row.facility_id = "CWS001";
  row.status = "preliminary";
  row.unit = row.std_unit = "mmol/L";
  row.current = false;
  Recognition r = cat_.Evaluate(row, kReport + 30 * kDay);
  EXPECT_EQ(Codes(r), (std::set<std::string>{"facility_not_qualified", "not_final", "superseded",
                                             "non_standard_unit", "expired"}));
  for (const auto& x : r.reasons) {
    EXPECT_NE(x.message.find('('), std::string::npos) << x.message;  // the English term
  }
  // Unmapped: the item-dependent checks cannot be made; status still is.
  row.std_code.clear();
  EXPECT_EQ(Codes(cat_.Evaluate(row, kReport + 30 * kDay)),
            (std::set<std::string>{"unmapped_code", "not_final", "superseded"}));
}

TEST_F(RecognitionTest, EmptyCatalogueRecognizesNothing) {
  RecognitionCatalogue none{RecognitionConfig{}};
  EXPECT_EQ(Codes(none.Evaluate(Hgb(), now_)), std::set<std::string>{"not_in_catalogue"});
}

TEST(UnitTest, SpellingsShareAKey) {
  EXPECT_EQ(UnitKey("10^9/L"), UnitKey("10*9/L"));
  EXPECT_EQ(UnitKey("10E9/L"), UnitKey("10*9/L"));
  EXPECT_EQ(UnitKey("×10^9/L"), UnitKey("10*9/L"));
  EXPECT_EQ(UnitKey("x10^9/L"), UnitKey("10*9/L"));
  EXPECT_EQ(UnitKey("μmol/L"), UnitKey("umol/L"));
  EXPECT_EQ(UnitKey("µmol/l"), UnitKey("umol/L"));
  EXPECT_EQ(UnitKey("[IU]/L"), UnitKey("IU/L"));
  EXPECT_NE(UnitKey("mmol/L"), UnitKey("umol/L"));
}

TEST(UnitTest, Conversions) {
  EXPECT_EQ(ConvertUnitValue("13.5", "g/dL", "g/L"), "135");
  EXPECT_EQ(ConvertUnitValue("250", "mg/dL", "g/L"), "2.5");
  EXPECT_EQ(ConvertUnitValue("88", "umol/L", "mmol/L"), "0.088");
  EXPECT_EQ(ConvertUnitValue("5.2", "10^3/uL", "10*9/L"), "5.2");
  EXPECT_EQ(ConvertUnitValue("5.10", "g/L", "g/l"), "5.10");             // same unit: as is
  EXPECT_FALSE(ConvertUnitValue("100", "mg/dL", "mmol/L").has_value());  // needs molar mass
  EXPECT_FALSE(ConvertUnitValue("阴性", "g/dL", "g/L").has_value());
  EXPECT_FALSE(ConvertUnitValue("5", "U/L", "g/L").has_value());
}

TEST(ChinaDayTest, DaysAndYears) {
  EXPECT_EQ(FormatDay(ChinaDay(ParseTimeMillis("2026-12-31T16:30:00Z"))), "2027-01-01");
  EXPECT_EQ(FormatDay(ChinaDay(ParseTimeMillis("2026-12-31T15:30:00Z"))), "2026-12-31");
  EXPECT_EQ(YearOfDay(ChinaDay(ParseTimeMillis("2026-12-31T16:30:00Z"))), 2027);
  EXPECT_EQ(FormatDay(0), "1970-01-01");
}

}  // namespace
}  // namespace hie
