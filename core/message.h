// The message envelope and the records the hub keeps about each message, its
// trace and its deliveries. Plain value types shared by store/, engine/ and
// the REST layer. Statuses are Mirth's words, because county IT knows them.
// Thread rules: value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hie {

enum class MessageStatus { kReceived, kFiltered, kTransformed, kQueued, kSent, kError };
std::string_view ToString(MessageStatus s);  // "RECEIVED", ...
std::optional<MessageStatus> ParseMessageStatus(std::string_view s);

enum class DeliveryState { kQueued, kSent, kError };
std::string_view ToString(DeliveryState s);  // "QUEUED" | "SENT" | "ERROR"
std::optional<DeliveryState> ParseDeliveryState(std::string_view s);

// What intake commits for one accepted input.
struct NewMessage {
  std::string facility_id;   // who sent it (MSH-4 or X-Facility-Id)
  std::string dedupe_key;    // MSH-10 or Idempotency-Key; unique per facility
  std::string control_id;    // MSH-10 when there is one
  std::string message_type;  // "ADT^A04" (first two components of MSH-9)
  std::string content_type;  // "application/hl7-v2", ...
  std::string source;        // "mllp" | "http"
  std::string peer;          // remote address "1.2.3.4:5678"
  std::string charset;       // as declared (MSH-18) or detected
  std::string patient_key;   // per-patient ordering key, opaque to the store
  std::string raw;           // the bytes exactly as received
  std::string response;      // the answer given: ACK text (MLLP) or JSON (HTTP)
  int64_t received_at_ms = 0;
  MessageStatus status = MessageStatus::kReceived;
  std::string error_code;    // ApiCode when status is ERROR at intake (AE)
  std::string error_text;
  std::string error_where;
};

struct MessageRecord {
  int64_t id = 0;
  std::string facility_id, dedupe_key, control_id, message_type, content_type, source, peer,
      charset, patient_key;
  std::string raw;       // empty in list results
  std::string response;  // the answer first given; repeats get it again
  int64_t received_at_ms = 0;
  int64_t updated_at_ms = 0;
  MessageStatus status = MessageStatus::kReceived;
  std::string error_code, error_text, error_where;
};

struct TraceEvent {
  int64_t at_ms = 0;
  std::string step;     // "received", "parsed", "routed", "queued", "delivered", ...
  std::string outcome;  // "ok" | "error" | "filtered" | ...
  std::string detail;   // human text (Chinese + English term); never PHI
};

struct DeliveryRecord {
  int64_t id = 0;
  int64_t message_id = 0;
  std::string destination_id;
  std::string patient_key;
  DeliveryState state = DeliveryState::kQueued;
  int attempts = 0;
  int64_t next_attempt_at_ms = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string last_error;
};

struct DeliveryAttempt {
  int64_t delivery_id = 0;
  int number = 0;  // 1-based
  int64_t at_ms = 0;
  int64_t duration_ms = 0;
  bool ok = false;
  std::string outcome;   // "sent" | "retry" | "failed"
  std::string response;  // status line / ACK / error text, truncated to 4 KiB
};

// An input the hub refused (AR / 4xx), kept raw: nothing that arrives is lost.
struct RejectedInput {
  int64_t id = 0;
  int64_t received_at_ms = 0;
  std::string source, peer, facility_id, control_id, content_type;
  std::string error_code, error_text, error_where;
  std::string raw;
  int64_t raw_size = 0;  // original size, also when raw was cut
};

}  // namespace hie
