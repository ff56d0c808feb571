// The shared record's write side (engine/record_extract.h through
// EmpiService): messages committed to a real SQLite store, resolved by the
// EMPI service, their rows read back with the RecordStore. Terminology from
// a temp copy of the shipped data plus a local map (original AND standard
// codes). Merges and unmerges move the rows with the person.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/env.h"
#include "core/metrics.h"
#include "engine/config.h"
#include "engine/empi_service.h"
#include "engine/terminology_service.h"
#include "engine/transform.h"
#include "store/empi_store.h"
#include "store/open.h"
#include "store/record_store.h"

namespace hie {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kLocalMap =
    "source_system,source_code,source_display,target_system,target_code,target_display\n"
    "local:TOWN,GLU,葡萄糖,LOINC,2345-7,Glucose\n"
    "local:VILL,GLU,血糖,LOINC,2345-7,Glucose\n";

// One segment from (field number, text) pairs.
std::string Seg(const std::string& id, std::map<int, std::string> fields) {
  std::string out = id;
  const int last = fields.empty() ? 0 : fields.rbegin()->first;
  for (int i = 1; i <= last; ++i) out += "|" + fields[i];
  return out + "\r";
}

std::string Oru(const std::string& facility, const std::string& control, const std::string& mr,
                const std::string& name, const std::string& status, const std::string& value) {
  return "MSH|^~\\&|LIS|" + facility + "|HIE|COUNTY|20260301100000||ORU^R01^ORU_R01|" + control +
         "|P|2.5\r" +
         Seg("PID",
             {{1, "1"}, {3, mr + "^^^" + facility + "^MR"}, {5, name}, {7, "19800101"}, {8, "M"}}) +
         Seg("OBR", {{1, "1"},
                     {2, "P1"},
                     {3, "F1"},
                     {4, "CHEM^生化^L"},
                     {7, "20260301080000"},
                     {15, "BLD&全血"},
                     {22, "20260301093000"},
                     {24, "CH"},
                     {25, "F"},
                     {32, "007&王审核"}}) +
         Seg("OBX", {{1, "1"},
                     {2, "NM"},
                     {3, "GLU^葡萄糖^L"},
                     {5, value},
                     {6, "mmol/L"},
                     {7, "3.9-6.1"},
                     {8, "N"},
                     {11, status},
                     {14, "20260301081500"},
                     {16, "T1^孙检验"},
                     {23, "县医院检验科^^^^^^^^^COUNTYLAB"}}) +
         Seg("OBX", {{1, "2"},
                     {2, "NM"},
                     {3, "K^钾^L"},
                     {5, "4.1"},
                     {6, "mmol/L"},
                     {7, "3.5-5.5"},
                     {11, status}});
}

std::string Adt(const std::string& trigger, const std::string& control, const std::string& pv1_2,
                bool dg1) {
  std::string s =
      "MSH|^~\\&|HIS|TOWN|HIE|COUNTY|20260302100000||ADT^" + trigger + "^ADT_A01|" + control +
      "|P|2.5\r" +
      Seg("PID", {{1, "1"}, {3, "MR9^^^TOWN^MR"}, {5, "李四"}, {7, "19700101"}, {8, "F"}});
  if (!pv1_2.empty()) {
    std::map<int, std::string> pv1 = {{1, "1"},         {2, pv1_2},  {3, "内科门诊"},
                                      {7, "D9^赵医生"}, {19, "V77"}, {44, "20260302090000"}};
    if (trigger == "A08") pv1[45] = "20260302110000";
    s += Seg("PV1", pv1);
  }
  if (dg1) s += Seg("DG1", {{1, "1"}, {3, "I10^高血压"}, {5, "20260302"}});
  return s;
}

class RecordWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hie-record-write-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "term");
    for (const auto& e : fs::directory_iterator(fs::path(HIE_SOURCE_DIR) / "terminology/data")) {
      if (e.path().extension() == ".csv")
        fs::copy_file(e.path(), dir_ / "term" / e.path().filename());
    }
    std::ofstream(dir_ / "term" / "local.csv", std::ios::binary) << kLocalMap;
    terminology_ = std::make_unique<TerminologyService>(
        (dir_ / "term").string(), std::vector<std::string>{"TOWN", "VILL", "qingshan-wsy"}, env_,
        &metrics_);
    ASSERT_TRUE(terminology_->Load().ok());
    uri_ = "sqlite:" + (dir_ / "hub.db").string();
    StoreOptions o;
    o.durable_full = false;
    auto s = OpenStore(uri_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    OpenService();
    auto r = OpenRecordStore(uri_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    records_ = std::move(r).value();
    auto e = OpenEmpiStore(uri_, false);
    ASSERT_TRUE(e.ok());
    empi_read_ = std::move(e).value();
  }
  void TearDown() override {
    if (svc_) svc_->Stop();
    svc_.reset();
    if (records_) records_->Close();
    if (empi_read_) empi_read_->Close();
    if (store_) store_->Close();
    fs::remove_all(dir_);
  }
  void OpenService() {
    if (svc_) svc_->Stop();
    svc_.reset();
    auto svc = OpenEmpiService(config_, uri_, *store_, env_, metrics_, terminology_.get());
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    svc_ = std::move(svc).value();
  }

  int64_t Commit(const std::string& facility, const std::string& control, const std::string& type,
                 const std::string& raw, const std::string& content_type = "application/hl7-v2",
                 const std::string& response = "") {
    NewMessage m;
    m.facility_id = facility;
    m.dedupe_key = control;
    m.control_id = control;
    m.message_type = type;
    m.content_type = content_type;
    m.source = "mllp";
    m.charset = "UTF-8";
    m.patient_key = "k";
    m.raw = raw;
    m.response = response;
    m.received_at_ms = env_.NowMillis();
    m.status = MessageStatus::kFiltered;
    int64_t id = 0;
    Status st = store_->WriteSync([&](WriteTxn& t) -> Status {
      HIE_ASSIGN_OR_RETURN(id, t.InsertMessage(m));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }
  int64_t Resolve(const std::string& facility, const std::string& control, const std::string& type,
                  const std::string& raw, const std::string& content_type = "application/hl7-v2",
                  const std::string& response = "") {
    const int64_t id = Commit(facility, control, type, raw, content_type, response);
    Status st = svc_->ResolveMessage(id);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }
  int64_t SourceOf(int64_t message_id) {
    auto s = empi_read_->SourceOfMessage(message_id);
    EXPECT_TRUE(s.ok() && s->has_value());
    return s.ok() && s->has_value() ? **s : 0;
  }
  int64_t PersonOf(int64_t message_id) {
    auto s = empi_read_->GetSource(SourceOf(message_id));
    EXPECT_TRUE(s.ok() && s->has_value());
    return s.ok() && s->has_value() ? (*s)->person_id : 0;
  }
  // The person's lab results now (the union over its sources, as a read does).
  std::vector<LabResultRow> LabsOfPerson(int64_t person, bool history = false) {
    auto srcs = empi_read_->SourcesOfPerson(person);
    EXPECT_TRUE(srcs.ok());
    LabResultFilter f;
    for (const auto& s : *srcs) f.source_ids.push_back(s.id);
    f.include_history = history;
    auto r = records_->LabResults(f);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<LabResultRow>{};
  }
  std::vector<DocumentRow> DocsOfSource(int64_t source) {
    auto r = records_->Documents({source}, 100);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<DocumentRow>{};
  }
  // The trace once its `empi` step is there (written after the resolution,
  // by the store's writer).
  std::string TraceText(int64_t id) {
    std::string out;
    for (int i = 0; i < 200 && out.find("empi:") == std::string::npos; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      out.clear();
      auto t = store_->GetTrace(id);
      if (!t.ok()) continue;
      for (const auto& e : *t) out += e.step + ":" + e.outcome + ":" + e.detail + "\n";
    }
    return out;
  }

  fs::path dir_;
  std::string uri_;
  FakeEnv env_;
  MetricsRegistry metrics_;
  Config config_;
  std::unique_ptr<TerminologyService> terminology_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EmpiService> svc_;
  std::unique_ptr<RecordStore> records_;
  std::unique_ptr<EmpiStore> empi_read_;
};

TEST_F(RecordWriteTest, OruRecordsResultsWithStandardCodesAndAGeneratedLabReport) {
  const int64_t id =
      Resolve("TOWN", "L1", "ORU^R01", Oru("TOWN", "L1", "MR1", "张三", "F", "5.10"));
  const int64_t src = SourceOf(id);
  auto labs = LabsOfPerson(PersonOf(id));
  ASSERT_EQ(labs.size(), 2u);
  const LabResultRow* glu = labs[0].code == "GLU" ? &labs[0] : &labs[1];
  const LabResultRow* k = labs[0].code == "GLU" ? &labs[1] : &labs[0];
  EXPECT_EQ(glu->source_id, src);
  EXPECT_EQ(glu->message_id, id);
  EXPECT_EQ(glu->facility_id, "TOWN");
  EXPECT_EQ(glu->code_system, "local:TOWN");
  EXPECT_EQ(glu->display, "葡萄糖");
  EXPECT_EQ(glu->std_code, "2345-7");  // from the local map
  EXPECT_EQ(glu->status, "final");
  EXPECT_EQ(glu->value, "5.10");
  EXPECT_EQ(glu->value_type, "quantity");
  EXPECT_EQ(glu->unit, "mmol/L");
  EXPECT_EQ(glu->reference_range, "3.9-6.1");
  EXPECT_EQ(glu->abnormal_flag, "N");
  EXPECT_EQ(glu->specimen, "全血");                  // OBR-15
  EXPECT_EQ(glu->performing_facility, "COUNTYLAB");  // OBX-23.10
  EXPECT_EQ(glu->verifier, "孙检验");                // OBX-16
  EXPECT_EQ(glu->report_id, "F1");                   // the filler order
  EXPECT_EQ(glu->item_key, "TOWN|F1|GLU|1");
  EXPECT_EQ(glu->effective_ms, ParseTimeMillis("2026-03-01T08:15:00+08:00"));
  EXPECT_EQ(glu->issued_ms, ParseTimeMillis("2026-03-01T09:30:00+08:00"));
  EXPECT_NE(glu->resource.find("\"Observation\""), std::string::npos);
  EXPECT_TRUE(k->std_code.empty());           // K is not in the map
  EXPECT_EQ(k->performing_facility, "TOWN");  // no OBX-23: the sender
  EXPECT_EQ(k->verifier, "王审核");           // OBR-32
  EXPECT_EQ(k->effective_ms, ParseTimeMillis("2026-03-01T08:00:00+08:00"));  // OBR-7

  auto docs = DocsOfSource(src);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].type_code, "C0007");
  EXPECT_EQ(docs[0].title, "检验报告");
  EXPECT_EQ(docs[0].item_key, "TOWN|C0007|F1");
  auto full = records_->GetDocument(docs[0].id);
  ASSERT_TRUE(full.ok() && full->has_value());
  EXPECT_TRUE((*full)->content.empty());  // generated on demand
  json canonical = json::parse((*full)->canonical);
  EXPECT_EQ(canonical["message_type"], "ORU^R01");
  EXPECT_NE((*full)->canonical.find("2345-7"), std::string::npos);  // terminology applied

  EXPECT_NE(TraceText(id).find("2 项检验结果 (lab results), 1 份文档 (documents)"),
            std::string::npos)
      << TraceText(id);
}

TEST_F(RecordWriteTest, CorrectedResultSupersedesAndReprocessAddsNothing) {
  const int64_t first =
      Resolve("TOWN", "L1", "ORU^R01", Oru("TOWN", "L1", "MR1", "张三", "F", "5.10"));
  const int64_t fix =
      Resolve("TOWN", "L2", "ORU^R01", Oru("TOWN", "L2", "MR1", "张三", "C", "6.20"));
  EXPECT_EQ(SourceOf(first), SourceOf(fix));  // the facility's own record
  auto now = LabsOfPerson(PersonOf(fix));
  ASSERT_EQ(now.size(), 2u);
  for (const auto& r : now) {
    EXPECT_EQ(r.version, 2);
    EXPECT_EQ(r.status, "corrected");
    EXPECT_EQ(r.message_id, fix);
  }
  EXPECT_EQ(LabsOfPerson(PersonOf(fix), true).size(), 4u);
  auto h = records_->LabResultHistory("TOWN|F1|GLU|1");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].value, "5.10");
  EXPECT_EQ((*h)[0].superseded_by, (*h)[1].id);
  EXPECT_EQ((*h)[1].value, "6.20");
  // The generated report entry has its new version too.
  auto docs = DocsOfSource(SourceOf(fix));
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].version, 2);

  // Reprocessed (resolved again): skipped, nothing doubled.
  ASSERT_TRUE(svc_->ResolveMessage(first).ok());
  ASSERT_TRUE(svc_->ResolveMessage(fix).ok());
  EXPECT_EQ(LabsOfPerson(PersonOf(fix), true).size(), 4u);
}

TEST_F(RecordWriteTest, AdtEncounterDiagnosisOutpatientRecordAndUpdate) {
  const int64_t a31 = Resolve("TOWN", "A1", "ADT^A31", Adt("A31", "A1", "", false));
  const int64_t src = SourceOf(a31);
  auto encs = records_->Encounters({src}, 10);
  ASSERT_TRUE(encs.ok());
  EXPECT_TRUE(encs->empty());  // nothing clinical
  EXPECT_TRUE(DocsOfSource(src).empty());

  const int64_t a04 = Resolve("TOWN", "A2", "ADT^A04", Adt("A04", "A2", "O", true));
  ASSERT_EQ(SourceOf(a04), src);
  encs = records_->Encounters({src}, 10);
  ASSERT_TRUE(encs.ok());
  ASSERT_EQ(encs->size(), 1u);
  EXPECT_EQ((*encs)[0].visit_number, "V77");
  EXPECT_EQ((*encs)[0].item_key, "TOWN|V77");
  EXPECT_EQ((*encs)[0].encounter_class, "AMB");
  EXPECT_EQ((*encs)[0].department, "内科门诊");
  EXPECT_EQ((*encs)[0].attending, "赵医生");
  EXPECT_EQ((*encs)[0].start_ms, ParseTimeMillis("2026-03-02T09:00:00+08:00"));
  auto dx = records_->Diagnoses({src}, 10);
  ASSERT_TRUE(dx.ok());
  ASSERT_EQ(dx->size(), 1u);
  EXPECT_EQ((*dx)[0].code, "I10");
  EXPECT_EQ((*dx)[0].std_code, "I10");
  EXPECT_EQ((*dx)[0].visit_number, "V77");
  auto docs = DocsOfSource(src);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].type_code, "C0002");
  EXPECT_EQ(docs[0].item_key, "TOWN|C0002|V77");

  // ADT^A08 of the same visit: the encounter's new version (ended).
  Resolve("TOWN", "A3", "ADT^A08", Adt("A08", "A3", "O", false));
  encs = records_->Encounters({src}, 10);
  ASSERT_TRUE(encs.ok());
  ASSERT_EQ(encs->size(), 1u);
  EXPECT_EQ((*encs)[0].version, 2);
  EXPECT_EQ((*encs)[0].status, "finished");
  EXPECT_EQ((*encs)[0].end_ms, ParseTimeMillis("2026-03-02T11:00:00+08:00"));

  // An inpatient admission records its encounter but no C0002.
  Resolve("TOWN", "A4", "ADT^A01", Adt("A01", "A4", "I", false));
  EXPECT_EQ(DocsOfSource(src).size(), 1u);
}

// A village clinic's ADT: no visit number (PV1-19), no visit start (PV1-44).
std::string VillageAdt(const std::string& trigger, const std::string& control,
                       const std::string& msh7, const std::string& evn,
                       const std::string& phone = "13907391234") {
  return "MSH|^~\\&|HIS|VILL|HIE|COUNTY|" + msh7 + "||ADT^" + trigger + "^ADT_A01|" + control +
         "|P|2.4\r" + "EVN|" + trigger + "|" + evn + "\r" +
         Seg("PID", {{1, "1"},
                     {3, "V123^^^VILL^MR"},
                     {5, "王秀英"},
                     {7, "19580312"},
                     {8, "F"},
                     {13, phone}}) +
         Seg("PV1", {{1, "1"}, {2, "O"}, {3, "全科门诊"}, {7, "D001^李医生"}});
}

TEST_F(RecordWriteTest, VisitWithoutVisitNumberIsOneEncounterPerPatientClassAndDay) {
  const int64_t a04 = Resolve("VILL", "V1", "ADT^A04",
                              VillageAdt("A04", "V1", "20261122083000", "20261122083000"));
  const int64_t src = SourceOf(a04);
  auto encs = records_->Encounters({src}, 10);
  ASSERT_TRUE(encs.ok());
  ASSERT_EQ(encs->size(), 1u);
  const std::string key = "VILL|src" + std::to_string(src) + "|AMB|2026-11-22";
  EXPECT_EQ((*encs)[0].item_key, key);
  EXPECT_EQ((*encs)[0].visit_number, "");
  // No PV1-44: the registration starts at its event time, and says so.
  EXPECT_EQ((*encs)[0].start_ms, ParseTimeMillis("2026-11-22T08:30:00+08:00"));
  const json res = json::parse((*encs)[0].resource);
  EXPECT_NE(res.dump().find("urn:hie:period-start-from-event-time"), std::string::npos);
  EXPECT_EQ(ParseTimeMillis(res["period"]["start"].get<std::string>()),
            ParseTimeMillis("2026-11-22T08:30:00+08:00"));

  // The A08 of that visit, later the same day, without PV1-44: the same
  // encounter's second version, which keeps the start.
  const int64_t a08 = Resolve("VILL", "V2", "ADT^A08",
                              VillageAdt("A08", "V2", "20261122110000", "20261122110000"));
  ASSERT_EQ(SourceOf(a08), src);
  encs = records_->Encounters({src}, 10);
  ASSERT_TRUE(encs.ok());
  ASSERT_EQ(encs->size(), 1u);
  EXPECT_EQ((*encs)[0].item_key, key);
  EXPECT_EQ((*encs)[0].version, 2);
  EXPECT_EQ((*encs)[0].message_id, a08);
  EXPECT_EQ((*encs)[0].start_ms, ParseTimeMillis("2026-11-22T08:30:00+08:00"));
  EXPECT_EQ(json::parse((*encs)[0].resource).dump().find("urn:hie:period-start-from-event-time"),
            std::string::npos);  // an update's start is not the event time

  // The next day (China time; 23:30 UTC of the 22nd is the 23rd in China) is
  // another visit; EVN-6 (event occurred) before EVN-2 and MSH-7.
  Resolve("VILL", "V3", "ADT^A04",
          VillageAdt("A04", "V3", "20261123100000+0800", "20261123100000||||20261122233000+0000"));
  encs = records_->Encounters({src}, 10);
  ASSERT_TRUE(encs.ok());
  ASSERT_EQ(encs->size(), 2u);
  EXPECT_EQ((*encs)[0].item_key, "VILL|src" + std::to_string(src) + "|AMB|2026-11-23");
  EXPECT_EQ((*encs)[0].start_ms, ParseTimeMillis("2026-11-22T23:30:00Z"));
  EXPECT_EQ((*encs)[0].version, 1);
}

TEST_F(RecordWriteTest, AnUpdateOfTheVisitSupersedesItsOutpatientRecord) {
  env_.Set(ParseTimeMillis("2026-12-02T08:00:00+08:00"));  // recorded days later
  const int64_t a04 = Resolve("VILL", "V1", "ADT^A04",
                              VillageAdt("A04", "V1", "20261122083000", "20261122083000"));
  const int64_t src = SourceOf(a04);
  auto docs = DocsOfSource(src);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].type_code, "C0002");
  EXPECT_EQ(docs[0].item_key, "VILL|C0002|src" + std::to_string(src) + "|AMB|2026-11-22");
  // Dated at the visit (its start, here the registration's event time), not
  // when the hub stored it.
  EXPECT_EQ(docs[0].effective_ms, ParseTimeMillis("2026-11-22T08:30:00+08:00"));
  const int64_t first = docs[0].id;

  // The A08 (a new phone number, no PV1-44): the document's next version.
  const int64_t a08 =
      Resolve("VILL", "V2", "ADT^A08",
              VillageAdt("A08", "V2", "20261122110000", "20261122110000", "13907395678"));
  docs = DocsOfSource(src);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].version, 2);
  EXPECT_EQ(docs[0].message_id, a08);
  EXPECT_EQ(docs[0].type_code, "C0002");
  EXPECT_EQ(docs[0].effective_ms, ParseTimeMillis("2026-11-22T08:30:00+08:00"));
  auto old = records_->GetDocument(first);
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_FALSE((*old)->current);
  EXPECT_EQ((*old)->superseded_by, docs[0].id);

  // Written as the outpatient record with the update's content (what
  // /documents/{id} renders from the row).
  auto full = records_->GetDocument(docs[0].id);
  ASSERT_TRUE(full.ok() && full->has_value());
  auto msg = canonical::FromJson(json::parse((*full)->canonical));
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  auto kind = CdaKindFor(*msg);
  ASSERT_TRUE(kind.ok()) << kind.status().ToString();
  EXPECT_EQ(*kind, cda::CdaDocumentKind::kOutpatientRecord);
  Renderer renderer(terminology_.get());
  auto xml = renderer.CdaFromCanonical(*msg, (*full)->effective_ms, (*full)->document_id);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  EXPECT_NE(xml->find("13907395678"), std::string::npos);
  EXPECT_EQ(xml->find("13907391234"), std::string::npos);
  EXPECT_NE(xml->find("C0002"), std::string::npos);

  // An A08 of an inpatient stay writes no outpatient record.
  std::string inpatient = VillageAdt("A08", "V4", "20261124110000", "20261124110000");
  inpatient.replace(inpatient.find("PV1|1|O|"), 8, "PV1|1|I|");
  Resolve("VILL", "V4", "ADT^A08", inpatient);
  EXPECT_EQ(DocsOfSource(src).size(), 1u);
}

std::string CdaVersion(const std::string& doc_ext, int version, const std::string& glucose) {
  std::ifstream in(fs::path(HIE_SOURCE_DIR) / "tests/golden/cda/lab-report.glucose.cda.xml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string xml = ss.str();
  const std::string id = "<id root=\"2.16.156.10011.1.1\" extension=\"JY-DOC-0001\"/>";
  const size_t at = xml.find(id);
  EXPECT_NE(at, std::string::npos);
  xml.replace(at, id.size(),
              "<id root=\"2.16.156.10011.1.1\" extension=\"" + doc_ext +
                  "\"/><setId root=\"2.16.156.10011.1.1\" extension=\"JY-SET\"/><versionNumber "
                  "value=\"" +
                  std::to_string(version) + "\"/>");
  const size_t v = xml.find("value=\"7.80\"");
  EXPECT_NE(v, std::string::npos);
  xml.replace(v, 12, "value=\"" + glucose + "\"");
  return xml;
}

TEST_F(RecordWriteTest, ReceivedCdaIsKeptAsReceivedAndANewVersionSupersedes) {
  const std::string v1 = CdaVersion("JY-DOC-0001", 1, "7.80");
  const std::string resp = R"({"format":"cda","message_type":"ORU^R01","document_type":"C0007"})";
  const int64_t id1 = Resolve("qingshan-wsy", "cda:1", "ORU^R01", v1, "application/xml", resp);
  const int64_t src = SourceOf(id1);
  auto docs = DocsOfSource(src);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].type_code, "C0007");
  EXPECT_EQ(docs[0].title, "检验报告");
  EXPECT_EQ(docs[0].document_id, "JY-DOC-0001");
  EXPECT_EQ(docs[0].item_key, "qingshan-wsy|2.16.156.10011.1.1^JY-SET");
  auto full = records_->GetDocument(docs[0].id);
  ASSERT_TRUE(full.ok() && full->has_value());
  EXPECT_EQ((*full)->content, v1);
  EXPECT_FALSE((*full)->canonical.empty());
  auto labs = LabsOfPerson(PersonOf(id1));
  ASSERT_EQ(labs.size(), 4u);
  for (const auto& r : labs) EXPECT_EQ(r.report_id, "JY20240315001");

  const std::string v2 = CdaVersion("JY-DOC-0002", 2, "8.10");
  const int64_t id2 = Resolve("qingshan-wsy", "cda:2", "ORU^R01", v2, "application/xml", resp);
  ASSERT_EQ(SourceOf(id2), src);
  docs = DocsOfSource(src);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].version, 2);
  EXPECT_EQ(docs[0].document_id, "JY-DOC-0002");
  labs = LabsOfPerson(PersonOf(id2));
  ASSERT_EQ(labs.size(), 4u);
  bool glucose = false;
  for (const auto& r : labs) {
    EXPECT_EQ(r.version, 2);
    if (r.code == "GLU") {
      glucose = true;
      EXPECT_EQ(r.value, "8.10");
      EXPECT_EQ(r.std_code, "14749-6");  // LOINC in the document
      EXPECT_EQ(r.std_unit, "mmol/L");   // UCUM through the terminology
    }
  }
  EXPECT_TRUE(glucose);

  // Version 1 again, arriving after version 2 (a late resend): kept as
  // history, version 2 stays current (document and results).
  const int64_t late =
      Resolve("qingshan-wsy", "cda:late", "ORU^R01", v1, "application/xml", resp);
  ASSERT_EQ(SourceOf(late), src);
  docs = DocsOfSource(src);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].document_id, "JY-DOC-0002");
  EXPECT_EQ(docs[0].source_version, 2);
  labs = LabsOfPerson(PersonOf(id2));
  ASSERT_EQ(labs.size(), 4u);
  for (const auto& r : labs) {
    EXPECT_EQ(r.message_id, id2);
    if (r.code == "GLU") EXPECT_EQ(r.value, "8.10");
  }
  EXPECT_EQ(LabsOfPerson(PersonOf(id2), /*history=*/true).size(), 12u);

  // A document of another kind (MDM^T02) is resolved and recorded as well.
  std::string other = CdaVersion("JY-DOC-0009", 1, "7.80");
  const std::string set = "extension=\"JY-SET\"";
  other.replace(other.find(set), set.size(), "extension=\"OTHER-SET\"");
  const int64_t id3 =
      Resolve("qingshan-wsy", "cda:3", "MDM^T02", other, "application/xml",
              R"({"format":"cda","message_type":"MDM^T02","document_type":"C0099"})");
  EXPECT_EQ(SourceOf(id3), src);
  docs = DocsOfSource(src);
  ASSERT_EQ(docs.size(), 2u);
}

TEST_F(RecordWriteTest, FhirBundleRecordsItsReportAndAGeneratedLabReport) {
  const std::string bundle = R"({
  "resourceType": "Bundle", "id": "b-77", "type": "message", "timestamp": "2024-03-08T15:30:00+08:00",
  "entry": [
    {"fullUrl": "urn:uuid:mh", "resource": {"resourceType": "MessageHeader", "id": "MSG-001",
      "eventCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0003", "code": "R01"},
      "sender": {"identifier": {"value": "TOWN"}}, "source": {"endpoint": "http://lis.example"}}},
    {"fullUrl": "urn:uuid:0b9e", "resource": {"resourceType": "Observation", "id": "glu",
      "status": "preliminary", "effectiveDateTime": "2024-03-08T10:00:00+08:00",
      "code": {"coding": [{"system": "urn:hie:local:TOWN", "code": "GLU", "display": "葡萄糖"}]},
      "subject": {"reference": "urn:uuid:pat-1"},
      "valueQuantity": {"value": 6.2, "unit": "mmol/L"},
      "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0078", "code": "H"}]}]}},
    {"fullUrl": "urn:uuid:pat-1", "resource": {"resourceType": "Patient", "id": "abc",
      "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                      "system": "http://hospital.example/mrn", "value": "M-9"}],
      "name": [{"text": "赵六"}], "gender": "male", "birthDate": "1980-01-02"}},
    {"fullUrl": "urn:uuid:dr9", "resource": {"resourceType": "DiagnosticReport",
      "id": "dr9", "status": "preliminary", "code": {"text": "血糖"},
      "identifier": [{"system": "urn:lis", "value": "REP-9"}],
      "subject": {"reference": "urn:uuid:pat-1"}, "result": [{"reference": "urn:uuid:0b9e"}]}}
  ]})";
  const int64_t id =
      Resolve("TOWN", "fhir:Bundle:b-77", "ORU^R01", bundle, "application/fhir+json");
  auto labs = LabsOfPerson(PersonOf(id));
  ASSERT_EQ(labs.size(), 1u);
  const LabResultRow& r = labs[0];
  EXPECT_EQ(r.code, "GLU");
  EXPECT_EQ(r.code_system, "local:TOWN");
  EXPECT_EQ(r.std_code, "2345-7");  // the local map
  EXPECT_EQ(r.status, "preliminary");
  EXPECT_EQ(r.value, "6.2");
  EXPECT_EQ(r.unit, "mmol/L");
  EXPECT_EQ(r.std_unit, "mmol/L");  // a unit with no OBX-6 form, through the terminology
  EXPECT_EQ(r.abnormal_flag, "H");
  EXPECT_EQ(r.report_id, "REP-9");
  EXPECT_EQ(r.performing_facility, "TOWN");
  EXPECT_EQ(r.effective_ms, ParseTimeMillis("2024-03-08T10:00:00+08:00"));
  auto docs = DocsOfSource(SourceOf(id));
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].type_code, "C0007");
  EXPECT_EQ(docs[0].item_key, "TOWN|C0007|REP-9");
}

TEST_F(RecordWriteTest, MergeAndUnmergeMoveTheResults) {
  // Two facilities, two different names: two persons.
  const int64_t a = Resolve("TOWN", "L1", "ORU^R01", Oru("TOWN", "L1", "MR1", "张三", "F", "5.10"));
  const int64_t b = Resolve("VILL", "L9", "ORU^R01", Oru("VILL", "L9", "V5", "王五", "F", "4.80"));
  const int64_t pa = PersonOf(a), pb = PersonOf(b);
  ASSERT_NE(pa, pb);
  ASSERT_EQ(LabsOfPerson(pa).size(), 2u);
  ASSERT_EQ(LabsOfPerson(pb).size(), 2u);
  // The village's glucose is mapped by its own local map.
  for (const auto& r : LabsOfPerson(pb)) {
    if (r.code == "GLU") EXPECT_EQ(r.std_code, "2345-7");
  }

  auto merged = svc_->Merge(pa, pb, "api:test");
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  auto both = LabsOfPerson(pa);
  ASSERT_EQ(both.size(), 4u);
  std::set<std::string> facilities;
  for (const auto& r : both) facilities.insert(r.facility_id);
  EXPECT_EQ(facilities, (std::set<std::string>{"TOWN", "VILL"}));
  EXPECT_TRUE(LabsOfPerson(pb).empty());

  auto undone = svc_->Unmerge((*merged)["merge_id"].get<int64_t>(), "api:test");
  ASSERT_TRUE(undone.ok()) << undone.status().ToString();
  auto back_a = LabsOfPerson(pa), back_b = LabsOfPerson(pb);
  ASSERT_EQ(back_a.size(), 2u);
  ASSERT_EQ(back_b.size(), 2u);
  for (const auto& r : back_b) EXPECT_EQ(r.facility_id, "VILL");
}

TEST_F(RecordWriteTest, RecoveryRecordsAMessageOnce) {
  // Committed but never resolved (a crash between commit and resolution):
  // the start-up scan resolves it, once, and a second start adds nothing.
  const int64_t id = Commit("TOWN", "L1", "ORU^R01", Oru("TOWN", "L1", "MR1", "张三", "F", "5.10"));
  for (int round = 0; round < 2; ++round) {
    OpenService();
    svc_->Start();
    for (int i = 0; i < 500 && !empi_read_->SourceOfMessage(id)->has_value(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (int i = 0; i < 500 && svc_->pending() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    svc_->Stop();
    ASSERT_TRUE(empi_read_->SourceOfMessage(id)->has_value());
    EXPECT_EQ(LabsOfPerson(PersonOf(id), true).size(), 2u) << "round " << round;
  }
}

TEST_F(RecordWriteTest, RecordOffWritesNoRows) {
  config_.empi.record = false;
  OpenService();
  const int64_t id =
      Resolve("TOWN", "L1", "ORU^R01", Oru("TOWN", "L1", "MR1", "张三", "F", "5.10"));
  EXPECT_NE(PersonOf(id), 0);
  EXPECT_TRUE(LabsOfPerson(PersonOf(id), true).empty());
}

}  // namespace
}  // namespace hie
