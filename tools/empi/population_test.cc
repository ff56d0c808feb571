// Tests of the EMPI tools' building blocks: the synthetic population and the
// labelled-file readers.
#include "tools/empi/population.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "empi/record_normalizer.h"
#include "tools/empi/labelled_csv.h"

namespace hie::empi::tools {
namespace {

TEST(PopulationTest, DeterministicPerSeed) {
  PopulationOptions o;
  o.persons = 500;
  o.seed = 4;
  const std::string a = ToCsv(GeneratePopulation(o));
  const std::string b = ToCsv(GeneratePopulation(o));
  EXPECT_EQ(a, b);
  o.seed = 5;
  EXPECT_NE(a, ToCsv(GeneratePopulation(o)));
}

TEST(PopulationTest, RecordsNormalizeAndCoverPersons) {
  PopulationOptions o;
  o.persons = 800;
  auto recs = GeneratePopulation(o);
  std::set<std::string> persons;
  auto norm = RecordNormalizer::Create();
  ASSERT_TRUE(norm.ok());
  size_t with_id = 0;
  for (const auto& r : recs) {
    persons.insert(r.true_person);
    auto n = (*norm)->Normalize(r.record);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (n->id.kind == IdKind::kResident) ++with_id;
  }
  EXPECT_EQ(persons.size(), 800u);
  EXPECT_GT(recs.size(), 1200u);
  // Village clinics often have no ID number; hospitals mostly do.
  EXPECT_GT(with_id, recs.size() / 3);
  EXPECT_LT(with_id, recs.size());
}

TEST(LabelledCsvTest, SplitsQuotedFields) {
  auto f = SplitCsvLine("a, \"b,c\",\"d\"\"e\",");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[1], "b,c");
  EXPECT_EQ(f[2], "d\"e");
  EXPECT_EQ(f[3], "");
}

TEST(LabelledCsvTest, ReadsTheThreeFormats) {
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream(dir + "/f.csv") << "rec_id, given_name, surname, street_number, address_1, "
                                     "address_2, suburb, postcode, state, date_of_birth, "
                                     "soc_sec_id\nrec-7-org, ann, lee, 3, main st, , town, 2000, "
                                     "nsw, 19800101, 1234567\nrec-7-dup-0, anne, lee, 3, main "
                                     "st, , town, 2000, nsw, 19800101, 1234567\n";
    std::ofstream(dir + "/s.csv") << "unique_id,first_name,surname,dob,city,email,cluster\n0,Julia "
                                     ",,2015-10-29,London,j@x.com,0\n";
    std::ofstream(dir + "/c.csv") << "record_id,person_id,facility,name,sex,birth_date,id_number,"
                                     "phone,address\nR1,P1,V1,王伟,男,1980-01-02,,,城西村\n";
    std::ofstream(dir + "/bad.csv") << "x,y\n1,2\n";
  }
  auto febrl = ReadLabelled(dir + "/f.csv");
  ASSERT_TRUE(febrl.ok()) << febrl.status().ToString();
  ASSERT_EQ(febrl->size(), 2u);
  EXPECT_EQ((*febrl)[0].true_person, "7");
  EXPECT_EQ((*febrl)[1].true_person, "7");
  EXPECT_EQ((*febrl)[1].record.given_name, "anne");
  auto splink = ReadLabelled(dir + "/s.csv");
  ASSERT_TRUE(splink.ok());
  EXPECT_EQ((*splink)[0].record.phone, "j@x.com");
  auto county = ReadLabelled(dir + "/c.csv");
  ASSERT_TRUE(county.ok());
  EXPECT_EQ((*county)[0].record.name, "王伟");
  EXPECT_EQ(ReadLabelled(dir + "/bad.csv").status().code(), ErrorCode::kParseError);
  EXPECT_EQ(ReadLabelled(dir + "/missing.csv").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hie::empi::tools
