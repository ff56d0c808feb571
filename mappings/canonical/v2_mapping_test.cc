// Unit tests of HL7 v2 <-> canonical: each mapping, round trips, errors with
// their segment/field, hostile input, and the shared corpus.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "mappings/canonical/canonical_to_v2.h"
#include "mappings/canonical/v2_to_canonical.h"
#include "mappings/hl7v2/batch.h"
#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/msh.h"

namespace hie::canonical {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Msg(std::initializer_list<std::string> segs) {
  std::string out;
  for (const auto& s : segs) out += s + "\r";
  return out;
}

const std::string kMsh = "MSH|^~\\&|HIS|F1|HIE|HUB|20240305083015||";

std::string Adt(const std::string& trigger, const std::string& pid, const std::string& extra = "") {
  std::string m = kMsh + "ADT^" + trigger + "|C1|P|2.4\rEVN|" + trigger + "\r" + pid + "\r";
  if (!extra.empty()) m += extra + "\r";
  return m;
}

json Resource(const CanonicalMessage& m, const std::string& type, size_t nth = 0) {
  for (const auto& e : m.bundle["entry"]) {
    if (e["resource"]["resourceType"] == type && nth-- == 0) return e["resource"];
  }
  return nullptr;
}

// v2 -> canonical -> v2 -> canonical must give the same canonical JSON.
void ExpectRoundTrip(const CanonicalMessage& m) {
  auto v2 = CanonicalToV2(m);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  auto parsed = Er7Message::Parse(std::string_view(*v2));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto again = V2ToCanonical(*parsed, m.facility);
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << *v2;
  EXPECT_EQ(ToJson(*again).dump(1), ToJson(m).dump(1)) << *v2;
}

TEST(V2ToCanonical, AdtPatientDemographics) {
  auto m = V2ToCanonical(Adt("A04",
                             "PID|1||110101199003077777^^^^NI~MR001^^^F1^MR~X9^^^OTHERHOSP||李小龙^"
                             "^^^^^L||19900307|1|||"
                             "幸福路8号^^北京市^北京市^100000^^H^^110101||13800000000^PRN^CP~^NET^"
                             "Internet^li@example.cn|"
                             "010-1234^WPN^PH||20^已婚||||||||||||||||"),
                         "F1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->facility, "F1");
  EXPECT_EQ(m->control_id, "C1");
  auto from_msh = V2ToCanonical(Adt("A04", "PID|1||MR001^^^F1^MR"), "");
  ASSERT_TRUE(from_msh.ok());
  EXPECT_EQ(from_msh->facility, "F1");  // MSH-4.1 when the caller has none
  EXPECT_EQ(m->message_type, "ADT^A04");
  EXPECT_EQ(m->bundle["type"], "collection");
  EXPECT_EQ(m->bundle["timestamp"], "2024-03-05T08:30:15+08:00");
  json p = Resource(*m, "Patient");
  ASSERT_TRUE(p.is_object());
  EXPECT_EQ(p["id"], "p1");
  EXPECT_EQ(p["identifier"][0],
            (json{{"system", "urn:oid:2.16.156.10011.1.3"}, {"value", "110101199003077777"}}));
  EXPECT_EQ(p["identifier"][1]["system"], "local:F1");
  EXPECT_EQ(p["identifier"][1]["type"]["coding"][0]["code"], "MR");
  EXPECT_EQ(p["identifier"][2]["system"], "local:OTHERHOSP");
  EXPECT_EQ(p["name"][0], (json{{"text", "李小龙"}, {"family", "李"}, {"given", {"小龙"}}}));
  EXPECT_EQ(p["gender"], "male");
  EXPECT_EQ(p["extension"][0]["url"], "urn:hie:sex");
  EXPECT_EQ(p["extension"][0]["valueCodeableConcept"]["coding"][0],
            (json{{"system", "GB/T 2261.1"}, {"code", "1"}}));
  EXPECT_EQ(p["birthDate"], "1990-03-07");
  EXPECT_EQ(p["address"][0]["text"], "北京市北京市幸福路8号");
  EXPECT_EQ(p["address"][0]["district"], "110101");
  EXPECT_EQ(p["address"][0]["postalCode"], "100000");
  EXPECT_EQ(p["telecom"][0],
            (json{{"system", "phone"}, {"value", "13800000000"}, {"use", "mobile"}}));
  EXPECT_EQ(p["telecom"][1], (json{{"system", "email"}, {"value", "li@example.cn"}}));
  EXPECT_EQ(p["telecom"][2]["use"], "work");
  EXPECT_EQ(p["maritalStatus"]["coding"][0]["system"], "GB/T 2261.2");
  ExpectRoundTrip(*m);
}

TEST(V2ToCanonical, NamesAndSexVariants) {
  struct Case {
    std::string xpn, text, family, given0;
  } cases[] = {{"诸葛亮", "诸葛亮", "诸葛", "亮"},
               {"欧阳娜娜", "欧阳娜娜", "欧阳", "娜娜"},
               {"张^三", "张三", "张", "三"},
               {"SMITH^JOHN", "JOHN SMITH", "SMITH", "JOHN"},
               {"阿依古丽·买买提", "阿依古丽·买买提", "阿依古丽·买买提", ""}};
  for (const auto& c : cases) {
    auto m = V2ToCanonical(Adt("A28", "PID|1||1^^^F1^MR||" + c.xpn + "||19900307|F"), "F1");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    json n = Resource(*m, "Patient")["name"][0];
    EXPECT_EQ(n["text"], c.text) << c.xpn;
    EXPECT_EQ(n["family"], c.family) << c.xpn;
    if (!c.given0.empty()) {
      EXPECT_EQ(n["given"][0], c.given0) << c.xpn;
    }
    ExpectRoundTrip(*m);
  }
  for (auto [sex, gender, system] : {std::tuple{"F", "female", "HL7 0001"},
                                     {"U", "unknown", "HL7 0001"},
                                     {"O", "other", "HL7 0001"},
                                     {"2", "female", "GB/T 2261.1"},
                                     {"9", "unknown", "GB/T 2261.1"},
                                     {"男", "male", "local:F1"}}) {
    auto m =
        V2ToCanonical(Adt("A31", std::string("PID|1||1^^^F1^MR||张三||19900307|") + sex), "F1");
    ASSERT_TRUE(m.ok());
    json p = Resource(*m, "Patient");
    EXPECT_EQ(p["gender"], gender) << sex;
    EXPECT_EQ(p["extension"][0]["valueCodeableConcept"]["coding"][0]["system"], system) << sex;
    ExpectRoundTrip(*m);
  }
}

TEST(V2ToCanonical, MergeKeepsPriorIdentityForEmpi) {
  auto m = V2ToCanonical(Adt("A40", "PID|1||NEW1^^^F1^MR||张三||19900307|M",
                             "MRG|OLD1^^^F1^MR~OLD2^^^F1^MR||||||张叁"),
                         "F1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json survivor = Resource(*m, "Patient", 0), prior = Resource(*m, "Patient", 1);
  EXPECT_EQ(survivor["link"][0],
            (json{{"other", {{"reference", "Patient/p2"}}}, {"type", "replaces"}}));
  EXPECT_EQ(prior["active"], false);
  EXPECT_EQ(prior["link"][0],
            (json{{"other", {{"reference", "Patient/p1"}}}, {"type", "replaced-by"}}));
  EXPECT_EQ(prior["identifier"].size(), 2u);
  EXPECT_EQ(prior["identifier"][1]["value"], "OLD2");
  EXPECT_EQ(prior["name"][0]["text"], "张叁");
  ExpectRoundTrip(*m);

  auto no_mrg = V2ToCanonical(Adt("A40", "PID|1||NEW1^^^F1^MR"), "F1");
  ASSERT_FALSE(no_mrg.ok());
  EXPECT_EQ(no_mrg.status().where(), "MRG");
}

TEST(V2ToCanonical, OruValueTypes) {
  const std::string msg =
      Msg({kMsh + "ORU^R01|L1|P|2.4", "PID|1||1^^^F1^MR||张三", "OBR|1||F9|GLU^血糖^L|||20240305",
           "OBX|1|NM|GLU^血糖^L||6.10|mmol/L^mmol/L^UCUM|3.9-6.1|H|||F",
           "OBX|2|NM|K^钾^L||<3.0|mmol/L|3.5-5.5|L|||F", "OBX|3|NM|X^未检^L||未测||||||X",
           "OBX|4|SN|T^滴度^L||>=^160|||||F", "OBX|5|SN|U^尿蛋白^L||^1^+|||||F",
           "OBX|6|ST|C^颜色^L||黄\\S\\浑浊|||↑||F", "NTE|1||第一条", "NTE|2||第二条",
           "OBX|7|TS|T2^时间^L||202403051230|||||F"});
  auto m = V2ToCanonical(msg, "F1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json r = Resource(*m, "DiagnosticReport");
  EXPECT_EQ(r["result"].size(), 7u);
  EXPECT_EQ(r["status"], "unknown");
  json o1 = Resource(*m, "Observation", 0);
  EXPECT_EQ(o1["valueQuantity"]["value"], 6.1);
  EXPECT_EQ(GetDecimal(o1["valueQuantity"], "value"), "6.10");
  EXPECT_EQ(o1["valueQuantity"]["system"], "http://unitsofmeasure.org");
  EXPECT_EQ(o1["referenceRange"][0]["low"]["value"], 3.9);
  EXPECT_EQ(o1["referenceRange"][0]["high"]["value"], 6.1);
  EXPECT_EQ(o1["interpretation"][0]["coding"][0], (json{{"system", "HL7 0078"}, {"code", "H"}}));
  EXPECT_EQ(o1["effectiveDateTime"], "2024-03-05");  // from OBR-7
  json o2 = Resource(*m, "Observation", 1);
  EXPECT_EQ(o2["valueQuantity"]["comparator"], "<");
  json o3 = Resource(*m, "Observation", 2);
  EXPECT_EQ(o3["valueString"], "未测");  // NM that is not a number is kept as text
  EXPECT_EQ(o3["status"], "cancelled");
  json o4 = Resource(*m, "Observation", 3);
  EXPECT_EQ(o4["valueQuantity"]["comparator"], ">=");
  EXPECT_EQ(o4["valueQuantity"]["value"], 160);
  EXPECT_EQ(Resource(*m, "Observation", 4)["valueString"], "1+");
  json o6 = Resource(*m, "Observation", 5);
  EXPECT_EQ(o6["valueString"], "黄^浑浊");
  EXPECT_EQ(o6["interpretation"][0]["coding"][0]["system"], "local:F1");
  EXPECT_EQ(o6["note"].size(), 2u);
  EXPECT_EQ(Resource(*m, "Observation", 6)["valueDateTime"], "2024-03-05T12:30:00+08:00");
  ExpectRoundTrip(*m);
}

TEST(V2ToCanonical, ErrorsNameSegmentAndField) {
  struct Case {
    std::string msg, where;
    ErrorCode code;
  } cases[] = {
      {Adt("A01", "PID|1||1^^^F1^MR||张三||1990-13-45"), "PID-7", ErrorCode::kParseError},
      {Msg({kMsh + "ORU^R01|L1|P|2.4", "PID|1||1", "OBR|1||F|G^g^L", "OBX|1|NM|A^a^L||1",
            "OBX|2|NM|B^b^L||2||||||F|||2024x"}),
       "OBX[2]-14", ErrorCode::kParseError},
      {Msg({kMsh + "ORU^R01|L1|P|2.4", "PID|1||1", "OBR|1||F|G^g^L", "OBX|1|NM|||1"}), "OBX-3",
       ErrorCode::kRequiredMissing},
      {Msg({kMsh + "ORU^R01|L1|P|2.4", "PID|1||1", "OBR|1||F"}), "OBR-4",
       ErrorCode::kRequiredMissing},
      {Msg({kMsh + "ORM^O01|L1|P|2.4", "PID|1||1"}), "MSH-9", ErrorCode::kUnsupportedType},
      {Msg({kMsh + "ADT^A01||P|2.4", "PID|1||1"}), "MSH-10", ErrorCode::kRequiredMissing},
      {Msg({kMsh + "ADT^A01|C|P|2.4", "EVN|A01"}), "PID", ErrorCode::kRequiredMissing},
      {Msg({kMsh + "DFT^P03|C|P|2.4", "PID|1||1", "FT1|1|||||CG|X^x^L||||abc&CNY"}), "FT1-11",
       ErrorCode::kParseError},
      {Msg({"MSH|^~\\&|HIS|F1|HIE|HUB|20240305||ADT^A01|C|P|2.4|||||CHN|EBCDIC", "PID|1||1"}),
       "MSH-18", ErrorCode::kUnsupportedCharset},
  };
  for (const auto& c : cases) {
    auto m = V2ToCanonical(c.msg, "F1");
    ASSERT_FALSE(m.ok()) << c.where;
    EXPECT_EQ(m.status().where(), c.where) << m.status().ToString();
    EXPECT_EQ(m.status().code(), c.code) << m.status().ToString();
    EXPECT_NE(m.status().message().find('('), std::string::npos) << "English term expected";
  }
}

TEST(V2ToCanonical, LenientModeDropsBadValuesWithWarnings) {
  const std::string msg = Msg({kMsh + "DFT^P03|D1|P|2.4", "PID|1||1^^^F1^MR||张三||99999999|M",
                               "FT1|1|T1||20240305||CG|A^床位费^L|||x|abc&CNY|1.0",
                               "OBX|1|DT|D^日期^L||2024-99-99|||||F"});
  auto strict = V2ToCanonical(msg, "F1");
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().where(), "PID-7");
  std::vector<Status> warnings;
  V2ReadOptions opt;
  opt.lenient = true;
  opt.warnings = &warnings;
  auto m = V2ToCanonical(msg, "F1", opt);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_EQ(warnings[0].where(), "PID-7");
  EXPECT_EQ(warnings[1].where(), "FT1-11");
  EXPECT_EQ(warnings[2].where(), "FT1-10");
  EXPECT_EQ(warnings[3].where(), "OBX-5");
  EXPECT_FALSE(Resource(*m, "Patient").contains("birthDate"));
  EXPECT_EQ(Resource(*m, "Observation")["valueString"], "2024-99-99");
  json eob = Resource(*m, "ExplanationOfBenefit");
  EXPECT_FALSE(eob["item"][0].contains("net"));
  EXPECT_EQ(GetDecimal(eob["item"][0]["unitPrice"], "value"), "1.0");
  // Structure errors stay errors.
  auto missing =
      V2ToCanonical(Msg({kMsh + "ORU^R01|L1|P|2.4", "PID|1||1", "OBX|1|NM|||1"}), "F1", opt);
  EXPECT_FALSE(missing.ok());
}

TEST(V2ToCanonical, CharsetsAndFacilityDefault) {
  const std::string utf8 = Adt("A04", "PID|1||1^^^F1^MR||王秀英||19650812|2");
  // Labelled GB18030.
  std::string labelled = utf8;
  labelled.replace(labelled.find("2.4"), 3, "2.4|||||CHN|GB 18030-2000");
  auto gb = EncodeFromUtf8(labelled, "GB18030");
  ASSERT_TRUE(gb.ok());
  auto m = V2ToCanonical(*gb, "F1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(Resource(*m, "Patient")["name"][0]["text"], "王秀英");
  // GBK bytes with no MSH-18: refused as UTF-8, read with the facility's default.
  auto gbk = EncodeFromUtf8(utf8, "GB18030");
  EXPECT_FALSE(V2ToCanonical(*gbk, "F1").ok());
  V2ReadOptions opt;
  opt.default_charset = "GBK";
  auto m2 = V2ToCanonical(*gbk, "F1", opt);
  ASSERT_TRUE(m2.ok()) << m2.status().ToString();
  EXPECT_EQ(Resource(*m2, "Patient")["name"][0]["text"], "王秀英");
}

TEST(CanonicalToV2, EscapesDelimitersAndWritesGb18030) {
  auto m =
      V2ToCanonical(Adt("A08", "PID|1||A\\F\\1^^^F1^MR||张\\T\\三||19900307|M|||路\\R\\1号"), "F1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json p = Resource(*m, "Patient");
  EXPECT_EQ(p["identifier"][0]["value"], "A|1");
  EXPECT_EQ(p["address"][0]["line"][0], "路~1号");
  auto v2 = CanonicalToV2(*m);
  ASSERT_TRUE(v2.ok());
  EXPECT_NE(v2->find("A\\F\\1^^^F1^MR"), std::string::npos) << *v2;
  EXPECT_NE(v2->find("路\\R\\1号"), std::string::npos) << *v2;
  auto parsed = Er7Message::Parse(std::string_view(*v2));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("MSH-9"), "ADT^A08^ADT_A01");
  EXPECT_EQ(parsed->Get("MSH-18"), "UNICODE UTF-8");
  EXPECT_EQ(parsed->Decoded("PID-3.1"), "A|1");

  V2WriteOptions opt;
  opt.charset = "GBK";
  auto gb = CanonicalToV2(*m, opt);
  ASSERT_TRUE(gb.ok()) << gb.status().ToString();
  EXPECT_NE(gb->find("GB 18030-2000"), std::string::npos);
  auto back = V2ToCanonical(*gb, "F1");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back).dump(), ToJson(*m).dump());

  CanonicalMessage unsupported = *m;
  unsupported.message_type = "ORM^O01";
  auto bad = CanonicalToV2(unsupported);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "MSH-9");
  CanonicalMessage bad_time = *m;
  bad_time.bundle["entry"][0]["resource"]["birthDate"] = "yesterday";
  auto bt = CanonicalToV2(bad_time);
  ASSERT_FALSE(bt.ok());
  EXPECT_EQ(bt.status().where(), "/entry/0/resource/birthDate");
}

TEST(V2ToCanonical, DftChargesAndSettlement) {
  const std::string msg = Msg({kMsh + "DFT^P03|D1|P|2.4", "EVN|P03", "PID|1||1^^^F1^MR||张三",
                               "FT1|1|T1||20240305||CG|A^床位费^L|||2|0.10&CNY|0.05&CNY",
                               "FT1|2|T2||20240305||CG|B^检查费^L|||1|0.20",
                               "FT1|3|S1||20240305||PY|01^统筹^L||||0.25&CNY",
                               "FT1|4|S2||20240305||AJ|02^减免^L||||0.05&CNY"});
  auto m = V2ToCanonical(msg, "F1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json eob = Resource(*m, "ExplanationOfBenefit");
  ASSERT_TRUE(eob.is_object());
  EXPECT_EQ(eob["id"], "eob1");
  EXPECT_EQ(eob["patient"]["reference"], "Patient/p1");
  EXPECT_EQ(eob["item"].size(), 2u);
  EXPECT_EQ(GetDecimal(eob["item"][1]["net"], "value"), "0.20");
  EXPECT_EQ(eob["item"][1]["net"]["currency"], "CNY");
  EXPECT_EQ(eob["total"][0]["amount"]["value"], 0.3);  // computed in cents, no 0.30000000000000004
  EXPECT_EQ(eob["total"].size(), 3u);
  EXPECT_EQ(eob["payment"]["amount"]["value"], 0.25);  // PY rows only
  ExpectRoundTrip(*m);
}

TEST(V2ToCanonical, HostileInputRefusedQuickly) {
  const auto start = std::chrono::steady_clock::now();
  // Truncated in MSH, in PID, in an escape.
  EXPECT_FALSE(V2ToCanonical("MSH|^~\\&|HIS", "F1").ok());
  EXPECT_FALSE(V2ToCanonical("MSH|^", "F1").ok());
  EXPECT_FALSE(V2ToCanonical("", "F1").ok());
  auto trunc = V2ToCanonical(kMsh + "ADT^A01|C|P|2.4\rPID|1||1^^^F1^MR||张\\X", "F1");
  EXPECT_TRUE(trunc.ok());  // an unterminated escape is kept as text, not a crash
  // Over the size limit: refused before decoding.
  std::string huge = Adt("A01", "PID|1||1^^^F1^MR||" + std::string(20u << 20, 'A'));
  auto big = V2ToCanonical(huge, "F1");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), ErrorCode::kTooLarge);
  // A large field under the limit is handled in linear time.
  std::string large = Msg({kMsh + "ORU^R01|L1|P|2.4", "PID|1||1", "OBR|1||F|G^g^L",
                           "OBX|1|TX|A^a^L||" + std::string(8u << 20, 'x') + "|||||F"});
  auto ok = V2ToCanonical(large, "F1");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  // \X..\ producing bytes that are not UTF-8 are replaced, never break JSON.
  auto hex = V2ToCanonical(Adt("A01", "PID|1||1^^^F1^MR||\\XFF\\A"), "F1");
  ASSERT_TRUE(hex.ok());
  EXPECT_NO_THROW((void)ToJson(*hex).dump());
  // Many segments.
  std::string many = kMsh + "ORU^R01|L1|P|2.4\rPID|1||1\rOBR|1||F|G^g^L\r";
  for (int i = 0; i < 20000; ++i) many += "OBX|" + std::to_string(i) + "|NM|A^a^L||1.5|||||F\r";
  auto mm = V2ToCanonical(many, "F1");
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(mm->bundle["entry"].size(), 20002u);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_LT(ms, 5000) << "hostile input took " << ms << " ms";
}

// Regression (found by v2_fuzz on the corpus's 839-OBX bigmessage.hl7):
// CanonicalToV2 looked each report result up by scanning every entry, n²
// string compares. Now an index: every result still written once, in the
// report's order, also when results are listed out of entry order.
TEST(CanonicalToV2, QuadraticResultLookupRegression) {
  std::string many = kMsh + "ORU^R01|L1|P|2.4\rPID|1||1^^^F1^MR\rOBR|1||F|G^g^L\r";
  for (int i = 1; i <= 3000; ++i)
    many += "OBX|" + std::to_string(i) + "|NM|A" + std::to_string(i) + "^a^L||1.5|||||F\r";
  auto m = V2ToCanonical(many, "F1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json* report = nullptr;
  for (auto& e : m->bundle["entry"]) {
    if (e["resource"]["resourceType"] == "DiagnosticReport") report = &e["resource"];
  }
  ASSERT_NE(report, nullptr);
  ASSERT_EQ((*report)["result"].size(), 3000u);
  std::swap((*report)["result"][0], (*report)["result"][2999]);
  auto v2 = CanonicalToV2(*m);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  auto back = Er7Message::Parse(*v2);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->CountSegments("OBX"), 3000u);
  EXPECT_EQ(back->Get("OBX-3.1"), "A3000");
  EXPECT_EQ(back->Get("OBX[2]-3.1"), "A2");
  EXPECT_EQ(back->Get("OBX[3000]-3.1"), "A1");
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every corpus message of a mapped type goes through v2 -> canonical: no
// crash, and either a sensible bundle (a Patient; results for ORU) that
// round-trips through v2, or an error naming where.
TEST(V2ToCanonicalCorpus, MappedTypesGiveSensibleResults) {
  const fs::path root = fs::path(HIE_CORPUS_DIR) / "hl7v2";
  if (!fs::exists(root)) GTEST_SKIP() << "corpus not found at " << root;
  size_t mapped = 0, ok = 0, round_trips = 0;
  std::map<std::string, size_t> errors;  // where -> count
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string text = ReadFile(e.path());
    auto split = SplitEr7(text, /*normalize_to_cr=*/true);
    if (!split.ok()) continue;
    for (const std::string& msg : split->normalized) {
      auto msh = ReadMsh(msg);
      if (!msh.ok()) continue;
      const std::string type = msh->message_code + "^" + msh->trigger_event;
      if (!IsMappedV2Type(type)) continue;
      ++mapped;
      V2ReadOptions opt;
      opt.default_charset = "ISO-8859-1";  // US samples with Latin-1 bytes and no MSH-18
      auto m =
          V2ToCanonical(msg, msh->sending_facility.empty() ? "CORPUS" : msh->sending_facility, opt);
      if (!m.ok()) {
        EXPECT_FALSE(m.status().where().empty()) << e.path() << ": " << m.status().ToString();
        if (errors[m.status().where() + " " + std::string(ApiCode(m.status().code()))]++ == 0)
          std::cout << "[corpus] first " << m.status().ToString() << " in " << e.path().filename()
                    << "\n";
        continue;
      }
      ++ok;
      EXPECT_TRUE(Resource(*m, "Patient").is_object()) << e.path();
      if (type == "ORU^R01" && msg.find("\rOBX|") != std::string::npos) {
        EXPECT_TRUE(Resource(*m, "Observation").is_object() ||
                    Resource(*m, "DiagnosticReport").is_object())
            << e.path();
      }
      auto v2 = CanonicalToV2(*m);
      ASSERT_TRUE(v2.ok()) << e.path() << ": " << v2.status().ToString();
      auto again = V2ToCanonical(*v2, m->facility);
      ASSERT_TRUE(again.ok()) << e.path() << ": " << again.status().ToString();
      if (ToJson(*again) == ToJson(*m)) {
        ++round_trips;
      } else {
        ADD_FAILURE() << e.path()
                      << " does not round-trip: " << json::diff(ToJson(*m), ToJson(*again)).dump();
      }
    }
  }
  std::cout << "[corpus] mapped=" << mapped << " ok=" << ok << " round_trips=" << round_trips
            << "\n";
  for (const auto& [where, n] : errors)
    std::cout << "[corpus] error " << where << " x" << n << "\n";
  EXPECT_GT(mapped, 100u);
  EXPECT_GT(ok, mapped * 8 / 10);
}

// The golden messages mutated at random (truncated, delimiters inserted,
// bytes dropped, segments repeated): every outcome is a Status or a
// canonical message that can be written back; nothing throws or crashes.
TEST(V2ToCanonical, RandomMutationsNeverCrash) {
  std::vector<std::string> seeds;
  for (const auto& e : fs::directory_iterator(fs::path(HIE_SOURCE_DIR) / "tests/golden/v2")) {
    if (e.path().extension() == ".hl7") seeds.push_back(ReadFile(e.path()));
  }
  ASSERT_FALSE(seeds.empty());
  std::mt19937 rng(20240305);
  const std::string specials = "|^~\\&\r\n\xff\x00X";
  size_t ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string m = seeds[rng() % seeds.size()];
    for (int k = 0, n = 1 + rng() % 4; k < n && !m.empty(); ++k) {
      const size_t pos = rng() % m.size();
      switch (rng() % 4) {
        case 0:
          m.resize(pos);
          break;
        case 1:
          m.insert(pos, 1, specials[rng() % specials.size()]);
          break;
        case 2:
          m.erase(pos, 1);
          break;
        default: {
          const size_t b = m.rfind('\r', pos), e = m.find('\r', pos);
          if (b != std::string::npos && e != std::string::npos) m.insert(e, m.substr(b, e - b));
        }
      }
    }
    EXPECT_NO_THROW({
      auto c = V2ToCanonical(m, "F1");
      if (c.ok()) {
        ++ok;
        (void)ToJson(*c).dump();
        (void)CanonicalToV2(*c);
      } else {
        EXPECT_FALSE(c.status().message().empty());
      }
    });
  }
  EXPECT_GT(ok, 300u);
}

}  // namespace
}  // namespace hie::canonical
