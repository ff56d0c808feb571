// The shared clinical record (issue 6): every lab result, encounter,
// diagnosis and document a facility sent, kept per EMPI SOURCE RECORD (the
// facility's patient record, store/empi_store.h) rather than per person. A
// person's record is the union over the sources linked to it at the moment
// of reading, so EMPI links, merges, unmerges and review decisions move the
// records with the person without rewriting a row.
//
// Written by the EMPI worker in the SAME transaction as the message's
// resolution (EmpiWrite::record, applied by EmpiStore::Apply): a message's
// resolution row (empi_messages) and its clinical rows commit together or
// not at all, so a recovered or reprocessed message is recorded exactly once.
// Tables: store/migrations/{sqlite,postgres}/0005_record.sql.
//
// Versions: every row carries an identity `item_key` (per kind, see below).
// Applying a row whose item_key matches a CURRENT row of the same kind
// supersedes it: the old row stays (history) with current = false and
// superseded_by = the new row's id; the new row gets version = old + 1. The
// store does this inside Apply. Ids are assigned by the store. `version` is
// the store's arrival count; `source_version` the sender's own (a received
// CDA's versionNumber, on every row the document adds; 0 none): a row whose
// source_version is below the current row's (both > 0) arrived late and is
// stored as history (current = false, superseded_by = the current row), so
// the current row stays the sender's newest. Lab history is ordered by
// (source_version, version). Rows of HL7 v2 / FHIR messages carry 0: their
// arrival order decides (an ORU correction is not ordered by OBR-22).
//
// Nothing derived at read time is stored: mutual recognition (互认) is
// decided per query (engine/recognition.h), never kept in a row.
//
// Thread rules: every method is safe from any thread; reads see only
// committed Applies.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace hie {

// One lab result (an Observation of an ORU^R01, a CDA lab report or a FHIR
// bundle), with its original code and the standard one the terminology gave.
// item_key: "<facility>|<report id (filler/placer order or document id)>|
// <original item code>|<sequence>" — a corrected result (OBX-11 C) of the
// same report and item supersedes the earlier one.
struct LabResultRow {
  int64_t id = 0;
  int64_t message_id = 0;
  int64_t source_id = 0;  // the EMPI source record
  std::string facility_id;  // the sending facility
  std::string item_key;
  int version = 1;
  bool current = true;
  int64_t superseded_by = 0;
  int64_t source_version = 0;  // the sender's version (CDA versionNumber), 0 none
  std::string status;  // FHIR Observation.status: final | preliminary | corrected | amended | cancelled | registered
  std::string code_system, code, display;  // as received (coding[0])
  std::string std_code, std_display;       // LOINC, "" when unmapped
  std::string value;                       // as text ("5.10", "阴性", "<5")
  std::string value_type;                  // quantity | string | coded | range | ratio | datetime
  std::string unit;                        // as received
  std::string std_unit;                    // UCUM, "" when unmapped
  std::string reference_range;             // text ("3.5-5.5")
  std::string abnormal_flag;               // HL7 0078 (H, L, N, A, ...), "" none
  std::string specimen;
  std::string performing_facility;  // who did the test (OBX-23 / performer), else the sender
  std::string verifier;             // OBX-16 / resultsInterpreter display
  std::string report_id;            // the report (DiagnosticReport) identifier
  int64_t effective_ms = 0;         // observation time (OBX-14 / effectiveDateTime)
  int64_t issued_ms = 0;            // report time (OBR-22 / issued); 0 unknown
  std::string resource;             // the Observation (FHIR JSON, terminology applied)
  int64_t recorded_at_ms = 0;       // when the hub stored it
};

// An encounter (PV1 of an ADT / ORU, CDA encompassingEncounter, FHIR
// Encounter). item_key: "<facility>|<visit number>", else (no PV1-19)
// "<facility>|src<source id>|<class>|<YYYY-MM-DD of the visit, China time>"
// (engine/record_extract.h). A new version with start_ms 0 (an update that
// does not say when the visit began) keeps the superseded version's start;
// likewise a document's effective_ms.
struct EncounterRow {
  int64_t id = 0;
  int64_t message_id = 0;
  int64_t source_id = 0;
  std::string facility_id;
  std::string item_key;
  int version = 1;
  bool current = true;
  int64_t superseded_by = 0;
  int64_t source_version = 0;  // the sender's version (CDA versionNumber), 0 none
  std::string visit_number;
  std::string encounter_class;  // AMB | IMP | EMER | PRENC (v3 ActCode)
  std::string status;           // in-progress | finished
  std::string department;       // location / service as text
  std::string attending;        // display name of the attending doctor
  int64_t start_ms = 0, end_ms = 0;
  std::string resource;  // the Encounter (FHIR JSON)
  int64_t recorded_at_ms = 0;
};

// A diagnosis (DG1, CDA diagnosis entry, FHIR Condition). item_key:
// "<facility>|<visit number or message id>|<original code>".
struct DiagnosisRow {
  int64_t id = 0;
  int64_t message_id = 0;
  int64_t source_id = 0;
  std::string facility_id;
  std::string item_key;
  int version = 1;
  bool current = true;
  int64_t superseded_by = 0;
  int64_t source_version = 0;  // the sender's version (CDA versionNumber), 0 none
  std::string code_system, code, display;  // as received
  std::string std_code, std_display;       // ICD-10, "" when unmapped
  std::string clinical_status;             // active | resolved | ""
  std::string visit_number;
  int64_t recorded_ms = 0;
  std::string resource;  // the Condition (FHIR JSON)
  int64_t recorded_at_ms = 0;
};

// A document in the shared record: a CDA as received, or one the hub
// generates on demand (content empty) from `canonical`, the message read
// into the canonical model with terminology applied (JSON of
// canonical::ToJson), which is kept so generation does not depend on the
// raw message surviving retention. item_key: "<facility>|<CDA setId or
// document id>" (received) or "<facility>|<type>|<report or visit id>"
// (generated) — a new version (CDA versionNumber, corrected ORU) supersedes.
struct DocumentRow {
  int64_t id = 0;
  int64_t message_id = 0;
  int64_t source_id = 0;
  std::string facility_id;
  std::string item_key;
  int version = 1;
  bool current = true;
  int64_t superseded_by = 0;
  int64_t source_version = 0;  // the sender's version (CDA versionNumber), 0 none
  std::string type_code;  // WS/T 500 C0001..C0053, WS/T 483 B0001.., "" unknown
  std::string title;      // e.g. 检验报告
  std::string document_id;  // ClinicalDocument/id (received) or the report / visit id
  int64_t effective_ms = 0;  // document time
  std::string content;       // CDA XML as received; "" = generated on demand
  std::string canonical;     // canonical JSON (always kept)
  int64_t recorded_at_ms = 0;
};

// Everything one message adds to the shared record (applied inside
// EmpiStore::Apply with the resolution, see above).
struct RecordWrite {
  std::vector<LabResultRow> lab_results;
  std::vector<EncounterRow> encounters;
  std::vector<DiagnosisRow> diagnoses;
  std::vector<DocumentRow> documents;
  bool empty() const {
    return lab_results.empty() && encounters.empty() && diagnoses.empty() && documents.empty();
  }
};

// One read of a person's data, for the auditors (who, from which facility,
// when, what). Written before the data is answered.
struct AccessEventRow {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string actor;        // X-User / CLI user, "" anonymous
  std::string facility_id;  // X-Facility-Id of the reader, "" unknown
  int64_t person_id = 0;    // the EMPI id read
  std::string what;         // e.g. "lab-results", "document:17", "summary"
  std::string detail;       // JSON: filters, counts
};

struct LabResultFilter {
  std::vector<int64_t> source_ids;  // the person's sources (required)
  std::string code;                 // matches code or std_code; "" any
  std::string facility_id;          // performing or sending facility; "" any
  int64_t since_ms = 0;             // effective_ms >= since; 0 any
  bool include_history = false;     // also superseded versions
  // Paging, newest first by (effective_ms, id): rows strictly older than
  // the cursor (before_ms, before_id); before_id 0 = from the newest.
  int64_t before_ms = 0;
  int64_t before_id = 0;
  int limit = 100;  // 1..1000
};

class RecordStore {
 public:
  virtual ~RecordStore() = default;

  // Newest first (effective_ms desc, id desc).
  virtual Result<std::vector<LabResultRow>> LabResults(const LabResultFilter& f) = 0;
  // Every version of one result (oldest first by source_version, then
  // version): the row and its history.
  virtual Result<std::vector<LabResultRow>> LabResultHistory(const std::string& item_key) = 0;
  // Current rows of the sources, newest first, at most `limit`.
  virtual Result<std::vector<EncounterRow>> Encounters(const std::vector<int64_t>& source_ids,
                                                       int limit) = 0;
  virtual Result<std::vector<DiagnosisRow>> Diagnoses(const std::vector<int64_t>& source_ids,
                                                      int limit) = 0;
  // Current documents of the sources, newest first (content and canonical
  // left empty: an index), at most `limit`.
  virtual Result<std::vector<DocumentRow>> Documents(const std::vector<int64_t>& source_ids,
                                                     int limit) = 0;
  // One document with content and canonical; nullopt when unknown.
  virtual Result<std::optional<DocumentRow>> GetDocument(int64_t id) = 0;

  // Access events: appended (ids by the store, durable on return), and read
  // back for a person, newest first.
  virtual Status AppendAccess(const std::vector<AccessEventRow>& events) = 0;
  virtual Result<std::vector<AccessEventRow>> AccessOfPerson(int64_t person_id, int limit) = 0;

  virtual void Close() = 0;
};

// Opens the record tables of the database `uri` names (the main Store's
// URI; the Store's migrations created them).
Result<std::unique_ptr<RecordStore>> OpenRecordStore(const std::string& uri);

}  // namespace hie
