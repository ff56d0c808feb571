// Hostile and malformed XML is refused quickly with a clear error, and
// nothing is printed on stderr.
#include "mappings/cda/xml_safe.h"

#include <gtest/gtest.h>

#include <chrono>

#include "mappings/cda/cda_reader.h"

namespace hie::cda {
namespace {

class Timer {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

Status ParseStatus(const std::string& xml, XmlLimits limits = {}) {
  ::testing::internal::CaptureStderr();
  auto r = ParseXmlSafely(xml, limits);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "") << "libxml2 wrote to stderr";
  return r.status();
}

TEST(XmlSafe, ParsesPlainDocument) {
  auto r = ParseXmlSafely(
      "<ClinicalDocument xmlns='urn:hl7-org:v3'><id root='1.2'/></ClinicalDocument>", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const xmlNode* root = xmlDocGetRootElement(r->get());
  EXPECT_TRUE(IsHl7(root, "ClinicalDocument"));
  EXPECT_EQ(Attr(Child(root, "id"), "root"), "1.2");
  EXPECT_EQ(XPathOf(Child(root, "id")), "/ClinicalDocument/id");
}

TEST(XmlSafe, RefusesExternalEntity) {
  Timer t;
  Status st = ParseStatus(
      "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
      "<d>&x;</d>");
  EXPECT_EQ(st.code(), ErrorCode::kParseError);
  EXPECT_NE(st.message().find("DOCTYPE"), std::string::npos) << st.message();
  EXPECT_LT(t.Seconds(), 1.0);
}

TEST(XmlSafe, RefusesExternalDtdAndNetwork) {
  Status st = ParseStatus("<!DOCTYPE d SYSTEM 'http://example.invalid/x.dtd'><d/>");
  EXPECT_EQ(st.code(), ErrorCode::kParseError);
}

TEST(XmlSafe, RefusesBillionLaughs) {
  std::string xml = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>";
  for (int i = 1; i < 10; ++i) {
    xml += "<!ENTITY lol" + std::to_string(i) + " '";
    for (int j = 0; j < 10; ++j)
      xml += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    xml += "'>";
  }
  xml += "]><lolz>&lol9;</lolz>";
  Timer t;
  Status st = ParseStatus(xml);
  EXPECT_EQ(st.code(), ErrorCode::kParseError);
  EXPECT_LT(t.Seconds(), 1.0);
}

TEST(XmlSafe, RefusesUndeclaredEntity) {
  EXPECT_EQ(ParseStatus("<d>&undeclared;</d>").code(), ErrorCode::kParseError);
}

TEST(XmlSafe, RefusesDeepNesting) {
  std::string xml;
  for (int i = 0; i < 100000; ++i) xml += "<a>";
  for (int i = 0; i < 100000; ++i) xml += "</a>";
  Timer t;
  Status st = ParseStatus(xml);
  EXPECT_EQ(st.code(), ErrorCode::kParseError);
  EXPECT_NE(st.message().find("nesting"), std::string::npos) << st.message();
  EXPECT_LT(t.Seconds(), 1.0);
}

TEST(XmlSafe, RefusesHundredMegabyteTextNode) {
  std::string xml = "<ClinicalDocument xmlns='urn:hl7-org:v3'><title>";
  xml.append(100u * 1024 * 1024, 'x');
  xml += "</title></ClinicalDocument>";
  Timer t;
  EXPECT_EQ(ParseStatus(xml).code(), ErrorCode::kTooLarge);
  // With the document cap lifted, the text-node cap holds.
  XmlLimits generous;
  generous.max_bytes = 200u * 1024 * 1024;
  Status st = ParseStatus(xml, generous);
  EXPECT_EQ(st.code(), ErrorCode::kParseError) << st.ToString();
  EXPECT_NE(st.message().find("text node"), std::string::npos);
  EXPECT_LT(t.Seconds(), 5.0);
}

TEST(XmlSafe, RefusesTruncatedDocument) {
  Status st = ParseStatus("<ClinicalDocument xmlns='urn:hl7-org:v3'><recordTarget><patientRole>");
  EXPECT_EQ(st.code(), ErrorCode::kParseError);
  EXPECT_NE(st.message().find("not well-formed"), std::string::npos);
  EXPECT_EQ(st.where(), "line 1");
  EXPECT_EQ(ParseStatus("").code(), ErrorCode::kParseError);
}

TEST(XmlSafe, ReadCdaRefusesHostileInputs) {
  CdaOptions opt;
  auto r =
      ReadCda("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><ClinicalDocument/>", opt);
  EXPECT_EQ(r.status().code(), ErrorCode::kParseError);
}

}  // namespace
}  // namespace hie::cda
