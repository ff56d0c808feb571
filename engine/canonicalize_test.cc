// Canonicalize (stored messages of each format and charset -> canonical) and
// ApplyTerminology (translations added beside the originals, padding,
// aliases by OID and short name, unmapped marking and counting), the audit
// queue under concurrent traffic, and TerminologyService::CheckCommitted.
#include "engine/canonicalize.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/env.h"
#include "core/metrics.h"
#include "mappings/hl7v2/charset.h"

namespace hie {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const fs::path kSource = HIE_SOURCE_DIR;

MessageRecord Record(std::string raw, std::string content_type, std::string facility,
                     std::string charset = "UNICODE UTF-8", std::string type = "") {
  MessageRecord m;
  m.id = 42;
  m.raw = std::move(raw);
  m.content_type = std::move(content_type);
  m.facility_id = std::move(facility);
  m.charset = std::move(charset);
  m.message_type = std::move(type);
  m.control_id = "C1";
  return m;
}

// A snapshot of the shipped tables plus `extra` CSV files.
std::shared_ptr<const TerminologySnapshot> Snapshot(
    const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  TerminologyBuilder b;
  EXPECT_TRUE(b.AddDir(kSource / "terminology/data").ok());
  for (const auto& [name, text] : extra) EXPECT_TRUE(b.AddCsv(text, name).ok()) << name;
  auto s = b.Build();
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : TerminologySnapshot::Empty();
}

constexpr const char* kMapHeader =
    "source_system,source_code,source_display,target_system,target_code,target_display\n";

std::string Oru(const std::string& facility, const std::string& obx3, const std::string& sex,
                const std::string& unit = "mmol/L", const std::string& flag = "H") {
  return "MSH|^~\\&|LIS|" + facility +
         "|HIE|COUNTY|20260101120000||ORU^R01^ORU_R01|C1|P|2.4|||||CHN|UNICODE UTF-8\r"
         "PID|1||MR1^^^" + facility + "^MR||张三||19800101|" + sex + "\r"
         "OBR|1|O1||GLUP^血糖组^L|||20260101100000\r"
         "OBX|1|NM|" + obx3 + "||5.6|" + unit + "|3.9-6.1|" + flag + "|||F\r";
}

const json& Res(const canonical::CanonicalMessage& m, std::string_view type, int nth = 0) {
  static const json kNull;
  for (const auto& e : m.bundle["entry"]) {
    if (e["resource"]["resourceType"] == type && nth-- == 0) return e["resource"];
  }
  return kNull;
}

const json* Ext(const json& r, std::string_view url) {
  const json* v = canonical::FindExtension(r, url);
  static const json kMissing = json::object();
  if (v == nullptr && url != kUnmappedExtension) {
    ADD_FAILURE() << "no extension " << url << " in " << r.dump();
    return &kMissing;
  }
  return v;
}

TEST(CanonicalizeTest, DispatchesOnContentType) {
  EXPECT_EQ(SourceFormatOf("application/hl7-v2"), SourceFormat::kHl7v2);
  EXPECT_EQ(SourceFormatOf(""), SourceFormat::kHl7v2);
  EXPECT_EQ(SourceFormatOf("application/xml; charset=utf-8"), SourceFormat::kCda);
  EXPECT_EQ(SourceFormatOf("text/xml"), SourceFormat::kCda);
  EXPECT_EQ(SourceFormatOf("application/fhir+json"), SourceFormat::kFhir);
  EXPECT_EQ(SourceFormatOf("Application/JSON"), SourceFormat::kFhir);
}

TEST(CanonicalizeTest, ReadsHl7v2InGb18030) {
  const std::string raw = ReadFile(kSource / "tests/golden/v2/adt_a04_gb18030.hl7");
  ASSERT_FALSE(IsAscii(raw));
  auto m = Canonicalize(Record(raw, "application/hl7-v2", "CWS001", "GB 18030-2000", "ADT^A04"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->facility, "CWS001");
  EXPECT_EQ(m->control_id, "C1");
  EXPECT_EQ(m->message_type, "ADT^A04");
  EXPECT_EQ(Res(*m, "Patient")["name"][0]["text"], "王秀英");
  // Stored charset used when MSH-18 is empty: re-label the same bytes.
  std::string unlabeled = raw;
  const size_t pos = unlabeled.find("GB 18030-2000");
  ASSERT_NE(pos, std::string::npos);
  unlabeled.erase(pos, std::string("GB 18030-2000").size());
  auto m2 = Canonicalize(Record(unlabeled, "application/hl7-v2", "CWS001", "GB18030", "ADT^A04"));
  ASSERT_TRUE(m2.ok()) << m2.status().ToString();
  EXPECT_EQ(Res(*m2, "Patient")["name"][0]["text"], "王秀英");
}

TEST(CanonicalizeTest, ReadsCdaAndFhir) {
  const std::string cda = ReadFile(kSource / "tests/golden/cda/lab-report.glucose.cda.xml");
  auto c = Canonicalize(Record(cda, "application/xml", "XQRMYY", "UTF-8"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->message_type, "ORU^R01");  // a lab report (CONTRACT §2)
  EXPECT_FALSE(Res(*c, "Observation").is_null());
  EXPECT_FALSE(Res(*c, "Patient").is_null());

  const std::string fhir = ReadFile(kSource / "tests/golden/v2/oru_r01.fhir.json");
  auto f = Canonicalize(Record(fhir, "application/fhir+json", "XQRMYY", "UTF-8", "ORU^R01"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->facility, "XQRMYY");
  EXPECT_EQ(Res(*f, "Observation")["code"]["coding"][0]["code"], "WBC");

  auto bad = Canonicalize(Record("{\"resourceType\":", "application/fhir+json", "XQRMYY"));
  EXPECT_FALSE(bad.ok());
}

TEST(ApplyTerminologyTest, AddsBesideOriginalAndMarksUnmapped) {
  auto snap = Snapshot({{"local-F1.csv", std::string(kMapHeader) +
                                             "local:F1,GLU,葡萄糖,LOINC,2345-7,葡萄糖\n"}});
  auto m = Canonicalize(Record(Oru("F1", "GLU^葡萄糖^L", "M"), "application/hl7-v2", "F1"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<UnmappedFind> finds;
  TerminologyOutcome out = ApplyTerminology(*m, *snap, &finds);

  const json& obs = Res(*m, "Observation");
  ASSERT_EQ(obs["code"]["coding"].size(), 2u);
  EXPECT_EQ(obs["code"]["coding"][0]["system"], "local:F1");  // original first, untouched
  EXPECT_EQ(obs["code"]["coding"][0]["code"], "GLU");
  EXPECT_EQ(obs["code"]["coding"][1]["system"], "LOINC");
  EXPECT_EQ(obs["code"]["coding"][1]["code"], "2345-7");
  EXPECT_EQ(obs["code"]["coding"][1]["display"], "葡萄糖");
  EXPECT_EQ(Ext(obs["code"], kUnmappedExtension), nullptr);
  // Sex HL7 0001 M -> GB/T 2261.1 1; the unit and flag are standard already.
  const json& sex = *Ext(Res(*m, "Patient"), canonical::kSexExtension);
  ASSERT_EQ(sex["coding"].size(), 2u);
  EXPECT_EQ(sex["coding"][1]["system"], "GB/T 2261.1");
  EXPECT_EQ(sex["coding"][1]["code"], "1");
  EXPECT_EQ(sex["coding"][1]["display"], "男性");
  const json& unit = *Ext(obs, canonical::kUnitExtension);
  EXPECT_EQ(unit["coding"].back()["system"], "UCUM");
  EXPECT_EQ(unit["coding"].back()["code"], "mmol/L");

  // The panel code GLUP has no map: marked and counted.
  const json& panel = Res(*m, "DiagnosticReport")["code"];
  ASSERT_NE(Ext(panel, kUnmappedExtension), nullptr);
  EXPECT_EQ(Ext(panel, kUnmappedExtension)->get<std::string>(), "LOINC");
  EXPECT_EQ(panel["coding"].size(), 1u);
  ASSERT_EQ(finds.size(), 1u);
  EXPECT_EQ(finds[0].system, "local:F1");
  EXPECT_EQ(finds[0].code, "GLUP");
  EXPECT_EQ(finds[0].display, "血糖组");
  EXPECT_EQ(finds[0].target_system, "LOINC");
  EXPECT_EQ(out.unmapped, 1);
  EXPECT_GE(out.translated, 2);  // GLU and sex

  // Idempotent: nothing is added twice.
  const json before = m->bundle;
  finds.clear();
  ApplyTerminology(*m, *snap, &finds);
  EXPECT_EQ(m->bundle, before);
  EXPECT_EQ(finds.size(), 1u);  // still unmapped, still reported
}

TEST(ApplyTerminologyTest, PaddingIsNormalizedPerValueSet) {
  auto snap = Snapshot();
  // GB 3304 width 2: "3" -> "03"; CV07.10.005 width 2: "7" -> "07";
  // GB/T 2261.2 width 2 on a code that is already padded: no addition.
  const std::string raw =
      "MSH|^~\\&|HIS|F1|HIE|COUNTY|20240305120000||ADT^A04^ADT_A01|A1|P|2.4|||||CHN|UNICODE UTF-8\r"
      "PID|1||MR1^^^F1^MR||王五||19650812|2||||||||10||||||3^回族\r"
      "PV1|1|O|全科门诊||||||||||||||||V1|7\r";
  auto m = Canonicalize(Record(raw, "application/hl7-v2", "F1", "UNICODE UTF-8", "ADT^A04"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<UnmappedFind> finds;
  TerminologyOutcome out = ApplyTerminology(*m, *snap, &finds);
  const json& p = Res(*m, "Patient");
  const json& eth = *Ext(p, canonical::kEthnicityExtension);
  ASSERT_EQ(eth["coding"].size(), 2u) << eth.dump();
  EXPECT_EQ(eth["coding"][0]["code"], "3");
  EXPECT_EQ(eth["coding"][1]["code"], "03");
  EXPECT_EQ(eth["coding"][1]["display"], "回族");
  const json& pay =
      *Ext(Res(*m, "Encounter"), canonical::kPaymentMethodExtension);
  ASSERT_EQ(pay["coding"].size(), 2u) << pay.dump();
  EXPECT_EQ(pay["coding"][1]["code"], "07");
  EXPECT_EQ(pay["coding"][1]["display"], "全自费");
  EXPECT_EQ(p["maritalStatus"]["coding"].size(), 1u);  // "10" is the standard form
  // Sex "2" is GB/T 2261.1 already; patient class O -> CV09.00.404 1.
  const json& cls =
      *Ext(Res(*m, "Encounter"), canonical::kPatientClassExtension);
  EXPECT_EQ(cls["coding"].back()["system"], "CV09.00.404");
  EXPECT_EQ(cls["coding"].back()["code"], "1");
  EXPECT_TRUE(finds.empty()) << finds[0].system << " " << finds[0].code;
  EXPECT_EQ(out.normalized, 2);
  EXPECT_EQ(out.unmapped, 0);
}

TEST(ApplyTerminologyTest, SystemsByOidAliasOrShortNameMeet) {
  // The map names its systems by OID and alias; the message by short name
  // and by urn:oid.
  auto snap = Snapshot({{"local-F2.csv", std::string(kMapHeader) +
                                             "local:F2,XT,血糖,2.16.840.1.113883.6.1,2345-7,\n"
                                             "local:F2,男,男,生理性别代码表,1,男性\n"}});
  canonical::CanonicalMessage m{"F2", "C1", "ORU^R01", canonical::NewBundle()};
  canonical::AddEntry(m.bundle,
                      json{{"resourceType", "Patient"},
                           {"id", "p1"},
                           {"extension", json::array({json{
                                             {"url", canonical::kSexExtension},
                                             {"valueCodeableConcept",
                                              canonical::MakeConcept("local:F2", "男", "")}}})},
                           {"maritalStatus",
                            canonical::MakeConcept("urn:oid:2.16.156.10011.2.3.3.5", "20", "")},
                           {"identifier", json::array()}});
  json& ids = m.bundle["entry"][0]["resource"]["identifier"];
  json passport = json::object(), record = json::object();
  passport["type"] = canonical::MakeConcept(canonical::kIdentifierTypeSystem, "PPN", "");
  passport["value"] = "E1234567";
  record["type"] = canonical::MakeConcept(canonical::kIdentifierTypeSystem, "MR", "");
  record["system"] = "local:F2";
  record["value"] = "MR9";
  ids.push_back(passport);
  ids.push_back(record);
  canonical::AddEntry(m.bundle, json{{"resourceType", "Observation"},
                                     {"id", "o1"},
                                     {"code", canonical::MakeConcept("local:F2", "XT", "血糖")}});
  std::vector<UnmappedFind> finds;
  ApplyTerminology(m, *snap, &finds);
  EXPECT_TRUE(finds.empty());
  const json& obs = Res(m, "Observation");
  EXPECT_EQ(obs["code"]["coding"][1]["system"], "LOINC");  // the short name, whatever the map said
  EXPECT_EQ(obs["code"]["coding"][1]["code"], "2345-7");
  EXPECT_FALSE(obs["code"]["coding"][1]["display"].get<std::string>().empty());  // from LOINC table
  const json& p = Res(m, "Patient");
  EXPECT_EQ((*Ext(p, canonical::kSexExtension))["coding"][1]["code"], "1");
  // urn:oid of GB/T 2261.2: already standard, nothing added.
  EXPECT_EQ(p["maritalStatus"]["coding"].size(), 1u);
  // Identifier types: a passport gets its WS 364 document type (HL7 0203 by
  // its FHIR URI alias); a record number has none and is not counted.
  ASSERT_TRUE(p["identifier"].is_array() && p["identifier"][0].is_object()) << p.dump();
  EXPECT_EQ(p["identifier"][0]["type"]["coding"][1]["system"], "CV02.01.101");
  EXPECT_EQ(p["identifier"][0]["type"]["coding"][1]["code"], "03");
  EXPECT_EQ(p["identifier"][1]["type"]["coding"].size(), 1u);
  EXPECT_EQ(canonical::FindExtension(p["identifier"][1]["type"], kUnmappedExtension), nullptr);
}

TEST(ApplyTerminologyTest, ALaterMapTranslatesAMarkedElementAndClearsTheMark) {
  // Stored with the maps of the day: the local code XT is unmapped.
  auto m = Canonicalize(Record(Oru("F1", "XT^血糖^L", "M", "10E9/L"), "application/hl7-v2", "F1"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ApplyTerminology(*m, *Snapshot());
  ASSERT_NE(Ext(Res(*m, "Observation")["code"], kUnmappedExtension), nullptr);
  ASSERT_NE(Ext(*Ext(Res(*m, "Observation"), canonical::kUnitExtension), kUnmappedExtension),
            nullptr);
  // County IT adds the rows; applying again (retranslation) adds the
  // standard codes beside the originals and drops the marks.
  auto later = Snapshot({{"local-F1.csv", std::string(kMapHeader) +
                                              "local:F1,XT,血糖,LOINC,2345-7,葡萄糖\n"
                                              "local:F1,10E9/L,,UCUM,10*9/L,\n"}});
  std::vector<UnmappedFind> finds;
  TerminologyOutcome out = ApplyTerminology(*m, *later, &finds);
  EXPECT_EQ(out.translated, 2);
  const json& obs = Res(*m, "Observation");
  ASSERT_EQ(obs["code"]["coding"].size(), 2u);
  EXPECT_EQ(obs["code"]["coding"][0]["code"], "XT");
  EXPECT_EQ(obs["code"]["coding"][1]["code"], "2345-7");
  EXPECT_FALSE(obs["code"].contains("extension")) << obs["code"].dump();
  const json& unit = *Ext(obs, canonical::kUnitExtension);
  EXPECT_EQ(unit["coding"].back()["code"], "10*9/L");
  EXPECT_EQ(Ext(unit, kUnmappedExtension), nullptr);
  for (const auto& f : finds) EXPECT_NE(f.code, "XT");
  // And once more: nothing changes.
  const json before = m->bundle;
  ApplyTerminology(*m, *later);
  EXPECT_EQ(m->bundle, before);
}

TEST(ApplyTerminologyTest, UnknownStandardCodeAndUnknownUnitAreUnmapped) {
  auto snap = Snapshot();
  auto m = Canonicalize(
      Record(Oru("F1", "6690-2^白细胞^LN", "X", "10E9/L", "偏高"), "application/hl7-v2", "F1"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<UnmappedFind> finds;
  ApplyTerminology(*m, *snap, &finds);
  std::set<std::string> got;
  for (const auto& f : finds) got.insert(f.system + "|" + f.code + "|" + f.target_system);
  // Sex "X" (not in HL7 0001), unit "10E9/L" (not UCUM), flag 偏高 (local), panel GLUP.
  EXPECT_EQ(got.count("HL7 0001|X|GB/T 2261.1"), 1u) << finds.size();
  EXPECT_EQ(got.count("local:F1|10E9/L|UCUM"), 1u);  // a bare unit: the sender's spelling
  EXPECT_EQ(got.count("local:F1|偏高|HL7 0078"), 1u);
  EXPECT_EQ(got.count("local:F1|GLUP|LOINC"), 1u);
  EXPECT_EQ(finds.size(), 4u);  // the LOINC-coded item is standard
  // Each marked element keeps its original as it came.
  const json& unit = *Ext(Res(*m, "Observation"), canonical::kUnitExtension);
  EXPECT_EQ(unit["coding"][0]["code"], "10E9/L");
  EXPECT_NE(Ext(unit, kUnmappedExtension), nullptr);
}

TEST(ApplyTerminologyTest, EmptySnapshotSkipsEveryRole) {
  auto m = Canonicalize(Record(Oru("F1", "GLU^葡萄糖^L", "M"), "application/hl7-v2", "F1"));
  ASSERT_TRUE(m.ok());
  const json before = m->bundle;
  std::vector<UnmappedFind> finds;
  ApplyTerminology(*m, *TerminologySnapshot::Empty(), &finds);
  EXPECT_EQ(m->bundle, before);
  EXPECT_TRUE(finds.empty());
}

// ---- the service: CheckCommitted and the audit queue ----

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hie-audit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& e : fs::directory_iterator(kSource / "terminology/data")) {
      if (e.path().extension() == ".csv") fs::copy_file(e.path(), dir_ / e.path().filename());
    }
    std::ofstream(dir_ / "local-F1.csv") << kMapHeader << "local:F1,GLU,葡萄糖,LOINC,2345-7,\n"
                                         << "local:F1,GLUP,血糖组,LOINC,2345-7,\n";
    svc_ = std::make_unique<TerminologyService>(dir_.string(), std::vector<std::string>{"F1", "F2"},
                                                env_, &metrics_);
    ASSERT_TRUE(svc_->Load().ok());
  }
  void TearDown() override {
    svc_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  FakeEnv env_;
  MetricsRegistry metrics_;
  std::unique_ptr<TerminologyService> svc_;
};

TEST_F(AuditTest, CheckCommittedRecordsFacilityAndSampleMessage) {
  MessageRecord m = Record(Oru("F1", "NOPE^未知项目^L", "M"), "application/hl7-v2", "F1");
  m.id = 77;
  EXPECT_EQ(svc_->CheckCommitted(m), 1u);
  auto entries = svc_->unmapped().Snapshot();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].system, "local:F1");
  EXPECT_EQ(entries[0].code, "NOPE");
  EXPECT_EQ(entries[0].display, "未知项目");
  EXPECT_EQ(entries[0].facility, "F1");
  EXPECT_EQ(entries[0].sample_message_id, "77");
  EXPECT_EQ(entries[0].target_system, "LOINC");
}

TEST_F(AuditTest, ExportedBlankFilledInTranslatesTheBareUnit) {
  // County IT's loop: a unit spelled "10E9/L" is unmapped, exported as a
  // blank concept-map row, filled in, loaded: the same message now translates.
  MessageRecord m = Record(Oru("F1", "GLU^葡萄糖^L", "M", "10E9/L"), "application/hl7-v2", "F1");
  ASSERT_EQ(svc_->CheckCommitted(m), 1u);
  std::string csv = svc_->unmapped().ToConceptMapCsv();
  const std::string blank = "local:F1,10E9/L,,UCUM,,";
  const size_t at = csv.find(blank);
  ASSERT_NE(at, std::string::npos) << csv;
  csv.replace(at, blank.size(), "local:F1,10E9/L,,UCUM,10*9/L,");
  std::ofstream(dir_ / "filled.csv") << csv;
  ASSERT_TRUE(svc_->Reload().ok());
  EXPECT_TRUE(svc_->unmapped().Snapshot().empty());  // pruned: it translates now
  auto c = Canonicalize(m);
  ASSERT_TRUE(c.ok());
  std::vector<UnmappedFind> finds;
  ApplyTerminology(*c, *svc_->Current(), &finds);
  EXPECT_TRUE(finds.empty());
  const json& unit = *Ext(Res(*c, "Observation"), canonical::kUnitExtension);
  EXPECT_EQ(unit["coding"].back()["code"], "10*9/L");
}

TEST_F(AuditTest, UnmappedV2TypeFallsBackToTheEr7Check) {
  // ORM^O01 has no canonical mapping: PID-8 is still checked.
  MessageRecord m = Record(
      "MSH|^~\\&|HIS|F1|HIE|C|20260101||ORM^O01|O1|P|2.4\rPID|1||MR1^^^F1^MR||张三||19800101|Q\r",
      "application/hl7-v2", "F1", "UNICODE UTF-8", "ORM^O01");
  EXPECT_EQ(svc_->CheckCommitted(m), 1u);
  EXPECT_EQ(svc_->unmapped().Snapshot().at(0).code, "Q");
}

TEST_F(AuditTest, ConcurrentTrafficIsCountedExactly) {
  svc_->StartAudit(nullptr);
  constexpr int kThreads = 4, kPerThread = 150;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string facility = (t % 2 == 0) ? "F1" : "F2";
        auto raw = std::make_shared<const std::string>(
            Oru(facility, "U" + std::to_string(i % 3) + "^未知^L", "M"));
        svc_->Audit({t * 1000 + i + 1, facility, "application/hl7-v2", "UNICODE UTF-8",
                     "ORU^R01", "C", raw});
      }
    });
  }
  for (auto& th : threads) th.join();
  svc_->WaitAuditIdle();
  uint64_t total = 0;
  std::set<std::string> facilities;
  for (const auto& e : svc_->unmapped().Snapshot()) {
    if (e.code[0] == 'U') total += e.count;
    facilities.insert(e.facility);
  }
  // Every item codes one unknown lab item; F2 also lacks a map for its panel.
  EXPECT_EQ(total, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(facilities, (std::set<std::string>{"F1", "F2"}));
  svc_->StopAudit();
  // After StopAudit nothing more is queued or checked.
  svc_->Audit({9999, "F1", "application/hl7-v2", "UNICODE UTF-8", "ORU^R01", "C",
               std::make_shared<const std::string>(Oru("F1", "LATE^x^L", "M"))});
  for (const auto& e : svc_->unmapped().Snapshot()) EXPECT_NE(e.code, "LATE");
}

}  // namespace
}  // namespace hie
