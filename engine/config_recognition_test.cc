// The `recognition:` config section (engine/config_recognition.h): items in
// YAML and in a CSV file, each refusal with file:line and the reason.
#include "engine/config_recognition.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace hie {
namespace {

const char* kBase = R"(hub: {name: t, data_dir: /tmp/x}
listen: {http: "127.0.0.1:0"}
facilities: [{id: XQRMYY, kind: county}]
)";

Result<Config> Parse(const std::string& tail) {
  return ParseConfig(std::string(kBase) + tail, "hub.yaml");
}

TEST(RecognitionConfigTest, ItemsInYaml) {
  auto c = Parse(R"(recognition:
  items:
    - code: 718-7
      name: 血红蛋白
      validity_days: 7
      unit: g/L
      qualified:
        - {facility: XQRMYY, eqa_year: 2026}
        - {facility: JINYU-LAB, eqa_year: 2025}
    - {code: 2345-7, validity_days: 1, unit: mmol/L}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->recognition.items.size(), 2u);
  const auto& hgb = c->recognition.items[0];
  EXPECT_EQ(hgb.code, "718-7");
  EXPECT_EQ(hgb.name, "血红蛋白");
  EXPECT_EQ(hgb.validity_days, 7);
  EXPECT_EQ(hgb.unit, "g/L");
  ASSERT_EQ(hgb.qualified.size(), 2u);
  EXPECT_EQ(hgb.qualified[1].facility, "JINYU-LAB");  // an outside lab needs no facility entry
  EXPECT_EQ(hgb.qualified[1].eqa_year, 2025);
  EXPECT_EQ(hgb.where, "hub.yaml:6");
  EXPECT_TRUE(c->recognition.items[1].qualified.empty());
}

TEST(RecognitionConfigTest, NoSectionNoCatalogue) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->recognition.items.empty());
}

struct Bad {
  const char* yaml;
  const char* where;
  const char* says;
};

TEST(RecognitionConfigTest, BadItemsAreRefusedWithLineAndReason) {
  const Bad cases[] = {
      {"recognition:\n  items:\n    - {code: 718-6, validity_days: 7}\n", "hub.yaml:6",
       "718-7"},  // check digit; the right one is named
      {"recognition:\n  items:\n    - {code: HGB, validity_days: 7}\n", "hub.yaml:6", "LOINC"},
      {"recognition:\n  items:\n    - {code: 718-7, validity_days: 0}\n", "hub.yaml:6",
       "validity_days"},
      {"recognition:\n  items:\n    - {code: 718-7, validity_days: seven}\n", "hub.yaml:6",
       "whole number"},
      {"recognition:\n  items:\n    - {code: 718-7}\n", "hub.yaml:6", "required"},
      {"recognition:\n  items:\n    - {code: 718-7, validity_days: 7, colour: red}\n", "hub.yaml:6",
       "unknown key"},
      {"recognition:\n  items:\n    - {code: 718-7, validity_days: 7}\n    - {code: 718-7, "
       "validity_days: 3}\n",
       "hub.yaml:7", "defined twice"},
      {"recognition:\n  items:\n    - code: 718-7\n      validity_days: 7\n      qualified:\n"
       "        - {facility: XQRMYY, eqa_year: 1999}\n",
       "hub.yaml:9", "eqa_year"},
      {"recognition:\n  items:\n    - code: 718-7\n      validity_days: 7\n      qualified:\n"
       "        - {eqa_year: 2026}\n",
       "hub.yaml:9", "facility"},
      {"recognition:\n  itmes: []\n", "hub.yaml:5", "unknown key"},
      {"recognition: [1]\n", "hub.yaml:4", "expected a map"},
      {"recognition:\n  file: /nonexistent/recognition.csv\n", "hub.yaml:5", "cannot read"},
  };
  for (const auto& b : cases) {
    auto c = Parse(b.yaml);
    ASSERT_FALSE(c.ok()) << b.yaml;
    EXPECT_EQ(c.status().code(), ErrorCode::kConfigError);
    EXPECT_EQ(c.status().where(), b.where) << b.yaml << c.status().ToString();
    EXPECT_NE(c.status().message().find(b.says), std::string::npos)
        << b.yaml << " -> " << c.status().message();
  }
}

TEST(RecognitionConfigTest, CsvFile) {
  const auto path = std::filesystem::temp_directory_path() / "hie-recognition-test.csv";
  {
    std::ofstream f(path);
    f << "# 互认目录\ncode,name,validity_days,unit,facility,eqa_year\n"
         "718-7,血红蛋白,7,g/L,XQRMYY,2026\n"
         "718-7,血红蛋白,7,g/L,WSY01,2025\n"
         "6690-2,\"白细胞计数, WBC\",3,10*9/L,,\n";
  }
  auto c = Parse("recognition:\n  file: " + path.string() +
                 "\n  items:\n    - {code: 2345-7, validity_days: 1, unit: mmol/L}\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->recognition.items.size(), 3u);
  EXPECT_EQ(c->recognition.items[1].code, "718-7");
  EXPECT_EQ(c->recognition.items[1].qualified.size(), 2u);
  EXPECT_EQ(c->recognition.items[1].where, path.string() + ":3");
  EXPECT_EQ(c->recognition.items[2].name, "白细胞计数, WBC");
  EXPECT_TRUE(c->recognition.items[2].qualified.empty());
  std::filesystem::remove(path);
}

TEST(RecognitionConfigTest, BadCsvRowsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* where;
    const char* says;
  };
  const Case cases[] = {
      {"code,name\n", "r.csv:1", "header"},
      {"code,name,validity_days,unit,facility,eqa_year\n718-7,血红蛋白,7,g/L\n", "r.csv:2",
       "6 columns"},
      {"code,name,validity_days,unit,facility,eqa_year\n718-7,血红蛋白,7,g/L,XQRMYY,2026\n"
       "718-7,血红蛋白,14,g/L,WSY01,2026\n",
       "r.csv:3", "differ"},
      {"code,name,validity_days,unit,facility,eqa_year\n718-8,x,7,g/L,XQRMYY,2026\n", "r.csv:2",
       "check digit"},
      {"code,name,validity_days,unit,facility,eqa_year\n718-7,x,7,g/L,XQRMYY,twenty\n", "r.csv:2",
       "year"},
      {"code,name,validity_days,unit,facility,eqa_year\n718-7,x,7,g/L,,2026\n", "r.csv:2",
       "without facility"},
      {"code,name,validity_days,unit,facility,eqa_year\n718-7,\"x,7,g/L,,\n", "r.csv:2",
       "unclosed quote"},
      {"", "r.csv:1", "empty"},
  };
  for (const auto& k : cases) {
    RecognitionConfig out;
    Status st = ParseRecognitionCsv(k.text, "r.csv", &out);
    ASSERT_FALSE(st.ok()) << k.text;
    EXPECT_EQ(st.where(), k.where) << k.text << st.ToString();
    EXPECT_NE(st.message().find(k.says), std::string::npos) << k.text << " -> " << st.message();
  }
}

}  // namespace
}  // namespace hie
