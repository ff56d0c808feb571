// Intake: everything between bytes arriving and the answer leaving. It
// identifies the facility, reads and checks the message, deduplicates on
// (facility, MSH-10 / Idempotency-Key), commits the raw bytes durably and
// only then answers (the ACK is released by the group commit's done
// callback). Refused inputs are kept raw in the error store.
// Thread rules: Submit* are safe from any thread (the connectors call them
// from the event loop); callbacks run on the store's writer thread or the
// calling thread and must not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "core/status.h"
#include "engine/config.h"
#include "engine/document_input.h"
#include "engine/router.h"
#include "engine/terminology_service.h"
#include "store/store.h"

namespace hie {

// What the pipeline needs to go on with a committed message.
struct WorkItem {
  int64_t message_id = 0;
  std::string facility_id;
  std::string message_type;
  std::string patient_key;
  std::string document_type;  // CDA/FHIR document type ("C0007"); "" for HL7 v2
};

struct IntakeInput {
  std::string source;  // "mllp" | "http"
  std::string peer;
  std::string raw;              // bytes as received (maybe cut, see oversized)
  size_t size = 0;              // true size
  bool oversized = false;       // over the configured maximum
  bool truncated = false;       // connection dropped mid-frame (MLLP)
  std::string content_type;     // HTTP Content-Type (empty for MLLP)
  std::string facility_header;  // HTTP X-Facility-Id
  std::string idempotency_key;  // HTTP Idempotency-Key
};

struct IntakeAnswer {
  enum class Kind { kAccepted, kAcceptedWithError, kRejected, kDuplicate };
  Kind kind = Kind::kAccepted;
  int64_t message_id = 0;   // 0 when rejected
  int64_t rejected_id = 0;  // id in the error store when rejected
  MessageStatus status = MessageStatus::kReceived;
  Status error;     // why AE/AR
  std::string ack;  // the HL7 ACK (always built, MLLP sends it)
};

class Intake {
 public:
  using Done = std::function<void(const IntakeAnswer&)>;
  // Called after the commit with the destinations that got outbox rows.
  using OnCommitted = std::function<void(const std::vector<std::string>& destinations)>;

  // Routing happens here, inside the intake transaction: the raw message,
  // its status (QUEUED or FILTERED) and its outbox rows commit together, one
  // write per message. The Pipeline handles what is left RECEIVED (reprocess,
  // recovery).
  // `terminology` (may be null) gets each committed message after its answer
  // (TerminologyService::Audit: its codes are checked off this path).
  Intake(const Config& config, Store& store, Env& env, MetricsRegistry& metrics,
         OnCommitted on_committed, TerminologyService* terminology = nullptr);

  // Processes one input; `done` gets the answer after the durable commit
  // (or at once for inputs that cannot be stored at all).
  void Submit(IntakeInput in, Done done);

  // Called after the durable commit of each newly accepted (AA) message,
  // after its answer; must not block (the EMPI queues the id). Set before
  // traffic starts.
  using OnAccepted = std::function<void(int64_t message_id)>;
  void SetOnAccepted(OnAccepted f) { on_accepted_ = std::move(f); }

  // Where accepted inputs' writes go (default: straight to the store). The
  // hub sets a WriteCoalescer so one event-loop turn's messages reach the
  // writer together. Set before traffic starts.
  using WriteSink = std::function<void(Store::PendingWrite)>;
  void SetWriteSink(WriteSink sink) { write_sink_ = std::move(sink); }

  // Each accepted input's write carries a WriteIntent of this kind (store.h):
  // the input, its routing and its content error, enough to redo the write.
  // ReplayIntent redoes it (register it in StoreOptions::replayers); it runs
  // the very code the live write runs.
  static constexpr uint8_t kIntent = 1;
  static Status ReplayIntent(std::string_view bytes, WriteTxn& txn);

 private:
  void Reject(IntakeInput in, const Status& why, const std::string& facility,
              const std::string& control_id, const std::string& ack, Done done);
  // CDA / FHIR input (intake_documents.cc): read, checked, routed by message
  // and document type, committed through Commit.
  void SubmitDocument(IntakeInput in, DocumentFormat format, int64_t start_ns, Done done);
  // The one write of an accepted input: dedupe on (facility, dedupe_key), the
  // message, its trace ("received", "routed") and its outbox rows, then the
  // answer after the durable commit. `label` names what was routed in the
  // trace (the message type, with the document type for documents);
  // `refused_ack` builds the HL7 AR for a failed commit (may be empty).
  void Commit(std::shared_ptr<NewMessage> m, std::shared_ptr<RouteDecision> decision,
              Status content_error, std::string label,
              std::function<std::string(const Status&)> refused_ack, int64_t start_ns, Done done);
  std::string NextAckId();

  const Config& config_;
  Store& store_;
  Env& env_;
  OnCommitted on_committed_;
  OnAccepted on_accepted_;
  WriteSink write_sink_;
  TerminologyService* terminology_;
  Router router_;
  std::atomic<uint64_t> ack_seq_{0};
  Counter* received_mllp_;
  Counter* received_http_;
  Counter* accepted_;
  Counter* duplicates_;
  Counter* rejected_;
  Counter* filtered_;
  Counter* routed_;
  Histogram* intake_seconds_;
};

}  // namespace hie
