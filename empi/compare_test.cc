// Unit tests of the EMPI comparators and the Fellegi-Sunter model (weights
// file round trip, EM).
#include "empi/compare.h"

#include <gtest/gtest.h>

#include <random>

#include "empi/fields.h"
#include "empi/lunar.h"
#include "empi/model.h"
#include "empi/record_normalizer.h"

namespace hie::empi {
namespace {

std::string WithCheck(std::string first17) {
  first17.push_back(IdCheckChar(first17));
  return first17;
}

class CompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = RecordNormalizer::Create();
    ASSERT_TRUE(n.ok());
    norm_ = std::move(n).value();
  }
  NormalizedRecord R(std::string name, std::string birth = "", std::string id = "",
                     std::string sex = "", std::string phone = "", std::string address = "") {
    PersonRecord p;
    p.record_id = "r" + std::to_string(++next_);
    p.name = std::move(name);
    p.birth_date = std::move(birth);
    p.id_number = std::move(id);
    p.sex = std::move(sex);
    p.phone = std::move(phone);
    p.address = std::move(address);
    auto r = norm_->Normalize(p);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : NormalizedRecord{};
  }
  std::unique_ptr<RecordNormalizer> norm_;
  int next_ = 0;
};

TEST(JaroWinklerTest, KnownValues) {
  EXPECT_DOUBLE_EQ(JaroWinkler("martha", "martha"), 1.0);
  EXPECT_NEAR(JaroWinkler("martha", "marhta"), 0.961, 0.001);
  EXPECT_NEAR(JaroWinkler("dixon", "dicksonx"), 0.813, 0.001);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", ""), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "xyz"), 0.0);
}

TEST(OneEditTest, SubstitutionAndTransposition) {
  EXPECT_TRUE(OneEditApart("12345", "12355"));
  EXPECT_TRUE(OneEditApart("12345", "12354"));
  EXPECT_FALSE(OneEditApart("12345", "12345x"));
  EXPECT_FALSE(OneEditApart("12345", "13354"));
  EXPECT_FALSE(OneEditApart("12345", "12345") && false);
}

TEST_F(CompareTest, IdLevels) {
  const std::string id = WithCheck("43052319800305123");
  auto a = R("王伟", "1980-03-05", id, "男");
  EXPECT_EQ(CompareId(a, R("王伟", "1980-03-05", id, "男")), level::kIdExact);
  std::string typo = id;
  typo[10] = '1';  // month digit typo, checksum now wrong
  EXPECT_EQ(CompareId(a, R("王伟", "1980-03-05", typo, "男")), level::kIdTypo);
  std::string swapped = id;
  std::swap(swapped[14], swapped[15]);
  EXPECT_EQ(CompareId(a, R("王伟", "1980-03-05", swapped, "男")), level::kIdTypo);
  const std::string other = WithCheck("43052319800305145");
  EXPECT_EQ(CompareId(a, R("王伟", "1980-03-05", other, "男")), level::kIdDisagree);
  // The father's card on the son's record: no evidence either way.
  const std::string father = WithCheck("43052319550101123");
  EXPECT_EQ(CompareId(a, R("王伟", "1980-03-05", father, "男")), 0);
  EXPECT_EQ(CompareId(a, R("王伟", "1980-03-05")), 0);
}

TEST_F(CompareTest, NameLevels) {
  auto a = R("张伟").name;
  EXPECT_EQ(CompareName(a, R("張偉").name), level::kNameExact);
  EXPECT_EQ(CompareName(a, R("章玮").name), level::kNameHomophone);
  EXPECT_EQ(CompareName(R("刘秀英").name, R("刘秀莹").name), level::kNameHomophone);
  EXPECT_EQ(CompareName(R("张晓明").name, R("张小明").name), level::kNameHomophone);
  EXPECT_EQ(CompareName(R("李建国").name, R("李建华").name), level::kNameSimilar);
  EXPECT_EQ(CompareName(a, R("张强").name), level::kNamePartial);
  EXPECT_EQ(CompareName(a, R("刘芳").name), level::kNameDisagree);
  EXPECT_EQ(CompareName(a, NormalizedName{}), 0);
}

TEST_F(CompareTest, BirthLevels) {
  auto d = [](const char* s) { return *ParseBirthDate(s); };
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1980-03-05")), level::kBirthExact);
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1980-05-03")), level::kBirthSwap);
  // 1980-03-05 is 正月十九 in the lunar calendar.
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1980-01-19")), level::kBirthNear);
  EXPECT_EQ(CompareBirth(d("1980-01-19"), d("1980-03-05")), level::kBirthNear);
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1980-02-01")), level::kBirthDisagree);
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1980-09-05")), level::kBirthNear);  // one digit
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1980-01-01")), level::kBirthYear);  // placeholder
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1980")), level::kBirthYear);
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1980-11-25")), level::kBirthDisagree);
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1975-11-25")), level::kBirthDisagree);
  EXPECT_EQ(CompareBirth(d("1980-03-05"), d("1981")), level::kBirthDisagree);
  EXPECT_EQ(CompareBirth(d("1980-03-05"), BirthDate{}), 0);
}

TEST(LunarTest, KnownDates) {
  const auto& cal = LunarCalendar::Get();
  auto l = cal.FromGregorian(1980, 3, 5);
  EXPECT_EQ(l.month, 1);
  EXPECT_EQ(l.day, 19);
  l = cal.FromGregorian(2024, 2, 10);  // Spring Festival 2024
  EXPECT_EQ(l.month, 1);
  EXPECT_EQ(l.day, 1);
  l = cal.FromGregorian(2023, 4, 10);  // 闰二月二十, 2023
  EXPECT_EQ(l.month, 2);
  EXPECT_TRUE(l.leap_month);
  EXPECT_EQ(cal.FromGregorian(1850, 1, 1).month, 0);
}

TEST_F(CompareTest, SexPhoneAddressLevels) {
  EXPECT_EQ(CompareSex(Sex::kMale, Sex::kMale), level::kSexAgree);
  EXPECT_EQ(CompareSex(Sex::kMale, Sex::kFemale), level::kSexDisagree);
  EXPECT_EQ(CompareSex(Sex::kMale, Sex::kUnknown), 0);
  auto p = [](const char* s) { return *NormalizePhone(s); };
  EXPECT_EQ(ComparePhone(p("13812345678"), p("+86 13812345678")), level::kPhoneExact);
  EXPECT_EQ(ComparePhone(p("13812345678"), p("13812345679")), level::kPhoneTypo);
  EXPECT_EQ(ComparePhone(p("13812345678"), p("13987654321")), level::kPhoneDisagree);
  EXPECT_EQ(ComparePhone(p("13812345678"), Phone{}), 0);
  auto a = NormalizeAddress("隆回县桃洪镇城西村3组12号");
  EXPECT_EQ(CompareAddress(a, NormalizeAddress("湖南省邵阳市隆回县桃洪镇城西村3组12号")),
            level::kAddrExact);
  EXPECT_EQ(CompareAddress(a, NormalizeAddress("桃洪镇城西村5组")), level::kAddrVillage);
  EXPECT_EQ(CompareAddress(a, NormalizeAddress("桃洪镇东风村")), level::kAddrTownship);
  EXPECT_EQ(CompareAddress(a, NormalizeAddress("六都寨乡红星村")), level::kAddrDisagree);
  EXPECT_EQ(CompareAddress(a, NormalizedAddress{}), 0);
}

TEST(ModelTest, JsonRoundTrip) {
  FsModel m = FsModel::Initial();
  m.version = "test-v1";
  m.upper = 10;
  m.lower = 3;
  auto back = FsModel::FromJson(m.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version, "test-v1");
  EXPECT_DOUBLE_EQ(back->upper, 10);
  EXPECT_NEAR(back->Weight(Field::kId, level::kIdExact), m.Weight(Field::kId, level::kIdExact),
              1e-9);
  EXPECT_GT(m.Weight(Field::kId, level::kIdExact), 5);
  EXPECT_LT(m.Weight(Field::kId, level::kIdDisagree), -3);
}

TEST(ModelTest, RejectsBadFiles) {
  EXPECT_FALSE(FsModel::FromJson("{").ok());
  EXPECT_FALSE(FsModel::FromJson("{\"format\":\"other\"}").ok());
  FsModel m = FsModel::Initial();
  std::string j = m.ToJson();
  auto pos = j.find("\"lower\"");
  ASSERT_NE(pos, std::string::npos);
  j.replace(pos, 7, "\"lowerX\"");
  // lower missing -> 0, still <= upper: accepted; an out-of-range m is not.
  EXPECT_TRUE(FsModel::FromJson(j).ok());
  std::string bad = m.ToJson();
  pos = bad.find("\"m\": [");
  ASSERT_NE(pos, std::string::npos);
  bad.replace(pos, 6, "\"m\": [7, ");
  EXPECT_FALSE(FsModel::FromJson(bad).ok());
  EXPECT_FALSE(FsModel::Load("/nonexistent/weights.json").ok());
}

TEST(ModelTest, EmRecoversTwoClasses) {
  // Synthetic vectors: 10% matches agreeing on most fields, 90% not.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u01(0, 1);
  std::vector<ComparisonVector> pairs;
  for (int i = 0; i < 20000; ++i) {
    const bool match = i % 10 == 0;
    ComparisonVector v{};
    for (size_t f = 0; f < kFieldCount; ++f) {
      const double agree = match ? 0.9 : (f == 3 ? 0.5 : 0.05);
      v[f] = u01(rng) < agree ? 1 : kLevelCount[f];
    }
    pairs.push_back(v);
  }
  FsModel m = FsModel::Initial();
  auto rep = TrainEm(pairs, m);
  ASSERT_TRUE(rep.ok());
  EXPECT_NEAR(rep->lambda, 0.1, 0.02);
  EXPECT_NEAR(m.params(Field::kName).m[0], 0.9, 0.03);
  EXPECT_NEAR(m.params(Field::kName).u[0], 0.05, 0.02);
  EXPECT_FALSE(TrainEm({}, m).ok());
}

}  // namespace
}  // namespace hie::empi
