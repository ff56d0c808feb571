#include "store/migrate.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <pqxx/pqxx>
#include <set>

#include "store/migrate_empi.h"
#include "store/open.h"
#include "store/sqlite/redo_log.h"
#include "store/sqlite/sqlite_conn.h"

namespace hie {
namespace {

using sqlite::Conn;

Status Fail(const std::string& msg, const std::string& where = "store migrate") {
  return Status(ErrorCode::kStoreError, msg, where);
}

pqxx::binarystring Bin(const std::string& s) { return pqxx::binarystring(s.data(), s.size()); }

Result<int64_t> SqliteCount(Conn& c, const char* sql) {
  HIE_ASSIGN_OR_RETURN(auto s, c.Dynamic(sql, "count"));
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  return row && !s.ColIsNull(0) ? s.ColInt(0) : int64_t{0};
}

// Refuses a source whose redo log holds batches the database lacks.
Status CheckRedo(Conn& c, const std::string& path) {
  std::error_code ec;
  const std::string redo = path + "-redo";
  if (!std::filesystem::exists(redo, ec)) return Status::Ok();
  HIE_ASSIGN_OR_RETURN(int64_t seq, SqliteCount(c, "SELECT seq FROM redo_state WHERE id = 1"));
  HIE_ASSIGN_OR_RETURN(auto records, sqlite::RedoLog::ReadAll(redo));
  for (const auto& r : records) {
    if (static_cast<int64_t>(r.seq) > seq) {
      return Fail(
          "源库的写入日志尚未重放 (the source's redo log holds writes not yet in the database): "
          "请先启动并正常停止一次乡镇平台 (start and stop the township hub once to replay it)",
          redo);
    }
  }
  return Status::Ok();
}

struct SrcMessage {
  int64_t id, received_at, updated_at;
  std::string facility, key, control, type, content_type, source, peer, charset, patient, status,
      ecode, etext, ewhere, response, raw;
};

class Migrator {
 public:
  Migrator(const MigrateOptions& o, Conn& src, pqxx::connection& pg,
           const std::function<void(const MigrateProgress&)>& progress)
      : o_(o), src_(src), pg_(pg), progress_(progress) {}

  Result<MigrateReport> Run() {
    MigrateReport rep;
    HIE_RETURN_IF_ERROR(Prepare());
    HIE_ASSIGN_OR_RETURN(int64_t total, SqliteCount(src_, "SELECT COUNT(*) FROM messages"));
    int64_t last = MaxMapped("message");
    rep.resumed_messages = CountMapped("message");
    int64_t done = rep.resumed_messages;
    const int batch = std::max(1, o_.batch);
    for (;;) {
      int want = batch;
      if (o_.limit > 0) {
        if (rep.copied_messages >= o_.limit) return rep;  // stopped early, not complete
        want = static_cast<int>(std::min<int64_t>(batch, o_.limit - rep.copied_messages));
      }
      HIE_ASSIGN_OR_RETURN(auto msgs, ReadMessages(last, want));
      if (msgs.empty()) break;
      HIE_RETURN_IF_ERROR(CopyMessages(msgs));
      last = msgs.back().id;
      rep.copied_messages += static_cast<int64_t>(msgs.size());
      done += static_cast<int64_t>(msgs.size());
      if (progress_) progress_({"messages", done, total, rep.copied_messages});
    }
    HIE_ASSIGN_OR_RETURN(int64_t rtotal, SqliteCount(src_, "SELECT COUNT(*) FROM rejected"));
    int64_t rlast = MaxMapped("rejected");
    int64_t rdone = CountMapped("rejected");
    for (;;) {
      HIE_ASSIGN_OR_RETURN(int n, CopyRejected(&rlast, batch));
      if (n == 0) break;
      rep.copied_rejected += n;
      rdone += n;
      if (progress_) progress_({"rejected", rdone, rtotal, rep.copied_rejected});
    }
    HIE_RETURN_IF_ERROR(CopyPaused());
    HIE_RETURN_IF_ERROR(migrate::CopyEmpiAndRecord(src_, pg_, o_.source_name, batch, progress_));
    rep.complete = true;
    HIE_ASSIGN_OR_RETURN(rep.counts, Counts());
    return rep;
  }

 private:
  Status Prepare() {
    pqxx::work t(pg_);
    t.exec(
        "CREATE TABLE IF NOT EXISTS hie_import_ids (source text NOT NULL, kind text NOT NULL, "
        "old_id bigint NOT NULL, new_id bigint NOT NULL, note text NOT NULL DEFAULT '', "
        "PRIMARY KEY (source, kind, old_id))");
    t.commit();
    bool locked = false;
    {
      // Held for the session: a second run of this source is refused.
      pqxx::nontransaction n(pg_);
      locked = n.exec_params("SELECT pg_try_advisory_lock(hashtextextended($1, 11))",
                             "hie_import/" + o_.source_name)[0][0]
                   .as<bool>();
    }
    if (!locked) {
      return Fail("同一源库的另一个迁移正在运行 (another migration of this source is running)",
                  o_.source_name);
    }
    // Monthly partitions from the source's oldest row through now.
    HIE_ASSIGN_OR_RETURN(int64_t oldest,
                         SqliteCount(src_,
                                     "SELECT MIN(t) FROM (SELECT MIN(received_at) AS t FROM "
                                     "messages UNION ALL SELECT MIN(received_at) FROM rejected)"));
    if (oldest > 0) {
      pqxx::work w(pg_);
      w.exec_params(
          "SELECT hie_ensure_partitions($1::bigint, ((extract(epoch FROM now()) * 1000 - "
          "$1::bigint) / (28::bigint * 86400000))::integer + 2)",
          oldest);
      w.commit();
    }
    return Status::Ok();
  }

  int64_t MaxMapped(const char* kind) {
    pqxx::nontransaction n(pg_);
    pqxx::result r = n.exec_params(
        "SELECT COALESCE(MAX(old_id), 0) FROM hie_import_ids WHERE source = $1 AND kind = $2",
        o_.source_name, kind);
    return r[0][0].as<int64_t>();
  }
  int64_t CountMapped(const char* kind) {
    pqxx::nontransaction n(pg_);
    pqxx::result r =
        n.exec_params("SELECT COUNT(*) FROM hie_import_ids WHERE source = $1 AND kind = $2",
                      o_.source_name, kind);
    return r[0][0].as<int64_t>();
  }

  Result<std::vector<SrcMessage>> ReadMessages(int64_t after, int limit) {
    HIE_ASSIGN_OR_RETURN(
        auto s, src_.Dynamic("SELECT id, facility_id, dedupe_key, control_id, message_type, "
                             "content_type, source, peer, charset, patient_key, received_at, "
                             "updated_at, status, error_code, error_text, error_where, response, "
                             "raw FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2",
                             "read messages"));
    s.Int(1, after);
    s.Int(2, limit);
    std::vector<SrcMessage> out;
    for (;;) {
      HIE_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      SrcMessage m;
      m.id = s.ColInt(0);
      m.facility = s.ColStr(1);
      m.key = s.ColStr(2);
      m.control = s.ColStr(3);
      m.type = s.ColStr(4);
      m.content_type = s.ColStr(5);
      m.source = s.ColStr(6);
      m.peer = s.ColStr(7);
      m.charset = s.ColStr(8);
      m.patient = s.ColStr(9);
      m.received_at = s.ColInt(10);
      m.updated_at = s.ColInt(11);
      m.status = s.ColStr(12);
      m.ecode = s.ColStr(13);
      m.etext = s.ColStr(14);
      m.ewhere = s.ColStr(15);
      m.response = s.ColStr(16);
      m.raw = s.ColStr(17);
      out.push_back(std::move(m));
    }
    return out;
  }

  // One batch, one transaction: the rows and their mapping land together.
  Status CopyMessages(const std::vector<SrcMessage>& msgs) {
    pqxx::work t(pg_);
    for (const SrcMessage& m : msgs) {
      const int64_t id = t.exec("SELECT nextval('messages_id_seq')")[0][0].as<int64_t>();
      bool conflict = false;
      if (!m.key.empty()) {
        pqxx::result k = t.exec_params(
            "INSERT INTO message_keys(facility_id, dedupe_key, message_id, received_at) "
            "VALUES($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
            m.facility, m.key, id, m.received_at);
        conflict = k.empty();
      }
      t.exec_params(
          "INSERT INTO messages(id, facility_id, dedupe_key, control_id, message_type, "
          "content_type, source, peer, charset, patient_key, received_at, updated_at, status, "
          "error_code, error_text, error_where, response) VALUES($1, $2, $3, $4, $5, $6, $7, $8, "
          "$9, $10, $11, $12, $13, $14, $15, $16, $17)",
          id, m.facility, m.key, m.control, m.type, m.content_type, m.source, m.peer, m.charset,
          m.patient, m.received_at, m.updated_at, m.status, m.ecode, m.etext, m.ewhere,
          Bin(m.response));
      if (!m.raw.empty()) {  // a body blanked by content retention stays absent
        t.exec_params("INSERT INTO message_bodies(message_id, received_at, raw) VALUES($1, $2, $3)",
                      id, m.received_at, Bin(m.raw));
      }
      HIE_RETURN_IF_ERROR(CopyTrace(t, m.id, id));
      HIE_RETURN_IF_ERROR(CopyDeliveries(t, m.id, id));
      t.exec_params(
          "INSERT INTO hie_import_ids(source, kind, old_id, new_id, note) "
          "VALUES($1, 'message', $2, $3, $4)",
          o_.source_name, m.id, id, conflict ? "key-conflict" : "");
    }
    t.commit();
    return Status::Ok();
  }

  Status CopyTrace(pqxx::work& t, int64_t old_id, int64_t id) {
    HIE_ASSIGN_OR_RETURN(auto s, src_.Dynamic("SELECT seq, at, step, outcome, detail FROM "
                                              "message_trace WHERE message_id = ?1 ORDER BY seq",
                                              "read trace"));
    s.Int(1, old_id);
    for (;;) {
      HIE_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      t.exec_params(
          "INSERT INTO message_trace(message_id, seq, at, step, outcome, detail) "
          "VALUES($1, $2, $3, $4, $5, $6)",
          id, s.ColInt(0), s.ColInt(1), s.ColStr(2), s.ColStr(3), s.ColStr(4));
    }
    return Status::Ok();
  }

  Status CopyDeliveries(pqxx::work& t, int64_t old_id, int64_t id) {
    struct D {
      int64_t id, attempts, next_at, created, updated;
      std::string dest, patient, state, error;
    };
    std::vector<D> ds;
    {
      HIE_ASSIGN_OR_RETURN(auto s,
                           src_.Dynamic("SELECT id, destination_id, patient_key, state, attempts, "
                                        "next_attempt_at, created_at, updated_at, last_error FROM "
                                        "deliveries WHERE message_id = ?1 ORDER BY id",
                                        "read deliveries"));
      s.Int(1, old_id);
      for (;;) {
        HIE_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        ds.push_back({s.ColInt(0), s.ColInt(4), s.ColInt(5), s.ColInt(6), s.ColInt(7), s.ColStr(1),
                      s.ColStr(2), s.ColStr(3), s.ColStr(8)});
      }
    }
    for (const D& d : ds) {
      if (d.state == "QUEUED") {
        // The outbox's head rule, as the store keeps it (pg_ops.cc).
        t.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 7))",
                      d.dest, d.patient);
      }
      const int64_t did =
          t.exec_params(
               "INSERT INTO deliveries(message_id, destination_id, patient_key, state, head, "
               "attempts, next_attempt_at, created_at, updated_at, last_error) VALUES($1, $2, $3, "
               "$4, $4 = 'QUEUED' AND NOT EXISTS(SELECT 1 FROM deliveries WHERE destination_id = "
               "$2 AND patient_key = $3 AND state = 'QUEUED'), $5, $6, $7, $8, $9) RETURNING id",
               id, d.dest, d.patient, d.state, d.attempts, d.next_at, d.created, d.updated,
               d.error)[0][0]
              .as<int64_t>();
      HIE_ASSIGN_OR_RETURN(
          auto a, src_.Dynamic("SELECT number, at, duration_ms, ok, outcome, response FROM "
                               "delivery_attempts WHERE delivery_id = ?1 ORDER BY number",
                               "read attempts"));
      a.Int(1, d.id);
      for (;;) {
        HIE_ASSIGN_OR_RETURN(bool row, a.Step());
        if (!row) break;
        t.exec_params(
            "INSERT INTO delivery_attempts(delivery_id, number, at, duration_ms, ok, outcome, "
            "response) VALUES($1, $2, $3, $4, $5, $6, $7)",
            did, a.ColInt(0), a.ColInt(1), a.ColInt(2), a.ColInt(3) != 0, a.ColStr(4),
            Bin(a.ColStr(5)));
      }
      t.exec_params(
          "INSERT INTO hie_import_ids(source, kind, old_id, new_id) VALUES($1, 'delivery', $2, $3)",
          o_.source_name, d.id, did);
    }
    return Status::Ok();
  }

  Result<int> CopyRejected(int64_t* last, int limit) {
    HIE_ASSIGN_OR_RETURN(
        auto s, src_.Dynamic("SELECT id, received_at, source, peer, facility_id, control_id, "
                             "content_type, error_code, error_text, error_where, raw_size, raw "
                             "FROM rejected WHERE id > ?1 ORDER BY id LIMIT ?2",
                             "read rejected"));
    s.Int(1, *last);
    s.Int(2, limit);
    pqxx::work t(pg_);
    int n = 0;
    for (;;) {
      HIE_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      const int64_t id =
          t.exec_params(
               "INSERT INTO rejected(received_at, source, peer, facility_id, control_id, "
               "content_type, error_code, error_text, error_where, raw_size, raw) VALUES($1, $2, "
               "$3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
               s.ColInt(1), s.ColStr(2), s.ColStr(3), s.ColStr(4), s.ColStr(5), s.ColStr(6),
               s.ColStr(7), s.ColStr(8), s.ColStr(9), s.ColInt(10), Bin(s.ColStr(11)))[0][0]
              .as<int64_t>();
      t.exec_params(
          "INSERT INTO hie_import_ids(source, kind, old_id, new_id) VALUES($1, 'rejected', $2, $3)",
          o_.source_name, s.ColInt(0), id);
      *last = s.ColInt(0);
      ++n;
    }
    t.commit();
    return n;
  }

  Status CopyPaused() {
    HIE_ASSIGN_OR_RETURN(auto s, src_.Dynamic("SELECT destination_id FROM destination_state "
                                              "WHERE paused <> 0",
                                              "read paused"));
    pqxx::work t(pg_);
    for (;;) {
      HIE_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      t.exec_params(
          "INSERT INTO destination_state(destination_id, paused) VALUES($1, true) "
          "ON CONFLICT(destination_id) DO UPDATE SET paused = true",
          s.ColStr(0));
    }
    t.commit();
    return Status::Ok();
  }

  int64_t Target(const std::string& sql) {
    pqxx::nontransaction n(pg_);
    return n.exec_params(sql, o_.source_name)[0][0].as<int64_t>();
  }

  Result<std::vector<TableCount>> Counts() {
    std::vector<TableCount> out;
    auto add = [&](const char* table, const char* src_sql, const std::string& dst_sql,
                   bool at_least = false) -> Status {
      HIE_ASSIGN_OR_RETURN(int64_t s, SqliteCount(src_, src_sql));
      TableCount c;
      c.table = table;
      c.source = s;
      c.target = Target(dst_sql);
      c.at_least = at_least;
      out.push_back(c);
      return Status::Ok();
    };
    const std::string msg = "FROM hie_import_ids i WHERE i.source = $1 AND i.kind = 'message'";
    HIE_RETURN_IF_ERROR(add("messages", "SELECT COUNT(*) FROM messages",
                            "SELECT COUNT(*) FROM hie_import_ids i JOIN messages m ON m.id = "
                            "i.new_id WHERE i.source = $1 AND i.kind = 'message'"));
    HIE_RETURN_IF_ERROR(add("message_bodies", "SELECT COUNT(*) FROM messages WHERE length(raw) > 0",
                            "SELECT COUNT(*) FROM hie_import_ids i JOIN message_bodies b ON "
                            "b.message_id = i.new_id WHERE i.source = $1 AND i.kind = 'message'"));
    HIE_RETURN_IF_ERROR(add("message_trace", "SELECT COUNT(*) FROM message_trace",
                            "SELECT COUNT(*) FROM hie_import_ids i JOIN message_trace t ON "
                            "t.message_id = i.new_id WHERE i.source = $1 AND i.kind = 'message'",
                            true));
    HIE_RETURN_IF_ERROR(add("deliveries", "SELECT COUNT(*) FROM deliveries",
                            "SELECT COUNT(*) FROM hie_import_ids i JOIN deliveries d ON d.id = "
                            "i.new_id WHERE i.source = $1 AND i.kind = 'delivery'"));
    HIE_RETURN_IF_ERROR(add("delivery_attempts", "SELECT COUNT(*) FROM delivery_attempts",
                            "SELECT COUNT(*) FROM hie_import_ids i JOIN delivery_attempts a ON "
                            "a.delivery_id = i.new_id WHERE i.source = $1 AND i.kind = 'delivery'",
                            true));
    HIE_RETURN_IF_ERROR(add("dedupe_keys", "SELECT COUNT(*) FROM messages WHERE dedupe_key <> ''",
                            "SELECT COUNT(*) FROM hie_import_ids i JOIN message_keys k ON "
                            "k.message_id = i.new_id WHERE i.source = $1 AND i.kind = 'message'"));
    out.back().conflicts = Target("SELECT COUNT(*) " + msg + " AND i.note = 'key-conflict'");
    HIE_RETURN_IF_ERROR(add("rejected", "SELECT COUNT(*) FROM rejected",
                            "SELECT COUNT(*) FROM hie_import_ids i JOIN rejected r ON r.id = "
                            "i.new_id WHERE i.source = $1 AND i.kind = 'rejected'"));
    // Paused destinations: every one paused in the source is paused in the target.
    {
      HIE_ASSIGN_OR_RETURN(auto s, src_.Dynamic("SELECT destination_id FROM destination_state "
                                                "WHERE paused <> 0",
                                                "read paused"));
      TableCount c;
      c.table = "destination_state";
      pqxx::nontransaction n(pg_);
      for (;;) {
        HIE_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        ++c.source;
        c.target += n.exec_params(
                         "SELECT COUNT(*) FROM destination_state WHERE destination_id "
                         "= $1 AND paused",
                         s.ColStr(0))[0][0]
                        .as<int64_t>();
      }
      out.push_back(c);
    }
    HIE_RETURN_IF_ERROR(migrate::CountEmpiAndRecord(src_, pg_, o_.source_name, &out));
    return out;
  }

  const MigrateOptions& o_;
  Conn& src_;
  pqxx::connection& pg_;
  const std::function<void(const MigrateProgress&)>& progress_;
};

}  // namespace

bool MigrateReport::counts_ok() const {
  return std::all_of(counts.begin(), counts.end(), [](const TableCount& c) { return c.ok(); });
}

Result<MigrateReport> MigrateSqliteToPostgres(
    const MigrateOptions& options, const std::function<void(const MigrateProgress&)>& progress) {
  MigrateOptions o = options;
  std::error_code ec;
  if (!std::filesystem::exists(o.sqlite_path, ec)) {
    return Status(ErrorCode::kNotFound, "源库不存在 (source database not found)", o.sqlite_path);
  }
  if (o.source_name.empty()) {
    o.source_name = std::filesystem::weakly_canonical(o.sqlite_path, ec).string();
    if (ec) o.source_name = o.sqlite_path;
  }
  // The target's schema, migrations and this month's partitions: opening
  // the store once does all of it.
  {
    StoreOptions so;
    so.durable_full = true;
    HIE_ASSIGN_OR_RETURN(auto store, OpenStore(o.pg_uri, so));
    store->Close();
  }
  sqlite::ConnOptions co;
  co.read_only = true;
  HIE_ASSIGN_OR_RETURN(auto src, Conn::Open(o.sqlite_path, co));
  HIE_RETURN_IF_ERROR(CheckRedo(*src, o.sqlite_path));
  try {
    pqxx::connection pg(o.pg_uri);
    Migrator m(o, *src, pg, progress);
    return m.Run();
  } catch (const std::exception& e) {
    return Status(ErrorCode::kStoreError,
                  std::string("迁移失败 (migration failed): ") + e.what() +
                      "；可再次运行以继续 (run again to continue)",
                  RedactStoreUri(o.pg_uri));
  }
}

}  // namespace hie
