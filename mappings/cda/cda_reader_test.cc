// ReadCda: WS/T 500 documents (realm elements, flat and nested 检验 entries,
// mislabelled code systems), the C-CDA examples of the shared corpus, and
// errors that name the XPath.
#include "mappings/cda/cda_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "mappings/cda/cda_test_util.h"

namespace hie::cda {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<json> OfType(const json& bundle, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : bundle["entry"]) {
    if (e["resource"]["resourceType"] == type) out.push_back(e["resource"]);
  }
  return out;
}

size_t CountExtensions(const json& resource, const std::string& url) {
  size_t n = 0;
  if (!resource.contains("extension")) return 0;
  for (const auto& e : resource["extension"]) n += e["url"] == url ? 1 : 0;
  return n;
}

// A 检验报告 in the flat layout of the published WS/T 500 template, with the
// realm elements and a mislabelled code system.
const char* kWsLabReport = R"cda(<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="CN"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_MT000040"/>
  <templateId root="2.16.156.10011.2.1.1.27"/>
  <id root="2.16.156.10011.1.1" extension="RN001"/>
  <code code="C0007" codeSystem="2.16.156.10011.2.4" codeSystemName="卫生信息共享文档规范编码体系"/>
  <title>检验报告</title>
  <effectiveTime value="20240315093000"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="zh-CN"/>
  <recordTarget typeCode="RCT" contextControlCode="OP">
    <patientRole classCode="PAT">
      <id root="2.16.156.10011.1.11" extension="MZ0001"/>
      <id root="2.16.156.10011.1.33" extension="JY20240315001"/>
      <patientType>
        <patienttypeCode code="1" codeSystem="2.16.156.10011.2.3.1.271" codeSystemName="患者类型代码表" displayName="门诊"/>
      </patientType>
      <addr use="H">
        <houseNumber>12号</houseNumber>
        <streetName>杨柳村</streetName>
        <township>青山镇</township>
        <county>平安县</county>
        <city>安康市</city>
        <state>陕西省</state>
        <postalCode>725000</postalCode>
      </addr>
      <telecom value="13800000000"/>
      <patient classCode="PSN" determinerCode="INSTANCE">
        <id root="2.16.156.10011.1.3" extension="610902199001011235"/>
        <name>欧阳晓明</name>
        <administrativeGenderCode code="1" codeSystem="2.16.156.10011.2.3.3.4" codeSystemName="诊断代码表(ICD-10)" displayName="男性"/>
        <birthTime value="19900101"/>
        <age unit="岁" value="34"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author typeCode="AUT" contextControlCode="OP">
    <time value="20240315093000"/>
    <assignedAuthor classCode="ASSIGNED">
      <id root="2.16.156.10011.1.7" extension="D001"/>
      <assignedPerson><name>李医生</name></assignedPerson>
    </assignedAuthor>
  </author>
  <custodian typeCode="CST">
    <assignedCustodian classCode="ASSIGNED">
      <representedCustodianOrganization classCode="ORG" determinerCode="INSTANCE">
        <id root="2.16.156.10011.1.5" extension="45600001-X"/>
        <name>平安县人民医院</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <component>
    <structuredBody>
      <component>
        <section>
          <code code="29548-5" displayName="Diagnosis" codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC"/>
          <text/>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE05.01.024.00" displayName="诊断代码" codeSystem="2.16.156.10011.2.2.1" codeSystemName="卫生信息数据元目录"/>
              <effectiveTime value="20240315"/>
              <value xsi:type="CD" code="E11.9" codeSystem="2.16.156.10011.2.3.3.11.3" codeSystemName="诊断代码表(ICD-10)" displayName="2型糖尿病"/>
            </observation>
          </entry>
        </section>
      </component>
      <component>
        <section>
          <code code="30954-2" displayName="STUDIES SUMMARY" codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC"/>
          <text/>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE04.30.018.00" displayName="检验类别" codeSystem="2.16.156.10011.2.2.1" codeSystemName="卫生信息数据元目录"/>
              <value xsi:type="ST">生化</value>
            </observation>
          </entry>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE04.30.019.00" displayName="检验项目代码" codeSystem="2.16.156.10011.2.2.1" codeSystemName="卫生信息数据元目录"/>
              <effectiveTime value="20240315080000"/>
              <value xsi:type="ST">葡萄糖</value>
            </observation>
          </entry>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE04.30.015.00" displayName="检验定量结果" codeSystem="2.16.156.10011.2.2.1" codeSystemName="卫生信息数据元目录"/>
              <value xsi:type="REAL" value="7.8"/>
              <interpretationCode code="H" codeSystem="2.16.840.1.113883.5.83"/>
              <entryRelationship typeCode="COMP">
                <observation classCode="OBS" moodCode="EVN">
                  <code code="DE04.30.016.00" displayName="检查定量结果计量单位" codeSystem="2.16.156.10011.2.2.1"/>
                  <value xsi:type="ST">mmol/L</value>
                </observation>
              </entryRelationship>
              <referenceRange>
                <observationRange>
                  <text>3.9-6.1</text>
                  <value xsi:type="IVL_PQ"><low value="3.9" unit="mmol/L"/><high value="6.1" unit="mmol/L"/></value>
                </observationRange>
              </referenceRange>
            </observation>
          </entry>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE04.30.019.00" displayName="检验项目代码" codeSystem="2.16.156.10011.2.2.3"/>
              <value xsi:type="ST">尿蛋白</value>
            </observation>
          </entry>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE04.30.017.00" displayName="检验结果代码" codeSystem="2.16.156.10011.2.2.1"/>
              <value xsi:type="CD" code="2" displayName="阴性" codeSystem="2.16.156.10011.2.3.2.38" codeSystemName="检查(检验)结果代码表"/>
            </observation>
          </entry>
        </section>
      </component>
      <component>
        <section>
          <code code="11348-0" displayName="HISTORY OF PAST ILLNESS" codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC"/>
          <text/>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE02.10.099.00" displayName="一般健康状况标志" codeSystem="2.16.156.10011.2.2.1"/>
              <entryRelationship typeCode="COMP">
                <observation classCode="OBS" moodCode="EVN">
                  <code code="DE02.10.026.00" displayName="疾病史(含外伤)" codeSystem="2.16.156.10011.2.2.1"/>
                  <value xsi:type="ST">高血压病史10年</value>
                </observation>
              </entryRelationship>
            </observation>
          </entry>
        </section>
      </component>
      <component>
        <section>
          <code displayName="检验报告"/>
          <text/>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE04.50.130.00" displayName="检验报告结果" codeSystem="2.16.156.10011.2.2.1"/>
              <value xsi:type="ST">血糖偏高</value>
            </observation>
          </entry>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>
)cda";

TEST(CdaReader, ReadsWsLabReportWithRealmElements) {
  CdaOptions opt;
  opt.facility = "pingan-hospital";
  std::vector<CdaWarning> warnings;
  auto r = ReadCda(kWsLabReport, opt, &warnings);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& b = *r;
  EXPECT_EQ(b["resourceType"], "Bundle");
  EXPECT_EQ(b["type"], "collection");
  auto patients = OfType(b, "Patient");
  ASSERT_EQ(patients.size(), 1u);
  const json& p = patients[0];
  EXPECT_EQ(p["id"], "p1");
  EXPECT_EQ(p["name"][0]["text"], "欧阳晓明");
  EXPECT_EQ(p["name"][0]["family"], "欧阳");
  EXPECT_EQ(p["name"][0]["given"][0], "晓明");
  EXPECT_EQ(p["gender"], "male");
  EXPECT_EQ(p["birthDate"], "1990-01-01");
  EXPECT_EQ(p["extension"][0]["url"], "urn:hie:sex");
  EXPECT_EQ(p["extension"][0]["valueCodeableConcept"]["coding"][0],
            (json{{"system", "GB/T 2261.1"}, {"code", "1"}, {"display", "男性"}}));
  bool id_card = false, mr = false;
  for (const auto& ident : p["identifier"]) {
    if (ident["system"] == "urn:oid:2.16.156.10011.1.3") {
      id_card = ident["value"] == "610902199001011235";
    }
    if (ident["system"] == "local:pingan-hospital") {
      mr = ident["value"] == "MZ0001" && ident["type"]["coding"][0]["code"] == "MR";
    }
  }
  EXPECT_TRUE(id_card);
  EXPECT_TRUE(mr);
  const json& addr = p["address"][0];
  EXPECT_EQ(addr["district"], "平安县");
  EXPECT_EQ(addr["state"], "陕西省");
  EXPECT_EQ(addr["use"], "home");
  EXPECT_NE(addr.dump().find("青山镇"), std::string::npos);
  EXPECT_EQ(p["telecom"][0]["value"], "13800000000");

  auto enc = OfType(b, "Encounter");
  ASSERT_EQ(enc.size(), 1u);
  EXPECT_EQ(enc[0]["class"]["code"], "AMB");
  EXPECT_EQ(enc[0]["extension"][0]["url"], "urn:hie:patient-class");
  EXPECT_EQ(enc[0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"], "1");

  auto doc = OfType(b, "DocumentReference");
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["type"]["coding"][0]["code"], "C0007");
  EXPECT_EQ(doc[0]["date"], "2024-03-15T09:30:00+08:00");
  EXPECT_EQ(doc[0]["author"][0]["display"], "李医生");
  EXPECT_EQ(CountExtensions(doc[0], "urn:hie:cda-section"), 4u);
  EXPECT_EQ(doc[0]["extension"][0]["valueString"], "2.16.156.10011.2.1.1.27");

  auto orgs = OfType(b, "Organization");
  ASSERT_EQ(orgs.size(), 1u);
  EXPECT_EQ(orgs[0]["name"], "平安县人民医院");

  auto conds = OfType(b, "Condition");
  ASSERT_EQ(conds.size(), 1u);
  EXPECT_EQ(conds[0]["code"]["coding"][0]["system"], "ICD-10");
  EXPECT_EQ(conds[0]["code"]["coding"][0]["code"], "E11.9");

  auto obs = OfType(b, "Observation");
  const json* glucose = nullptr;
  const json* protein = nullptr;
  for (const auto& o : obs) {
    if (o["code"].value("text", "") == "葡萄糖") glucose = &o;
    if (o["code"].value("text", "") == "尿蛋白") protein = &o;
  }
  ASSERT_NE(glucose, nullptr);
  EXPECT_EQ((*glucose)["valueQuantity"], (json{{"value", 7.8}, {"unit", "mmol/L"}}));
  EXPECT_FALSE((*glucose)["valueQuantity"].contains("_value"));
  EXPECT_EQ((*glucose)["interpretation"][0]["coding"][0]["code"], "H");
  EXPECT_EQ((*glucose)["referenceRange"][0]["low"]["value"], 3.9);
  EXPECT_EQ((*glucose)["referenceRange"][0]["text"], "3.9-6.1");
  EXPECT_EQ((*glucose)["effectiveDateTime"], "2024-03-15T08:00:00+08:00");
  bool nested = false;
  for (const auto& o : obs) {
    if (!o.contains("extension") || !o["code"].contains("coding")) continue;
    nested |= o["code"]["coding"][0]["code"] == "DE02.10.026.00" &&
              o["valueString"] == "高血压病史10年" && o["extension"][0]["valueCode"] == "11348-0";
  }
  EXPECT_TRUE(nested);
  ASSERT_NE(protein, nullptr);
  EXPECT_EQ((*protein)["valueCodeableConcept"]["coding"][0]["display"], "阴性");

  auto reports = OfType(b, "DiagnosticReport");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["result"].size(), 2u);
  EXPECT_EQ(reports[0]["identifier"][0]["value"], "JY20240315001");
  EXPECT_EQ(reports[0]["code"]["text"], "生化");

  // Mislabelled and missing code systems warn, they do not fail.
  std::string all;
  for (const auto& w : warnings) all += w.where + " " + w.message + "\n";
  EXPECT_NE(all.find("/ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("codeSystemName"), std::string::npos) << all;
  EXPECT_NE(all.find("2.16.156.10011.2.2.3"), std::string::npos) << all;
  EXPECT_NE(all.find("section without LOINC code"), std::string::npos) << all;
  EXPECT_EQ(CountExtensions(doc[0], "urn:hie:cda-warning"), warnings.size());
}

TEST(CdaReader, OidTableFromCsvRenamesSystems) {
  std::string csv =
      testing::ReadFileOrEmpty(std::string(HIE_SOURCE_DIR) + "/mappings/cda/oid_systems.csv");
  ASSERT_FALSE(csv.empty());
  auto shipped = OidTable::Parse(csv, "oid_systems.csv");
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  EXPECT_EQ((*shipped)->SystemForOid("2.16.156.10011.2.3.3.4"), "GB/T 2261.1");
  EXPECT_EQ((*shipped)->OidForSystem("LOINC"), std::optional<std::string>("2.16.840.1.113883.6.1"));
  EXPECT_EQ((*shipped)->OidForSystem("urn:oid:1.2.3"), std::optional<std::string>("1.2.3"));
  EXPECT_EQ((*shipped)->OidForSystem("local:x"), std::nullopt);

  std::string path = (fs::temp_directory_path() / "hie_cda_oids_test.csv").string();
  testing::WriteFile(path, "oid,name,aliases,display\n2.16.156.10011.2.3.3.4,SEX-GB,,性别\n");
  CdaOptions opt;
  opt.oid_systems_csv = path;
  auto r = ReadCda(kWsLabReport, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(
      (*r)["entry"][0]["resource"]["extension"][0]["valueCodeableConcept"]["coding"][0]["system"],
      "SEX-GB");
  testing::WriteFile(path, "oid,name\nnot-an-oid,X\n");
  auto bad = OidTable::LoadFile(path);
  EXPECT_EQ(bad.status().code(), ErrorCode::kConfigError);
  EXPECT_EQ(bad.status().where(), path + ":2");
  fs::remove(path);
}

TEST(CdaReader, ErrorsNameTheXPath) {
  std::string doc = kWsLabReport;
  // An identifier with an extension but no root.
  std::string bad_id = doc;
  bad_id.replace(bad_id.find(R"(<id root="2.16.156.10011.1.11" extension="MZ0001"/>)"),
                 std::string(R"(<id root="2.16.156.10011.1.11" extension="MZ0001"/>)").size(),
                 R"(<id extension="MZ0001"/>)");
  auto r = ReadCda(bad_id, CdaOptions{});
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().where(), "/ClinicalDocument/recordTarget/patientRole/id[1]");
  EXPECT_NE(r.status().message().find("identifier without root"), std::string::npos);

  std::string bad_birth = doc;
  bad_birth.replace(bad_birth.find(R"(<birthTime value="19900101"/>)"), 29,
                    R"(<birthTime value="1990-1-1"/>)");
  r = ReadCda(bad_birth, CdaOptions{});
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().where(), "/ClinicalDocument/recordTarget/patientRole/patient/birthTime");

  std::string bad_value = doc;
  bad_value.replace(bad_value.find(R"(value="7.8")"), 11, R"(value="7,8")");
  r = ReadCda(bad_value, CdaOptions{});
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().where().find("/ClinicalDocument/component/structuredBody/component[2]/"
                                    "section/entry[3]/observation/value"),
            std::string::npos)
      << r.status().where();

  r = ReadCda("<ClinicalDocument xmlns='urn:hl7-org:v3'><recordTarget/></ClinicalDocument>",
              CdaOptions{});
  EXPECT_EQ(r.status().code(), ErrorCode::kRequiredMissing);
  EXPECT_EQ(r.status().where(), "/ClinicalDocument/recordTarget/patientRole");

  r = ReadCda("<section xmlns='urn:hl7-org:v3'/>", CdaOptions{});
  EXPECT_EQ(r.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(r.status().where(), "/section");
}

// Every full ClinicalDocument of the corpus reads; the result fragments read
// once wrapped in a minimal document.
struct Summary {
  std::string name;
  std::string gender;
  std::string birth;
  size_t identifiers = 0;
  size_t sections = 0;
  size_t lab_results = 0;
  size_t reports = 0;
};

Summary Summarize(const json& b) {
  Summary s;
  for (const auto& e : b["entry"]) {
    const json& r = e["resource"];
    if (r["resourceType"] == "Patient") {
      if (r.contains("name")) s.name = r["name"][0].value("text", "");
      s.gender = r.value("gender", "");
      s.birth = r.value("birthDate", "");
      if (r.contains("identifier")) s.identifiers = r["identifier"].size();
    }
    if (r["resourceType"] == "DocumentReference")
      s.sections = CountExtensions(r, "urn:hie:cda-section");
    if (r["resourceType"] == "DiagnosticReport") ++s.reports;
    if (r["resourceType"] == "Observation" && r.contains("category") &&
        r["category"][0]["coding"][0]["code"] == "laboratory") {
      ++s.lab_results;
    }
  }
  return s;
}

std::string WrapFragment(const std::string& fragment) {
  size_t section = fragment.find("<section");
  size_t component = fragment.find("<component");
  bool is_component = component != std::string::npos && component < section;
  std::string body = fragment.substr(is_component ? component : section);
  if (!is_component) body = "<component>" + body + "</component>";
  return R"(<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<recordTarget><patientRole><id root="2.16.840.1.113883.19.5" extension="1"/></patientRole></recordTarget>
<component><structuredBody>)" +
         body + "</structuredBody></component></ClinicalDocument>";
}

TEST(CdaReaderCorpus, EveryDocumentReads) {
  const fs::path root = fs::path(HIE_CORPUS_DIR) / "cda";
  if (!fs::exists(root)) GTEST_SKIP() << "corpus not found";
  int documents = 0, fragments = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".xml" && ext != ".XML")) continue;
    std::string xml = testing::ReadFileOrEmpty(e.path().string());
    bool whole = xml.find("<ClinicalDocument") != std::string::npos;
    if (!whole && xml.find("<section") == std::string::npos) continue;  // header fragments
    std::vector<CdaWarning> warnings;
    auto r = ReadCda(whole ? xml : WrapFragment(xml), CdaOptions{}, &warnings);
    ASSERT_TRUE(r.ok()) << e.path() << ": " << r.status().ToString();
    if (getenv("HIE_CDA_SUMMARY") != nullptr) {
      for (const auto& w : warnings) printf("  warn %s %s\n", w.where.c_str(), w.message.c_str());
    }
    Summary s = Summarize(*r);
    (whole ? documents : fragments)++;
    if (getenv("HIE_CDA_SUMMARY") != nullptr) {
      printf("%s|%s|%s|%s|ids=%zu|sections=%zu|labs=%zu|reports=%zu\n", e.path().filename().c_str(),
             s.name.c_str(), s.gender.c_str(), s.birth.c_str(), s.identifiers, s.sections,
             s.lab_results, s.reports);
    }
  }
  EXPECT_EQ(documents, 21);
  EXPECT_GE(fragments, 15);
}

struct Expected {
  const char* file;
  const char* name;
  const char* gender;
  const char* birth;
  const char* id_system;
  const char* id_value;
  size_t sections;
  size_t lab_results;
  size_t conditions;
};

TEST(CdaReaderCorpus, KeepsPatientSectionsAndResults) {
  const fs::path root = fs::path(HIE_CORPUS_DIR) / "cda";
  if (!fs::exists(root)) GTEST_SKIP() << "corpus not found";
  const Expected kExpected[] = {
      {"microsoft-fhir-converter/C-CDA_R2-1_CCD.xml", "Eve Betterhalf", "female", "1975-05-01",
       "urn:oid:2.16.840.1.113883.4.1", "444222222", 15, 6, 4},
      {"hl7-c-cda-examples/Documents/Progress_Note_Progress_Note.xml", "Adam Frankie Everyman",
       "male", "1954-11-25", "urn:oid:2.16.840.1.113883.19", "12345", 12, 6, 3},
      {"microsoft-fhir-converter/Patient-1.xml", "Wilma Crawford", "female", "1943-09-03",
       "urn:oid:2.16.840.1.113883.19.5.99999.2", "998991", 9, 11, 4},
      {"hl7-c-cda-examples/Documents/History_and_Physical_History_and_Physical.xml",
       "Isabella Isa Jones", "female", "2005-05-01", "urn:oid:2.16.840.1.113883.4.1", "111-00-2330",
       17, 3, 2},
  };
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(e.file);
    auto r = ReadCda(testing::ReadFileOrEmpty((root / e.file).string()), CdaOptions{});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Summary s = Summarize(*r);
    EXPECT_EQ(s.name, e.name);
    EXPECT_EQ(s.gender, e.gender);
    EXPECT_EQ(s.birth, e.birth);
    EXPECT_EQ(s.sections, e.sections);
    EXPECT_EQ(s.lab_results, e.lab_results);
    const json p = OfType(*r, "Patient")[0];
    bool found = false;
    for (const auto& ident : p["identifier"]) {
      found |= ident["system"] == e.id_system && ident["value"] == e.id_value;
    }
    EXPECT_TRUE(found) << p["identifier"].dump();
    EXPECT_EQ(p["extension"][0]["valueCodeableConcept"]["coding"][0]["system"],
              "HL7 AdministrativeGender");
    EXPECT_EQ(OfType(*r, "Condition").size(), e.conditions);
  }
}

TEST(CdaReaderCorpus, ResultDetails) {
  const fs::path dir = fs::path(HIE_CORPUS_DIR) / "cda/hl7-c-cda-examples/Results";
  if (!fs::exists(dir)) GTEST_SKIP() << "corpus not found";
  auto read = [&](const char* file) {
    auto r = ReadCda(WrapFragment(testing::ReadFileOrEmpty((dir / file).string())), CdaOptions{});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? OfType(*r, "Observation") : std::vector<json>{};
  };
  auto less = read(
      "Results_with_less_than_specific_value_Results_with_less_than_specific_value_"
      "C-CDA2.1_.xml");
  ASSERT_EQ(less.size(), 1u);
  EXPECT_EQ(less[0]["valueQuantity"]["comparator"], "<=");
  EXPECT_EQ(less[0]["valueQuantity"]["value"], 5.0);
  EXPECT_EQ(less[0]["referenceRange"][0]["high"]["value"], 100.0);
  EXPECT_EQ(less[0]["interpretation"][0]["coding"][0]["code"], "N");
  auto bmp = read(
      "Results_of_Basic_Metabolic_Panel_and_Troponin_Basic_Metabolic_Panel_with_"
      "Troponin_C-CDA2.1_.xml");
  ASSERT_EQ(bmp.size(), 9u);
  EXPECT_EQ(bmp[0]["code"]["coding"][0]["system"], "LOINC");
  EXPECT_TRUE(bmp[0].contains("valueQuantity"));
}

}  // namespace
}  // namespace hie::cda
