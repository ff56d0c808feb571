// Unit tests of blocking, the deterministic rules and the MatchIndex outcomes.
#include <gtest/gtest.h>

#include <cstdio>

#include "empi/fields.h"
#include "empi/lunar.h"
#include "empi/match_index.h"
#include "empi/record_normalizer.h"
#include "empi/training.h"

namespace hie::empi {
namespace {

std::string WithCheck(std::string first17) {
  first17.push_back(IdCheckChar(first17));
  return first17;
}

class MatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = RecordNormalizer::Create();
    ASSERT_TRUE(n.ok());
    norm_ = std::move(n).value();
    auto model = std::make_shared<FsModel>(FsModel::Initial());
    model->upper = 12;
    model->lower = 4;
    index_ = std::make_unique<MatchIndex>(model);
  }
  NormalizedRecord R(std::string name, std::string birth, std::string id, std::string sex,
                     std::string phone, std::string address) {
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
  std::unique_ptr<MatchIndex> index_;
  int next_ = 0;
};

TEST_F(MatchTest, AddRejectsPersonZeroAndDuplicates) {
  auto r = R("王伟", "1980-03-05", "", "男", "", "");
  EXPECT_FALSE(index_->Add(r, 0).ok());
  EXPECT_TRUE(index_->Add(r, 1).ok());
  EXPECT_EQ(index_->Add(r, 2).code(), ErrorCode::kConflict);
}

TEST_F(MatchTest, SetPersonAndReplaceMoveAndUpdateARecord) {
  const std::string id = WithCheck("43052319800305123");
  auto r = R("王伟", "1980-03-05", id, "男", "", "桃洪镇城西村");
  const std::string rid = r.record_id;
  ASSERT_TRUE(index_->Add(r, 7).ok());
  EXPECT_EQ(index_->SetPerson("nope", 8).code(), ErrorCode::kNotFound);
  EXPECT_FALSE(index_->SetPerson(rid, 0).ok());
  ASSERT_TRUE(index_->SetPerson(rid, 8).ok());
  auto m = index_->Match(R("王伟", "", id, "", "", ""));
  EXPECT_EQ(m.outcome, Outcome::kAutoLink);
  EXPECT_EQ(m.person_id, 8u);
  // The source now sends a new phone: the record is found by it.
  auto updated = R("王伟", "1980-03-05", id, "男", "13812345678", "桃洪镇城西村");
  updated.record_id = rid;
  ASSERT_TRUE(index_->Replace(updated).ok());
  EXPECT_EQ(index_->size(), 1u);
  bool by_phone = false;
  for (const auto& c : index_->Candidates(R("刘芳", "1990-01-02", "", "女", "13812345678", ""))) {
    by_phone = by_phone || c.person_id == 8u;
  }
  EXPECT_TRUE(by_phone);
  auto unknown = R("王伟", "", "", "", "", "");
  EXPECT_EQ(index_->Replace(unknown).code(), ErrorCode::kNotFound);
}

TEST_F(MatchTest, BlockingKeysCoverEachField) {
  auto r = R("王伟", "1980-03-05", WithCheck("43052319800305123"), "男", "13812345678",
             "桃洪镇城西村3组");
  EXPECT_EQ(BlockingKeys(r).size(), 6u);
  EXPECT_EQ(BlockingKeys(r, /*wide=*/true).size(), 7u);
  auto sparse = R("王伟", "", "", "", "", "");
  EXPECT_TRUE(BlockingKeys(sparse).empty());
}

TEST_F(MatchTest, IdAndNameRuleAutoLinks) {
  const std::string id = WithCheck("43052319800305123");
  ASSERT_TRUE(index_->Add(R("王伟", "1980-03-05", id, "男", "", "桃洪镇城西村"), 7).ok());
  auto m = index_->Match(R("王玮", "", id, "", "", ""));
  EXPECT_EQ(m.outcome, Outcome::kAutoLink);
  EXPECT_EQ(m.person_id, 7u);
  ASSERT_FALSE(m.persons.empty());
  EXPECT_EQ(m.persons[0].rule, Rule::kIdAndName);
}

TEST_F(MatchTest, ShippedWeightsLoad) {
  auto m = FsModel::Load(std::string(HIE_SOURCE_DIR) + "/empi/data/weights-county-v1.json");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->version, "county-v1");
  EXPECT_LT(m->lower, m->upper);
  EXPECT_GT(m->Weight(Field::kId, level::kIdExact), 10);
}

TEST_F(MatchTest, HomophoneLunarVillageRecordLinks) {
  auto model = FsModel::Load(std::string(HIE_SOURCE_DIR) + "/empi/data/weights-county-v1.json");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  MatchIndex index(std::make_shared<const FsModel>(std::move(model).value()));
  ASSERT_TRUE(index
                  .Add(R("刘秀英", "1962-03-14", WithCheck("43052319620314202"), "女",
                         "13912345678", "桃洪镇城西村3组"),
                       3)
                  .ok());
  // Village clinic: no ID, a homophone, the lunar birthday, same phone and
  // village.
  const LunarDate l = LunarCalendar::Get().FromGregorian(1962, 3, 14);
  char lunar[16];
  std::snprintf(lunar, sizeof lunar, "1962-%02d-%02d", l.month, l.day);
  auto m = index.Match(R("刘秀莹", lunar, "", "女", "13912345678", "城西村3组"));
  EXPECT_EQ(m.outcome, Outcome::kAutoLink);
  EXPECT_EQ(m.person_id, 3u);
  ASSERT_FALSE(m.persons.empty());
  EXPECT_EQ(m.persons[0].levels[static_cast<size_t>(Field::kBirth)], level::kBirthNear);
  EXPECT_EQ(m.persons[0].levels[static_cast<size_t>(Field::kName)], level::kNameHomophone);
}

TEST_F(MatchTest, NameAndPlaceAloneNeverAutoLink) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(index_->Add(R("欧阳娜娜", "", "", "女", "", "桃洪镇城西村3组"), 1).ok());
  }
  auto m = index_->Match(R("欧阳娜娜", "", "", "女", "", "桃洪镇城西村3组"));
  EXPECT_NE(m.outcome, Outcome::kAutoLink);
}

TEST_F(MatchTest, RelativesCardUnderAnotherNameIsReviewedAtMost) {
  // Sisters born the same year: the card's birth date fits both closely
  // enough not to contradict, but the names differ.
  const std::string id = WithCheck("43052319900506202");
  ASSERT_TRUE(
      index_->Add(R("李娜", "1990-05-06", id, "女", "13812345678", "桃洪镇城西村"), 1).ok());
  auto q = R("王芳", "1990-05-20", id, "女", "13812345678", "桃洪镇城西村");
  auto c = index_->Candidates(q);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_NE(index_->Match(q).outcome, Outcome::kAutoLink);
}

TEST(TrainingTest, NeedsAnchorsUnlessPlainEmAllowed) {
  std::vector<NormalizedRecord> recs(3);
  for (size_t i = 0; i < recs.size(); ++i) {
    recs[i].record_id = std::to_string(i);
    recs[i].name.text = "x";
    recs[i].name.pinyin_surname = "wang";
  }
  FsModel m = FsModel::Initial();
  EXPECT_FALSE(TrainFromRecords(recs, 100, m).ok());
}

TEST_F(MatchTest, ConflictingIdsVetoThePerson) {
  ASSERT_TRUE(index_
                  ->Add(R("王伟", "1980-03-05", WithCheck("43052319800305123"), "男", "13812345678",
                          "桃洪镇城西村"),
                        1)
                  .ok());
  auto m = index_->Match(
      R("王伟", "1980-03-05", WithCheck("43052319800305157"), "男", "13812345678", "桃洪镇城西村"));
  EXPECT_EQ(m.outcome, Outcome::kNewPerson);
  EXPECT_TRUE(m.persons.empty());
}

TEST_F(MatchTest, TwinsAreNotOnePerson) {
  ASSERT_TRUE(
      index_->Add(R("张子涵", "2015-06-01", "", "女", "13812345678", "桃洪镇城西村3组"), 1).ok());
  auto m = index_->Match(R("张子萱", "2015-06-01", "", "女", "13812345678", "桃洪镇城西村3组"));
  EXPECT_NE(m.outcome, Outcome::kAutoLink);
  auto c =
      index_->Candidates(R("张子萱", "2015-06-01", "", "女", "13812345678", "桃洪镇城西村3组"));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].rule, Rule::kTwins);
}

TEST_F(MatchTest, SpousesSharingPhoneAndAddressAreNotOnePerson) {
  ASSERT_TRUE(
      index_->Add(R("李建国", "1970-05-01", "", "男", "13812345678", "桃洪镇城西村3组"), 1).ok());
  auto q = R("王桂英", "1972-08-09", "", "女", "13812345678", "桃洪镇城西村3组");
  auto c = index_->Candidates(q);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].rule, Rule::kHousehold);
  EXPECT_EQ(index_->Match(q).outcome, Outcome::kNewPerson);
}

TEST_F(MatchTest, NoChainingAcrossPersons) {
  // Two existing persons both match the incoming record well by weights:
  // never linked automatically, and the persons are never joined.
  ASSERT_TRUE(
      index_->Add(R("王伟", "1980-03-05", "", "男", "13812345678", "桃洪镇城西村3组"), 1).ok());
  ASSERT_TRUE(
      index_->Add(R("王伟", "1980-03-05", "", "男", "13812345678", "桃洪镇城西村3组"), 2).ok());
  auto m = index_->Match(R("王伟", "1980-03-05", "", "男", "13812345678", "桃洪镇城西村3组"));
  EXPECT_EQ(m.outcome, Outcome::kReview);
  EXPECT_EQ(m.persons.size(), 2u);
}

TEST_F(MatchTest, IdRuleLinksAndFlagsDuplicatePersons) {
  const std::string id = WithCheck("43052319800305123");
  ASSERT_TRUE(
      index_->Add(R("王伟", "1980-03-05", id, "男", "13812345678", "桃洪镇城西村"), 1).ok());
  ASSERT_TRUE(index_->Add(R("王伟", "1980-03-05", id, "男", "", ""), 2).ok());
  auto m = index_->Match(R("王伟", "1980-03-05", id, "男", "13812345678", "桃洪镇城西村"));
  EXPECT_EQ(m.outcome, Outcome::kAutoLink);
  EXPECT_EQ(m.person_id, 1u);
  ASSERT_EQ(m.duplicate_suspects.size(), 1u);
  EXPECT_EQ(m.duplicate_suspects[0], 2u);
}

TEST_F(MatchTest, UnrelatedRecordIsNewPerson) {
  ASSERT_TRUE(
      index_->Add(R("王伟", "1980-03-05", "", "男", "13812345678", "桃洪镇城西村"), 1).ok());
  auto m = index_->Match(R("王伟", "1980-11-20", "", "男", "13698765432", "六都寨乡红星村"));
  EXPECT_EQ(m.outcome, Outcome::kNewPerson);
}

TEST_F(MatchTest, CommonNamesWeighLess) {
  // Fill the index so that frequencies are known: many 王伟, one 欧阳娜娜.
  for (int i = 0; i < 1200; ++i) {
    std::string name = i % 10 == 0 ? "王伟" : "赵" + std::to_string(i);
    ASSERT_TRUE(index_->Add(R(name, "", "", "", "", ""), 100 + i).ok());
  }
  ASSERT_TRUE(index_->Add(R("欧阳娜娜", "", "", "", "", ""), 5000).ok());
  const double common =
      index_->NameFrequencyAdjustment(R("王伟", "", "", "", "", "").name, level::kNameExact);
  const double rare =
      index_->NameFrequencyAdjustment(R("欧阳娜娜", "", "", "", "", "").name, level::kNameExact);
  EXPECT_LT(common, rare);
  EXPECT_LT(common, 0);
}

TEST_F(MatchTest, BlockedPairsRespectOrderAndCap) {
  std::vector<NormalizedRecord> recs;
  for (int i = 0; i < 5; ++i) recs.push_back(R("王伟", "1980-03-05", "", "", "", ""));
  auto pairs = BlockedPairs(recs, 2);
  // Each record sees at most the 2 most recent in each block.
  for (auto [i, j] : pairs) EXPECT_LT(i, j);
  EXPECT_EQ(pairs.size(), 1u + 2 + 2 + 2);
  for (auto [i, j] : pairs) EXPECT_LE(j - i, 2u);
}

}  // namespace
}  // namespace hie::empi
