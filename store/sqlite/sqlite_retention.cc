#include "store/sqlite/sqlite_retention.h"

#include <algorithm>
#include <vector>

namespace hie::sqlite {
namespace {

using Phase = RetentionPass::Phase;

struct Row {
  int64_t id, at;
  bool queued, has_raw;
};

// The next window of messages received before `before`, after the cursor.
Result<std::vector<Row>> Window(Conn& c, int64_t before, const RetentionPass& p, int limit) {
  HIE_ASSIGN_OR_RETURN(
      auto s,
      c.Static("SELECT m.id, m.received_at, EXISTS(SELECT 1 FROM deliveries d WHERE "
               "d.message_id = m.id AND d.state = 'QUEUED'), length(m.raw) > 0 FROM messages m "
               "WHERE m.received_at < ?1 AND (m.received_at, m.id) > (?2, ?3) "
               "ORDER BY m.received_at, m.id LIMIT ?4",
               "retention window"));
  s.Int(1, before);
  s.Int(2, p.at);
  s.Int(3, p.id);
  s.Int(4, limit);
  std::vector<Row> out;
  for (;;) {
    HIE_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.ColInt(0), s.ColInt(1), s.ColInt(2) != 0, s.ColInt(3) != 0});
  }
  return out;
}

Result<int64_t> One(Conn& c, const char* sql, const char* where) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(sql, where));
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  return row && !s.ColIsNull(0) ? s.ColInt(0) : int64_t{0};
}

Status RunWithId(Conn& c, const char* sql, int64_t id, const char* where) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static(sql, where));
  s.Int(1, id);
  return s.Run();
}

void NextPhase(RetentionPass* p) {
  p->phase = p->phase == Phase::kMetadata  ? Phase::kContent
             : p->phase == Phase::kContent ? Phase::kRejected
                                           : Phase::kDone;
  p->started = false;
  p->at = 0;
  p->id = -1;
}

Status MetadataStep(Conn& c, int64_t before, int limit, RetentionPass* p, RetentionReport* rep) {
  HIE_ASSIGN_OR_RETURN(auto rows, Window(c, before, *p, limit));
  HIE_ASSIGN_OR_RETURN(int64_t newest, One(c, "SELECT MAX(id) FROM messages", "retention"));
  HIE_ASSIGN_OR_RETURN(
      int64_t newest_delivery_owner,
      One(c, "SELECT message_id FROM deliveries ORDER BY id DESC LIMIT 1", "retention"));
  for (const Row& r : rows) {
    p->at = r.at;
    p->id = r.id;
    if (r.queued || r.id == newest || r.id == newest_delivery_owner) continue;
    HIE_RETURN_IF_ERROR(RunWithId(c,
                                  "DELETE FROM delivery_attempts WHERE delivery_id IN "
                                  "(SELECT id FROM deliveries WHERE message_id = ?1)",
                                  r.id, "retention attempts"));
    HIE_RETURN_IF_ERROR(
        RunWithId(c, "DELETE FROM deliveries WHERE message_id = ?1", r.id, "retention deliveries"));
    HIE_RETURN_IF_ERROR(
        RunWithId(c, "DELETE FROM message_trace WHERE message_id = ?1", r.id, "retention trace"));
    HIE_RETURN_IF_ERROR(RunWithId(c, "DELETE FROM messages WHERE id = ?1", r.id, "retention"));
    ++rep->messages_removed;
  }
  if (static_cast<int>(rows.size()) < limit) NextPhase(p);
  return Status::Ok();
}

Status ContentStep(Conn& c, int64_t before, int limit, RetentionPass* p, RetentionReport* rep) {
  if (!p->started) {
    // Start where the last finished pass got to.
    HIE_ASSIGN_OR_RETURN(
        int64_t mark,
        One(c, "SELECT done_before FROM retention_state WHERE kind = 'content'", "retention"));
    p->started = true;
    p->at = mark;
    p->id = -1;
  }
  HIE_ASSIGN_OR_RETURN(auto rows, Window(c, before, *p, limit));
  for (const Row& r : rows) {
    p->at = r.at;
    p->id = r.id;
    if (!r.has_raw) continue;
    if (r.queued) {
      p->min_held_at = std::min(p->min_held_at, r.at);
      continue;
    }
    HIE_RETURN_IF_ERROR(
        RunWithId(c, "UPDATE messages SET raw = x'' WHERE id = ?1", r.id, "retention content"));
    ++rep->bodies_removed;
  }
  if (static_cast<int>(rows.size()) < limit) {
    HIE_ASSIGN_OR_RETURN(auto s, c.Static("INSERT OR REPLACE INTO retention_state(kind, "
                                          "done_before) VALUES('content', ?1)",
                                          "retention mark"));
    s.Int(1, std::min(before, p->min_held_at));
    HIE_RETURN_IF_ERROR(s.Run());
    NextPhase(p);
  }
  return Status::Ok();
}

Status RejectedStep(Conn& c, int64_t before, int limit, RetentionPass* p, RetentionReport* rep) {
  HIE_ASSIGN_OR_RETURN(auto s,
                       c.Static("DELETE FROM rejected WHERE id IN (SELECT id FROM rejected WHERE "
                                "received_at < ?1 AND id < (SELECT MAX(id) FROM rejected) "
                                "ORDER BY received_at LIMIT ?2)",
                                "retention rejected"));
  s.Int(1, before);
  s.Int(2, limit);
  HIE_RETURN_IF_ERROR(s.Run());
  const int n = sqlite3_changes(c.db());
  rep->rejected_removed += n;
  if (n < limit) NextPhase(p);
  return Status::Ok();
}

}  // namespace

Status RetentionStep(Conn& c, const RetentionCutoffs& cut, int limit, RetentionPass* p,
                     RetentionReport* rep) {
  switch (p->phase) {
    case Phase::kMetadata:
      if (cut.metadata_before_ms <= 0) {
        NextPhase(p);
        return Status::Ok();
      }
      return MetadataStep(c, cut.metadata_before_ms, limit, p, rep);
    case Phase::kContent:
      if (cut.content_before_ms <= 0) {
        NextPhase(p);
        return Status::Ok();
      }
      return ContentStep(c, cut.content_before_ms, limit, p, rep);
    case Phase::kRejected:
      if (cut.content_before_ms <= 0) {
        NextPhase(p);
        return Status::Ok();
      }
      return RejectedStep(c, cut.content_before_ms, limit, p, rep);
    case Phase::kDone:
      return Status::Ok();
  }
  return Status::Ok();
}

Result<int64_t> CountHeldBack(Conn& c, int64_t before_ms) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Static("SELECT COUNT(*) FROM deliveries d JOIN messages m ON "
                                        "m.id = d.message_id WHERE d.state = 'QUEUED' AND "
                                        "m.received_at < ?1",
                                        "retention held back"));
  s.Int(1, before_ms);
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.ColInt(0) : int64_t{0};
}

}  // namespace hie::sqlite
