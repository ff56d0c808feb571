// Unit tests of the EMPI normalizers: UTF-8, ID card, birth date, phone, sex,
// address, names (ICU).
#include <gtest/gtest.h>

#include "empi/fields.h"
#include "empi/name_normalizer.h"
#include "empi/record_normalizer.h"
#include "empi/utf8.h"

namespace hie::empi {
namespace {

std::string WithCheck(std::string first17) {
  first17.push_back(IdCheckChar(first17));
  return first17;
}

TEST(Utf8Test, DecodesAndRejectsMalformed) {
  auto d = DecodeUtf8("王a");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size(), 2u);
  EXPECT_FALSE(DecodeUtf8("\xE7\x8E").ok());
  EXPECT_FALSE(DecodeUtf8("\xFF").ok());
  EXPECT_EQ(ToHalfWidth(U'１'), U'1');
  EXPECT_EQ(ToHalfWidth(0x3000), U' ');
}

TEST(IdCardTest, ChecksumIso7064) {
  EXPECT_EQ(IdCheckChar("11010519491231002"), 'X');
  auto id = NormalizeIdCard("11010519491231002x");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->kind, IdKind::kResident);
  EXPECT_EQ(id->number, "11010519491231002X");
  EXPECT_TRUE(id->checksum_ok);
  EXPECT_EQ(id->birth.year, 1949);
  EXPECT_EQ(id->birth.month, 12);
  EXPECT_EQ(id->birth.day, 31);
  EXPECT_EQ(id->sex, Sex::kFemale);  // 17th digit 2 is even
}

TEST(IdCardTest, WrongCheckCharIsKeptAsTypo) {
  auto id = NormalizeIdCard("110105194912310021");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->kind, IdKind::kResident);
  EXPECT_FALSE(id->checksum_ok);
}

TEST(IdCardTest, FullWidthAndSpaces) {
  auto id = NormalizeIdCard("１１０１０５ 1949 1231 002Ｘ");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->number, "11010519491231002X");
}

TEST(IdCardTest, FifteenToEighteen) {
  auto id = NormalizeIdCard("430523850612131");
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->upgraded_from_15);
  EXPECT_EQ(id->number, WithCheck("43052319850612131"));
  EXPECT_EQ(id->birth.year, 1985);
  EXPECT_EQ(id->sex, Sex::kMale);
}

TEST(IdCardTest, OtherIdentifiersAndGarbage) {
  auto other = NormalizeIdCard("5304218");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->kind, IdKind::kOther);
  EXPECT_FALSE(NormalizeIdCard("").ok());
  EXPECT_FALSE(NormalizeIdCard("--").ok());
  // 18 digits with an impossible date: a damaged resident number.
  auto bad_date = NormalizeIdCard("430523198513401234");
  ASSERT_TRUE(bad_date.ok());
  EXPECT_EQ(bad_date->kind, IdKind::kResident);
  EXPECT_FALSE(bad_date->checksum_ok);
  EXPECT_FALSE(bad_date->birth.known());
}

TEST(BirthDateTest, Formats) {
  for (const char* s : {"1980-03-05", "1980/3/5", "19800305", "1980年3月5日", "1980-03-05 00:00:00",
                        "19800305120000"}) {
    auto b = ParseBirthDate(s);
    ASSERT_TRUE(b.ok()) << s;
    EXPECT_EQ(b->year, 1980);
    EXPECT_EQ(b->month, 3);
    EXPECT_EQ(b->day, 5);
    EXPECT_TRUE(b->informative());
  }
}

TEST(BirthDateTest, PartialAndPlaceholder) {
  auto y = ParseBirthDate("1956");
  ASSERT_TRUE(y.ok());
  EXPECT_TRUE(y->known());
  EXPECT_FALSE(y->full());
  auto ym = ParseBirthDate("1956-07");
  ASSERT_TRUE(ym.ok());
  EXPECT_EQ(ym->month, 7);
  EXPECT_FALSE(ym->full());
  auto p = ParseBirthDate("1956-01-01");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->placeholder);
  EXPECT_FALSE(p->informative());
}

TEST(BirthDateTest, Invalid) {
  EXPECT_FALSE(ParseBirthDate("").ok());
  EXPECT_FALSE(ParseBirthDate("1980-02-30").ok());
  EXPECT_FALSE(ParseBirthDate("abc").ok());
  EXPECT_FALSE(ParseBirthDate("0000").ok());
}

TEST(PhoneTest, Mobiles) {
  for (const char* s :
       {"13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "８６１３８１２３４５６７８"}) {
    auto p = NormalizePhone(s);
    ASSERT_TRUE(p.ok()) << s;
    EXPECT_EQ(p->digits, "13812345678");
    EXPECT_TRUE(p->mobile);
  }
  auto land = NormalizePhone("(0739)5123456");
  ASSERT_TRUE(land.ok());
  EXPECT_EQ(land->digits, "07395123456");
  EXPECT_FALSE(land->mobile);
  EXPECT_FALSE(NormalizePhone("12").ok());
  EXPECT_FALSE(NormalizePhone("abc").ok());
}

TEST(SexTest, Codes) {
  EXPECT_EQ(ParseSex("男"), Sex::kMale);
  EXPECT_EQ(ParseSex("2"), Sex::kFemale);
  EXPECT_EQ(ParseSex("F"), Sex::kFemale);
  EXPECT_EQ(ParseSex("9"), Sex::kUnknown);
}

TEST(AddressTest, TownshipAndVillage) {
  auto a = NormalizeAddress("湖南省邵阳市隆回县桃洪镇城西村3组12号");
  EXPECT_EQ(a.township, "桃洪镇");
  EXPECT_EQ(a.village, "城西村");
  EXPECT_EQ(a.full, "桃洪镇城西村3组12号");
  auto b = NormalizeAddress("桃洪镇 城西村３组12号");
  EXPECT_EQ(b.full, a.full);
  auto c = NormalizeAddress("隆回县六都寨乡红星社区");
  EXPECT_EQ(c.township, "六都寨乡");
  EXPECT_EQ(c.village, "红星社区");
  auto latin = NormalizeAddress("12 Main St.", "Springfield", "Main St");
  EXPECT_EQ(latin.full, "12 main st");
  EXPECT_EQ(latin.township, "springfield");
}

class NameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = NameNormalizer::Create();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    names_ = std::move(n).value();
  }
  NormalizedName N(std::string_view full) {
    auto r = names_->Normalize(full);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : NormalizedName{};
  }
  std::unique_ptr<NameNormalizer> names_;
};

TEST_F(NameTest, TraditionalFullWidthSpacesDots) {
  auto n = N("張 偉");
  EXPECT_EQ(n.text, "张伟");
  EXPECT_EQ(n.surname, "张");
  EXPECT_EQ(n.given, "伟");
  EXPECT_EQ(n.pinyin_surname, "zhang");
  EXPECT_EQ(n.pinyin_given, "wei");
  EXPECT_EQ(N("阿依古丽·买买提").text, "阿依古丽买买提");
  EXPECT_EQ(N("王　芳").text, "王芳");
}

TEST_F(NameTest, PolyphonicSurnames) {
  EXPECT_EQ(N("曾小明").pinyin_surname, "zeng");
  EXPECT_EQ(N("单田芳").pinyin_surname, "shan");
  EXPECT_EQ(N("解放军").pinyin_surname, "xie");
  EXPECT_EQ(N("区志强").pinyin_surname, "ou");
  EXPECT_EQ(N("仇军").pinyin_surname, "qiu");
  EXPECT_EQ(N("查良镛").pinyin_surname, "zha");
  EXPECT_EQ(N("朴成").pinyin_surname, "piao");
  EXPECT_EQ(N("覃丽").pinyin_surname, "qin");
  EXPECT_EQ(N("翟峰").pinyin_surname, "zhai");
  // In the given name the common reading stays.
  EXPECT_EQ(N("王曾").pinyin_given, "ceng");
}

TEST_F(NameTest, CompoundSurnames) {
  auto n = N("欧阳娜娜");
  EXPECT_EQ(n.surname, "欧阳");
  EXPECT_EQ(n.pinyin_surname, "ouyang");
  EXPECT_EQ(n.pinyin_given, "nana");
  EXPECT_EQ(N("尉迟恭").pinyin_surname, "yuchi");
  // Two characters only: 欧 is the surname, 阳 the given name.
  EXPECT_EQ(N("欧阳").surname, "欧");
}

TEST_F(NameTest, LatinNames) {
  auto n = N("John  Smith");
  EXPECT_EQ(n.pinyin_surname, "smith");
  EXPECT_EQ(n.pinyin_given, "john");
  EXPECT_FALSE(n.han);
  auto e = names_->Normalize("", "O'Brien", "Mary-Ann");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->pinyin_surname, "obrien");
  EXPECT_EQ(e->pinyin_given, "maryann");
}

TEST_F(NameTest, RejectsEmptyAndBadUtf8) {
  EXPECT_FALSE(names_->Normalize("··").ok());
  EXPECT_FALSE(names_->Normalize("\xE7\x8E").ok());
}

TEST_F(NameTest, CloneIsIndependent) {
  auto copy = names_->Clone();
  auto a = copy->Normalize("曾國藩");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->text, "曾国藩");
  EXPECT_EQ(a->pinyin(), "zengguofan");
}

TEST(RecordNormalizerTest, FillsFromIdAndFlagsRelativesCard) {
  auto rn = RecordNormalizer::Create();
  ASSERT_TRUE(rn.ok());
  PersonRecord in;
  in.record_id = "r1";
  in.name = "李秀英";
  in.id_number = WithCheck("43052319620314202");
  in.birth_date = "1962-01-01";  // placeholder: the ID card is better
  auto r = (*rn)->Normalize(in);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->id_contradicts_record);
  EXPECT_EQ(r->birth.month, 3);
  EXPECT_EQ(r->sex, Sex::kFemale);

  in.birth_date = "1990-05-06";  // the daughter's record with her mother's card
  in.sex = "女";
  r = (*rn)->Normalize(in);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->id_contradicts_record);

  in.birth_date = "1962-02-14";  // lunar-calendar birthday: no contradiction
  r = (*rn)->Normalize(in);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->id_contradicts_record);

  in.birth_date = "1962-03-14";
  in.sex = "男";  // the card says female: a relative's card
  r = (*rn)->Normalize(in);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->id_contradicts_record);
}

TEST(RecordNormalizerTest, RequiresNameOrId) {
  auto rn = RecordNormalizer::Create();
  ASSERT_TRUE(rn.ok());
  PersonRecord in;
  in.record_id = "r1";
  in.phone = "13812345678";
  EXPECT_FALSE((*rn)->Normalize(in).ok());
  in.record_id = "";
  in.name = "王伟";
  EXPECT_FALSE((*rn)->Normalize(in).ok());
  in.record_id = "r2";
  in.phone = "bad phone";  // an unreadable field is a missing value
  auto r = (*rn)->Normalize(in);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->phone.digits.empty());
}

}  // namespace
}  // namespace hie::empi
