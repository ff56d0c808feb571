// Tests of the canonical model helpers: times, decimals, VisitCodings.
#include "mappings/canonical/model.h"

#include <gtest/gtest.h>

#include <vector>

namespace hie::canonical {
namespace {

using nlohmann::json;

TEST(CanonicalTime, V2ToFhir) {
  EXPECT_EQ(*V2TimeToFhir("20240305083015", "X"), "2024-03-05T08:30:15+08:00");
  EXPECT_EQ(*V2TimeToFhir("202403050830", "X"), "2024-03-05T08:30:00+08:00");
  EXPECT_EQ(*V2TimeToFhir("2024030508", "X"), "2024-03-05T08:00:00+08:00");
  EXPECT_EQ(*V2TimeToFhir("20240305", "X"), "2024-03-05");
  EXPECT_EQ(*V2TimeToFhir("202403", "X"), "2024-03");
  EXPECT_EQ(*V2TimeToFhir("2024", "X"), "2024");
  EXPECT_EQ(*V2TimeToFhir("20240305083015.123-0500", "X"), "2024-03-05T08:30:15.123-05:00");
  EXPECT_EQ(*V2TimeToFhir("2024-03-05 08:30:15", "X"), "2024-03-05T08:30:15+08:00");
  EXPECT_EQ(*V2TimeToFhir("20240305083015+0000", "X"), "2024-03-05T08:30:15+00:00");
  for (const char* bad : {"2024130", "20241301", "20240230x", "20230229", "20240431", "abc",
                          "20240305250000", "", "2024-0"}) {
    auto r = V2TimeToFhir(bad, "PID-7");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().where(), "PID-7");
    EXPECT_EQ(r.status().code(), ErrorCode::kParseError);
  }
}

TEST(CanonicalTime, FhirToV2RoundTrip) {
  for (const char* t :
       {"20240305083015+0800", "20240305", "202403", "2024", "20240305083015.123-0500"}) {
    auto f = V2TimeToFhir(t, "X");
    ASSERT_TRUE(f.ok()) << t;
    auto back = FhirTimeToV2(*f, "/x");
    ASSERT_TRUE(back.ok()) << *f;
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(*FhirTimeToV2("2024-03-05T08:30:15Z", "/x"), "20240305083015+0000");
  EXPECT_FALSE(FhirTimeToV2("yesterday", "/x").ok());
}

TEST(CanonicalDecimal, KeepsPrecision) {
  json q = json::object();
  ASSERT_TRUE(SetDecimal(q, "value", "12.50"));
  EXPECT_EQ(q["value"], 12.5);
  EXPECT_EQ(GetDecimal(q, "value"), "12.50");
  ASSERT_TRUE(SetDecimal(q, "value", "135"));
  EXPECT_EQ(q["value"], 135);
  EXPECT_FALSE(q.contains("_value"));
  EXPECT_EQ(GetDecimal(q, "value"), "135");
  ASSERT_TRUE(SetDecimal(q, "value", "0.5"));
  EXPECT_EQ(GetDecimal(q, "value"), "0.5");
  ASSERT_TRUE(SetDecimal(q, "value", "-3.25"));
  EXPECT_EQ(GetDecimal(q, "value"), "-3.25");
  for (const char* bad : {"", "abc", "1.2.3", "1e5", "--1", "."})
    EXPECT_FALSE(SetDecimal(q, "v", bad)) << bad;
}

TEST(CanonicalVisit, VisitsEveryCodedElementWithRole) {
  json b = NewBundle();
  AddEntry(b,
           json{{"resourceType", "Patient"},
                {"id", "p1"},
                {"extension",
                 json::array({json{{"url", "urn:hie:sex"},
                                   {"valueCodeableConcept", MakeConcept("HL7 0001", "M", "")}}})},
                {"maritalStatus", MakeConcept("GB/T 2261.2", "20", "已婚")}});
  AddEntry(b, json{{"resourceType", "Observation"},
                   {"id", "o1"},
                   {"code", MakeConcept("local:F", "WBC", "白细胞")},
                   {"interpretation", json::array({MakeConcept("HL7 0078", "H", "")})}});
  std::vector<std::string> seen;
  VisitCodings(b, [&](std::string_view role, const std::string& ptr, json& cc) {
    seen.push_back(std::string(role) + " " + ptr);
    cc["coding"].push_back(json{{"system", "X"}, {"code", "y"}});
  });
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], "sex /entry/0/resource/extension/0/valueCodeableConcept");
  EXPECT_EQ(seen[1], "marital-status /entry/0/resource/maritalStatus");
  EXPECT_EQ(seen[2], "lab-item /entry/1/resource/code");
  EXPECT_EQ(seen[3], "abnormal-flag /entry/1/resource/interpretation/0");
  // Appended, coding[0] untouched.
  EXPECT_EQ(b["entry"][1]["resource"]["code"]["coding"][0]["code"], "WBC");
  EXPECT_EQ(b["entry"][1]["resource"]["code"]["coding"][1]["code"], "y");
  EXPECT_EQ(b.at(json::json_pointer("/entry/0/resource/maritalStatus/coding/0/code")), "20");
}

TEST(CanonicalJson, ToAndFrom) {
  CanonicalMessage m{"F", "1", "ADT^A04", NewBundle()};
  auto back = FromJson(ToJson(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
  EXPECT_FALSE(FromJson(json{{"facility", 1}}).ok());
}

}  // namespace
}  // namespace hie::canonical
