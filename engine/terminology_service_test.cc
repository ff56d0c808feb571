// TerminologyService: load at start, reload (good and rejected), and the
// per-message check/record of unmapped codes, on a temp copy of the shipped
// data plus a local map.
#include "engine/terminology_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "core/env.h"
#include "core/metrics.h"
#include "mappings/hl7v2/er7.h"
#include "store/open.h"
#include "store/unmapped_store.h"

namespace hie {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLocalMap =
    "source_system,source_code,source_display,target_system,target_code,target_display\n"
    "local:TEST,GLU,葡萄糖,LOINC,2345-7,葡萄糖\n"
    "local:TEST,男,男,GB/T 2261.1,1,男性\n";

class TerminologyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hie-term-svc-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& e : fs::directory_iterator(fs::path(HIE_SOURCE_DIR) / "terminology/data")) {
      if (e.path().extension() == ".csv") fs::copy_file(e.path(), dir_ / e.path().filename());
    }
    Write("local-TEST.csv", kLocalMap);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::unique_ptr<TerminologyService> Make(const std::string& dir) {
    return std::make_unique<TerminologyService>(dir, std::vector<std::string>{"TEST", "OTHER"}, env_,
                                                &metrics_);
  }
  static std::string Oru(const std::string& obx3, const std::string& sex) {
    return "MSH|^~\\&|LIS|TEST|HIE|COUNTY|20260101120000||ORU^R01^ORU_R01|C1|P|2.5\r"
           "PID|1||MR1^^^TEST^MR||张三||19800101|" + sex + "\r"
           "OBR|1|O1||P^面板^L\r"
           "OBX|1|NM|" + obx3 + "||5.6|mmol/L\r";
  }
  std::vector<UnmappedFind> Check(TerminologyService& svc, const std::string& text,
                                  const std::string& type = "ORU^R01^ORU_R01") {
    auto msg = Er7Message::Parse(std::string_view(text));
    EXPECT_TRUE(msg.ok()) << msg.status().ToString();
    std::vector<UnmappedFind> out;
    svc.CheckMessage(*msg, type, "TEST", &out);
    return out;
  }

  fs::path dir_;
  FakeEnv env_;
  MetricsRegistry metrics_;
};

TEST_F(TerminologyServiceTest, LoadsDirAndCounts) {
  auto svc = Make(dir_.string());
  auto rep = svc->Load();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_GT(rep->systems, 10u);
  EXPECT_GT(rep->concepts, 100u);
  EXPECT_GT(rep->mappings, 5u);
  auto r = svc->Current()->Translate("2.16.840.1.113883.12.1", "F", "2.16.156.10011.2.3.3.4");
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.code, "2");
}

TEST_F(TerminologyServiceTest, BadFileRefusesLoadWithFileAndLine) {
  Write("broken.csv",
        "source_system,source_code,source_display,target_system,target_code,target_display\n"
        "local:TEST,X,x,NO SUCH SYSTEM,1,y\n");
  auto svc = Make(dir_.string());
  auto rep = svc->Load();
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(rep.status().code(), ErrorCode::kConfigError);
  EXPECT_NE(rep.status().where().find("broken.csv:2"), std::string::npos) << rep.status().where();
}

TEST_F(TerminologyServiceTest, MissingDirRefusesLoad) {
  auto svc = Make((dir_ / "nope").string());
  EXPECT_FALSE(svc->Load().ok());
}

TEST_F(TerminologyServiceTest, ChecksObxAndSex) {
  auto svc = Make(dir_.string());
  ASSERT_TRUE(svc->Load().ok());
  // Mapped local code, HL7 sex: nothing to record.
  EXPECT_TRUE(Check(*svc, Oru("GLU^葡萄糖^L", "M")).empty());
  // Already GB/T 2261.1, already LOINC, local sex map.
  EXPECT_TRUE(Check(*svc, Oru("2345-7^Glucose^LN", "1")).empty());
  EXPECT_TRUE(Check(*svc, Oru("GLU^葡萄糖^L", "男")).empty());
  // Unmapped OBX-3 (display unescaped) and an unknown sex value.
  auto finds = Check(*svc, Oru("XYZ^尿\\T\\酸^L", "Q"));
  ASSERT_EQ(finds.size(), 2u);
  EXPECT_EQ(finds[0].system, "local:TEST");
  EXPECT_EQ(finds[0].code, "XYZ");
  EXPECT_EQ(finds[0].display, "尿&酸");
  EXPECT_EQ(finds[0].target_system, "LOINC");
  EXPECT_EQ(finds[1].system, "HL7 0001");
  EXPECT_EQ(finds[1].code, "Q");
  EXPECT_EQ(finds[1].target_system, "GB/T 2261.1");
  // OBX is checked only in ORU^R01; PID-8 in any message.
  auto adt = Check(*svc, Oru("XYZ^x^L", "Q"), "ADT^A04");
  ASSERT_EQ(adt.size(), 1u);
  EXPECT_EQ(adt[0].code, "Q");
  // Empty sex and empty OBX-3 are not codes.
  EXPECT_TRUE(Check(*svc, Oru("", "")).empty());
}

TEST_F(TerminologyServiceTest, RecordsWithMessageIdAndCounts) {
  auto svc = Make(dir_.string());
  ASSERT_TRUE(svc->Load().ok());
  auto finds = Check(*svc, Oru("XYZ^尿酸^L", "M"));
  ASSERT_EQ(finds.size(), 1u);
  svc->RecordUnmapped(finds, "TEST", 41);
  env_.Advance(1000);
  svc->RecordUnmapped(finds, "TEST", 42);
  auto entries = svc->unmapped().Snapshot();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].count, 2u);
  EXPECT_EQ(entries[0].facility, "TEST");
  EXPECT_EQ(entries[0].display, "尿酸");
  EXPECT_EQ(entries[0].sample_message_id, "41");
  EXPECT_EQ(entries[0].last_seen_ms - entries[0].first_seen_ms, 1000);
  EXPECT_NE(metrics_.RenderPrometheus().find("hie_terminology_unmapped_total 2"), std::string::npos);
}

TEST_F(TerminologyServiceTest, RejectedReloadKeepsOldMapsAndGoodReloadPrunes) {
  auto svc = Make(dir_.string());
  ASSERT_TRUE(svc->Load().ok());
  const uint64_t gen = svc->terminology().generation();
  svc->RecordUnmapped(Check(*svc, Oru("XYZ^尿酸^L", "M")), "TEST", 7);
  ASSERT_EQ(svc->unmapped().size(), 1u);

  Write("local-TEST.csv", std::string(kLocalMap) + "local:TEST,\"broken,quote\n");
  auto bad = svc->Reload();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kConfigError);
  EXPECT_NE(bad.status().where().find("local-TEST.csv:"), std::string::npos) << bad.status().where();
  EXPECT_EQ(svc->terminology().generation(), gen);
  EXPECT_TRUE(Check(*svc, Oru("GLU^葡萄糖^L", "M")).empty()) << "old map must still work";

  Write("local-TEST.csv", std::string(kLocalMap) + "local:TEST,XYZ,尿酸,LOINC,3084-1,尿酸\n");
  auto good = svc->Reload();
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_GT(svc->terminology().generation(), gen);
  EXPECT_TRUE(Check(*svc, Oru("XYZ^尿酸^L", "M")).empty()) << "new row must be used";
  EXPECT_EQ(svc->unmapped().size(), 0u) << "register forgets codes that now translate";
}

// The register survives a restart: flushed to the store, loaded by the next
// service on the same database; a code a reload made translatable leaves
// the table too.
TEST_F(TerminologyServiceTest, RegisterPersistsAcrossRestartAndPrunedCodesLeaveTheTable) {
  const std::string uri = "sqlite:" + (dir_ / "hub.db").string();
  StoreOptions so;
  so.durable_full = false;
  auto store = OpenStore(uri, so);  // migrations: 0006 creates the table
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto open_unmapped = [&] {
    auto u = OpenUnmappedStore(uri, false);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return std::move(u).value();
  };
  {
    auto svc = Make(dir_.string());
    ASSERT_TRUE(svc->Load().ok());
    // A long interval: only the explicit flushes and StopPersist write.
    ASSERT_TRUE(svc->StartPersist(open_unmapped(), false, std::chrono::hours(1)).ok());
    svc->RecordUnmapped(Check(*svc, Oru("XYZ^尿酸^L", "M")), "TEST", 41);
    svc->RecordUnmapped(Check(*svc, Oru("ABC^肌酐^L", "M")), "TEST", 42);
    ASSERT_TRUE(svc->FlushUnmapped().ok());
    env_.Advance(1000);
    svc->RecordUnmapped(Check(*svc, Oru("XYZ^尿酸^L", "M")), "TEST", 43);
    svc->StopPersist();  // the last flush
  }
  {
    auto svc = Make(dir_.string());
    ASSERT_TRUE(svc->Load().ok());
    ASSERT_TRUE(svc->StartPersist(open_unmapped(), false, std::chrono::hours(1)).ok());
    auto entries = svc->unmapped().Snapshot();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].code, "XYZ");
    EXPECT_EQ(entries[0].count, 2u);
    EXPECT_EQ(entries[0].display, "尿酸");
    EXPECT_EQ(entries[0].sample_message_id, "41");
    EXPECT_EQ(entries[0].last_seen_ms - entries[0].first_seen_ms, 1000);
    EXPECT_EQ(entries[1].code, "ABC");
    // County IT maps XYZ and reloads: pruned in memory, deleted at the flush.
    Write("local-TEST.csv", std::string(kLocalMap) + "local:TEST,XYZ,尿酸,LOINC,3084-1,尿酸\n");
    ASSERT_TRUE(svc->Reload().ok());
    ASSERT_EQ(svc->unmapped().size(), 1u);
    svc->StopPersist();
  }
  {
    auto svc = Make(dir_.string());
    ASSERT_TRUE(svc->Load().ok());
    ASSERT_TRUE(svc->StartPersist(open_unmapped(), false, std::chrono::hours(1)).ok());
    auto entries = svc->unmapped().Snapshot();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].code, "ABC");
    EXPECT_EQ(entries[0].count, 1u);
    svc->StopPersist();
  }
  // A map added while the hub was down: the stored row goes at the next start.
  Write("local-TEST.csv", std::string(kLocalMap) + "local:TEST,XYZ,尿酸,LOINC,3084-1,尿酸\n"
                                                   "local:TEST,ABC,肌酐,LOINC,2160-0,肌酐\n");
  {
    auto svc = Make(dir_.string());
    ASSERT_TRUE(svc->Load().ok());
    ASSERT_TRUE(svc->StartPersist(open_unmapped(), false, std::chrono::hours(1)).ok());
    EXPECT_EQ(svc->unmapped().size(), 0u);
    svc->StopPersist();
  }
  auto check = open_unmapped();
  int rows = 0;
  ASSERT_TRUE(check->Load([&](const UnmappedRow&) { ++rows; }).ok());
  EXPECT_EQ(rows, 0);
  check->Close();
  (*store)->Close();
}

TEST_F(TerminologyServiceTest, FlusherWritesWithoutBeingAsked) {
  const std::string uri = "sqlite:" + (dir_ / "hub.db").string();
  StoreOptions so;
  so.durable_full = false;
  auto store = OpenStore(uri, so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto svc = Make(dir_.string());
  ASSERT_TRUE(svc->Load().ok());
  auto u = OpenUnmappedStore(uri, false);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  ASSERT_TRUE(svc->StartPersist(std::move(u).value(), false, std::chrono::milliseconds(20)).ok());
  svc->RecordUnmapped(Check(*svc, Oru("XYZ^尿酸^L", "M")), "TEST", 41);
  auto reader = OpenUnmappedStore(uri, false);
  ASSERT_TRUE(reader.ok());
  int64_t count = 0;
  for (int i = 0; i < 200 && count == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE((*reader)->Load([&](const UnmappedRow& r) { count += r.count; }).ok());
  }
  EXPECT_EQ(count, 1);
  svc->StopPersist();
  (*reader)->Close();
  (*store)->Close();
}

TEST_F(TerminologyServiceTest, TwoNodesOnOneTableSeeEachOthersCountsAfterARefresh) {
  const std::string uri = "sqlite:" + (dir_ / "hub.db").string();
  StoreOptions so;
  so.durable_full = false;
  auto store = OpenStore(uri, so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto node = [&] {
    auto svc = Make(dir_.string());
    EXPECT_TRUE(svc->Load().ok());
    auto u = OpenUnmappedStore(uri, false);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    EXPECT_TRUE(svc->StartPersist(std::move(u).value(), false, std::chrono::hours(1)).ok());
    return svc;
  };
  auto a = node();
  auto b = node();
  a->RecordUnmapped(Check(*a, Oru("XYZ^尿酸^L", "M")), "TEST", 1);
  a->RecordUnmapped(Check(*a, Oru("XYZ^尿酸^L", "M")), "TEST", 2);
  ASSERT_TRUE(a->FlushUnmapped().ok());
  b->RecordUnmapped(Check(*b, Oru("XYZ^尿酸^L", "M")), "TEST", 3);  // not written yet
  ASSERT_TRUE(b->RefreshUnmapped().ok());                          // writes it, then reads
  ASSERT_TRUE(a->RefreshUnmapped().ok());
  for (auto* svc : {a.get(), b.get()}) {
    auto entries = svc->unmapped().Snapshot();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].count, 3u);
    EXPECT_EQ(entries[0].sample_message_id, "1");
  }
  a->StopPersist();
  b->StopPersist();
  (*store)->Close();
}

TEST_F(TerminologyServiceTest, NotConfigured) {
  auto svc = Make("");
  EXPECT_TRUE(svc->Load().ok());
  EXPECT_FALSE(svc->Reload().ok());
  EXPECT_TRUE(Check(*svc, Oru("XYZ^x^L", "Q")).empty());
}

}  // namespace
}  // namespace hie
