// Retranslation (engine/retranslate.h) over a real SQLite store: a lab
// result, a diagnosis and a document stored while their local codes had no
// map get the standard codes once a map is added and reloaded, in place (no
// new version), idempotently, across pages, and a stopped pass finishes
// when run again.
#include "engine/retranslate.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/env.h"
#include "core/metrics.h"
#include "engine/canonicalize.h"
#include "store/empi_store.h"
#include "store/open.h"
#include "store/record_store.h"

namespace hie {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kHeader =
    "source_system,source_code,source_display,target_system,target_code,target_display\n";

std::string Oru(const std::string& obx3, const std::string& unit) {
  return "MSH|^~\\&|LIS|F1|HIE|COUNTY|20260101120000||ORU^R01^ORU_R01|C1|P|2.5\r"
         "PID|1||MR1^^^F1^MR||张三||19800101|M\r"
         "OBR|1|O1||GLUP^血糖组^L|||20260101100000\r"
         "OBX|1|NM|" +
         obx3 + "||5.6|" + unit +
         "|3.9-6.1|N|||F\r"
         "DG1|1||X01^高血压^L\r";
}

const json& Res(const canonical::CanonicalMessage& m, std::string_view type) {
  for (const auto& e : m.bundle["entry"]) {
    if (e["resource"]["resourceType"] == type) return e["resource"];
  }
  static const json kNull;
  return kNull;
}

class RetranslateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hie-retranslate-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "terminology");
    for (const auto& e : fs::directory_iterator(fs::path(HIE_SOURCE_DIR) / "terminology/data")) {
      if (e.path().extension() == ".csv") {
        fs::copy_file(e.path(), dir_ / "terminology" / e.path().filename());
      }
    }
    uri_ = "sqlite:" + (dir_ / "hub.db").string();
    StoreOptions so;
    so.durable_full = false;
    auto store = OpenStore(uri_, so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto empi = OpenEmpiStore(uri_, false);
    ASSERT_TRUE(empi.ok()) << empi.status().ToString();
    empi_ = std::move(empi).value();
    ASSERT_TRUE(empi_->TryResolverRole("t").ok());
    auto rec = OpenRecordStore(uri_);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    records_ = std::move(rec).value();
    term_ = std::make_unique<TerminologyService>((dir_ / "terminology").string(),
                                                 std::vector<std::string>{"F1"}, env_, &metrics_);
    ASSERT_TRUE(term_->Load().ok());
    EmpiWrite w;
    EmpiPersonRow p;
    p.id = 1;
    p.golden = "{}";
    w.persons.push_back(p);
    EmpiSourceRow s;
    s.id = 1;
    s.person_id = 1;
    s.record_key = "MR|F1|MR1";
    s.facility_id = "F1";
    s.raw = s.norm = s.link_evidence = "{}";
    s.link_how = "new";
    w.sources.push_back(s);
    ASSERT_TRUE(empi_->Apply(w).ok());
  }
  void TearDown() override {
    retranslator_.reset();
    if (records_) records_->Close();
    if (empi_) empi_->Close();
    if (store_) store_->Close();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Retranslator> MakeRetranslator() {
    auto t = OpenRecordTranslations(uri_, false);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::make_unique<Retranslator>(std::move(t).value(), *term_, env_, &metrics_);
  }

  // Stores message `id` as the record's writer does: the canonical model
  // with the maps of the day applied, the Observation / Condition as rows,
  // the canonical JSON as a generated document.
  void StoreOru(int64_t id, const std::string& obx3 = "XT^血糖^L",
                const std::string& unit = "mmol/L") {
    MessageRecord m;
    m.id = id;
    m.raw = Oru(obx3, unit);
    m.content_type = "application/hl7-v2";
    m.facility_id = "F1";
    m.charset = "UNICODE UTF-8";
    m.control_id = "C" + std::to_string(id);
    auto c = Canonicalize(m);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ApplyTerminology(*c, *term_->Current());
    const json& obs = Res(*c, "Observation");
    LabResultRow lab;
    lab.message_id = id;
    lab.source_id = 1;
    lab.facility_id = "F1";
    lab.item_key = "F1|R" + std::to_string(id) + "|XT|1";
    lab.status = "final";
    lab.code_system = "local:F1";
    lab.code = "XT";
    lab.value = "5.6";
    lab.value_type = "quantity";
    lab.unit = unit;
    lab.std_unit = unit == "mmol/L" ? "mmol/L" : "";
    lab.effective_ms = 1000 + id;
    lab.resource = obs.dump();
    lab.recorded_at_ms = env_.NowMillis();
    DiagnosisRow dx;
    dx.message_id = id;
    dx.source_id = 1;
    dx.facility_id = "F1";
    dx.item_key = "F1|msg" + std::to_string(id) + "|X01";
    dx.code_system = "local:F1";
    dx.code = "X01";
    dx.resource = Res(*c, "Condition").dump();
    dx.recorded_at_ms = env_.NowMillis();
    DocumentRow doc;
    doc.message_id = id;
    doc.source_id = 1;
    doc.facility_id = "F1";
    doc.item_key = "F1|C0007|R" + std::to_string(id);
    doc.type_code = "C0007";
    doc.canonical = canonical::ToJson(*c).dump();
    doc.recorded_at_ms = env_.NowMillis();
    EmpiWrite w;
    w.messages.emplace_back(id, 1);
    w.record.lab_results.push_back(lab);
    w.record.diagnoses.push_back(dx);
    w.record.documents.push_back(doc);
    w.sync = false;
    ASSERT_TRUE(empi_->Apply(w).ok());
  }
  void AddMap(const std::string& rows) {
    std::ofstream(dir_ / "terminology" / "local-F1.csv", std::ios::binary) << kHeader << rows;
    auto r = term_->Reload();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::vector<LabResultRow> Labs() {
    LabResultFilter f;
    f.source_ids = {1};
    f.include_history = true;
    f.limit = 1000;
    auto r = records_->LabResults(f);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<LabResultRow>{};
  }

  fs::path dir_;
  std::string uri_;
  FakeEnv env_;
  MetricsRegistry metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EmpiStore> empi_;
  std::unique_ptr<RecordStore> records_;
  std::unique_ptr<TerminologyService> term_;
  std::unique_ptr<Retranslator> retranslator_;
};

TEST_F(RetranslateTest, ALateMapGivesStoredResultsTheirStandardCodesInPlace) {
  StoreOru(1, "XT^血糖^L", "10E9/L");
  ASSERT_EQ(Labs().size(), 1u);
  EXPECT_EQ(Labs()[0].std_code, "");
  auto rt = MakeRetranslator();
  // No map yet: every row is looked at, nothing changes.
  auto p = rt->RunNow(0);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->state, "done");
  EXPECT_EQ(p->lab_results.scanned, 1);
  EXPECT_EQ(p->updated(), 0);

  AddMap(
      "local:F1,XT,血糖,LOINC,2345-7,葡萄糖\n"
      "local:F1,10E9/L,,UCUM,10*9/L,\n"
      "local:F1,X01,高血压,ICD-10,I10,原发性高血压\n"
      "local:F1,GLUP,血糖组,LOINC,24331-1,\n");
  p = rt->RunNow(0);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->state, "done") << p->error;
  EXPECT_EQ(p->lab_results.updated, 1);
  EXPECT_EQ(p->diagnoses.updated, 1);
  EXPECT_EQ(p->documents.updated, 1);
  EXPECT_EQ(p->generation, term_->terminology().generation());

  auto labs = Labs();
  ASSERT_EQ(labs.size(), 1u) << "a translation, not a new version";
  const LabResultRow& r = labs[0];
  EXPECT_EQ(r.version, 1);
  EXPECT_TRUE(r.current);
  EXPECT_EQ(r.code, "XT");  // the original stays
  EXPECT_EQ(r.unit, "10E9/L");
  EXPECT_EQ(r.std_code, "2345-7");
  EXPECT_EQ(r.std_display, "葡萄糖");
  EXPECT_EQ(r.std_unit, "10*9/L");
  const json obs = json::parse(r.resource);
  ASSERT_EQ(obs["code"]["coding"].size(), 2u);
  EXPECT_EQ(obs["code"]["coding"][0]["code"], "XT");
  EXPECT_EQ(obs["code"]["coding"][1]["system"], "LOINC");
  EXPECT_EQ(obs["code"]["coding"][1]["code"], "2345-7");
  EXPECT_EQ(r.resource.find(kUnmappedExtension), std::string::npos) << r.resource;

  auto dx = records_->Diagnoses({1}, 10);
  ASSERT_TRUE(dx.ok());
  ASSERT_EQ(dx->size(), 1u);
  EXPECT_EQ(dx->at(0).code, "X01");
  EXPECT_EQ(dx->at(0).std_code, "I10");
  EXPECT_EQ(dx->at(0).std_display, "原发性高血压");
  auto docs = records_->Documents({1}, 10);
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 1u);
  auto doc = records_->GetDocument(docs->at(0).id);
  ASSERT_TRUE(doc.ok() && doc->has_value());
  const std::string& canon = (*doc)->canonical;
  EXPECT_NE(canon.find("2345-7"), std::string::npos);
  EXPECT_NE(canon.find("24331-1"), std::string::npos);  // the panel too
  EXPECT_NE(canon.find("I10"), std::string::npos);
  auto back = canonical::FromJson(json::parse(canon));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->facility, "F1");

  // Idempotent: the rows now translate, a second pass changes nothing.
  const std::string before = Labs()[0].resource;
  p = rt->RunNow(0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->updated(), 0);
  EXPECT_EQ(Labs()[0].resource, before);
  EXPECT_NE(metrics_.RenderPrometheus().find("hie_terminology_retranslated_total 3"),
            std::string::npos);
}

TEST_F(RetranslateTest, SinceLimitsThePassToRowsRecordedFromThen) {
  StoreOru(1);
  env_.Advance(86'400'000);
  const int64_t cut = env_.NowMillis();
  StoreOru(2);
  AddMap("local:F1,XT,血糖,LOINC,2345-7,葡萄糖\n");
  auto rt = MakeRetranslator();
  auto p = rt->RunNow(cut);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->lab_results.scanned, 1);
  EXPECT_EQ(p->lab_results.updated, 1);
  for (const auto& r : Labs()) {
    EXPECT_EQ(r.std_code, r.message_id == 2 ? "2345-7" : "") << r.message_id;
  }
}

TEST_F(RetranslateTest, ManyPagesAndAStoppedPassFinishWhenRunAgain) {
  constexpr int kRows = Retranslator::kPage * 2 + 37;
  for (int i = 1; i <= kRows; ++i) StoreOru(i);
  AddMap("local:F1,XT,血糖,LOINC,2345-7,葡萄糖\n");
  auto rt = MakeRetranslator();
  // Stopped somewhere (maybe before its first page, maybe after it ended).
  ASSERT_TRUE(rt->Start(0).ok());
  rt->Stop();
  EXPECT_NE(rt->Progress().state, "running");
  const int64_t first = rt->Progress().lab_results.updated;
  auto p = rt->RunNow(0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state, "done");
  EXPECT_EQ(first + p->lab_results.updated, kRows);
  int translated = 0;
  for (const auto& r : Labs()) translated += r.std_code == "2345-7" ? 1 : 0;
  EXPECT_EQ(translated, kRows);
}

TEST_F(RetranslateTest, UnreadableJsonIsCountedAndLeftAlone) {
  TranslatableRow row;
  row.id = 1;
  row.facility_id = "F1";
  row.json = "{not json";
  EXPECT_FALSE(RetranslateRow(RecordKind::kLabResult, row, *term_->Current()).ok());
  EXPECT_EQ(row.json, "{not json");
}

}  // namespace
}  // namespace hie
