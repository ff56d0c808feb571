// ReadDocumentInput: CDA and FHIR documents summarized for intake (message
// type, document type, dedupe key, control id, patient key), hostile and
// broken input refused with the XPath / JSON pointer.
#include "engine/document_input.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hie {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = HIE_SOURCE_DIR;
const fs::path kCorpus = HIE_CORPUS_DIR;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Golden(const std::string& name) { return ReadFile(kSource / "tests/golden" / name); }

TEST(DocumentFormatOfTest, MediaTypes) {
  EXPECT_EQ(DocumentFormatOf("application/xml"), DocumentFormat::kCda);
  EXPECT_EQ(DocumentFormatOf("text/xml; charset=utf-8"), DocumentFormat::kCda);
  EXPECT_EQ(DocumentFormatOf("Application/XML"), DocumentFormat::kCda);
  EXPECT_EQ(DocumentFormatOf("application/cda+xml"), DocumentFormat::kCda);
  EXPECT_EQ(DocumentFormatOf("application/fhir+json;fhirVersion=4.0"), DocumentFormat::kFhir);
  EXPECT_EQ(DocumentFormatOf("application/json"), DocumentFormat::kFhir);
  EXPECT_EQ(DocumentFormatOf("application/hl7-v2"), DocumentFormat::kNone);
  EXPECT_EQ(DocumentFormatOf(""), DocumentFormat::kNone);
  EXPECT_EQ(DocumentFormatOf("image/png"), DocumentFormat::kNone);
}

TEST(MessageTypeForDocumentCodeTest, Table) {
  EXPECT_EQ(MessageTypeForDocumentCode("C0007"), "ORU^R01");
  EXPECT_EQ(MessageTypeForDocumentCode("C0006"), "ORU^R01");
  EXPECT_EQ(MessageTypeForDocumentCode("C0002"), "ADT^A04");
  EXPECT_EQ(MessageTypeForDocumentCode("B0001"), "ADT^A04");
  EXPECT_EQ(MessageTypeForDocumentCode("B0012"), "ADT^A04");
  EXPECT_EQ(MessageTypeForDocumentCode("C0034"), "");
  EXPECT_EQ(MessageTypeForDocumentCode("34133-9"), "");
  EXPECT_EQ(MessageTypeForDocumentCode("BX001"), "");
}

TEST(ReadDocumentInputTest, CdaLabReport) {
  auto s = ReadDocumentInput(DocumentFormat::kCda, Golden("cda/lab-report.glucose.cda.xml"), "F1");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->message_type, "ORU^R01");
  EXPECT_EQ(s->document_type, "C0007");
  EXPECT_EQ(s->content_key, "cda:2.16.156.10011.1.1^JY-DOC-0001");
  EXPECT_EQ(s->control_id, "JY-DOC-0001");
  EXPECT_EQ(s->facility, "F1");
  EXPECT_EQ(s->charset, "UTF-8");
  // The record number (MR) wins over the ID card, as for PID-3.
  EXPECT_EQ(s->patient_key, "MR:F1:MZ20240315-007");
}

TEST(ReadDocumentInputTest, CdaOutpatientAndHealthRecord) {
  auto op =
      ReadDocumentInput(DocumentFormat::kCda, Golden("cda/outpatient-record.fever.cda.xml"), "F1");
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  EXPECT_EQ(op->document_type, "C0002");
  EXPECT_EQ(op->message_type, "ADT^A04");
  auto hr = ReadDocumentInput(DocumentFormat::kCda, Golden("cda/health-record-basic.li-si.cda.xml"),
                              "F1");
  ASSERT_TRUE(hr.ok()) << hr.status().ToString();
  EXPECT_EQ(hr->document_type, "B0001");
  EXPECT_EQ(hr->message_type, "ADT^A04");
  EXPECT_FALSE(hr->patient_key.empty());
  EXPECT_NE(hr->content_key, op->content_key);
}

TEST(ReadDocumentInputTest, CCdaKeepsItsLoincCodeAndId) {
  auto s =
      ReadDocumentInput(DocumentFormat::kCda,
                        ReadFile(kCorpus / "cda/hl7-c-cda-examples/Documents/CCD_1_CCD.XML"), "F1");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->document_type, "34133-9");
  EXPECT_EQ(s->content_key, "cda:2.16.840.1.113883.19.5.99999.1^TT988");
  EXPECT_TRUE(s->message_type == "ORU^R01" || s->message_type == "MDM^T02") << s->message_type;
}

TEST(ReadDocumentInputTest, CdaDeclaredEncodingKept) {
  std::string xml = Golden("cda/lab-report.glucose.cda.xml");
  ASSERT_TRUE(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
  xml.replace(0, xml.find("?>") + 2, "<?xml version=\"1.0\" encoding='utf-8'?>");
  auto s = ReadDocumentInput(DocumentFormat::kCda, xml, "F1");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->charset, "utf-8");
}

TEST(ReadDocumentInputTest, CdaWithoutIdRefusedWithXPath) {
  std::string xml = Golden("cda/lab-report.glucose.cda.xml");
  const std::string id = "<id root=\"2.16.156.10011.1.1\" extension=\"JY-DOC-0001\"/>";
  size_t p = xml.find(id);
  ASSERT_NE(p, std::string::npos);
  xml.erase(p, id.size());
  auto s = ReadDocumentInput(DocumentFormat::kCda, xml, "F1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kRequiredMissing);
  EXPECT_EQ(s.status().where(), "/ClinicalDocument/id");
}

TEST(ReadDocumentInputTest, CdaHostileAndBroken) {
  const std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>&x;</title></ClinicalDocument>";
  auto a = ReadDocumentInput(DocumentFormat::kCda, xxe, "F1");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(a.status().message().find("root:"), std::string::npos);  // no file content

  std::string deep = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">";
  for (int i = 0; i < 500; ++i) deep += "<a>";
  auto b = ReadDocumentInput(DocumentFormat::kCda, deep, "F1");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kParseError);

  std::string cut = Golden("cda/lab-report.glucose.cda.xml");
  cut.resize(cut.size() / 2);
  auto c = ReadDocumentInput(DocumentFormat::kCda, cut, "F1");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kParseError);
  EXPECT_FALSE(c.status().where().empty());

  auto d = ReadDocumentInput(DocumentFormat::kCda, "<html/>", "F1");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().where(), "/html");
}

TEST(ReadDocumentInputTest, FhirBundleWithIdentifier) {
  auto s = ReadDocumentInput(DocumentFormat::kFhir, Golden("v2/oru_r01.fhir.json"), "");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->message_type, "ORU^R01");
  EXPECT_EQ(s->facility, "XQRMYY");  // from Bundle.identifier.system urn:hie:local:XQRMYY
  EXPECT_EQ(s->facility_where, "/identifier/system");
  EXPECT_EQ(s->content_key, "fhir:Bundle:urn:hie:local:XQRMYY|LAB20240308001");
  EXPECT_EQ(s->control_id, "LAB20240308001");
  EXPECT_TRUE(s->patient_key.starts_with("MR:XQRMYY:")) << s->patient_key;
}

TEST(ReadDocumentInputTest, FhirSingleResourceKeys) {
  const std::string versioned =
      R"({"resourceType":"Patient","id":"123","meta":{"versionId":"2"},)"
      R"("identifier":[{"system":"urn:oid:2.16.156.10011.1.3","value":"110101199003071234"}]})";
  auto a = ReadDocumentInput(DocumentFormat::kFhir, versioned, "F1");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->content_key, "fhir:Patient/123/_history/2");
  EXPECT_EQ(a->control_id, "Patient/123");
  EXPECT_EQ(a->patient_key, "NI:110101199003071234");
  EXPECT_EQ(a->message_type, "ADT^A04");

  // Without a version the id alone would drop an update: the body's hash.
  const std::string bare =
      R"({"resourceType":"Patient","id":"123","name":[{"text":"张三"}],)"
      R"("identifier":[{"system":"urn:oid:2.16.156.10011.1.3","value":"110101199003071234"}]})";
  auto b = ReadDocumentInput(DocumentFormat::kFhir, bare, "F1");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->content_key.starts_with("fhir:sha256:")) << b->content_key;
  EXPECT_EQ(b->content_key.size(), std::string("fhir:sha256:").size() + 64);
  auto b2 = ReadDocumentInput(DocumentFormat::kFhir, bare, "F1");
  EXPECT_EQ(b2->content_key, b->content_key);
  std::string changed = bare;
  changed.replace(changed.find("张三"), std::string("张三").size(), "李四");
  auto c = ReadDocumentInput(DocumentFormat::kFhir, changed, "F1");
  EXPECT_NE(c->content_key, b->content_key);

  auto obs =
      ReadDocumentInput(DocumentFormat::kFhir,
                        R"({"resourceType":"Observation","status":"final","code":{"text":"GLU"},)"
                        R"("valueQuantity":{"value":5.10,"unit":"mmol/L"}})",
                        "F1");
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  EXPECT_EQ(obs->message_type, "ORU^R01");
  EXPECT_EQ(obs->patient_key, "");
}

TEST(ReadDocumentInputTest, FhirDocumentReferenceType) {
  const std::string j =
      R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":)"
      R"({"resourceType":"DocumentReference","status":"current","type":{"coding":)"
      R"([{"system":"urn:oid:2.16.156.10011.2.4","code":"C0007"}]}}}]})";
  auto s = ReadDocumentInput(DocumentFormat::kFhir, j, "F1");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->document_type, "C0007");
  EXPECT_TRUE(s->content_key.starts_with("fhir:sha256:"));
}

TEST(ReadDocumentInputTest, FhirErrorsNameTheJsonPointer) {
  auto a =
      ReadDocumentInput(DocumentFormat::kFhir,
                        R"({"resourceType":"Bundle","type":"transaction","entry":[{}]})", "F1");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().where(), "/entry/0/resource");
  auto b = ReadDocumentInput(DocumentFormat::kFhir,
                             R"({"resourceType":"Bundle","type":"searchset"})", "F1");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().where(), "/type");
  auto c = ReadDocumentInput(DocumentFormat::kFhir, R"({"resourceType":"Patient","id":)", "F1");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kParseError);
  std::string deep(10000, '[');
  auto d = ReadDocumentInput(DocumentFormat::kFhir, deep, "F1");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::kParseError);
}

TEST(DocumentTypeOfRecordTest, FromTheResponseRecord) {
  MessageRecord m;
  m.content_type = "application/xml";
  m.response = R"({"format":"cda","message_type":"ORU^R01","document_type":"C0007"})";
  EXPECT_EQ(DocumentTypeOfRecord(m), "C0007");
  m.content_type = "application/hl7-v2";
  EXPECT_EQ(DocumentTypeOfRecord(m), "");
  m.content_type = "application/fhir+json";
  m.response = "not json";
  EXPECT_EQ(DocumentTypeOfRecord(m), "");
}

}  // namespace
}  // namespace hie
