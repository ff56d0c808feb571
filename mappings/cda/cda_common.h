// Shared vocabulary of the CDA codec: the OIDs of WS/T 500 / WS/T 483, the
// document kinds the writer knows, the LOINC section table, and the time
// conversions between HL7 v3 TS ("20121024154823+0800") and FHIR dateTime.
// Internal to mappings/cda; the engine includes cda_reader.h / cda_writer.h.
//
// Thread rules: constant tables and pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hie::cda {

// Identifier roots (WS/T 500 header).
inline constexpr const char* kOidDocumentId = "2.16.156.10011.1.1";
inline constexpr const char* kOidHealthRecordNo = "2.16.156.10011.1.2";
inline constexpr const char* kOidIdCard = "2.16.156.10011.1.3";
inline constexpr const char* kOidOrganization = "2.16.156.10011.1.5";
inline constexpr const char* kOidAuthorId = "2.16.156.10011.1.7";
inline constexpr const char* kOidOutpatientNo = "2.16.156.10011.1.11";
inline constexpr const char* kOidInpatientNo = "2.16.156.10011.1.12";
inline constexpr const char* kOidLabReportNo = "2.16.156.10011.1.33";
// Code systems.
inline constexpr const char* kOidDocumentCodes = "2.16.156.10011.2.4";
inline constexpr const char* kOidDataElements = "2.16.156.10011.2.2.1";  // WS 363 DE codes
inline constexpr const char* kOidSexGb = "2.16.156.10011.2.3.3.4";       // GB/T 2261.1
inline constexpr const char* kOidSexHl7 = "2.16.840.1.113883.5.1";
inline constexpr const char* kOidLoinc = "2.16.840.1.113883.6.1";
inline constexpr const char* kOidInterpretation = "2.16.840.1.113883.5.83";
inline constexpr const char* kOidPatientType = "2.16.156.10011.2.3.1.271";
inline constexpr const char* kOidLabResultCode = "2.16.156.10011.2.3.2.38";
inline constexpr const char* kOidIcd10Cn = "2.16.156.10011.2.3.3.11.3";

// WS 363 data elements the codec gives meaning to.
inline constexpr const char* kDeLabItem = "DE04.30.019.00";        // 检验项目代码
inline constexpr const char* kDeLabQuantity = "DE04.30.015.00";    // 检验定量结果
inline constexpr const char* kDeLabUnit = "DE04.30.016.00";        // 检验定量结果计量单位
inline constexpr const char* kDeLabResultCode = "DE04.30.017.00";  // 检验结果代码
inline constexpr const char* kDeLabCategory = "DE04.30.018.00";    // 检验类别
inline constexpr const char* kDeSpecimen = "DE04.50.134.00";       // 标本类别
inline constexpr const char* kDeDiagnosis = "DE05.01.024.00";      // 诊断代码

// Canonical extension URLs the codec reads and writes.
inline constexpr const char* kExtSex = "urn:hie:sex";
inline constexpr const char* kExtTemplate = "urn:hie:cda-template";
inline constexpr const char* kExtSection = "urn:hie:cda-section";
inline constexpr const char* kExtWarning = "urn:hie:cda-warning";
inline constexpr const char* kExtIdRoot = "urn:hie:cda-id-root";
inline constexpr const char* kExtDecimal = "urn:hie:decimal";             // canonical model
inline constexpr const char* kExtPatientClass = "urn:hie:patient-class";  // canonical model
inline constexpr const char* kExtTownship = "urn:hie:address-township";
inline constexpr const char* kExtStreetName = "urn:hie:address-streetName";
inline constexpr const char* kExtHouseNumber = "urn:hie:address-houseNumber";

struct DocumentKindInfo {
  const char* template_id;
  const char* code;             // in 2.16.156.10011.2.4
  const char* title;            // Chinese title written to <title>
  const char* default_section;  // LOINC section for DE entries without one
};

struct SectionInfo {
  const char* loinc;
  const char* title;         // Chinese <title>
  const char* display_name;  // English LOINC display
};

// Known sections, in the order the writer emits them.
const std::vector<SectionInfo>& KnownSections();
const SectionInfo* FindSection(std::string_view loinc);

// "20121024154823+0800" -> "2012-10-24T15:48:23+08:00"; a TS without a zone
// gets `default_zone` ("+08:00"). Dates stay dates ("20110101" ->
// "2011-01-01"). std::nullopt when malformed.
std::optional<std::string> TsToFhir(std::string_view ts, std::string_view default_zone);
// FHIR date/dateTime -> TS; std::nullopt when malformed.
std::optional<std::string> FhirToTs(std::string_view fhir);

// WS/T 500 names are one string ("张三"); split a Chinese name into family
// and given, knowing the common two-character surnames. Empty family when
// the name is not all CJK.
void SplitChineseName(std::string_view name, std::string* family, std::string* given);

}  // namespace hie::cda
