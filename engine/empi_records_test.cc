// Unit tests of what the EMPI service reads from PID / MRG, the stored
// normalized form, the evidence and the golden record's survivorship rules.
#include "engine/empi_records.h"

#include <gtest/gtest.h>

#include "empi/fields.h"
#include "empi/record_normalizer.h"

namespace hie {
namespace {

std::string WithCheck(std::string first17) {
  first17.push_back(empi::IdCheckChar(first17));
  return first17;
}

TEST(EmpiRecords, ExtractPatientReadsPidAndMrg) {
  const std::string card = WithCheck("43052319560308024");
  std::string text =
      "MSH|^~\\&|HIS|WSY01|HIE|COUNTY|20261201||ADT^A40^ADT_A39|C1|P|2.5\r"
      "PID|1||T001^^^WSY01^MR~" +
      card +
      "^^^NI^NI||曾^秀英||19560308000000|2|||"
      "东湖村3组^^隆回县^湖南省||^^^^^^^^^^^13907391234\r"
      "MRG|T002^^^WSY01^MR\r";
  auto msg = Er7Message::Parse(text);
  ASSERT_TRUE(msg.ok());
  auto in = ExtractPatient(*msg, "WSY01");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->local_id, "T001");
  EXPECT_EQ(in->id_number, card);
  EXPECT_EQ(in->record.surname, "曾");
  EXPECT_EQ(in->record.given_name, "秀英");
  EXPECT_EQ(in->record.name, "曾秀英");
  EXPECT_EQ(in->record.birth_date, "19560308");
  EXPECT_EQ(in->record.sex, "2");
  EXPECT_EQ(in->record.address, "湖南省隆回县东湖村3组");
  EXPECT_EQ(in->record.phone, "13907391234");
  EXPECT_EQ(in->prior_local_id, "T002");
  EXPECT_EQ(SourceKey("WSY01", *in, 9), "MR|WSY01|T001");
  in->local_id.clear();
  EXPECT_EQ(SourceKey("WSY01", *in, 9), "NI|WSY01|" + card);
  in->id_number.clear();
  EXPECT_EQ(SourceKey("WSY01", *in, 9), "MSG|9");
}

TEST(EmpiRecords, ExtractPatientRefusesAnEmptyPid) {
  auto none = Er7Message::Parse("MSH|^~\\&|HIS|A|HIE|B|2026||ADT^A04|C|P|2.5\r");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(ExtractPatient(*none, "A").status().code(), ErrorCode::kRequiredMissing);
  auto empty = Er7Message::Parse("MSH|^~\\&|HIS|A|HIE|B|2026||ADT^A04|C|P|2.5\rPID|1\r");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(ExtractPatient(*empty, "A").status().code(), ErrorCode::kRequiredMissing);
}

class GoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = empi::RecordNormalizer::Create();
    ASSERT_TRUE(n.ok());
    norm_ = std::move(n).value();
  }
  void Add(int64_t id, int64_t at, bool card_reader, const std::string& name,
           const std::string& birth, const std::string& idn, const std::string& address,
           const std::string& phone) {
    empi::PersonRecord p;
    p.record_id = "s" + std::to_string(id);
    p.name = name;
    p.birth_date = birth;
    p.id_number = idn;
    p.address = address;
    p.phone = phone;
    auto n = norm_->Normalize(p);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    // The stored form reads back to the same record.
    auto back = NormFromJson(NormToJson(*n));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(NormToJson(*back), NormToJson(*n));
    EmpiSourceRow row;
    row.id = id;
    row.updated_at_ms = at;
    row.card_reader = card_reader;
    rows_.push_back(row);
    norms_.push_back(*back);
  }
  std::unique_ptr<empi::RecordNormalizer> norm_;
  std::vector<EmpiSourceRow> rows_;
  std::vector<empi::NormalizedRecord> norms_;
};

TEST_F(GoldenTest, CardReaderIdWinsAndRecentAddressAndCompleteName) {
  const std::string card = WithCheck("43052319560308024");
  const std::string other = WithCheck("43052319560308046");
  Add(1, 100, false, "曾秀", "1956", "", "桃洪镇东湖村", "13907391234");
  Add(2, 300, false, "曾秀英", "19560308", other, "", "");
  Add(3, 200, true, "曾秀英", "", card, "隆回县桃洪镇东湖村3组", "");
  auto g = GoldenRecord(7, rows_, norms_);
  EXPECT_EQ(g["empi_id"], "E7");
  EXPECT_EQ(g["id_number"], card);  // the card reader's, not the more recent one
  EXPECT_EQ(g["id_number_from"], 3);
  EXPECT_EQ(g["birth_date"], "1956-03-08");  // from the card
  EXPECT_EQ(g["sex"], "F");
  EXPECT_EQ(g["name"], "曾秀英");  // most complete; most recent among equals
  EXPECT_EQ(g["name_from"], 2);
  EXPECT_EQ(g["address_from"], 3);  // most recent with an address
  EXPECT_EQ(g["phone"], "13907391234");
  EXPECT_EQ(g["source_count"], 3);
}

TEST_F(GoldenTest, WithoutACardReaderTheMostRecentValidCard) {
  const std::string a = WithCheck("43052319560308024");
  const std::string b = WithCheck("43052319560308046");
  Add(1, 100, false, "曾秀英", "19560308", a, "", "");
  Add(2, 200, false, "曾秀英", "19560308", b, "", "");
  auto g = GoldenRecord(1, rows_, norms_);
  EXPECT_EQ(g["id_number"], b);
  EXPECT_FALSE(g["id_number_card_reader"].get<bool>());
}

TEST(EmpiRecords, ExtractPatientReadsTheCanonicalPatient) {
  const std::string card = WithCheck("43052319560308024");
  canonical::CanonicalMessage m;
  m.facility = "CWS001";
  m.bundle = nlohmann::json::parse(R"({"resourceType":"Bundle","type":"collection","entry":[
    {"resource":{"resourceType":"Patient","id":"p2","active":false,
                 "identifier":[{"system":"local:CWS001","value":"OLD"}]}},
    {"resource":{"resourceType":"Patient","id":"p1",
      "identifier":[{"system":"urn:oid:2.16.156.10011.1.3","value":")" +
                                   card + R"("},
        {"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},
         "system":"local:OTHER","value":"X1"},
        {"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},
         "system":"local:CWS001","value":"V001"}],
      "name":[{"text":"曾秀英","family":"曾","given":["秀英"]}],
      "gender":"female","birthDate":"1956-03-08",
      "address":[{"state":"湖南省","district":"隆回县","line":["东湖村3组"]}],
      "telecom":[{"system":"email","value":"a@b.cn"},{"system":"phone","value":"13907391234"}]}}]})");
  auto in = ExtractPatient(m, "CWS001");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->local_id, "V001");
  EXPECT_EQ(in->id_number, card);
  EXPECT_EQ(in->record.name, "曾秀英");
  EXPECT_EQ(in->record.surname, "曾");
  EXPECT_EQ(in->record.sex, "F");
  EXPECT_EQ(in->record.birth_date, "1956-03-08");
  EXPECT_EQ(in->record.address, "湖南省隆回县东湖村3组");
  EXPECT_EQ(in->record.phone, "13907391234");
  EXPECT_EQ(SourceKey("CWS001", *in, 7), "MR|CWS001|V001");
  canonical::CanonicalMessage none;
  none.bundle = nlohmann::json::parse(R"({"resourceType":"Bundle","entry":[]})");
  EXPECT_EQ(ExtractPatient(none, "CWS001").status().code(), ErrorCode::kRequiredMissing);
}

TEST(EmpiRecords, EmpiIdsRoundTrip) {
  EXPECT_EQ(EmpiId(42), "E42");
  EXPECT_EQ(ParseEmpiId("E42"), 42);
  EXPECT_EQ(ParseEmpiId("e7"), 7);
  EXPECT_EQ(ParseEmpiId("42"), 0);
  EXPECT_EQ(ParseEmpiId("E"), 0);
  EXPECT_EQ(ParseEmpiId("E4x"), 0);
}

TEST(EmpiRecords, EvidenceNamesEveryField) {
  empi::FsModel m = empi::FsModel::Initial();
  auto e = Evidence(m, {1, 2, 0, 1, 3, 2});
  for (const char* k : {"id", "name", "birth_date", "sex", "phone", "address"}) {
    ASSERT_TRUE(e.contains(k)) << k;
  }
  EXPECT_EQ(e["birth_date"]["level"], 0);
  EXPECT_EQ(e["birth_date"]["weight"], 0.0);
  EXPECT_GT(e["id"]["weight"].get<double>(), 0.0);
}

}  // namespace
}  // namespace hie
