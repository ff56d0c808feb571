// Contract tests of the shared record (store/record_store.h): rows written
// with EmpiStore::Apply (EmpiWrite::record) and read with the RecordStore,
// on SQLite and, when HIE_TEST_PG_URI is set, on PostgreSQL (a fresh schema
// per test).
#include "store/record_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/empi_store.h"
#include "store/open.h"
#include "store/store_test_backends.h"

namespace hie {
namespace {

using store_test::MakeTempDir;

class RecordStoreTest : public ::testing::TestWithParam<std::string> {
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
    // Two source records (two facilities) of one person.
    EmpiWrite w;
    EmpiPersonRow p;
    p.id = 1;
    p.golden = "{}";
    w.persons.push_back(p);
    w.sources.push_back(Source(1, "CWS001"));
    w.sources.push_back(Source(2, "XQRMYY"));
    ASSERT_TRUE(empi_->Apply(w).ok());
  }
  void TearDown() override {
    if (rec_) rec_->Close();
    if (empi_) empi_->Close();
    if (main_) main_->Close();
    if (!schema_.empty()) store_test::PgDropSchema(schema_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static EmpiSourceRow Source(int64_t id, const std::string& facility) {
    EmpiSourceRow s;
    s.id = id;
    s.person_id = 1;
    s.record_key = "MR|" + facility + "|" + std::to_string(id);
    s.facility_id = facility;
    s.raw = s.norm = s.link_evidence = "{}";
    s.link_how = "new";
    return s;
  }
  static LabResultRow Lab(int64_t message, int64_t source, const std::string& key,
                          const std::string& code, int64_t effective) {
    LabResultRow r;
    r.message_id = message;
    r.source_id = source;
    r.facility_id = source == 1 ? "CWS001" : "XQRMYY";
    r.item_key = r.facility_id + "|" + key;
    r.status = "final";
    r.code_system = "local:" + r.facility_id;
    r.code = code;
    r.display = "葡萄糖";
    r.std_code = code == "GLU" ? "2345-7" : "";
    r.value = "5.10";
    r.value_type = "quantity";
    r.unit = "mmol/L";
    r.std_unit = "mmol/L";
    r.reference_range = "3.9-6.1";
    r.abnormal_flag = "N";
    r.specimen = "血清";
    r.performing_facility = r.facility_id;
    r.verifier = "李四";
    r.report_id = "R" + std::to_string(message);
    r.effective_ms = effective;
    r.issued_ms = effective + 1;
    r.resource = R"({"resourceType":"Observation"})";
    r.recorded_at_ms = 99;
    return r;
  }
  // Applies `rec` as the resolution of `message` (to source 1).
  Status ApplyMessage(int64_t message, RecordWrite rec) {
    EmpiWrite w;
    w.messages.emplace_back(message, 1);
    w.record = std::move(rec);
    w.sync = false;
    return empi_->Apply(w);
  }
  std::vector<LabResultRow> Labs(LabResultFilter f) {
    auto r = rec_->LabResults(f);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<LabResultRow>{};
  }

  std::string dir_, uri_, schema_;
  std::unique_ptr<Store> main_;
  std::unique_ptr<EmpiStore> empi_;
  std::unique_ptr<RecordStore> rec_;
};

TEST_P(RecordStoreTest, LabResultsNewestFirstWithFilters) {
  RecordWrite a;
  a.lab_results.push_back(Lab(10, 1, "R10|GLU|1", "GLU", 1000));
  a.lab_results.push_back(Lab(10, 1, "R10|K|2", "K", 1000));
  a.lab_results.push_back(Lab(10, 1, "R10|NA|3", "NA", 3000));
  ASSERT_TRUE(ApplyMessage(10, a).ok());
  RecordWrite b;
  b.lab_results.push_back(Lab(11, 2, "R11|GLU|1", "GLU", 2000));
  b.lab_results.back().performing_facility = "COUNTYLAB";
  ASSERT_TRUE(ApplyMessage(11, b).ok());

  LabResultFilter f;
  f.source_ids = {1, 2};
  auto all = Labs(f);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].code, "NA");
  EXPECT_EQ(all[1].source_id, 2);
  // Same time: the higher id first.
  EXPECT_EQ(all[2].effective_ms, 1000);
  EXPECT_EQ(all[3].effective_ms, 1000);
  EXPECT_GT(all[2].id, all[3].id);
  // Every field reads back.
  const LabResultRow& g = all[1];
  EXPECT_EQ(g.item_key, "XQRMYY|R11|GLU|1");
  EXPECT_EQ(g.message_id, 11);
  EXPECT_EQ(g.version, 1);
  EXPECT_TRUE(g.current);
  EXPECT_EQ(g.superseded_by, 0);
  EXPECT_EQ(g.status, "final");
  EXPECT_EQ(g.code_system, "local:XQRMYY");
  EXPECT_EQ(g.display, "葡萄糖");
  EXPECT_EQ(g.std_code, "2345-7");
  EXPECT_EQ(g.value, "5.10");
  EXPECT_EQ(g.value_type, "quantity");
  EXPECT_EQ(g.unit, "mmol/L");
  EXPECT_EQ(g.std_unit, "mmol/L");
  EXPECT_EQ(g.reference_range, "3.9-6.1");
  EXPECT_EQ(g.abnormal_flag, "N");
  EXPECT_EQ(g.specimen, "血清");
  EXPECT_EQ(g.performing_facility, "COUNTYLAB");
  EXPECT_EQ(g.verifier, "李四");
  EXPECT_EQ(g.report_id, "R11");
  EXPECT_EQ(g.issued_ms, 2001);
  EXPECT_EQ(g.resource, R"({"resourceType":"Observation"})");
  EXPECT_EQ(g.recorded_at_ms, 99);

  // One source only (three source ids pad the IN list: still right).
  f.source_ids = {2};
  EXPECT_EQ(Labs(f).size(), 1u);
  f.source_ids = {1, 2, 2};
  EXPECT_EQ(Labs(f).size(), 4u);
  f.source_ids = {3};
  EXPECT_TRUE(Labs(f).empty());
  f.source_ids = {};
  EXPECT_TRUE(Labs(f).empty());

  f.source_ids = {1, 2};
  f.code = "2345-7";  // the standard code
  EXPECT_EQ(Labs(f).size(), 2u);
  f.code = "K";  // the original code
  ASSERT_EQ(Labs(f).size(), 1u);
  f.code.clear();
  f.facility_id = "COUNTYLAB";  // performing
  ASSERT_EQ(Labs(f).size(), 1u);
  f.facility_id = "XQRMYY";  // sending
  EXPECT_EQ(Labs(f).size(), 1u);
  f.facility_id.clear();
  f.since_ms = 2000;
  EXPECT_EQ(Labs(f).size(), 2u);
  f.since_ms = 0;

  // Pages of 2: strictly older than the cursor, no row twice or missed.
  f.limit = 2;
  auto p1 = Labs(f);
  ASSERT_EQ(p1.size(), 2u);
  f.before_ms = p1.back().effective_ms;
  f.before_id = p1.back().id;
  auto p2 = Labs(f);
  ASSERT_EQ(p2.size(), 2u);
  EXPECT_EQ(p2[0].id, all[2].id);
  EXPECT_EQ(p2[1].id, all[3].id);
  f.before_ms = p2.back().effective_ms;
  f.before_id = p2.back().id;
  EXPECT_TRUE(Labs(f).empty());
}

TEST_P(RecordStoreTest, CorrectionSupersedesAndKeepsHistory) {
  RecordWrite a;
  a.lab_results.push_back(Lab(10, 1, "R10|GLU|1", "GLU", 1000));
  ASSERT_TRUE(ApplyMessage(10, a).ok());
  RecordWrite c;
  c.lab_results.push_back(Lab(12, 1, "R10|GLU|1", "GLU", 1000));
  c.lab_results.back().status = "corrected";
  c.lab_results.back().value = "6.20";
  ASSERT_TRUE(ApplyMessage(12, c).ok());

  LabResultFilter f;
  f.source_ids = {1};
  auto now = Labs(f);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].value, "6.20");
  EXPECT_EQ(now[0].version, 2);
  EXPECT_TRUE(now[0].current);
  f.include_history = true;
  EXPECT_EQ(Labs(f).size(), 2u);

  auto h = rec_->LabResultHistory("CWS001|R10|GLU|1");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].version, 1);
  EXPECT_FALSE((*h)[0].current);
  EXPECT_EQ((*h)[0].superseded_by, (*h)[1].id);
  EXPECT_EQ((*h)[0].value, "5.10");
  EXPECT_EQ((*h)[1].status, "corrected");

  // A third version supersedes the second.
  c.lab_results.back().value = "6.30";
  ASSERT_TRUE(ApplyMessage(13, c).ok());
  h = rec_->LabResultHistory("CWS001|R10|GLU|1");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[2].version, 3);
  EXPECT_FALSE((*h)[1].current);
  EXPECT_EQ((*h)[1].superseded_by, (*h)[2].id);
  f.include_history = false;
  ASSERT_EQ(Labs(f).size(), 1u);
  EXPECT_EQ(Labs(f)[0].value, "6.30");
}

TEST_P(RecordStoreTest, AnOlderSenderVersionArrivingLateIsHistory) {
  // A CDA's rows carry its versionNumber: version 2 arrives, then version 1.
  auto doc = [](int64_t message, int64_t version, const std::string& id) {
    DocumentRow d;
    d.message_id = message;
    d.source_id = 1;
    d.facility_id = "CWS001";
    d.item_key = "CWS001|2.16^SET";
    d.source_version = version;
    d.type_code = "C0007";
    d.title = "检验报告";
    d.document_id = id;
    d.effective_ms = 7000;
    d.content = "<ClinicalDocument/>";
    d.canonical = "{}";
    return d;
  };
  RecordWrite v2;
  v2.documents.push_back(doc(20, 2, "DOC-2"));
  v2.lab_results.push_back(Lab(20, 1, "R7|GLU|1", "GLU", 1000));
  v2.lab_results.back().source_version = 2;
  v2.lab_results.back().value = "8.10";
  ASSERT_TRUE(ApplyMessage(20, v2).ok());
  RecordWrite v1;
  v1.documents.push_back(doc(21, 1, "DOC-1"));
  v1.lab_results.push_back(Lab(21, 1, "R7|GLU|1", "GLU", 1000));
  v1.lab_results.back().source_version = 1;
  v1.lab_results.back().value = "7.80";
  ASSERT_TRUE(ApplyMessage(21, v1).ok());

  auto docs = rec_->Documents({1}, 10);
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ((*docs)[0].document_id, "DOC-2");  // the newest stays current
  EXPECT_EQ((*docs)[0].version, 1);
  EXPECT_EQ((*docs)[0].source_version, 2);
  LabResultFilter f;
  f.source_ids = {1};
  auto now = Labs(f);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].value, "8.10");
  EXPECT_TRUE(now[0].current);
  EXPECT_EQ(now[0].superseded_by, 0);
  // History, ordered by the sender's version: the late one first, not
  // current, pointing at the current row; store versions by arrival.
  auto h = rec_->LabResultHistory("CWS001|R7|GLU|1");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].value, "7.80");
  EXPECT_EQ((*h)[0].source_version, 1);
  EXPECT_EQ((*h)[0].version, 2);
  EXPECT_FALSE((*h)[0].current);
  EXPECT_EQ((*h)[0].superseded_by, now[0].id);
  EXPECT_EQ((*h)[1].value, "8.10");

  // Version 3 supersedes the current one; an equal version (a resend) and a
  // row without a sender's version go by arrival.
  RecordWrite v3;
  v3.lab_results.push_back(Lab(22, 1, "R7|GLU|1", "GLU", 1000));
  v3.lab_results.back().source_version = 3;
  v3.lab_results.back().value = "8.30";
  ASSERT_TRUE(ApplyMessage(22, v3).ok());
  ASSERT_EQ(Labs(f).size(), 1u);
  EXPECT_EQ(Labs(f)[0].value, "8.30");
  EXPECT_EQ(Labs(f)[0].version, 3);
  v3.lab_results.back().message_id = 23;
  v3.lab_results.back().value = "8.31";
  ASSERT_TRUE(ApplyMessage(23, v3).ok());
  EXPECT_EQ(Labs(f)[0].value, "8.31");
  RecordWrite none;
  none.lab_results.push_back(Lab(24, 1, "R7|GLU|1", "GLU", 1000));
  none.lab_results.back().value = "8.40";
  ASSERT_TRUE(ApplyMessage(24, none).ok());
  EXPECT_EQ(Labs(f)[0].value, "8.40");
  f.include_history = true;
  EXPECT_EQ(Labs(f).size(), 5u);
  int current = 0;
  for (const auto& r : Labs(f)) current += r.current ? 1 : 0;
  EXPECT_EQ(current, 1);
}

TEST_P(RecordStoreTest, AnUpdateWithoutAStartKeepsTheVersionsStart) {
  EncounterRow e;
  e.message_id = 30;
  e.source_id = 1;
  e.facility_id = "CWS001";
  e.item_key = "CWS001|src1|AMB|2026-11-22";
  e.encounter_class = "AMB";
  e.start_ms = 5000;
  e.resource = "{}";
  RecordWrite a;
  a.encounters.push_back(e);
  ASSERT_TRUE(ApplyMessage(30, a).ok());
  e.message_id = 31;
  e.start_ms = 0;  // an A08 without PV1-44
  e.department = "全科";
  RecordWrite b;
  b.encounters.push_back(e);
  ASSERT_TRUE(ApplyMessage(31, b).ok());
  auto encs = rec_->Encounters({1}, 10);
  ASSERT_TRUE(encs.ok());
  ASSERT_EQ(encs->size(), 1u);
  EXPECT_EQ((*encs)[0].version, 2);
  EXPECT_EQ((*encs)[0].department, "全科");
  EXPECT_EQ((*encs)[0].start_ms, 5000);
  // A start that is sent replaces it.
  e.message_id = 32;
  e.start_ms = 6000;
  RecordWrite c;
  c.encounters.push_back(e);
  ASSERT_TRUE(ApplyMessage(32, c).ok());
  encs = rec_->Encounters({1}, 10);
  ASSERT_TRUE(encs.ok());
  ASSERT_EQ(encs->size(), 1u);
  EXPECT_EQ((*encs)[0].start_ms, 6000);
}

TEST_P(RecordStoreTest, ReplayedResolutionWritesNothingTwice) {
  RecordWrite a;
  a.lab_results.push_back(Lab(10, 1, "R10|GLU|1", "GLU", 1000));
  ASSERT_TRUE(ApplyMessage(10, a).ok());
  ASSERT_TRUE(ApplyMessage(10, a).ok());  // the message is resolved already
  LabResultFilter f;
  f.source_ids = {1};
  f.include_history = true;
  auto rows = Labs(f);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].version, 1);
}

TEST_P(RecordStoreTest, RecordCommitsWithTheResolutionOrNotAtAll) {
  RecordWrite a;
  a.lab_results.push_back(Lab(10, 1, "R10|GLU|1", "GLU", 1000));
  EmpiWrite w;
  w.messages.emplace_back(10, 1);
  w.record = a;
  w.sources.push_back(Source(3, "CWS001"));
  w.sources.back().record_key = "MR|CWS001|1";  // taken by source 1: the Apply fails
  ASSERT_FALSE(empi_->Apply(w).ok());
  LabResultFilter f;
  f.source_ids = {1};
  EXPECT_TRUE(Labs(f).empty());
  auto m = empi_->SourceOfMessage(10);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_value());
  // Retried right, it is all there.
  ASSERT_TRUE(ApplyMessage(10, a).ok());
  EXPECT_EQ(Labs(f).size(), 1u);
}

TEST_P(RecordStoreTest, EncountersDiagnosesDocuments) {
  RecordWrite a;
  EncounterRow e;
  e.message_id = 10;
  e.source_id = 1;
  e.facility_id = "CWS001";
  e.item_key = "CWS001|V1";
  e.visit_number = "V1";
  e.encounter_class = "AMB";
  e.status = "in-progress";
  e.department = "内科";
  e.attending = "张三";
  e.start_ms = 5000;
  e.resource = R"({"resourceType":"Encounter"})";
  a.encounters.push_back(e);
  DiagnosisRow d;
  d.message_id = 10;
  d.source_id = 1;
  d.facility_id = "CWS001";
  d.item_key = "CWS001|V1|I10";
  d.code_system = "ICD-10";
  d.code = "I10";
  d.display = "高血压";
  d.std_code = "I10";
  d.std_display = "特发性(原发性)高血压";
  d.clinical_status = "active";
  d.visit_number = "V1";
  d.recorded_ms = 5000;
  d.resource = R"({"resourceType":"Condition"})";
  a.diagnoses.push_back(d);
  DocumentRow doc;
  doc.message_id = 10;
  doc.source_id = 1;
  doc.facility_id = "CWS001";
  doc.item_key = "CWS001|C0002|V1";
  doc.type_code = "C0002";
  doc.title = "门(急)诊病历";
  doc.document_id = "V1";
  doc.effective_ms = 5000;
  doc.canonical = R"({"bundle":{}})";
  a.documents.push_back(doc);
  ASSERT_TRUE(ApplyMessage(10, a).ok());

  // ADT^A08: the encounter's new version; a received CDA beside.
  RecordWrite b;
  e.message_id = 11;
  e.status = "finished";
  e.end_ms = 6000;
  b.encounters.push_back(e);
  DocumentRow cda = doc;
  cda.message_id = 11;
  cda.source_id = 2;
  cda.facility_id = "XQRMYY";
  cda.item_key = "XQRMYY|set-1";
  cda.type_code = "C0007";
  cda.title = "检验报告";
  cda.document_id = "doc-1";
  cda.effective_ms = 7000;
  cda.content = "<ClinicalDocument/>";
  b.documents.push_back(cda);
  ASSERT_TRUE(ApplyMessage(11, b).ok());

  auto encs = rec_->Encounters({1, 2}, 10);
  ASSERT_TRUE(encs.ok()) << encs.status().ToString();
  ASSERT_EQ(encs->size(), 1u);
  EXPECT_EQ((*encs)[0].status, "finished");
  EXPECT_EQ((*encs)[0].version, 2);
  EXPECT_EQ((*encs)[0].end_ms, 6000);
  EXPECT_EQ((*encs)[0].department, "内科");
  EXPECT_EQ((*encs)[0].attending, "张三");
  EXPECT_EQ((*encs)[0].encounter_class, "AMB");

  auto dx = rec_->Diagnoses({1}, 10);
  ASSERT_TRUE(dx.ok());
  ASSERT_EQ(dx->size(), 1u);
  EXPECT_EQ((*dx)[0].std_display, "特发性(原发性)高血压");
  EXPECT_EQ((*dx)[0].clinical_status, "active");
  EXPECT_EQ((*dx)[0].visit_number, "V1");

  auto docs = rec_->Documents({1, 2}, 10);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].type_code, "C0007");  // newest first
  EXPECT_TRUE((*docs)[0].content.empty());   // an index
  EXPECT_TRUE((*docs)[0].canonical.empty());
  EXPECT_EQ((*docs)[1].title, "门(急)诊病历");
  auto one = rec_->GetDocument((*docs)[0].id);
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->content, "<ClinicalDocument/>");
  EXPECT_EQ((*one)->document_id, "doc-1");
  auto gen = rec_->GetDocument((*docs)[1].id);
  ASSERT_TRUE(gen.ok() && gen->has_value());
  EXPECT_TRUE((*gen)->content.empty());
  EXPECT_EQ((*gen)->canonical, R"({"bundle":{}})");
  auto missing = rec_->GetDocument(9999);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto lim = rec_->Documents({1, 2}, 1);
  ASSERT_TRUE(lim.ok());
  EXPECT_EQ(lim->size(), 1u);
}

TEST_P(RecordStoreTest, AccessEvents) {
  std::vector<AccessEventRow> ev(2);
  ev[0].at_ms = 100;
  ev[0].actor = "dr.wang";
  ev[0].facility_id = "CWS001";
  ev[0].person_id = 1;
  ev[0].what = "lab-results";
  ev[0].detail = R"({"count":3})";
  ev[1] = ev[0];
  ev[1].at_ms = 101;
  ev[1].what = "summary";
  ASSERT_TRUE(rec_->AppendAccess(ev).ok());
  AccessEventRow other = ev[0];
  other.person_id = 2;
  other.detail.clear();
  ASSERT_TRUE(rec_->AppendAccess({other}).ok());
  auto got = rec_->AccessOfPerson(1, 10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].what, "summary");  // newest first
  EXPECT_EQ((*got)[1].actor, "dr.wang");
  EXPECT_EQ((*got)[1].facility_id, "CWS001");
  EXPECT_EQ((*got)[1].detail, R"({"count":3})");
  EXPECT_GT((*got)[0].id, (*got)[1].id);
  auto two = rec_->AccessOfPerson(2, 10);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 1u);
  EXPECT_EQ((*two)[0].detail, "{}");
}

INSTANTIATE_TEST_SUITE_P(Backends, RecordStoreTest, ::testing::Values("Sqlite", "Postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hie
