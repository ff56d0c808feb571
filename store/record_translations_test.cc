// Contract tests of retranslation's store side (store/record_translations.h)
// on SQLite and, when HIE_TEST_PG_URI is set, on PostgreSQL: which rows a
// page holds (since, after, the filters), and that an update changes the
// standard fields in place (same id, version and currency; the original
// untouched; no supersession).
#include "store/record_translations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "store/empi_store.h"
#include "store/open.h"
#include "store/record_store.h"
#include "store/store_test_backends.h"

namespace hie {
namespace {

using store_test::MakeTempDir;

constexpr char kMarked[] =
    R"({"resourceType":"Observation","code":{"coding":[{"system":"local:F1","code":"XT"}],)"
    R"("extension":[{"url":"urn:hie:unmapped","valueString":"LOINC"}]}})";

class RecordTranslationsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    uri_ = store_test::FreshUri(GetParam(), dir_, &schema_);
    if (uri_.empty()) GTEST_SKIP() << "HIE_TEST_PG_URI not set";
    ASSERT_EQ(uri_.rfind("ERROR", 0), std::string::npos) << uri_;
    StoreOptions o;
    o.durable_full = false;
    auto s = OpenStore(uri_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    main_ = std::move(s).value();
    auto e = OpenEmpiStore(uri_, false);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    empi_ = std::move(e).value();
    auto role = empi_->TryResolverRole("test-node");
    ASSERT_TRUE(role.ok() && role->resolver);
    auto r = OpenRecordStore(uri_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    rec_ = std::move(r).value();
    auto t = OpenRecordTranslations(uri_, false);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tr_ = std::move(t).value();
    EmpiWrite w;
    EmpiPersonRow p;
    p.id = 1;
    p.golden = "{}";
    w.persons.push_back(p);
    EmpiSourceRow src;
    src.id = 1;
    src.person_id = 1;
    src.record_key = "MR|F1|1";
    src.facility_id = "F1";
    src.raw = src.norm = src.link_evidence = "{}";
    src.link_how = "new";
    w.sources.push_back(src);
    ASSERT_TRUE(empi_->Apply(w).ok());
  }
  void TearDown() override {
    if (tr_) tr_->Close();
    if (rec_) rec_->Close();
    if (empi_) empi_->Close();
    if (main_) main_->Close();
    if (!schema_.empty()) store_test::PgDropSchema(schema_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static LabResultRow Lab(int64_t message, const std::string& code, const std::string& std_code,
                          const std::string& unit, const std::string& std_unit, int64_t recorded_at,
                          const std::string& resource) {
    LabResultRow r;
    r.message_id = message;
    r.source_id = 1;
    r.facility_id = "F1";
    r.item_key = "F1|R" + std::to_string(message) + "|" + code + "|1";
    r.status = "final";
    r.code_system = "local:F1";
    r.code = code;
    r.display = "血糖";
    r.std_code = std_code;
    r.value = "5.6";
    r.value_type = "quantity";
    r.unit = unit;
    r.std_unit = std_unit;
    r.report_id = "R" + std::to_string(message);
    r.effective_ms = 1000 + message;
    r.resource = resource;
    r.recorded_at_ms = recorded_at;
    return r;
  }
  Status Apply(int64_t message, RecordWrite rec) {
    EmpiWrite w;
    w.messages.emplace_back(message, 1);
    w.record = std::move(rec);
    w.sync = false;
    return empi_->Apply(w);
  }
  std::vector<int64_t> PageIds(RecordKind kind, int64_t since, int64_t after = 0, int limit = 10) {
    auto page = tr_->Page(kind, since, after, limit);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<int64_t> ids;
    if (page.ok()) {
      for (const auto& r : *page) ids.push_back(r.id);
    }
    return ids;
  }
  std::vector<LabResultRow> AllLabs() {
    LabResultFilter f;
    f.source_ids = {1};
    f.include_history = true;
    auto r = rec_->LabResults(f);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<LabResultRow>{};
  }

  std::string dir_, uri_, schema_;
  std::unique_ptr<Store> main_;
  std::unique_ptr<EmpiStore> empi_;
  std::unique_ptr<RecordStore> rec_;
  std::unique_ptr<RecordTranslations> tr_;
};

TEST_P(RecordTranslationsTest, PagesHoldOnlyRowsThatMayLackAStandardCode) {
  RecordWrite w;
  w.lab_results = {Lab(1, "XT", "", "mmol/L", "mmol/L", 500, kMarked),    // no std code, old
                   Lab(1, "XT2", "", "mmol/L", "mmol/L", 2000, kMarked),  // no std code
                   Lab(1, "GLU", "2345-7", "mmol/L", "mmol/L", 2000, R"({"a":1})"),  // complete
                   Lab(1, "WBC", "6690-2", "10E9/L", "", 2000, R"({"a":2})"),  // unit unmapped
                   Lab(1, "POS", "5778-6", "", "", 2000, R"({"a":3})"),        // no unit at all
                   Lab(1, "FLG", "2345-7", "mmol/L", "mmol/L", 2000,           // a flag marked
                       R"({"interpretation":[{"extension":[{"url":"urn:hie:unmapped"}]}]})")};
  DiagnosisRow d;
  d.message_id = 1;
  d.source_id = 1;
  d.facility_id = "F1";
  d.item_key = "F1|1|X01";
  d.code_system = "local:F1";
  d.code = "X01";
  d.resource = R"({"resourceType":"Condition"})";
  d.recorded_at_ms = 2000;
  DiagnosisRow d2 = d;
  d2.item_key = "F1|1|I10";
  d2.code = "I10";
  d2.std_code = "I10";
  w.diagnoses = {d, d2};
  DocumentRow doc;
  doc.message_id = 1;
  doc.source_id = 1;
  doc.facility_id = "F1";
  doc.item_key = "F1|C0007|R1";
  doc.type_code = "C0007";
  doc.canonical = std::string(R"({"bundle":{"x":")") + "urn:hie:unmapped" + R"("}})";
  doc.recorded_at_ms = 2000;
  DocumentRow doc2 = doc;
  doc2.item_key = "F1|C0007|R2";
  doc2.canonical = R"({"bundle":{}})";
  w.documents = {doc, doc2};
  ASSERT_TRUE(Apply(1, w).ok());

  std::map<std::string, int64_t> id_of;
  for (const auto& r : AllLabs()) id_of[r.code] = r.id;
  ASSERT_EQ(id_of.size(), 6u);
  std::vector<int64_t> want = {id_of["XT2"], id_of["WBC"], id_of["FLG"]};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(PageIds(RecordKind::kLabResult, 1000), want);
  // Since 0 also the old row; paging by id continues after the last one.
  auto all = PageIds(RecordKind::kLabResult, 0);
  ASSERT_EQ(all.size(), 4u);
  auto first2 = PageIds(RecordKind::kLabResult, 0, 0, 2);
  ASSERT_EQ(first2.size(), 2u);
  auto next = PageIds(RecordKind::kLabResult, 0, first2.back(), 10);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_GT(next.front(), first2.back());
  auto diag = tr_->Page(RecordKind::kDiagnosis, 1000, 0, 10);
  ASSERT_TRUE(diag.ok()) << diag.status().ToString();
  ASSERT_EQ(diag->size(), 1u);
  EXPECT_EQ(diag->at(0).json, R"({"resourceType":"Condition"})");
  EXPECT_EQ(diag->at(0).facility_id, "F1");
  auto docs = tr_->Page(RecordKind::kDocument, 1000, 0, 10);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ(docs->at(0).json, doc.canonical);
}

TEST_P(RecordTranslationsTest, UpdateChangesStandardFieldsInPlace) {
  RecordWrite w;
  w.lab_results = {Lab(1, "XT", "", "10E9/L", "", 2000, kMarked)};
  ASSERT_TRUE(Apply(1, w).ok());
  auto page = tr_->Page(RecordKind::kLabResult, 0, 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  TranslatableRow row = page->at(0);
  EXPECT_EQ(row.std_code, "");
  row.std_code = "2345-7";
  row.std_display = "葡萄糖";
  row.std_unit = "10*9/L";
  row.json = R"({"resourceType":"Observation","translated":true})";
  ASSERT_TRUE(tr_->Update(RecordKind::kLabResult, {row}).ok());

  auto labs = AllLabs();
  ASSERT_EQ(labs.size(), 1u) << "no new version, no superseded row";
  const LabResultRow& r = labs[0];
  EXPECT_EQ(r.id, row.id);
  EXPECT_EQ(r.version, 1);
  EXPECT_TRUE(r.current);
  EXPECT_EQ(r.superseded_by, 0);
  EXPECT_EQ(r.code, "XT");  // the original as received
  EXPECT_EQ(r.unit, "10E9/L");
  EXPECT_EQ(r.value, "5.6");
  EXPECT_EQ(r.std_code, "2345-7");
  EXPECT_EQ(r.std_display, "葡萄糖");
  EXPECT_EQ(r.std_unit, "10*9/L");
  EXPECT_EQ(r.resource, row.json);
  EXPECT_TRUE(PageIds(RecordKind::kLabResult, 0).empty()) << "complete now: not met again";

  // A corrected result later supersedes it as usual.
  RecordWrite again;
  again.lab_results = {Lab(2, "XT", "", "10E9/L", "", 3000, kMarked)};
  again.lab_results[0].item_key = r.item_key;
  ASSERT_TRUE(Apply(2, again).ok());
  labs = AllLabs();
  ASSERT_EQ(labs.size(), 2u);
  int current = 0;
  for (const auto& l : labs) current += l.current ? 1 : 0;
  EXPECT_EQ(current, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, RecordTranslationsTest, ::testing::Values("Sqlite", "Postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hie
