// The record endpoints' one rule that an integration test cannot provoke:
// when the access event cannot be written the read answers 503 and no data
// (engine/rest_record.h). A real SQLite store and EMPI service; the record
// store is wrapped so AppendAccess can be made to fail.
#include "engine/rest_record.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "core/env.h"
#include "core/metrics.h"
#include "store/open.h"

namespace hie {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FlakyAccess final : public RecordStore {
 public:
  explicit FlakyAccess(std::unique_ptr<RecordStore> inner) : in_(std::move(inner)) {}
  Result<std::vector<LabResultRow>> LabResults(const LabResultFilter& f) override {
    return in_->LabResults(f);
  }
  Result<std::vector<LabResultRow>> LabResultHistory(const std::string& k) override {
    return in_->LabResultHistory(k);
  }
  Result<std::vector<EncounterRow>> Encounters(const std::vector<int64_t>& s, int n) override {
    return in_->Encounters(s, n);
  }
  Result<std::vector<DiagnosisRow>> Diagnoses(const std::vector<int64_t>& s, int n) override {
    return in_->Diagnoses(s, n);
  }
  Result<std::vector<DocumentRow>> Documents(const std::vector<int64_t>& s, int n) override {
    return in_->Documents(s, n);
  }
  Result<std::optional<DocumentRow>> GetDocument(int64_t id) override {
    return in_->GetDocument(id);
  }
  Status AppendAccess(const std::vector<AccessEventRow>& e) override {
    if (fail) return Status(ErrorCode::kStoreError, "磁盘已满 (disk full)");
    return in_->AppendAccess(e);
  }
  Result<std::vector<AccessEventRow>> AccessOfPerson(int64_t p, int n) override {
    return in_->AccessOfPerson(p, n);
  }
  void Close() override { in_->Close(); }
  std::atomic<bool> fail{false};

 private:
  std::unique_ptr<RecordStore> in_;
};

class RestRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hie-rest-record-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    uri_ = "sqlite:" + (dir_ / "hub.db").string();
    FacilityConfig f;
    f.id = f.name = "XQRMYY";
    config_.facilities.push_back(f);
    StoreOptions o;
    o.durable_full = false;
    auto s = OpenStore(uri_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auto svc = OpenEmpiService(config_, uri_, *store_, env_, metrics_);
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    empi_ = std::move(svc).value();
    auto r = OpenRecordStore(uri_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    records_ = std::make_unique<FlakyAccess>(std::move(r).value());
    access_ = std::make_unique<AccessLog>(*records_, env_, metrics_);
    access_->Start();
    catalogue_ = std::make_unique<RecognitionCatalogue>(RecognitionConfig{});
    deps_ = {&config_,         empi_.get(), records_.get(), access_.get(),
             catalogue_.get(), &renderer_,  &env_};
    // One person with one ORU (a lab result and a generated C0007 entry).
    NewMessage m;
    m.facility_id = "XQRMYY";
    m.dedupe_key = m.control_id = "C1";
    m.message_type = "ORU^R01";
    m.content_type = "application/hl7-v2";
    m.source = "mllp";
    m.charset = "UTF-8";
    m.patient_key = "k";
    m.raw =
        "MSH|^~\\&|LIS|XQRMYY|HIE|C|20261201100000||ORU^R01^ORU_R01|C1|P|2.5\r"
        "PID|1||C1^^^XQRMYY^MR||张三||19900101|M\r"
        "OBR|1|R1|R1|CBC^血常规^L|||20261201090000|||||||||||||||20261201100000||HM|F\r"
        "OBX|1|NM|HGB^血红蛋白^L^718-7^血红蛋白^LN||135|g/L|130-175|N|||F\r";
    m.received_at_ms = env_.NowMillis();
    m.status = MessageStatus::kFiltered;
    int64_t id = 0;
    ASSERT_TRUE(store_
                    ->WriteSync([&](WriteTxn& t) -> Status {
                      HIE_ASSIGN_OR_RETURN(id, t.InsertMessage(m));
                      return Status::Ok();
                    })
                    .ok());
    ASSERT_TRUE(empi_->ResolveMessage(id).ok());
  }
  void TearDown() override {
    if (access_) access_->Stop();
    if (empi_) empi_->Stop();
    empi_.reset();
    if (records_) records_->Close();
    if (store_) store_->Close();
    fs::remove_all(dir_);
  }

  HttpResponse Get(const std::string& path, std::vector<std::string_view> parts,
                   std::vector<std::pair<std::string, std::string>> query = {}) {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(query);
    req.headers = {{"X-User", "doctor-li"}, {"X-Facility-Id", "CWS001"}};
    auto p = std::make_shared<std::promise<HttpResponse>>();
    auto f = p->get_future();
    EXPECT_TRUE(HandleRecordRequest(deps_, req, parts,
                                    [p](HttpResponse r) { p->set_value(std::move(r)); }));
    return f.get();
  }

  fs::path dir_;
  std::string uri_;
  Config config_;
  FakeEnv env_{1'764'554'400'000};  // 2025-12-01
  MetricsRegistry metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EmpiService> empi_;
  std::unique_ptr<FlakyAccess> records_;
  std::unique_ptr<AccessLog> access_;
  std::unique_ptr<RecognitionCatalogue> catalogue_;
  Renderer renderer_;
  RecordDeps deps_;
};

TEST_F(RestRecordTest, ReadsAnswerOnlyAfterTheirAccessEvent) {
  HttpResponse r = Get("/api/v1/patients/E1/lab-results", {"patients", "E1", "lab-results"});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  ASSERT_EQ(j["lab_results"].size(), 1u);
  EXPECT_EQ(j["lab_results"][0]["standard_code"]["code"], "718-7");
  auto ev = records_->AccessOfPerson(1, 10);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].what, "lab-results");
  EXPECT_EQ((*ev)[0].actor, "doctor-li");
  EXPECT_EQ((*ev)[0].facility_id, "CWS001");
  EXPECT_EQ((*ev)[0].at_ms, 1'764'554'400'000);
}

TEST_F(RestRecordTest, NoAccessEventNoData) {
  records_->fail = true;
  struct Read {
    std::string path;
    std::vector<std::string_view> parts;
    std::vector<std::pair<std::string, std::string>> query;
  };
  const std::vector<Read> reads = {
      {"/api/v1/patients/E1", {"patients", "E1"}, {}},
      {"/api/v1/patients/E1/lab-results", {"patients", "E1", "lab-results"}, {}},
      {"/api/v1/patients/E1/documents", {"patients", "E1", "documents"}, {}},
      {"/api/v1/patients/E1/summary", {"patients", "E1", "summary"}, {}},
      {"/api/v1/patients/E1/access", {"patients", "E1", "access"}, {}},
      {"/api/v1/documents/1", {"documents", "1"}, {}},
      {"/api/v1/patients", {"patients"}, {{"identifier", "XQRMYY|C1"}}},
  };
  for (const auto& rd : reads) {
    HttpResponse r = Get(rd.path, rd.parts, rd.query);
    EXPECT_EQ(r.status, 503) << rd.path << " " << r.body;
    EXPECT_NE(r.body.find("access event could not be written"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("张三"), std::string::npos) << rd.path;   // no golden record
    EXPECT_EQ(r.body.find("718-7"), std::string::npos) << rd.path;  // no result
  }
  records_->fail = false;
  EXPECT_EQ(Get("/api/v1/documents/1", {"documents", "1"}).status, 200);
  auto ev = records_->AccessOfPerson(1, 100);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->size(), 1u);  // only the read that was answered
}

TEST_F(RestRecordTest, UnknownPersonAnswers404WithoutAnEvent) {
  EXPECT_EQ(Get("/api/v1/patients/E77/lab-results", {"patients", "E77", "lab-results"}).status,
            404);
  EXPECT_EQ(Get("/api/v1/patients/X/summary", {"patients", "X", "summary"}).status, 400);
  EXPECT_EQ(Get("/api/v1/documents/99", {"documents", "99"}).status, 404);
  auto ev = records_->AccessOfPerson(77, 10);
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->empty());
}

}  // namespace
}  // namespace hie
