#include "store/sqlite/sqlite_ops.h"

#include <algorithm>
#include <string>

namespace hie::sqlite {
namespace {

// Statuses and states are stored as their words ("RECEIVED", "QUEUED").
MessageStatus StatusFrom(const StmtRef& s, int col) {
  return ParseMessageStatus(s.ColStr(col)).value_or(MessageStatus::kError);
}
DeliveryState StateFrom(const StmtRef& s, int col) {
  return ParseDeliveryState(s.ColStr(col)).value_or(DeliveryState::kError);
}

Status NotFound(const char* what, int64_t id) {
  return Status(ErrorCode::kNotFound, std::string("未找到 (not found): ") + what,
                std::string(what) + "/" + std::to_string(id));
}

// Rows changed by the last statement: 0 means the id was not there.
bool Changed(Conn& c) { return sqlite3_changes(c.db()) > 0; }

int ClampLimit(int limit) { return std::clamp(limit, 1, 1000); }

// --- messages ---
#define HIE_MESSAGE_COLS                                                                \
  "id, facility_id, dedupe_key, control_id, message_type, content_type, source, peer, " \
  "charset, patient_key, received_at, updated_at, status, error_code, error_text, "     \
  "error_where, response"

void ReadMessage(const StmtRef& s, MessageRecord& m) {
  m.id = s.ColInt(0);
  s.ColStrInto(1, m.facility_id);
  s.ColStrInto(2, m.dedupe_key);
  s.ColStrInto(3, m.control_id);
  s.ColStrInto(4, m.message_type);
  s.ColStrInto(5, m.content_type);
  s.ColStrInto(6, m.source);
  s.ColStrInto(7, m.peer);
  s.ColStrInto(8, m.charset);
  s.ColStrInto(9, m.patient_key);
  m.received_at_ms = s.ColInt(10);
  m.updated_at_ms = s.ColInt(11);
  m.status = StatusFrom(s, 12);
  s.ColStrInto(13, m.error_code);
  s.ColStrInto(14, m.error_text);
  s.ColStrInto(15, m.error_where);
  s.ColStrInto(16, m.response);
}

constexpr char kFindDedupe[] =
    "SELECT id, status, response FROM messages "
    "WHERE facility_id=?1 AND dedupe_key=?2 AND dedupe_key<>''";
constexpr char kInsertMessage[] =
    "INSERT INTO messages(facility_id, dedupe_key, control_id, message_type, content_type, "
    "source, peer, charset, patient_key, received_at, updated_at, status, error_code, "
    "error_text, error_where, response, raw) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11,?12,?13,?14,?15,?16) "
    // A repeat of (facility, dedupe key) inserts nothing and is reported as
    // kConflict: no statement rollback, so the caller can look the first up.
    "ON CONFLICT DO NOTHING";
constexpr char kSetResponse[] = "UPDATE messages SET response=?2 WHERE id=?1";
constexpr char kUpdateStatus[] =
    "UPDATE messages SET status=?2, updated_at=?3, error_code=?4, error_text=?5, "
    "error_where=?6 WHERE id=?1";
constexpr char kUpdateMeta[] = "UPDATE messages SET message_type=?2, patient_key=?3 WHERE id=?1";
constexpr char kGetMessage[] = "SELECT " HIE_MESSAGE_COLS ", raw FROM messages WHERE id=?1";
constexpr char kIdsWithStatus[] =
    "SELECT id FROM messages WHERE status=?1 AND id>?2 ORDER BY id LIMIT ?3";

// --- trace ---
// seq = last seq of the message + 1: one probe of the primary key.
// Two statements, not INSERT ... SELECT MAX(seq): reading and writing the
// same table in one statement makes SQLite build a temporary table per row.
constexpr char kNextTraceSeq[] =
    "SELECT IFNULL(MAX(seq), 0) + 1 FROM message_trace WHERE message_id=?1";
constexpr char kAppendTrace[] =
    "INSERT INTO message_trace(message_id, seq, at, step, outcome, detail) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr char kGetTrace[] =
    "SELECT at, step, outcome, detail FROM message_trace WHERE message_id=?1 ORDER BY seq";

// --- rejected ---
#define HIE_REJECTED_COLS                                                              \
  "id, received_at, source, peer, facility_id, control_id, content_type, error_code, " \
  "error_text, error_where, raw_size"
constexpr char kInsertRejected[] =
    "INSERT INTO rejected(received_at, source, peer, facility_id, control_id, content_type, "
    "error_code, error_text, error_where, raw_size, raw) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)";
constexpr char kListRejected[] =
    "SELECT " HIE_REJECTED_COLS " FROM rejected WHERE id<?1 ORDER BY id DESC LIMIT ?2";
constexpr char kGetRejected[] = "SELECT " HIE_REJECTED_COLS ", raw FROM rejected WHERE id=?1";

void ReadRejected(const StmtRef& s, RejectedInput& r) {
  r.id = s.ColInt(0);
  r.received_at_ms = s.ColInt(1);
  s.ColStrInto(2, r.source);
  s.ColStrInto(3, r.peer);
  s.ColStrInto(4, r.facility_id);
  s.ColStrInto(5, r.control_id);
  s.ColStrInto(6, r.content_type);
  s.ColStrInto(7, r.error_code);
  s.ColStrInto(8, r.error_text);
  s.ColStrInto(9, r.error_where);
  r.raw_size = s.ColInt(10);
}

// --- deliveries ---
// `head` marks the oldest QUEUED delivery of each (destination, patient_key);
// see 0001_init.sql. Every state change below keeps that true.
#define HIE_DELIVERY_COLS                                                           \
  "id, message_id, destination_id, patient_key, state, attempts, next_attempt_at, " \
  "created_at, updated_at, last_error"

void ReadDelivery(const StmtRef& s, DeliveryRecord& d) {
  d.id = s.ColInt(0);
  d.message_id = s.ColInt(1);
  s.ColStrInto(2, d.destination_id);
  s.ColStrInto(3, d.patient_key);
  d.state = StateFrom(s, 4);
  d.attempts = static_cast<int>(s.ColInt(5));
  d.next_attempt_at_ms = s.ColInt(6);
  d.created_at_ms = s.ColInt(7);
  d.updated_at_ms = s.ColInt(8);
  s.ColStrInto(9, d.last_error);
}

constexpr char kInsertDelivery[] =
    "INSERT INTO deliveries(message_id, destination_id, patient_key, state, head, attempts, "
    "next_attempt_at, created_at, updated_at, last_error) "
    "VALUES(?1, ?2, ?3, 'QUEUED', NOT EXISTS(SELECT 1 FROM deliveries WHERE destination_id=?2 "
    "AND patient_key=?3 AND state='QUEUED'), 0, ?4, ?4, ?4, '')";
constexpr char kDeliveryKey[] =
    "SELECT state, destination_id, patient_key, head FROM deliveries WHERE id=?1";
constexpr char kQueueHead[] =
    "SELECT MIN(id) FROM deliveries WHERE destination_id=?1 AND patient_key=?2 "
    "AND state='QUEUED'";
constexpr char kSetHead[] = "UPDATE deliveries SET head=?2 WHERE id=?1";
constexpr char kUpdateDelivery[] =
    "UPDATE deliveries SET state=?2, attempts=?3, next_attempt_at=?4, last_error=?5, "
    "updated_at=?6, head=?7 WHERE id=?1";
constexpr char kDeliveriesOf[] =
    "SELECT " HIE_DELIVERY_COLS " FROM deliveries WHERE message_id=?1 ORDER BY id";
constexpr char kGetDelivery[] = "SELECT " HIE_DELIVERY_COLS " FROM deliveries WHERE id=?1";
constexpr char kDue[] =
    "SELECT " HIE_DELIVERY_COLS
    " FROM deliveries INDEXED BY deliveries_heads "
    "WHERE destination_id=?1 AND state='QUEUED' AND head=1 AND next_attempt_at<=?2 ORDER BY id";
constexpr char kNextDue[] =
    "SELECT MIN(next_attempt_at) FROM deliveries INDEXED BY deliveries_heads "
    "WHERE destination_id=?1 AND state='QUEUED' AND head=1";
constexpr char kQueueDepths[] =
    "SELECT destination_id, COUNT(*) FROM deliveries WHERE state='QUEUED' "
    "GROUP BY destination_id";
constexpr char kRecordAttempt[] =
    "INSERT INTO delivery_attempts(delivery_id, number, at, duration_ms, ok, outcome, response) "
    "VALUES(?1,(SELECT COALESCE(MAX(number),0)+1 FROM delivery_attempts WHERE delivery_id=?1)"
    "+0*?2,?3,?4,?5,?6,?7)";  // numbered by the store: reprocessing continues the count
constexpr char kGetAttempts[] =
    "SELECT delivery_id, number, at, duration_ms, ok, outcome, response FROM delivery_attempts "
    "WHERE delivery_id=?1 ORDER BY number";
constexpr char kSetPaused[] =
    "INSERT INTO destination_state(destination_id, paused) VALUES(?1, ?2) "
    "ON CONFLICT(destination_id) DO UPDATE SET paused=excluded.paused";
constexpr char kPaused[] = "SELECT destination_id FROM destination_state WHERE paused=1";

// The oldest QUEUED delivery of (destination, patient), 0 when none.
Result<int64_t> QueueHead(Conn& c, const std::string& destination_id,
                          const std::string& patient_key) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kQueueHead, "QueueHead"));
  s.Text(1, destination_id);
  s.Text(2, patient_key);
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  return row && !s.ColIsNull(0) ? s.ColInt(0) : 0;
}

Status SetHead(Conn& c, int64_t id, bool head) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kSetHead, "SetHead"));
  s.Int(1, id);
  s.Int(2, head ? 1 : 0);
  return s.Run();
}

}  // namespace

std::string WildcardToGlob(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 8);
  for (char ch : pattern) {
    if (ch == '?') {
      out += "[?]";
    } else if (ch == '[') {
      out += "[[]";
    } else {
      out += ch;  // '*' stays the wildcard; ']' and '^' are literal outside [...]
    }
  }
  return out;
}

// ---------------------------------------------------------------- writes

Result<std::optional<DedupeHit>> FindByDedupeKey(Conn& c, const std::string& facility_id,
                                                 const std::string& dedupe_key) {
  if (dedupe_key.empty()) return std::optional<DedupeHit>();
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kFindDedupe, "FindByDedupeKey"));
  s.Text(1, facility_id);
  s.Text(2, dedupe_key);
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<DedupeHit>();
  DedupeHit hit;
  hit.message_id = s.ColInt(0);
  hit.status = StatusFrom(s, 1);
  s.ColStrInto(2, hit.response);
  return std::optional<DedupeHit>(std::move(hit));
}

Result<int64_t> InsertMessage(Conn& c, const NewMessage& m) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kInsertMessage, "InsertMessage"));
  s.Text(1, m.facility_id);
  s.Text(2, m.dedupe_key);
  s.Text(3, m.control_id);
  s.Text(4, m.message_type);
  s.Text(5, m.content_type);
  s.Text(6, m.source);
  s.Text(7, m.peer);
  s.Text(8, m.charset);
  s.Text(9, m.patient_key);
  s.Int(10, m.received_at_ms);
  s.Text(11, ToString(m.status));
  s.Text(12, m.error_code);
  s.Text(13, m.error_text);
  s.Text(14, m.error_where);
  s.Blob(15, m.response);
  s.Blob(16, m.raw);
  Status st = s.Run();
  if (st.ok() && !Changed(c)) st = Status(ErrorCode::kConflict, "", "InsertMessage");
  if (!st.ok()) {
    if (st.code() == ErrorCode::kConflict) {
      return Status(ErrorCode::kConflict,
                    "重复消息 (duplicate message): 同一机构的去重键已存在 (dedupe key exists)",
                    "InsertMessage");
    }
    return st;
  }
  return static_cast<int64_t>(sqlite3_last_insert_rowid(c.db()));
}

Status SetResponse(Conn& c, int64_t message_id, const std::string& response) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kSetResponse, "SetResponse"));
  s.Int(1, message_id);
  s.Blob(2, response);
  HIE_RETURN_IF_ERROR(s.Run());
  return Changed(c) ? Status::Ok() : NotFound("message", message_id);
}

Result<int64_t> InsertRejected(Conn& c, const RejectedInput& r) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kInsertRejected, "InsertRejected"));
  s.Int(1, r.received_at_ms);
  s.Text(2, r.source);
  s.Text(3, r.peer);
  s.Text(4, r.facility_id);
  s.Text(5, r.control_id);
  s.Text(6, r.content_type);
  s.Text(7, r.error_code);
  s.Text(8, r.error_text);
  s.Text(9, r.error_where);
  s.Int(10, r.raw_size != 0 ? r.raw_size : static_cast<int64_t>(r.raw.size()));
  s.Blob(11, r.raw);
  HIE_RETURN_IF_ERROR(s.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(c.db()));
}

Status UpdateStatus(Conn& c, int64_t id, MessageStatus status, int64_t at_ms, const Status& error) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kUpdateStatus, "UpdateStatus"));
  s.Int(1, id);
  s.Text(2, ToString(status));
  s.Int(3, at_ms);
  if (error.ok()) {
    s.Text(4, "");
    s.Text(5, "");
    s.Text(6, "");
  } else {
    s.Text(4, ApiCode(error.code()));
    s.Text(5, error.message());
    s.Text(6, error.where());
  }
  HIE_RETURN_IF_ERROR(s.Run());
  return Changed(c) ? Status::Ok() : NotFound("message", id);
}

Status UpdateMeta(Conn& c, int64_t id, const std::string& message_type,
                  const std::string& patient_key) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kUpdateMeta, "UpdateMeta"));
  s.Int(1, id);
  s.Text(2, message_type);
  s.Text(3, patient_key);
  HIE_RETURN_IF_ERROR(s.Run());
  return Changed(c) ? Status::Ok() : NotFound("message", id);
}

Status AppendTrace(Conn& c, int64_t message_id, const TraceEvent& e) {
  int64_t seq = 1;
  {
    HIE_ASSIGN_OR_RETURN(auto q, c.Static(kNextTraceSeq, "AppendTrace"));
    q.Int(1, message_id);
    HIE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) seq = q.ColInt(0);
  }
  return AppendTraceAt(c, message_id, seq, e);
}

Status AppendTraceAt(Conn& c, int64_t message_id, int64_t seq, const TraceEvent& e) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kAppendTrace, "AppendTrace"));
  s.Int(1, message_id);
  s.Int(2, seq);
  s.Int(3, e.at_ms);
  s.Text(4, e.step);
  s.Text(5, e.outcome);
  s.Text(6, e.detail);
  return s.Run();
}

Result<int64_t> InsertDelivery(Conn& c, int64_t message_id, const std::string& destination_id,
                               const std::string& patient_key, int64_t at_ms) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kInsertDelivery, "InsertDelivery"));
  s.Int(1, message_id);
  s.Text(2, destination_id);
  s.Text(3, patient_key);
  s.Int(4, at_ms);
  HIE_RETURN_IF_ERROR(s.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(c.db()));
}

Status UpdateDelivery(Conn& c, int64_t delivery_id, DeliveryState state, int attempts,
                      int64_t next_attempt_at_ms, const std::string& last_error, int64_t at_ms) {
  std::optional<DeliveryState> old_state;
  std::string destination_id, patient_key;
  bool was_head = false;
  {
    HIE_ASSIGN_OR_RETURN(auto s, c.Static(kDeliveryKey, "UpdateDelivery"));
    s.Int(1, delivery_id);
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("delivery", delivery_id);
    old_state = StateFrom(s, 0);
    s.ColStrInto(1, destination_id);
    s.ColStrInto(2, patient_key);
    was_head = s.ColInt(3) != 0;
  }
  const bool was_queued = old_state == DeliveryState::kQueued;
  const bool queued = state == DeliveryState::kQueued;
  bool head = was_head;
  int64_t demote = 0;  // old head that a re-queued older delivery displaces
  if (was_queued && !queued) {
    head = false;
  } else if (!was_queued && queued) {
    HIE_ASSIGN_OR_RETURN(int64_t cur, QueueHead(c, destination_id, patient_key));
    head = cur == 0 || delivery_id < cur;
    if (head && cur != 0) demote = cur;
  }
  {
    HIE_ASSIGN_OR_RETURN(auto s, c.Static(kUpdateDelivery, "UpdateDelivery"));
    s.Int(1, delivery_id);
    s.Text(2, ToString(state));
    s.Int(3, attempts);
    s.Int(4, next_attempt_at_ms);
    s.Text(5, last_error);
    s.Int(6, at_ms);
    s.Int(7, head ? 1 : 0);
    HIE_RETURN_IF_ERROR(s.Run());
  }
  if (demote != 0) HIE_RETURN_IF_ERROR(SetHead(c, demote, false));
  if (was_queued && !queued && was_head) {
    // The next QUEUED delivery of the patient (if any) moves up.
    HIE_ASSIGN_OR_RETURN(int64_t next, QueueHead(c, destination_id, patient_key));
    if (next != 0) HIE_RETURN_IF_ERROR(SetHead(c, next, true));
  }
  return Status::Ok();
}

Status RecordAttempt(Conn& c, const DeliveryAttempt& a) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kRecordAttempt, "RecordAttempt"));
  s.Int(1, a.delivery_id);
  s.Int(2, a.number);
  s.Int(3, a.at_ms);
  s.Int(4, a.duration_ms);
  s.Int(5, a.ok ? 1 : 0);
  s.Text(6, a.outcome);
  s.Blob(7, a.response);
  return s.Run();
}

Status SetDestinationPaused(Conn& c, const std::string& destination_id, bool paused) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kSetPaused, "SetDestinationPaused"));
  s.Text(1, destination_id);
  s.Int(2, paused ? 1 : 0);
  return s.Run();
}

// ---------------------------------------------------------------- reads

Result<MessageRecord> GetMessage(Conn& c, int64_t id) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kGetMessage, "GetMessage"));
  s.Int(1, id);
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("message", id);
  MessageRecord m;
  ReadMessage(s, m);
  s.ColStrInto(17, m.raw);
  return m;
}

Result<std::vector<MessageRecord>> ListMessages(Conn& c, const MessageFilter& f) {
  // One SQL shape per combination of filters (at most 32), each cached.
  std::string sql = "SELECT " HIE_MESSAGE_COLS " FROM messages WHERE 1=1";
  int n = 0;
  int p_status = 0, p_facility = 0, p_type = 0, p_since = 0, p_before = 0;
  std::string type_pattern;
  if (f.status) {
    p_status = ++n;
    sql += " AND status=?" + std::to_string(p_status);
  }
  if (!f.facility_id.empty()) {
    p_facility = ++n;
    sql += " AND facility_id=?" + std::to_string(p_facility);
  }
  if (!f.message_type.empty()) {
    p_type = ++n;
    if (f.message_type.find('*') != std::string::npos) {
      type_pattern = WildcardToGlob(f.message_type);
      sql += " AND message_type GLOB ?" + std::to_string(p_type);
    } else {
      type_pattern = f.message_type;
      sql += " AND message_type=?" + std::to_string(p_type);
    }
  }
  if (f.since_ms > 0) {
    p_since = ++n;
    sql += " AND received_at>=?" + std::to_string(p_since);
  }
  if (f.before_id > 0) {
    p_before = ++n;
    sql += " AND id<?" + std::to_string(p_before);
  }
  const int p_limit = ++n;
  sql += " ORDER BY id DESC LIMIT ?" + std::to_string(p_limit);

  HIE_ASSIGN_OR_RETURN(auto s, c.Dynamic(sql, "ListMessages"));
  if (p_status) s.Text(p_status, ToString(*f.status));
  if (p_facility) s.Text(p_facility, f.facility_id);
  if (p_type) s.Text(p_type, type_pattern);
  if (p_since) s.Int(p_since, f.since_ms);
  if (p_before) s.Int(p_before, f.before_id);
  s.Int(p_limit, ClampLimit(f.limit));
  std::vector<MessageRecord> out;
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ReadMessage(s, out.emplace_back());
  }
  return out;
}

Result<std::vector<TraceEvent>> GetTrace(Conn& c, int64_t message_id) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kGetTrace, "GetTrace"));
  s.Int(1, message_id);
  std::vector<TraceEvent> out;
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    TraceEvent& e = out.emplace_back();
    e.at_ms = s.ColInt(0);
    s.ColStrInto(1, e.step);
    s.ColStrInto(2, e.outcome);
    s.ColStrInto(3, e.detail);
  }
  return out;
}

Result<std::vector<DeliveryRecord>> DeliveriesOf(Conn& c, int64_t message_id) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kDeliveriesOf, "DeliveriesOf"));
  s.Int(1, message_id);
  std::vector<DeliveryRecord> out;
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ReadDelivery(s, out.emplace_back());
  }
  return out;
}

Result<DeliveryRecord> GetDelivery(Conn& c, int64_t delivery_id) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kGetDelivery, "GetDelivery"));
  s.Int(1, delivery_id);
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("delivery", delivery_id);
  DeliveryRecord d;
  ReadDelivery(s, d);
  return d;
}

Result<std::vector<DeliveryAttempt>> GetAttempts(Conn& c, int64_t delivery_id) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kGetAttempts, "GetAttempts"));
  s.Int(1, delivery_id);
  std::vector<DeliveryAttempt> out;
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    DeliveryAttempt& a = out.emplace_back();
    a.delivery_id = s.ColInt(0);
    a.number = static_cast<int>(s.ColInt(1));
    a.at_ms = s.ColInt(2);
    a.duration_ms = s.ColInt(3);
    a.ok = s.ColInt(4) != 0;
    s.ColStrInto(5, a.outcome);
    s.ColStrInto(6, a.response);
  }
  return out;
}

Result<std::vector<RejectedInput>> ListRejected(Conn& c, int64_t before_id, int limit) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kListRejected, "ListRejected"));
  s.Int(1, before_id > 0 ? before_id : INT64_MAX);
  s.Int(2, ClampLimit(limit));
  std::vector<RejectedInput> out;
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ReadRejected(s, out.emplace_back());
  }
  return out;
}

Result<RejectedInput> GetRejected(Conn& c, int64_t id) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kGetRejected, "GetRejected"));
  s.Int(1, id);
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("rejected", id);
  RejectedInput r;
  ReadRejected(s, r);
  s.ColStrInto(11, r.raw);
  return r;
}

Result<std::vector<int64_t>> MessageIdsWithStatus(Conn& c, MessageStatus status, int64_t after_id,
                                                  int limit) {
  std::vector<int64_t> out;
  if (limit <= 0) return out;
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kIdsWithStatus, "MessageIdsWithStatus"));
  s.Text(1, ToString(status));
  s.Int(2, after_id);
  s.Int(3, limit);
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.ColInt(0));
  }
  return out;
}

Result<std::vector<DeliveryRecord>> DueDeliveries(Conn& c, const std::string& destination_id,
                                                  int64_t now_ms, int limit,
                                                  const std::set<int64_t>& exclude) {
  std::vector<DeliveryRecord> out;
  if (limit <= 0) return out;
  // Heads only (the in-flight ones are heads too, so skipping them never
  // lets the next delivery of the same patient through). The scan stops as
  // soon as `limit` rows are found.
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kDue, "DueDeliveries"));
  s.Text(1, destination_id);
  s.Int(2, now_ms);
  while (static_cast<int>(out.size()) < limit) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (exclude.count(s.ColInt(0)) != 0) continue;
    ReadDelivery(s, out.emplace_back());
  }
  return out;
}

Result<std::optional<int64_t>> NextDueAt(Conn& c, const std::string& destination_id) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kNextDue, "NextDueAt"));
  s.Text(1, destination_id);
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row || s.ColIsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(s.ColInt(0));
}

Result<std::map<std::string, int64_t>> QueueDepths(Conn& c) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kQueueDepths, "QueueDepths"));
  std::map<std::string, int64_t> out;
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out[s.ColStr(0)] = s.ColInt(1);
  }
  return out;
}

Result<std::set<std::string>> PausedDestinations(Conn& c) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(kPaused, "PausedDestinations"));
  std::set<std::string> out;
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.insert(s.ColStr(0));
  }
  return out;
}

}  // namespace hie::sqlite
