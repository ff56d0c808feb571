// WriteCda: golden files (tests/golden/cda/<kind>.<name>.bundle.json ->
// <kind>.<name>.cda.xml; HIE_UPDATE_GOLDEN=1 rewrites them), schema
// validation of every document written, and write -> read round trips.
#include "mappings/cda/cda_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "mappings/cda/cda_reader.h"
#include "mappings/cda/cda_test_util.h"

namespace hie::cda {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kGoldenDir = fs::path(HIE_SOURCE_DIR) / "tests/golden/cda";

struct GoldenCase {
  fs::path bundle_path;
  fs::path cda_path;
  CdaDocumentKind kind;
  json bundle;
};

std::vector<GoldenCase> LoadCases() {
  std::vector<GoldenCase> out;
  for (const auto& e : fs::directory_iterator(kGoldenDir)) {
    std::string name = e.path().filename().string();
    const std::string suffix = ".bundle.json";
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
    GoldenCase c;
    c.bundle_path = e.path();
    c.cda_path = kGoldenDir / (name.substr(0, name.size() - suffix.size()) + ".cda.xml");
    auto kind = ParseCdaDocumentKind(name.substr(0, name.find('.')));
    EXPECT_TRUE(kind.ok()) << name;
    if (!kind.ok()) continue;
    c.kind = *kind;
    c.bundle = json::parse(testing::ReadFileOrEmpty(e.path().string()), nullptr, false);
    EXPECT_FALSE(c.bundle.is_discarded()) << name;
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.bundle_path < b.bundle_path; });
  return out;
}

std::vector<json> OfType(const json& bundle, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : bundle["entry"]) {
    if (e["resource"]["resourceType"] == type) out.push_back(e["resource"]);
  }
  return out;
}

TEST(CdaWriter, GoldenFilesMatchAndValidate) {
  auto cases = LoadCases();
  ASSERT_GE(cases.size(), 3u);
  const bool update = getenv("HIE_UPDATE_GOLDEN") != nullptr;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bundle_path.filename().string());
    auto xml = WriteCda(c.bundle, c.kind, CdaWriteOptions{});
    ASSERT_TRUE(xml.ok()) << xml.status().ToString();
    if (update) testing::WriteFile(c.cda_path.string(), *xml);
    std::string expected = testing::ReadFileOrEmpty(c.cda_path.string());
    EXPECT_EQ(*xml, expected) << "golden differs; rerun with HIE_UPDATE_GOLDEN=1 to accept";
    Status valid = testing::ValidateAgainstCdaSchema(*xml);
    EXPECT_TRUE(valid.ok()) << valid.ToString();
    // Without the realm elements the document is schema-valid as written.
    CdaWriteOptions plain;
    plain.realm_elements = false;
    auto plain_xml = WriteCda(c.bundle, c.kind, plain);
    ASSERT_TRUE(plain_xml.ok());
    EXPECT_EQ(plain_xml->find("<township>"), std::string::npos);
    EXPECT_EQ(plain_xml->find("<age "), std::string::npos);
    EXPECT_TRUE(testing::ValidateAgainstCdaSchema(*plain_xml).ok());
  }
}

TEST(CdaWriter, RealmElementsAreWrittenAndStripped) {
  auto cases = LoadCases();
  ASSERT_FALSE(cases.empty());
  const GoldenCase& lab = cases[cases.size() > 1 ? 1 : 0];
  ASSERT_EQ(lab.kind, CdaDocumentKind::kLabReport);
  auto xml = WriteCda(lab.bundle, lab.kind, CdaWriteOptions{});
  ASSERT_TRUE(xml.ok());
  EXPECT_NE(xml->find("<township>青山镇</township>"), std::string::npos);
  EXPECT_NE(xml->find("<patientType>"), std::string::npos);
  EXPECT_NE(xml->find(R"(<age unit="岁" value="34"/>)"), std::string::npos);
  EXPECT_NE(xml->find(R"(<templateId root="2.16.156.10011.2.1.1.27"/>)"), std::string::npos);
  auto stripped = testing::StripRealmElements(*xml);
  ASSERT_TRUE(stripped.ok());
  EXPECT_EQ(stripped->find("township"), std::string::npos);
  EXPECT_EQ(stripped->find("patientType"), std::string::npos);
}

// Patient, observations (codes, values, ranges, flags) and diagnoses come
// back unchanged after write -> read.
TEST(CdaWriter, RoundTripKeepsPatientObservationsAndCodes) {
  for (const auto& c : LoadCases()) {
    SCOPED_TRACE(c.bundle_path.filename().string());
    auto xml = WriteCda(c.bundle, c.kind, CdaWriteOptions{});
    ASSERT_TRUE(xml.ok()) << xml.status().ToString();
    std::vector<CdaWarning> warnings;
    auto back = ReadCda(*xml, CdaOptions{}, &warnings);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    for (const auto& w : warnings) ADD_FAILURE() << "warning: " << w.where << " " << w.message;

    json in_p = OfType(c.bundle, "Patient")[0];
    json out_p = OfType(*back, "Patient")[0];
    for (const char* key :
         {"name", "gender", "birthDate", "telecom", "address", "extension", "maritalStatus"}) {
      EXPECT_EQ(in_p.value(key, json()), out_p.value(key, json())) << key;
    }
    ASSERT_EQ(in_p["identifier"].size(), out_p["identifier"].size());
    for (size_t i = 0; i < in_p["identifier"].size(); ++i) {
      for (const char* key : {"system", "value", "type"}) {
        EXPECT_EQ(in_p["identifier"][i].value(key, json()),
                  out_p["identifier"][i].value(key, json()))
            << key;
      }
    }
    auto in_obs = OfType(c.bundle, "Observation");
    auto out_obs = OfType(*back, "Observation");
    ASSERT_EQ(in_obs.size(), out_obs.size());
    for (size_t i = 0; i < in_obs.size(); ++i) {
      SCOPED_TRACE(in_obs[i]["id"].get<std::string>());
      for (const char* key :
           {"status", "code", "valueQuantity", "valueString", "valueCodeableConcept",
            "referenceRange", "interpretation", "effectiveDateTime"}) {
        EXPECT_EQ(in_obs[i].value(key, json()), out_obs[i].value(key, json())) << key;
      }
    }
    auto in_c = OfType(c.bundle, "Condition");
    auto out_c = OfType(*back, "Condition");
    ASSERT_EQ(in_c.size(), out_c.size());
    for (size_t i = 0; i < in_c.size(); ++i) EXPECT_EQ(in_c[i]["code"], out_c[i]["code"]);
    auto in_r = OfType(c.bundle, "DiagnosticReport");
    auto out_r = OfType(*back, "DiagnosticReport");
    ASSERT_EQ(in_r.size(), out_r.size());
    for (size_t i = 0; i < in_r.size(); ++i) {
      EXPECT_EQ(in_r[i]["result"].size(), out_r[i]["result"].size());
      EXPECT_EQ(in_r[i]["identifier"], out_r[i]["identifier"]);
      EXPECT_EQ(in_r[i]["code"], out_r[i]["code"]);
    }
  }
}

TEST(CdaWriter, RefusesBadInputWithJsonPointer) {
  auto r = WriteCda(json::array(), CdaDocumentKind::kLabReport, {});
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().where(), "/resourceType");
  json no_patient = {{"resourceType", "Bundle"}, {"type", "collection"}, {"entry", json::array()}};
  r = WriteCda(no_patient, CdaDocumentKind::kLabReport, {});
  EXPECT_EQ(r.status().code(), ErrorCode::kRequiredMissing);
  json no_time = {{"resourceType", "Bundle"},
                  {"entry", {{{"resource", {{"resourceType", "Patient"}, {"id", "p1"}}}}}}};
  r = WriteCda(no_time, CdaDocumentKind::kHealthRecordBasic, {});
  EXPECT_EQ(r.status().code(), ErrorCode::kRequiredMissing);
  CdaWriteOptions opt;
  opt.effective_time = "2024-01-01T00:00:00+08:00";
  r = WriteCda(no_time, CdaDocumentKind::kHealthRecordBasic, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(testing::ValidateAgainstCdaSchema(*r).ok());
  json bad_value = no_time;
  bad_value["entry"].push_back({{"resource",
                                 {{"resourceType", "Observation"},
                                  {"id", "o1"},
                                  {"code", {{"text", "x"}}},
                                  {"valueQuantity", {{"value", "7.8"}}}}}});
  r = WriteCda(bad_value, CdaDocumentKind::kLabReport, opt);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().where(), "/entry/1/resource/valueQuantity/value");
}

// The codec is reentrant: threads read and write at the same time.
TEST(CdaWriter, ConcurrentReadAndWrite) {
  auto cases = LoadCases();
  ASSERT_FALSE(cases.empty());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        for (const auto& c : cases) {
          auto xml = WriteCda(c.bundle, c.kind, CdaWriteOptions{});
          if (!xml.ok() || !ReadCda(*xml, CdaOptions{}).ok()) ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// Any value of the wrong type anywhere in a bundle gives a Status or a
// document, never an exception or a crash.
TEST(CdaWriter, WrongTypesNeverThrow) {
  for (const auto& c : LoadCases()) {
    // Every leaf and every enclosing object/array, as JSON pointers.
    std::set<std::string> pointers;
    const json flat = c.bundle.flatten();
    for (const auto& [leaf, value] : flat.items()) {
      for (size_t pos = leaf.find('/', 1); pos != std::string::npos;
           pos = leaf.find('/', pos + 1)) {
        pointers.insert(leaf.substr(0, pos));
      }
      pointers.insert(leaf);
    }
    int written = 0;
    for (const std::string& pointer : pointers) {
      for (const json& replacement : {json(42), json::array(), json::object(), json("x")}) {
        json bundle = c.bundle;
        bundle[json::json_pointer(pointer)] = replacement;
        EXPECT_NO_THROW({
          auto r = WriteCda(bundle, c.kind, CdaWriteOptions{});
          if (r.ok()) {
            ++written;
            EXPECT_TRUE(ReadCda(*r, CdaOptions{}).ok()) << pointer;
          }
        }) << pointer;
      }
    }
    EXPECT_GT(written, 0);
  }
}

TEST(CdaWriter, ParsesKinds) {
  EXPECT_EQ(*ParseCdaDocumentKind("lab-report"), CdaDocumentKind::kLabReport);
  EXPECT_EQ(*ParseCdaDocumentKind("outpatient-record"), CdaDocumentKind::kOutpatientRecord);
  EXPECT_EQ(*ParseCdaDocumentKind("health-record-basic"), CdaDocumentKind::kHealthRecordBasic);
  EXPECT_FALSE(ParseCdaDocumentKind("x").ok());
}

}  // namespace
}  // namespace hie::cda
