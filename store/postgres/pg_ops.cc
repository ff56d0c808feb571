#include "store/postgres/pg_ops.h"

#include <algorithm>
#include <string>

namespace hie::pg {
namespace {

// The database's clock in epoch milliseconds: claims expire by it, so the
// clocks of the nodes do not have to agree.
#define HIE_DB_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

#define HIE_MESSAGE_COLS                                                                \
  "id, facility_id, dedupe_key, control_id, message_type, content_type, source, peer, " \
  "charset, patient_key, received_at, updated_at, status, error_code, error_text, "     \
  "error_where, response"
#define HIE_MESSAGE_COLS_M                                                                      \
  "m.id, m.facility_id, m.dedupe_key, m.control_id, m.message_type, m.content_type, m.source, " \
  "m.peer, m.charset, m.patient_key, m.received_at, m.updated_at, m.status, m.error_code, "     \
  "m.error_text, m.error_where, m.response"
// The body joined to its message; empty once content retention dropped it.
#define HIE_BODY                                                              \
  "COALESCE(b.raw, '\\x'::bytea) FROM messages m LEFT JOIN message_bodies b " \
  "ON b.message_id = m.id AND b.received_at = m.received_at"
#define HIE_REJECTED_COLS                                                              \
  "id, received_at, source, peer, facility_id, control_id, content_type, error_code, " \
  "error_text, error_where, raw_size"
#define HIE_DELIVERY_COLS                                                           \
  "id, message_id, destination_id, patient_key, state, attempts, next_attempt_at, " \
  "created_at, updated_at, last_error"

const std::vector<Statement> kStatements = {
    {"find_dedupe",
     "SELECT m.id, m.status, m.response FROM message_keys k JOIN messages m "
     "ON m.id = k.message_id AND m.received_at = k.received_at "
     "WHERE k.facility_id = $1 AND k.dedupe_key = $2"},
    // Without a dedupe key: metadata and body in one statement.
    {"insert_message",
     "WITH m AS (INSERT INTO messages(facility_id, dedupe_key, control_id, message_type, "
     "content_type, source, peer, charset, patient_key, received_at, updated_at, status, "
     "error_code, error_text, error_where, response) "
     "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15) "
     "RETURNING id, received_at) "
     "INSERT INTO message_bodies(message_id, received_at, raw) "
     "SELECT id, received_at, $16 FROM m RETURNING message_id"},
    // With one: the key first, so a duplicate (also one another node is
    // committing right now: the insert waits for it) inserts nothing and
    // returns no row instead of raising an error. Still one round trip.
    {"insert_message_keyed",
     "WITH k AS (INSERT INTO message_keys(facility_id, dedupe_key, message_id, received_at) "
     "VALUES($1, $2, nextval('messages_id_seq'), $10) ON CONFLICT DO NOTHING "
     "RETURNING message_id), "
     "m AS (INSERT INTO messages(id, facility_id, dedupe_key, control_id, message_type, "
     "content_type, source, peer, charset, patient_key, received_at, updated_at, status, "
     "error_code, error_text, error_where, response) "
     "SELECT k.message_id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15 "
     "FROM k RETURNING id, received_at) "
     "INSERT INTO message_bodies(message_id, received_at, raw) "
     "SELECT id, received_at, $16 FROM m RETURNING message_id"},
    {"set_response", "UPDATE messages SET response = $2 WHERE id = $1"},
    {"update_status",
     "UPDATE messages SET status = $2, updated_at = $3, error_code = $4, error_text = $5, "
     "error_where = $6 WHERE id = $1"},
    {"update_meta", "UPDATE messages SET message_type = $2, patient_key = $3 WHERE id = $1"},
    {"get_message", "SELECT " HIE_MESSAGE_COLS_M ", " HIE_BODY " WHERE m.id = $1"},
    // Inside a write: the row stays locked until commit, so two nodes
    // deciding on one message take turns and the second sees the first's.
    {"get_message_locked",
     "SELECT " HIE_MESSAGE_COLS_M ", " HIE_BODY " WHERE m.id = $1 FOR UPDATE OF m"},
    {"ids_with_status",
     "SELECT id FROM messages WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3"},
    {"append_trace",
     "INSERT INTO message_trace(message_id, seq, at, step, outcome, detail) "
     "SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM message_trace "
     "WHERE message_id = $1"},
    // Two-key form: its own space, apart from the queue locks' one-key form.
    {"lock_trace", "SELECT pg_advisory_xact_lock(1953653091, ($1::bigint & 2147483647)::integer)"},
    {"insert_traces",
     "INSERT INTO message_trace(message_id, seq, at, step, outcome, detail) "
     "SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::text[], $5::text[], "
     "$6::text[])"},
    {"get_trace",
     "SELECT at, step, outcome, detail FROM message_trace WHERE message_id = $1 ORDER BY seq"},
    {"insert_rejected",
     "INSERT INTO rejected(received_at, source, peer, facility_id, control_id, content_type, "
     "error_code, error_text, error_where, raw_size, raw) "
     "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"},
    {"list_rejected",
     "SELECT " HIE_REJECTED_COLS " FROM rejected WHERE id < $1 ORDER BY id DESC LIMIT $2"},
    {"get_rejected", "SELECT " HIE_REJECTED_COLS ", raw FROM rejected WHERE id = $1"},
    // Serializes every change of one (destination, patient) queue across
    // nodes until commit, so `head` stays exact.
    {"lock_queue", "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 7))"},
    {"insert_delivery",
     "INSERT INTO deliveries(message_id, destination_id, patient_key, state, head, attempts, "
     "next_attempt_at, created_at, updated_at, last_error) "
     "VALUES($1, $2, $3, 'QUEUED', NOT EXISTS(SELECT 1 FROM deliveries WHERE destination_id = $2 "
     "AND patient_key = $3 AND state = 'QUEUED'), 0, $4, $4, $4, '') RETURNING id"},
    {"delivery_key", "SELECT destination_id, patient_key FROM deliveries WHERE id = $1"},
    {"delivery_lock", "SELECT state, head FROM deliveries WHERE id = $1 FOR UPDATE"},
    {"queue_head",
     "SELECT MIN(id) FROM deliveries WHERE destination_id = $1 AND patient_key = $2 "
     "AND state = 'QUEUED'"},
    {"set_head", "UPDATE deliveries SET head = $2 WHERE id = $1"},
    {"update_delivery",
     "UPDATE deliveries SET state = $2, attempts = $3, next_attempt_at = $4, last_error = $5, "
     "updated_at = $6, head = $7, lease_owner = NULL, lease_until = 0 WHERE id = $1"},
    {"lock_message", "SELECT 1 FROM messages WHERE id = $1 FOR UPDATE"},
    {"deliveries_of",
     "SELECT " HIE_DELIVERY_COLS " FROM deliveries WHERE message_id = $1 ORDER BY id"},
    {"get_delivery", "SELECT " HIE_DELIVERY_COLS " FROM deliveries WHERE id = $1"},
    {"get_delivery_locked",
     "SELECT " HIE_DELIVERY_COLS " FROM deliveries WHERE id = $1 FOR UPDATE"},
    {"claim_due",
     "WITH c AS (SELECT id, created_at FROM deliveries "
     "WHERE destination_id = $1 AND state = 'QUEUED' AND head AND next_attempt_at <= $2 "
     "AND (lease_owner IS NULL OR lease_owner = $3 OR lease_until <= " HIE_DB_NOW_MS ") "
     "AND NOT (id = ANY($4::bigint[])) ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED) "
     "UPDATE deliveries d SET lease_owner = $3, lease_until = " HIE_DB_NOW_MS " + $6 "
     "FROM c WHERE d.id = c.id AND d.created_at = c.created_at "
     "RETURNING d.id, d.message_id, d.destination_id, d.patient_key, d.state, d.attempts, "
     "d.next_attempt_at, d.created_at, d.updated_at, d.last_error"},
    // SKIP LOCKED: a row the writer holds (its sender is finishing it) is
    // left for the next poll. Waiting would lock the rows in no fixed order
    // against a write batch that locks several deliveries: a deadlock, one
    // second (deadlock_timeout) of every ACK in that batch.
    {"renew_claims",
     "UPDATE deliveries d SET lease_until = " HIE_DB_NOW_MS " + $3 FROM (SELECT id, created_at "
     "FROM deliveries WHERE id = ANY($1::bigint[]) AND lease_owner = $2 AND state = 'QUEUED' "
     "FOR UPDATE SKIP LOCKED) c WHERE d.id = c.id AND d.created_at = c.created_at"},
    {"release_claims",
     "UPDATE deliveries SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1"},
    {"next_due",
     "SELECT MIN(next_attempt_at) FROM deliveries "
     "WHERE destination_id = $1 AND state = 'QUEUED' AND head"},
    {"queue_depths",
     "SELECT destination_id, COUNT(*) FROM deliveries WHERE state = 'QUEUED' "
     "GROUP BY destination_id"},
    // Numbered by the store: reprocessing continues the count.
    {"record_attempt",
     "INSERT INTO delivery_attempts(delivery_id, number, at, duration_ms, ok, outcome, response) "
     "SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, $4, $5, $6 FROM delivery_attempts "
     "WHERE delivery_id = $1"},
    {"get_attempts",
     "SELECT delivery_id, number, at, duration_ms, ok, outcome, response FROM delivery_attempts "
     "WHERE delivery_id = $1 ORDER BY number"},
    {"set_paused",
     "INSERT INTO destination_state(destination_id, paused) VALUES($1, $2) "
     "ON CONFLICT(destination_id) DO UPDATE SET paused = excluded.paused"},
    {"paused", "SELECT destination_id FROM destination_state WHERE paused"},
    {"ensure_partitions", "SELECT hie_ensure_partitions($1, $2)"},
    {"partitioned_tables", "SELECT table_name FROM hie_partitioned ORDER BY table_name"},
    {"ensure_table_partitions", "SELECT hie_ensure_table_partitions($1, $2, $3)"},
};

std::string Str(const pqxx::field& f) { return std::string(f.c_str(), f.size()); }
std::string Bytes(const pqxx::field& f) {
  return f.is_null() ? std::string() : pqxx::binarystring(f).str();
}
int64_t Int(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }
pqxx::binarystring Bin(const std::string& s) { return pqxx::binarystring(s.data(), s.size()); }

MessageStatus StatusOf(const pqxx::field& f) {
  return ParseMessageStatus(Str(f)).value_or(MessageStatus::kError);
}
DeliveryState StateOf(const pqxx::field& f) {
  return ParseDeliveryState(Str(f)).value_or(DeliveryState::kError);
}

Status NotFound(const char* what, int64_t id) {
  return Status(ErrorCode::kNotFound, std::string("未找到 (not found): ") + what,
                std::string(what) + "/" + std::to_string(id));
}

int ClampLimit(int limit) { return std::clamp(limit, 1, 1000); }

void ReadMessage(const pqxx::row& r, MessageRecord& m) {
  m.id = Int(r[0]);
  m.facility_id = Str(r[1]);
  m.dedupe_key = Str(r[2]);
  m.control_id = Str(r[3]);
  m.message_type = Str(r[4]);
  m.content_type = Str(r[5]);
  m.source = Str(r[6]);
  m.peer = Str(r[7]);
  m.charset = Str(r[8]);
  m.patient_key = Str(r[9]);
  m.received_at_ms = Int(r[10]);
  m.updated_at_ms = Int(r[11]);
  m.status = StatusOf(r[12]);
  m.error_code = Str(r[13]);
  m.error_text = Str(r[14]);
  m.error_where = Str(r[15]);
  m.response = Bytes(r[16]);
}

void ReadRejected(const pqxx::row& r, RejectedInput& x) {
  x.id = Int(r[0]);
  x.received_at_ms = Int(r[1]);
  x.source = Str(r[2]);
  x.peer = Str(r[3]);
  x.facility_id = Str(r[4]);
  x.control_id = Str(r[5]);
  x.content_type = Str(r[6]);
  x.error_code = Str(r[7]);
  x.error_text = Str(r[8]);
  x.error_where = Str(r[9]);
  x.raw_size = Int(r[10]);
}

void ReadDelivery(const pqxx::row& r, DeliveryRecord& d) {
  d.id = Int(r[0]);
  d.message_id = Int(r[1]);
  d.destination_id = Str(r[2]);
  d.patient_key = Str(r[3]);
  d.state = StateOf(r[4]);
  d.attempts = static_cast<int>(Int(r[5]));
  d.next_attempt_at_ms = Int(r[6]);
  d.created_at_ms = Int(r[7]);
  d.updated_at_ms = Int(r[8]);
  d.last_error = Str(r[9]);
}

std::vector<DeliveryRecord> Deliveries(const pqxx::result& res) {
  std::vector<DeliveryRecord> out;
  out.reserve(res.size());
  for (const auto& row : res) ReadDelivery(row, out.emplace_back());
  return out;
}

// The oldest QUEUED delivery of (destination, patient), 0 when none.
int64_t QueueHead(Tx& t, const std::string& destination_id, const std::string& patient_key) {
  pqxx::result r = t.exec_prepared("queue_head", destination_id, patient_key);
  return r.empty() ? 0 : Int(r[0][0]);
}

}  // namespace

const std::vector<Statement>& Statements() { return kStatements; }

std::string WildcardToLike(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 8);
  for (char ch : pattern) {
    if (ch == '*') {
      out += '%';
    } else if (ch == '%' || ch == '_' || ch == '\\') {
      out += '\\';
      out += ch;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string IdArray(const std::set<int64_t>& ids) {
  std::string out = "{";
  for (int64_t id : ids) {
    if (out.size() > 1) out += ',';
    out += std::to_string(id);
  }
  out += '}';
  return out;
}

std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& x : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : x) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// ---------------------------------------------------------------- writes

Result<std::optional<DedupeHit>> FindByDedupeKey(Tx& t, const std::string& facility_id,
                                                 const std::string& dedupe_key) {
  if (dedupe_key.empty()) return std::optional<DedupeHit>();
  pqxx::result r = t.exec_prepared("find_dedupe", facility_id, dedupe_key);
  if (r.empty()) return std::optional<DedupeHit>();
  DedupeHit hit;
  hit.message_id = Int(r[0][0]);
  hit.status = StatusOf(r[0][1]);
  hit.response = Bytes(r[0][2]);
  return std::optional<DedupeHit>(std::move(hit));
}

Result<int64_t> InsertMessage(Tx& t, const NewMessage& m) {
  pqxx::result r = t.exec_prepared(m.dedupe_key.empty() ? "insert_message" : "insert_message_keyed",
                                   m.facility_id, m.dedupe_key, m.control_id, m.message_type,
                                   m.content_type, m.source, m.peer, m.charset, m.patient_key,
                                   m.received_at_ms, std::string(ToString(m.status)), m.error_code,
                                   m.error_text, m.error_where, Bin(m.response), Bin(m.raw));
  if (r.empty()) {
    return Status(ErrorCode::kConflict,
                  "重复消息 (duplicate message): 同一机构的去重键已存在 (dedupe key exists)",
                  "InsertMessage");
  }
  return Int(r[0][0]);
}

Status SetResponse(Tx& t, int64_t message_id, const std::string& response) {
  pqxx::result r = t.exec_prepared("set_response", message_id, Bin(response));
  return r.affected_rows() > 0 ? Status::Ok() : NotFound("message", message_id);
}

Result<int64_t> InsertRejected(Tx& t, const RejectedInput& x) {
  pqxx::result r = t.exec_prepared(
      "insert_rejected", x.received_at_ms, x.source, x.peer, x.facility_id, x.control_id,
      x.content_type, x.error_code, x.error_text, x.error_where,
      x.raw_size != 0 ? x.raw_size : static_cast<int64_t>(x.raw.size()), Bin(x.raw));
  return Int(r[0][0]);
}

Status UpdateStatus(Tx& t, int64_t id, MessageStatus status, int64_t at_ms, const Status& error) {
  const bool ok = error.ok();
  pqxx::result r =
      t.exec_prepared("update_status", id, std::string(ToString(status)), at_ms,
                      ok ? std::string() : std::string(ApiCode(error.code())),
                      ok ? std::string() : error.message(), ok ? std::string() : error.where());
  return r.affected_rows() > 0 ? Status::Ok() : NotFound("message", id);
}

Status UpdateMeta(Tx& t, int64_t id, const std::string& message_type,
                  const std::string& patient_key) {
  pqxx::result r = t.exec_prepared("update_meta", id, message_type, patient_key);
  return r.affected_rows() > 0 ? Status::Ok() : NotFound("message", id);
}

Status AppendTrace(Tx& t, int64_t message_id, const TraceEvent& e, bool lock) {
  // Lock, then count in a second statement: READ COMMITTED gives that one a
  // snapshot taken after the lock was granted.
  if (lock) t.exec_prepared("lock_trace", message_id);
  t.exec_prepared("append_trace", message_id, e.at_ms, e.step, e.outcome, e.detail);
  return Status::Ok();
}

void InsertTraces(Tx& t, const std::vector<TraceRow>& rows) {
  if (rows.empty()) return;
  std::string ids = "{", seqs = "{", ats = "{";
  std::vector<std::string> steps, outcomes, details;
  steps.reserve(rows.size());
  outcomes.reserve(rows.size());
  details.reserve(rows.size());
  for (const TraceRow& r : rows) {
    if (ids.size() > 1) {
      ids += ',';
      seqs += ',';
      ats += ',';
    }
    ids += std::to_string(r.message_id);
    seqs += std::to_string(r.seq);
    ats += std::to_string(r.e.at_ms);
    steps.push_back(r.e.step);
    outcomes.push_back(r.e.outcome);
    details.push_back(r.e.detail);
  }
  ids += '}';
  seqs += '}';
  ats += '}';
  t.exec_prepared("insert_traces", ids, seqs, ats, TextArray(steps), TextArray(outcomes),
                  TextArray(details));
}

Result<int64_t> InsertDelivery(Tx& t, int64_t message_id, const std::string& destination_id,
                               const std::string& patient_key, int64_t at_ms) {
  t.exec_prepared("lock_queue", destination_id, patient_key);
  pqxx::result r =
      t.exec_prepared("insert_delivery", message_id, destination_id, patient_key, at_ms);
  return Int(r[0][0]);
}

Status UpdateDelivery(Tx& t, int64_t delivery_id, DeliveryState state, int attempts,
                      int64_t next_attempt_at_ms, const std::string& last_error, int64_t at_ms) {
  std::string destination_id, patient_key;
  {
    pqxx::result k = t.exec_prepared("delivery_key", delivery_id);
    if (k.empty()) return NotFound("delivery", delivery_id);
    destination_id = Str(k[0][0]);
    patient_key = Str(k[0][1]);
  }
  // Lock the queue, then read the state under the lock (READ COMMITTED:
  // this statement sees every change committed before the lock was ours).
  t.exec_prepared("lock_queue", destination_id, patient_key);
  pqxx::result cur = t.exec_prepared("delivery_lock", delivery_id);
  if (cur.empty()) return NotFound("delivery", delivery_id);
  const bool was_queued = StateOf(cur[0][0]) == DeliveryState::kQueued;
  const bool was_head = cur[0][1].as<bool>();
  const bool queued = state == DeliveryState::kQueued;
  bool head = was_head;
  int64_t demote = 0;  // old head that a re-queued older delivery displaces
  if (was_queued && !queued) {
    head = false;
  } else if (!was_queued && queued) {
    int64_t h = QueueHead(t, destination_id, patient_key);
    head = h == 0 || delivery_id < h;
    if (head && h != 0) demote = h;
  }
  t.exec_prepared("update_delivery", delivery_id, std::string(ToString(state)), attempts,
                  next_attempt_at_ms, last_error, at_ms, head);
  if (demote != 0) t.exec_prepared("set_head", demote, false);
  if (was_queued && !queued && was_head) {
    // The next QUEUED delivery of the patient (if any) moves up.
    int64_t next = QueueHead(t, destination_id, patient_key);
    if (next != 0) t.exec_prepared("set_head", next, true);
  }
  return Status::Ok();
}

Status RecordAttempt(Tx& t, const DeliveryAttempt& a) {
  t.exec_prepared("record_attempt", a.delivery_id, a.at_ms, a.duration_ms, a.ok, a.outcome,
                  Bin(a.response));
  return Status::Ok();
}

Status SetDestinationPaused(Tx& t, const std::string& destination_id, bool paused) {
  t.exec_prepared("set_paused", destination_id, paused);
  return Status::Ok();
}

// ---------------------------------------------------------------- reads

Result<MessageRecord> GetMessage(Tx& t, int64_t id, bool lock) {
  pqxx::result r = t.exec_prepared(lock ? "get_message_locked" : "get_message", id);
  if (r.empty()) return NotFound("message", id);
  MessageRecord m;
  ReadMessage(r[0], m);
  m.raw = Bytes(r[0][17]);
  return m;
}

Result<std::vector<MessageRecord>> ListMessages(Tx& t, const MessageFilter& f) {
  // Parameters are always all bound; an unused filter is switched off in SQL
  // so that one statement text serves every combination.
  const bool wildcard = f.message_type.find('*') != std::string::npos;
  std::string sql = "SELECT " HIE_MESSAGE_COLS " FROM messages WHERE TRUE";
  if (f.status) sql += " AND status = $1";
  if (!f.facility_id.empty()) sql += " AND facility_id = $2";
  if (!f.message_type.empty()) {
    sql += wildcard ? " AND message_type LIKE $3 ESCAPE '\\'" : " AND message_type = $3";
  }
  if (f.since_ms > 0) sql += " AND received_at >= $4";
  if (f.before_id > 0) sql += " AND id < $5";
  sql += " AND $1::text IS NOT NULL AND $2::text IS NOT NULL AND $3::text IS NOT NULL";
  sql += " AND $4::bigint IS NOT NULL AND $5::bigint IS NOT NULL";
  sql += " ORDER BY id DESC LIMIT $6";
  pqxx::result r =
      t.exec_params(sql, f.status ? std::string(ToString(*f.status)) : std::string(), f.facility_id,
                    wildcard ? WildcardToLike(f.message_type) : f.message_type, f.since_ms,
                    f.before_id, ClampLimit(f.limit));
  std::vector<MessageRecord> out;
  out.reserve(r.size());
  for (const auto& row : r) ReadMessage(row, out.emplace_back());
  return out;
}

Result<std::vector<TraceEvent>> GetTrace(Tx& t, int64_t message_id) {
  pqxx::result r = t.exec_prepared("get_trace", message_id);
  std::vector<TraceEvent> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    TraceEvent& e = out.emplace_back();
    e.at_ms = Int(row[0]);
    e.step = Str(row[1]);
    e.outcome = Str(row[2]);
    e.detail = Str(row[3]);
  }
  return out;
}

Result<std::vector<DeliveryRecord>> DeliveriesOf(Tx& t, int64_t message_id, bool lock) {
  // Lock first, read in a second statement: READ COMMITTED gives that one a
  // snapshot taken after the lock was granted, so it sees what the previous
  // holder committed.
  if (lock) t.exec_prepared("lock_message", message_id);
  return Deliveries(t.exec_prepared("deliveries_of", message_id));
}

Result<DeliveryRecord> GetDelivery(Tx& t, int64_t delivery_id, bool lock) {
  pqxx::result r = t.exec_prepared(lock ? "get_delivery_locked" : "get_delivery", delivery_id);
  if (r.empty()) return NotFound("delivery", delivery_id);
  DeliveryRecord d;
  ReadDelivery(r[0], d);
  return d;
}

Result<std::vector<DeliveryAttempt>> GetAttempts(Tx& t, int64_t delivery_id) {
  pqxx::result r = t.exec_prepared("get_attempts", delivery_id);
  std::vector<DeliveryAttempt> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    DeliveryAttempt& a = out.emplace_back();
    a.delivery_id = Int(row[0]);
    a.number = static_cast<int>(Int(row[1]));
    a.at_ms = Int(row[2]);
    a.duration_ms = Int(row[3]);
    a.ok = row[4].as<bool>();
    a.outcome = Str(row[5]);
    a.response = Bytes(row[6]);
  }
  return out;
}

Result<std::vector<RejectedInput>> ListRejected(Tx& t, int64_t before_id, int limit) {
  pqxx::result r =
      t.exec_prepared("list_rejected", before_id > 0 ? before_id : INT64_MAX, ClampLimit(limit));
  std::vector<RejectedInput> out;
  out.reserve(r.size());
  for (const auto& row : r) ReadRejected(row, out.emplace_back());
  return out;
}

Result<RejectedInput> GetRejected(Tx& t, int64_t id) {
  pqxx::result r = t.exec_prepared("get_rejected", id);
  if (r.empty()) return NotFound("rejected", id);
  RejectedInput x;
  ReadRejected(r[0], x);
  x.raw = Bytes(r[0][11]);
  return x;
}

Result<std::vector<int64_t>> MessageIdsWithStatus(Tx& t, MessageStatus status, int64_t after_id,
                                                  int limit) {
  std::vector<int64_t> out;
  if (limit <= 0) return out;
  pqxx::result r =
      t.exec_prepared("ids_with_status", std::string(ToString(status)), after_id, limit);
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(Int(row[0]));
  return out;
}

Result<std::optional<int64_t>> NextDueAt(Tx& t, const std::string& destination_id) {
  pqxx::result r = t.exec_prepared("next_due", destination_id);
  if (r.empty() || r[0][0].is_null()) return std::optional<int64_t>();
  return std::optional<int64_t>(Int(r[0][0]));
}

Result<std::map<std::string, int64_t>> QueueDepths(Tx& t) {
  pqxx::result r = t.exec_prepared("queue_depths");
  std::map<std::string, int64_t> out;
  for (const auto& row : r) out[Str(row[0])] = Int(row[1]);
  return out;
}

Result<std::set<std::string>> PausedDestinations(Tx& t) {
  pqxx::result r = t.exec_prepared("paused");
  std::set<std::string> out;
  for (const auto& row : r) out.insert(Str(row[0]));
  return out;
}

// ---------------------------------------------------------------- claims

Result<std::vector<DeliveryRecord>> ClaimDue(Tx& t, const std::string& destination_id,
                                             int64_t now_ms, int limit,
                                             const std::set<int64_t>& exclude,
                                             const std::string& owner, int64_t lease_ms) {
  const std::string ids = IdArray(exclude);
  if (!exclude.empty()) t.exec_prepared("renew_claims", ids, owner, lease_ms);
  if (limit <= 0) return std::vector<DeliveryRecord>();
  std::vector<DeliveryRecord> out =
      Deliveries(t.exec_prepared("claim_due", destination_id, now_ms, owner, ids, limit, lease_ms));
  // UPDATE ... RETURNING does not keep the CTE's order.
  std::sort(out.begin(), out.end(),
            [](const DeliveryRecord& a, const DeliveryRecord& b) { return a.id < b.id; });
  return out;
}

Status ReleaseClaims(Tx& t, const std::string& owner) {
  t.exec_prepared("release_claims", owner);
  return Status::Ok();
}

// ---------------------------------------------------------------- partitions

Result<int> EnsurePartitions(Tx& t, int64_t now_ms, int months_ahead) {
  pqxx::result r = t.exec_prepared("ensure_partitions", now_ms, months_ahead);
  return static_cast<int>(Int(r[0][0]));
}

std::vector<std::string> PartitionedTables(Tx& t) {
  std::vector<std::string> out;
  for (const auto& row : t.exec_prepared("partitioned_tables")) out.push_back(row[0].c_str());
  return out;
}

Result<int> EnsureTablePartitions(Tx& t, const std::string& table, int64_t now_ms,
                                  int months_ahead) {
  pqxx::result r = t.exec_prepared("ensure_table_partitions", table, now_ms, months_ahead);
  return static_cast<int>(Int(r[0][0]));
}

}  // namespace hie::pg
