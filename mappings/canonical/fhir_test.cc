// Tests of the FHIR R4 JSON codec: Bundles of each type, id/reference
// normalisation, system URIs, errors with JSON pointers, hostile JSON.
#include "mappings/canonical/fhir.h"

#include <gtest/gtest.h>

#include <chrono>

#include "mappings/canonical/canonical_to_v2.h"
#include "mappings/canonical/v2_to_canonical.h"

namespace hie::canonical {
namespace {

using nlohmann::json;

const char* kMessageBundle = R"({
  "resourceType": "Bundle", "id": "b-77", "type": "message", "timestamp": "2024-03-08T15:30:00+08:00",
  "entry": [
    {"fullUrl": "urn:uuid:mh", "resource": {"resourceType": "MessageHeader", "id": "MSG-001",
      "eventCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0003", "code": "R01"},
      "sender": {"identifier": {"value": "WSY01"}}, "source": {"endpoint": "http://lis.example"}}},
    {"fullUrl": "urn:uuid:0b9e", "resource": {"resourceType": "Observation", "id": "glu",
      "status": "final",
      "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"},
                          {"system": "urn:hie:local:WSY01", "code": "GLU"}]},
      "subject": {"reference": "urn:uuid:pat-1"},
      "valueQuantity": {"value": 6.2, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
      "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0078", "code": "H"}]}]}},
    {"fullUrl": "urn:uuid:pat-1", "resource": {"resourceType": "Patient", "id": "abc",
      "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "110101199003077777"},
                     {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                      "system": "http://hospital.example/mrn", "value": "M-9"}],
      "name": [{"text": "赵六"}], "gender": "male", "birthDate": "1980-01-02"}},
    {"fullUrl": "http://lis.example/fhir/DiagnosticReport/dr9", "resource": {"resourceType": "DiagnosticReport",
      "id": "dr9", "status": "final", "code": {"text": "血糖"},
      "subject": {"reference": "Patient/abc"}, "result": [{"reference": "urn:uuid:0b9e"}]}}
  ]})";

TEST(FhirRead, MessageBundleNormalisesIdsReferencesAndSystems) {
  auto m = ReadFhir(kMessageBundle, "HEADER-FACILITY");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->facility, "WSY01");  // MessageHeader.sender
  EXPECT_EQ(m->control_id, "MSG-001");
  EXPECT_EQ(m->message_type, "ORU^R01");
  const json& e = m->bundle["entry"];
  ASSERT_EQ(e.size(), 3u);  // MessageHeader dropped
  EXPECT_EQ(m->bundle["type"], "collection");
  EXPECT_EQ(m->bundle["timestamp"], "2024-03-08T15:30:00+08:00");
  const json& obs = e[0]["resource"];
  EXPECT_EQ(obs["id"], "o1");
  EXPECT_EQ(obs["subject"]["reference"], "Patient/p1");
  EXPECT_EQ(obs["code"]["coding"][0]["system"], "LOINC");
  EXPECT_EQ(obs["code"]["coding"][1]["system"], "local:WSY01");
  EXPECT_EQ(obs["interpretation"][0]["coding"][0]["system"], "HL7 0078");
  const json& pat = e[1]["resource"];
  EXPECT_EQ(pat["id"], "p1");
  EXPECT_EQ(pat["identifier"][0]["system"], "urn:oid:2.16.156.10011.1.3");
  EXPECT_EQ(pat["identifier"][1]["system"], "local:WSY01");
  EXPECT_EQ(pat["identifier"][1]["type"]["coding"][0]["system"],
            "http://terminology.hl7.org/CodeSystem/v2-0203");
  const json& dr = e[2]["resource"];
  EXPECT_EQ(dr["id"], "r1");
  EXPECT_EQ(dr["subject"]["reference"], "Patient/p1");
  EXPECT_EQ(dr["result"][0]["reference"], "Observation/o1");

  // It can go out as HL7 v2.
  auto v2 = CanonicalToV2(*m);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_NE(v2->find("OBR|1|||^血糖|"), std::string::npos)
      << *v2;  // Observation written under its report
  EXPECT_NE(v2->find("OBX|1|NM|2345-7^Glucose^LN^GLU^^L||6.2|mmol/L^mmol/L^UCUM||H||"),
            std::string::npos)
      << *v2;
  auto back = V2ToCanonical(*v2, "WSY01");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
}

TEST(FhirRead, KeepsDecimalPrecision) {
  auto m = ReadFhir(R"({"resourceType":"Observation","status":"final","code":{"text":"K"},
      "valueQuantity":{"value":5.10,"unit":"mmol/L"},
      "referenceRange":[{"low":{"value":3.50},"high":{"value":5.5},"text":"3.50-5.5"}]})",
                    "F1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json o = m->bundle["entry"][0]["resource"];
  EXPECT_EQ(o["valueQuantity"]["value"], 5.1);
  EXPECT_EQ(GetDecimal(o["valueQuantity"], "value"), "5.10");
  EXPECT_EQ(GetDecimal(o["referenceRange"][0]["low"], "value"), "3.50");
  EXPECT_FALSE(o["referenceRange"][0]["high"].contains("_value"));
  m->message_type = "ORU^R01";
  EXPECT_EQ(CanonicalToV2(*m).status().where(), "MSH-10");  // no control id: refused
  m->control_id = "C1";
  auto v2 = CanonicalToV2(*m);
  ASSERT_TRUE(v2.ok());
  EXPECT_NE(v2->find("|NM|^K||5.10|mmol/L^mmol/L|3.50-5.5|"), std::string::npos) << *v2;
}

TEST(FhirRead, TransactionCollectionAndSingleResource) {
  auto t = ReadFhir(R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"request":{"method":"DELETE","url":"Patient/x"}},
      {"request":{"method":"POST","url":"Patient"},"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","name":[{"text":"甲"}]}},
      {"request":{"method":"POST","url":"Condition"},"resource":{"resourceType":"Condition",
        "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"J18.9"}]},"subject":{"reference":"urn:uuid:1"}}},
      {"request":{"method":"PUT","url":"Encounter/enc-9"},"resource":{"resourceType":"Encounter","status":"finished"}},
      {"request":{"method":"POST","url":"Condition"},"resource":{"resourceType":"Condition",
        "code":{"text":"x"},"encounter":{"reference":"Encounter/enc-9"}}}]})",
                    "F1");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->facility, "F1");
  EXPECT_EQ(t->message_type, "ADT^A04");
  EXPECT_EQ(t->bundle["entry"][1]["resource"]["subject"]["reference"], "Patient/p1");
  EXPECT_EQ(t->bundle["entry"][1]["resource"]["code"]["coding"][0]["system"], "ICD-10");
  EXPECT_EQ(t->bundle["entry"][3]["resource"]["id"], "c2");
  EXPECT_EQ(t->bundle["entry"][3]["resource"]["encounter"]["reference"], "Encounter/e1");

  auto single = ReadFhir(R"({"resourceType":"Patient","id":"z","gender":"female"})", "F1");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->bundle["entry"][0]["resource"]["id"], "p1");
  EXPECT_EQ(single->message_type, "ADT^A04");

  auto eob = ReadFhir(R"({"resourceType":"ExplanationOfBenefit","status":"active"})", "F1");
  ASSERT_TRUE(eob.ok());
  EXPECT_EQ(eob->message_type, "DFT^P03");
}

TEST(FhirRead, ErrorsNameTheJsonPointer) {
  struct Case {
    const char* text;
    const char* where;
    ErrorCode code;
  } cases[] = {
      {R"({"resourceType":"Bundle","type":"searchset"})", "/type", ErrorCode::kUnsupportedType},
      {R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}},{"fullUrl":"x"}]})",
       "/entry/1/resource", ErrorCode::kRequiredMissing},
      {R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":{"id":"1"}}]})",
       "/entry/0/resource/resourceType", ErrorCode::kRequiredMissing},
      {R"({"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"Patient"}}]})",
       "/entry/0/resource", ErrorCode::kRequiredMissing},
      {R"({"resourceType":"Bundle","type":"collection","entry":{}})", "/entry",
       ErrorCode::kParseError},
      {R"({"id":"1"})", "/resourceType", ErrorCode::kRequiredMissing},
      {R"([1,2])", "/resourceType", ErrorCode::kRequiredMissing},
      // Regression: wrong values were dropped without a word.
      {R"({"resourceType":"Patient","gender":7})", "/gender", ErrorCode::kInvalidArgument},
      {R"({"resourceType":"Patient","gender":"M"})", "/gender", ErrorCode::kInvalidArgument},
      {R"({"resourceType":"Patient","birthDate":"1990-13-45"})", "/birthDate",
       ErrorCode::kInvalidArgument},
      {R"({"resourceType":"Patient","birthDate":"2023-02-29"})", "/birthDate",
       ErrorCode::kInvalidArgument},
      {R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","birthDate":19900101}}]})",
       "/entry/0/resource/birthDate", ErrorCode::kInvalidArgument},
  };
  for (const auto& c : cases) {
    auto m = ReadFhir(c.text, "F1");
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_EQ(m.status().where(), c.where) << m.status().ToString();
    EXPECT_EQ(m.status().code(), c.code) << m.status().ToString();
  }
  auto bad = ReadFhir(R"({"resourceType": "Patient", "name": [}")", "F1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kParseError);
  EXPECT_NE(bad.status().message().find("字节"), std::string::npos) << bad.status().message();
  EXPECT_TRUE(
      ReadFhir(R"({"resourceType":"Patient","gender":"female","birthDate":"2024-02-29"})", "F1")
          .ok());
  EXPECT_TRUE(ReadFhir(R"({"resourceType":"Patient","birthDate":"1958-03"})", "F1").ok());
  auto not_utf8 = ReadFhir("{\"resourceType\":\"Patient\",\"id\":\"\xff\"}", "F1");
  EXPECT_FALSE(not_utf8.ok());
}

TEST(FhirRead, HostileJsonRefusedQuickly) {
  const auto start = std::chrono::steady_clock::now();
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  auto d = ReadFhir(deep, "F1");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("nested"), std::string::npos);
  const std::string deep_obj = [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "{\"a\":";
    return s + "1" + std::string(100000, '}');
  }();
  EXPECT_FALSE(ReadFhir(deep_obj, "F1").ok());
  // Brackets inside strings do not count.
  auto in_string = ReadFhir(
      R"({"resourceType":"Patient","id":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})",
      "F1");
  EXPECT_TRUE(in_string.ok()) << in_string.status().ToString();
  const std::string huge =
      R"({"resourceType":"Patient","id":")" + std::string(20u << 20, 'x') + "\"}";
  auto h = ReadFhir(huge, "F1");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), ErrorCode::kTooLarge);
  auto truncated = ReadFhir(std::string(kMessageBundle).substr(0, 300), "F1");
  EXPECT_FALSE(truncated.ok());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_LT(ms, 3000);
}

TEST(FhirWrite, MessageBundleRoundTrips) {
  auto m = ReadFhir(kMessageBundle, "X");
  ASSERT_TRUE(m.ok());
  FhirWriteOptions opt;
  opt.message_bundle = true;
  json out = ToFhir(*m, opt);
  EXPECT_EQ(out["type"], "message");
  EXPECT_EQ(out["entry"][0]["resource"]["resourceType"], "MessageHeader");
  EXPECT_EQ(out["entry"][1]["resource"]["code"]["coding"][0]["system"], "http://loinc.org");
  EXPECT_EQ(out["entry"][1]["resource"]["code"]["coding"][1]["system"], "urn:hie:local:WSY01");
  auto again = ReadFhir(out.dump(), "Y");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ToJson(*again), ToJson(*m));
}

TEST(FhirSystems, MapBothWays) {
  const std::pair<const char*, const char*> pairs[] = {
      {"LOINC", "http://loinc.org"},
      {"ICD-10", "http://hl7.org/fhir/sid/icd-10"},
      {"UCUM", "http://unitsofmeasure.org"},
      {"HL7 0001", "http://terminology.hl7.org/CodeSystem/v2-0001"},
      {"local:WSY01", "urn:hie:local:WSY01"},
      {"GB/T 2261.1", "urn:oid:2.16.156.10011.2.3.3.4"},
      {"2.16.156.10011.2.3.1.250", "urn:oid:2.16.156.10011.2.3.1.250"},
      {"http://snomed.info/sct", "http://snomed.info/sct"},
      {"GB/T 2260", "urn:hie:system:GB/T%202260"},
  };
  for (const auto& [name, uri] : pairs) {
    EXPECT_EQ(SystemToFhir(name), uri);
    EXPECT_EQ(SystemFromFhir(uri), name);
  }
}

}  // namespace
}  // namespace hie::canonical

namespace hie::canonical {
namespace {

void AllPointers(const json& j, const std::string& ptr, std::vector<std::string>& out) {
  out.push_back(ptr);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      AllPointers(it.value(), ptr + "/" + it.key(), out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) AllPointers(j[i], ptr + "/" + std::to_string(i), out);
  }
}

// Every element of a full ORU bundle replaced by a value of the wrong type:
// reading, visiting, writing v2 and FHIR never throw.
TEST(FhirRead, WrongTypesEverywhereNeverThrow) {
  auto canon = V2ToCanonical(
      "MSH|^~\\&|LIS|F1|HIE|HUB|20240308153000||ORU^R01|L1|P|2.4\rPID|1||1^^^F1^MR~"
      "110101199003077777^^^^NI||"
      "张三||19900307|M|||路1号^^市^省^^^H||138^PRN^CP||20||||||01\rPV1|1|I|W^1^2||||D^医生||||||||"
      "|D2^医生2||V1|01\r"
      "OBR|1|P|F|G^g^L|||20240308||||||||||D^d||||||20240308||HM|F|||||||1&x\rNTE|1||n\r"
      "OBX|1|NM|A^a^L^1-8^x^LN||1.50|g/L^g/L^UCUM|1-2|H~A|||F|||20240308||T^t\rNTE|1||x\r"
      "OBX|2|SN|B^b^L||^1^-^2|||||F\rOBX|3|SN|C^c^L||^1^:^2|||||F\rOBX|4|CE|D^d^L||N^n^L|||||F\r"
      "DG1|1||J18^x^I10||20240308|F\rFT1|1|T||20240308||CG|X^x^L|||1|1&CNY|1&CNY\rFT1|2|S||"
      "20240308||PY|Y^y^L||||1&CNY\r"
      "MRG|OLD^^^F1^MR\rZAB|1\r",
      "F1");
  ASSERT_TRUE(canon.ok()) << canon.status().ToString();
  const json doc = ToFhir(*canon);
  std::vector<std::string> pointers;
  AllPointers(doc, "", pointers);
  const json replacements[] = {json(1), json("x"), json::array(), json::object(), json(nullptr)};
  size_t runs = 0;
  for (const auto& p : pointers) {
    if (p.empty()) continue;
    for (const auto& r : replacements) {
      json mutated = doc;
      mutated[json::json_pointer(p)] = r;
      EXPECT_NO_THROW({
        auto m = ReadFhirDocument(mutated, "F1");
        if (m.ok()) {
          ++runs;
          VisitCodings(m->bundle, [](std::string_view, const std::string&, json& cc) {
            cc["coding"].push_back(json{{"system", "LOINC"}, {"code", "1"}});
          });
          (void)CanonicalToV2(*m);
          (void)WriteFhir(*m);
          (void)ToJson(*m).dump();
        }
      }) << p
         << " = " << r.dump();
    }
  }
  EXPECT_GT(runs, 500u);
}

}  // namespace
}  // namespace hie::canonical
