// The write side of the shared record (issue 6): one stored message, read
// into the canonical model with terminology applied (rows carry the
// original AND the standard code), turned into the rows it adds to the
// record (store/record_store.h). The EMPI service calls it while resolving
// the message and writes the rows in the same EmpiStore::Apply, pointing at
// the source record the message resolved to.
//
// What a message records (by the message type intake routed it as):
//   lab results  the Observations of each DiagnosticReport (ORU^R01 OBX
//                under OBR, a CDA lab report, a FHIR bundle): status
//                (OBX-11 C -> corrected: same item_key, supersedes), value,
//                units, reference range, abnormal flag, times, specimen
//                (OBR-15 / SPM-4 / Observation.specimen), performing
//                facility (OBX-23 id, else the sender), verifier (OBX-16 /
//                OBR-32). item_key "<facility>|<report id>|<item code>|<n>"
//                with n the occurrence of that code in the report.
//   encounters   ADT^A01/A04/A05/A08 (any format): the Encounter, keyed by
//                its visit identity (A08 supersedes): the visit number
//                (PV1-19), else — a village clinic sends none — the EMPI
//                source record (the facility's patient), the encounter
//                class and the visit's day in China time (+08:00) from its
//                start (PV1-44), else the event time (EVN-6, else EVN-2,
//                else MSH-7): one visit per facility, patient, class and
//                day ("<facility>|src<source id>|AMB|2026-11-22"). A
//                registration (A01/A04) without PV1-44 starts at the event
//                time, and its Encounter carries the extension
//                urn:hie:period-start-from-event-time = true. An update
//                without a start keeps the start of the version it
//                supersedes (the store, store/record_store.h).
//   diagnoses    every Condition (DG1, CDA diagnosis entries, FHIR), keyed
//                by the visit identity of its encounter (else the message).
//   documents    a CDA as received (MessageTextUtf8, what a cda destination
//                gets), keyed by setId (a new version supersedes), its type
//                code from the document; ORU^R01 (not CDA) -> a generated
//                检验报告 C0007 entry keyed by the report id (a corrected
//                report supersedes); an outpatient / emergency visit
//                (CdaKindFor: ADT^A01/A04 class AMB/EMER) -> a generated
//                门(急)诊病历 C0002 entry keyed by the visit identity and
//                dated at the visit's start; an ADT^A08 of such a visit
//                writes its next version (the A08's content, its canonical
//                typed ADT^A04 so it is written as the outpatient record;
//                an A08 without a start keeps the version's date). Generated
//                entries keep content empty (CDA written on demand); every
//                document row keeps the canonical JSON.
// HL7 v2 messages with nothing clinical (ADT^A31 without PV1/DG1, A40, an
// ORU without OBX) are recognised from the parsed ER7 and never read into
// the canonical model (V2HasRecord).
//
// Thread rules: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/message.h"
#include "core/status.h"
#include "mappings/canonical/model.h"
#include "mappings/hl7v2/er7.h"
#include "store/record_store.h"
#include "terminology/terminology.h"

namespace hie {

// Whether an HL7 v2 message of this type can add anything to the record.
bool V2HasRecord(std::string_view message_type, const Er7Message& er7);

struct RecordInput {
  const MessageRecord* message = nullptr;  // the stored message (raw, type, facility)
  // The message read into the canonical model, if the caller has it already
  // (CDA / FHIR, read for the patient); else it is read here when needed.
  std::optional<canonical::CanonicalMessage>* canonical = nullptr;
  const Er7Message* er7 = nullptr;  // HL7 v2: the parsed message (OBX-23, specimen)
  int64_t source_id = 0;            // the EMPI source record the message resolved to
  int64_t now_ms = 0;               // recorded_at
};

// The rows of one message (empty when it carries nothing clinical).
// Terminology from `snapshot` is applied to the canonical model first
// (a CDA/FHIR input's canonical is modified in place). Errors are the
// readers' (the message cannot be read into the canonical model).
Result<RecordWrite> ExtractRecord(const RecordInput& in, const TerminologySnapshot& snapshot);

}  // namespace hie
