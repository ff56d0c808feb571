// Renderer: each destination format from each source format, CDA documents
// checked against the CDA R2 schema (realm elements set aside), messages
// with no CDA form refused with the reason, and one terminology snapshot per
// render while reloads run concurrently.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/env.h"
#include "core/metrics.h"
#include "engine/transform.h"
#include "mappings/cda/cda_test_util.h"
#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/er7.h"

namespace hie {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSource = HIE_SOURCE_DIR;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr const char* kMapHeader =
    "source_system,source_code,source_display,target_system,target_code,target_display\n";

MessageRecord Record(std::string raw, std::string content_type, std::string facility,
                     std::string charset, std::string type, std::string control = "C1") {
  MessageRecord m;
  m.id = 7;
  m.raw = std::move(raw);
  m.content_type = std::move(content_type);
  m.facility_id = std::move(facility);
  m.charset = std::move(charset);
  m.message_type = std::move(type);
  m.control_id = std::move(control);
  m.received_at_ms = 1709600000000;
  return m;
}

MessageRecord Golden(const std::string& name, const std::string& facility,
                     const std::string& charset, const std::string& type) {
  return Record(ReadFile(kSource / "tests/golden/v2" / (name + ".hl7")), "application/hl7-v2",
                facility, charset, type);
}

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hie-render-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& e : fs::directory_iterator(kSource / "terminology/data")) {
      if (e.path().extension() == ".csv") fs::copy_file(e.path(), dir_ / e.path().filename());
    }
    std::ofstream(dir_ / "local-XQRMYY.csv") << kMapHeader
                                             << "local:XQRMYY,HGB,血红蛋白,LOINC,718-7,\n";
    svc_ = std::make_unique<TerminologyService>(
        dir_.string(), std::vector<std::string>{"XQRMYY", "CWS001"}, env_, &metrics_);
    ASSERT_TRUE(svc_->Load().ok());
    renderer_ = std::make_unique<Renderer>(svc_.get());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  FakeEnv env_;
  MetricsRegistry metrics_;
  std::unique_ptr<TerminologyService> svc_;
  std::unique_ptr<Renderer> renderer_;
};

TEST_F(RenderTest, Hl7v2FromV2IsUtf8PassthroughEvenFromGb18030) {
  MessageRecord m = Golden("adt_a04_gb18030", "CWS001", "GB 18030-2000", "ADT^A04");
  auto out = renderer_->Render(m, DestinationFormat::kHl7v2);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->file_extension, ".hl7");
  auto expected = DecodeToUtf8(m.raw, "GB18030");
  ASSERT_TRUE(expected.ok());
  std::string want = *expected;
  want.replace(want.find("GB 18030-2000"), std::string("GB 18030-2000").size(), "UNICODE UTF-8");
  EXPECT_EQ(out->body, want);
  EXPECT_NE(out->body.find("王秀英"), std::string::npos);
}

TEST_F(RenderTest, JsonIsFhirBundleWithBothCodings) {
  MessageRecord m = Golden("oru_r01", "XQRMYY", "UNICODE UTF-8", "ORU^R01");
  auto out = renderer_->Render(m, DestinationFormat::kJson);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->content_type, "application/fhir+json; charset=utf-8");
  json b = json::parse(out->body);
  EXPECT_EQ(b["resourceType"], "Bundle");
  EXPECT_EQ(b["type"], "collection");
  bool hgb = false;
  for (const auto& e : b["entry"]) {
    const json& r = e["resource"];
    if (r["resourceType"] != "Observation" || r["code"]["coding"][0]["code"] != "HGB") continue;
    hgb = true;
    ASSERT_EQ(r["code"]["coding"].size(), 2u);
    EXPECT_EQ(r["code"]["coding"][0]["system"], "urn:hie:local:XQRMYY");
    EXPECT_EQ(r["code"]["coding"][1]["system"], "http://loinc.org");
    EXPECT_EQ(r["code"]["coding"][1]["code"], "718-7");
  }
  EXPECT_TRUE(hgb);
  // An untranslated local item carries the marker.
  EXPECT_NE(out->body.find(std::string(kUnmappedExtension)), std::string::npos);
}

TEST_F(RenderTest, CdaLabReportValidatesAndCarriesTheLoincTranslation) {
  MessageRecord m = Golden("oru_r01", "XQRMYY", "UNICODE UTF-8", "ORU^R01");
  auto out = renderer_->Render(m, DestinationFormat::kCda);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->file_extension, ".xml");
  EXPECT_NE(out->body.find("2.16.156.10011.2.1.1.27"), std::string::npos);  // C0007 template
  EXPECT_NE(out->body.find("code=\"718-7\""), std::string::npos);
  Status valid = cda::testing::ValidateAgainstCdaSchema(out->body);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
}

TEST_F(RenderTest, CdaOutpatientAndHealthRecordValidate) {
  MessageRecord a04 = Golden("adt_a04_gb18030", "CWS001", "GB 18030-2000", "ADT^A04");
  auto out = renderer_->Render(a04, DestinationFormat::kCda);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(out->body.find("2.16.156.10011.2.1.1.22"), std::string::npos);  // C0002
  EXPECT_NE(out->body.find("王秀英"), std::string::npos);
  Status valid = cda::testing::ValidateAgainstCdaSchema(out->body);
  EXPECT_TRUE(valid.ok()) << valid.ToString();

  // A person registration without a visit: WS/T 483 basic health record.
  std::string raw = ReadFile(kSource / "tests/golden/v2/adt_a08_escapes.hl7");
  MessageRecord a08 = Record(raw, "application/hl7-v2", "XQRMYY", "UNICODE UTF-8", "ADT^A08");
  auto doc = renderer_->Render(a08, DestinationFormat::kCda);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_NE(doc->body.find("B0001"), std::string::npos);
  valid = cda::testing::ValidateAgainstCdaSchema(doc->body);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
}

TEST_F(RenderTest, NoCdaFormIsRefusedWithTheReason) {
  MessageRecord dft = Golden("dft_p03", "XQRMYY", "UNICODE UTF-8", "DFT^P03");
  auto out = renderer_->Render(dft, DestinationFormat::kCda);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kUnsupportedType);
  EXPECT_NE(out.status().message().find("DFT^P03"), std::string::npos);
  EXPECT_NE(out.status().message().find("没有对应的 CDA 文档"), std::string::npos);
  EXPECT_NE(out.status().message().find("no CDA form"), std::string::npos);
  // The same message renders fine as v2 and FHIR.
  EXPECT_TRUE(renderer_->Render(dft, DestinationFormat::kHl7v2).ok());
  EXPECT_TRUE(renderer_->Render(dft, DestinationFormat::kJson).ok());
  MessageRecord a40 = Golden("adt_a40", "XQRMYY", "UNICODE UTF-8", "ADT^A40");
  EXPECT_EQ(renderer_->Render(a40, DestinationFormat::kCda).status().code(),
            ErrorCode::kUnsupportedType);

  EXPECT_TRUE(CertainlyNoCdaForm("DFT^P03"));
  EXPECT_TRUE(CertainlyNoCdaForm("DFT^*"));
  EXPECT_TRUE(CertainlyNoCdaForm("ADT^A40"));
  EXPECT_FALSE(CertainlyNoCdaForm("ADT^*"));
  EXPECT_FALSE(CertainlyNoCdaForm("*"));
  EXPECT_FALSE(CertainlyNoCdaForm("ORU^R01"));
}

TEST_F(RenderTest, FhirAndCdaInputToEachFormat) {
  // FHIR in: v2 out (canonical -> v2, the LOINC translation as alternate code).
  MessageRecord fhir =
      Record(ReadFile(kSource / "tests/golden/v2/oru_r01.fhir.json"), "application/fhir+json",
             "XQRMYY", "UTF-8", "ORU^R01");
  auto v2 = renderer_->Render(fhir, DestinationFormat::kHl7v2);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  auto parsed = Er7Message::Parse(std::string_view(v2->body));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_NE(v2->body.find("HGB^血红蛋白^L^718-7"), std::string::npos) << v2->body;
  EXPECT_NE(v2->body.find("|C1|"), std::string::npos);  // the control id
  auto cda_out = renderer_->Render(fhir, DestinationFormat::kCda);
  ASSERT_TRUE(cda_out.ok()) << cda_out.status().ToString();
  EXPECT_TRUE(cda::testing::ValidateAgainstCdaSchema(cda_out->body).ok());

  // CDA in: forwarded as it came to cda; FHIR and v2 from its canonical form.
  const std::string doc = ReadFile(kSource / "tests/golden/cda/lab-report.glucose.cda.xml");
  MessageRecord cda = Record(doc, "application/xml", "XQRMYY", "UTF-8", "ORU^R01");
  auto same = renderer_->Render(cda, DestinationFormat::kCda);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->body, doc);
  auto j = renderer_->Render(cda, DestinationFormat::kJson);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(json::parse(j->body)["resourceType"], "Bundle");
  auto v2b = renderer_->Render(cda, DestinationFormat::kHl7v2);
  ASSERT_TRUE(v2b.ok()) << v2b.status().ToString();
  EXPECT_EQ(v2b->body.rfind("MSH|", 0), 0u);
}

// Two versions of one map: every local code C0..C9 goes to a code whose
// display names the version. A render that mixed them would show both.
std::string VersionedMap(char version) {
  std::string t = kMapHeader;
  for (int i = 0; i < 10; ++i) {
    t += "local:XQRMYY,C" + std::to_string(i) + ",项目,LOINC,9" + std::to_string(i) + "-" +
         version + ",版本" + version + "\n";
  }
  return t;
}

TEST_F(RenderTest, OneSnapshotPerRenderUnderConcurrentReload) {
  std::string raw =
      "MSH|^~\\&|LIS|XQRMYY|HIE|COUNTY|20260101120000||ORU^R01^ORU_R01|C1|P|2.4|||||CHN|UNICODE "
      "UTF-8\rPID|1||MR1^^^XQRMYY^MR||张三||19800101|M\rOBR|1|O1||P^面板^L|||20260101100000\r";
  for (int i = 0; i < 10; ++i) {
    raw += "OBX|" + std::to_string(i + 1) + "|NM|C" + std::to_string(i) + "^项目^L||5|g/L\r";
  }
  const MessageRecord m = Record(raw, "application/hl7-v2", "XQRMYY", "UNICODE UTF-8", "ORU^R01");
  std::ofstream(dir_ / "local-XQRMYY.csv") << VersionedMap('A');
  ASSERT_TRUE(svc_->Reload().ok());

  std::atomic<bool> done{false};
  std::thread reloader([&] {
    for (int i = 0; i < 30; ++i) {
      std::ofstream(dir_ / "local-XQRMYY.csv", std::ios::trunc) << VersionedMap(i % 2 ? 'A' : 'B');
      (void)svc_->Reload();
    }
    done = true;
  });
  int mixed = 0, renders = 0;
  std::set<std::string> seen_versions;
  // Render for as long as the reloads go on (at least 200 renders, bounded).
  for (; (renders < 200 || !done.load()) && renders < 200000; ++renders) {
    auto out = renderer_->Render(m, DestinationFormat::kJson);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    std::set<std::string> versions;
    const json doc = json::parse(out->body);
    for (const auto& e : doc["entry"]) {
      const json& r = e["resource"];
      if (r["resourceType"] != "Observation") continue;
      for (const auto& c : r["code"]["coding"]) {
        if (c["system"] == "http://loinc.org") versions.insert(c["display"].get<std::string>());
      }
    }
    if (versions.size() != 1) {
      if (++mixed == 1) ADD_FAILURE() << "mixed or missing translations: " << out->body;
    }
    seen_versions.insert(versions.begin(), versions.end());
  }
  reloader.join();
  EXPECT_EQ(mixed, 0);
  EXPECT_GE(svc_->terminology().generation(), 31u);
  // Not asserted: that both versions were seen (depends on scheduling).
  EXPECT_FALSE(seen_versions.empty());
}

}  // namespace
}  // namespace hie
