#include "store/migrate_empi.h"

#include <map>
#include <set>

namespace hie::migrate {
namespace {

// How a column's value goes across.
enum class Col {
  kKeep,       // as it is (text form; PostgreSQL parses it by the column's type)
  kReal,       // a REAL, read with all 17 digits
  kMessage,    // a message id: remapped (0 when the message is not in the target)
  kMessagePk,  // a message id that keys the row: a row whose message is not there is skipped
  kRecordKey,  // empi_sources.record_key: "MSG|<message id>" remapped
  kItemKey,    // record item_key: "…|msg|<message id>" / "…|msg<message id>|…" remapped
  kNewId,      // the row's own id: a new one from the target (the mapping is kept)
  kSupersede,  // superseded_by: another row's id of this table, remapped at the end
};

struct Column {
  const char* name;
  Col how = Col::kKeep;
};

struct Table {
  const char* name;
  const char* key;  // the source column rows are copied in order of (unique)
  std::vector<Column> cols;
  bool empi = false;  // ids kept: refused when the target holds foreign rows
};

const std::vector<Table>& Tables() {
  static const std::vector<Table> kTables = {
      {"empi_persons",
       "id",
       {{"id"}, {"state"}, {"merged_into"}, {"golden"}, {"created_at"}, {"updated_at"}},
       true},
      {"empi_sources",
       "id",
       {{"id"},
        {"person_id"},
        {"record_key", Col::kRecordKey},
        {"facility_id"},
        {"local_id"},
        {"id_number"},
        {"name"},
        {"birth_date"},
        {"sex"},
        {"phone"},
        {"address"},
        {"raw"},
        {"norm"},
        {"card_reader"},
        {"link_how"},
        {"link_weight", Col::kReal},
        {"link_rule"},
        {"link_evidence"},
        {"replaced_by"},
        {"last_message", Col::kMessage},
        {"created_at"},
        {"updated_at"}},
       true},
      {"empi_reviews",
       "id",
       {{"id"},
        {"kind"},
        {"source_id"},
        {"person_id"},
        {"weight", Col::kReal},
        {"evidence"},
        {"state"},
        {"created_at"},
        {"decided_at"},
        {"decided_by"}},
       true},
      {"empi_history",
       "id",
       {{"id"},
        {"at"},
        {"op"},
        {"person_id"},
        {"other_person"},
        {"source_id"},
        {"message_id", Col::kMessage},
        {"actor"},
        {"detail"}},
       true},
      {"empi_messages",
       "message_id",
       {{"message_id", Col::kMessagePk}, {"source_id"}, {"at"}},
       true},
      {"record_lab_results",
       "id",
       {{"id", Col::kNewId},
        {"message_id", Col::kMessage},
        {"source_id"},
        {"facility_id"},
        {"item_key", Col::kItemKey},
        {"version"},
        {"is_current"},
        {"superseded_by", Col::kSupersede},
        {"source_version"},
        {"status"},
        {"code_system"},
        {"code"},
        {"display"},
        {"std_code"},
        {"std_display"},
        {"value"},
        {"value_type"},
        {"unit"},
        {"std_unit"},
        {"reference_range"},
        {"abnormal_flag"},
        {"specimen"},
        {"performing_facility"},
        {"verifier"},
        {"report_id"},
        {"effective_ms"},
        {"issued_ms"},
        {"resource"},
        {"recorded_at"}}},
      {"record_encounters",
       "id",
       {{"id", Col::kNewId},
        {"message_id", Col::kMessage},
        {"source_id"},
        {"facility_id"},
        {"item_key", Col::kItemKey},
        {"version"},
        {"is_current"},
        {"superseded_by", Col::kSupersede},
        {"source_version"},
        {"visit_number"},
        {"encounter_class"},
        {"status"},
        {"department"},
        {"attending"},
        {"start_ms"},
        {"end_ms"},
        {"resource"},
        {"recorded_at"}}},
      {"record_diagnoses",
       "id",
       {{"id", Col::kNewId},
        {"message_id", Col::kMessage},
        {"source_id"},
        {"facility_id"},
        {"item_key", Col::kItemKey},
        {"version"},
        {"is_current"},
        {"superseded_by", Col::kSupersede},
        {"source_version"},
        {"code_system"},
        {"code"},
        {"display"},
        {"std_code"},
        {"std_display"},
        {"clinical_status"},
        {"visit_number"},
        {"recorded_ms"},
        {"resource"},
        {"recorded_at"}}},
      {"record_documents",
       "id",
       {{"id", Col::kNewId},
        {"message_id", Col::kMessage},
        {"source_id"},
        {"facility_id"},
        {"item_key", Col::kItemKey},
        {"version"},
        {"is_current"},
        {"superseded_by", Col::kSupersede},
        {"source_version"},
        {"type_code"},
        {"title"},
        {"document_id"},
        {"effective_ms"},
        {"content"},
        {"canonical"},
        {"recorded_at"}}},
      {"record_access",
       "id",
       {{"id", Col::kNewId},
        {"at"},
        {"actor"},
        {"facility_id"},
        {"person_id"},
        {"what"},
        {"detail"}}},
  };
  return kTables;
}

Status Fail(const std::string& msg, const std::string& where) {
  return Status(ErrorCode::kStoreError, msg, where);
}

Result<bool> SourceHas(sqlite::Conn& src, const char* table) {
  HIE_ASSIGN_OR_RETURN(auto s, src.Dynamic("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                           "AND name = ?1",
                                           "source tables"));
  s.Text(1, table);
  return s.Step();
}

Result<int64_t> SourceCount(sqlite::Conn& src, const std::string& sql) {
  HIE_ASSIGN_OR_RETURN(auto s, src.Dynamic(sql, "count"));
  HIE_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.ColInt(0) : int64_t{0};
}

int64_t Scalar(pqxx::connection& pg, const std::string& sql, const std::string& source,
               const std::string& kind) {
  pqxx::nontransaction n(pg);
  return n.exec_params(sql, source, kind)[0][0].as<int64_t>();
}

// "MSG|<old>" -> "MSG|<new>"; anything else unchanged.
std::string RemapRecordKey(const std::string& key, const std::map<int64_t, int64_t>& msgs) {
  if (key.rfind("MSG|", 0) != 0) return key;
  try {
    auto it = msgs.find(std::stoll(key.substr(4)));
    return it == msgs.end() ? key : "MSG|" + std::to_string(it->second);
  } catch (const std::exception&) {
    return key;
  }
}

// The message id the shared record wrote into the key of a row with no
// visit number (engine/record_extract.cc), replaced when it is the row's own.
std::string RemapItemKey(const std::string& key, int64_t old_msg, int64_t new_msg) {
  if (old_msg == 0 || new_msg == 0) return key;
  const std::string o = std::to_string(old_msg), n = std::to_string(new_msg);
  const std::string tail = "|msg|" + o;  // encounters: facility|msg|<id>
  if (key.size() >= tail.size() && key.compare(key.size() - tail.size(), tail.size(), tail) == 0) {
    return key.substr(0, key.size() - tail.size()) + "|msg|" + n;
  }
  const std::string mid = "|msg" + o + "|";  // diagnoses: facility|msg<id>|code
  if (auto at = key.find(mid); at != std::string::npos) {
    return key.substr(0, at) + "|msg" + n + "|" + key.substr(at + mid.size());
  }
  return key;
}

class TableCopier {
 public:
  TableCopier(sqlite::Conn& src, pqxx::connection& pg, const std::string& source, int batch,
              const std::function<void(const MigrateProgress&)>& progress)
      : src_(src), pg_(pg), source_(source), batch_(batch), progress_(progress) {}

  Status Copy(const Table& t) {
    HIE_ASSIGN_OR_RETURN(int64_t total,
                         SourceCount(src_, std::string("SELECT COUNT(*) FROM ") + t.name));
    const std::string kind = t.name;
    int64_t last = Scalar(pg_,
                          "SELECT COALESCE(MAX(old_id), 0) FROM hie_import_ids WHERE source = $1 "
                          "AND kind = $2",
                          source_, kind);
    int64_t done = Scalar(
        pg_, "SELECT COUNT(*) FROM hie_import_ids WHERE source = $1 AND kind = $2", source_, kind);
    int64_t this_run = 0;
    std::string select = "SELECT ";
    int key_col = -1;
    for (size_t i = 0; i < t.cols.size(); ++i) {
      if (i > 0) select += ", ";
      select += t.cols[i].how == Col::kReal ? std::string("printf('%.17g', ") + t.cols[i].name + ")"
                                            : std::string(t.cols[i].name);
      if (std::string(t.cols[i].name) == t.key) key_col = static_cast<int>(i);
    }
    select += std::string(" FROM ") + t.name + " WHERE " + t.key + " > ?1 ORDER BY " + t.key +
              " LIMIT ?2";
    for (;;) {
      std::vector<std::vector<std::string>> rows;
      {
        HIE_ASSIGN_OR_RETURN(auto s, src_.Dynamic(select, "read EMPI / record"));
        s.Int(1, last);
        s.Int(2, batch_);
        for (;;) {
          HIE_ASSIGN_OR_RETURN(bool row, s.Step());
          if (!row) break;
          auto& r = rows.emplace_back();
          for (size_t i = 0; i < t.cols.size(); ++i) r.push_back(s.ColStr(static_cast<int>(i)));
        }
      }
      if (rows.empty()) break;
      HIE_RETURN_IF_ERROR(CopyBatch(t, key_col, rows));
      last = std::stoll(rows.back()[static_cast<size_t>(key_col)]);
      done += static_cast<int64_t>(rows.size());
      this_run += static_cast<int64_t>(rows.size());
      if (progress_) progress_({t.name, done, total, this_run});
    }
    if (Has(t, Col::kSupersede)) FixSuperseded(t);
    return Status::Ok();
  }

 private:
  static bool Has(const Table& t, Col how) {
    for (const auto& c : t.cols) {
      if (c.how == how) return true;
    }
    return false;
  }

  // Old -> new message ids of this source for the ids the rows name.
  std::map<int64_t, int64_t> MessageMap(const Table& t,
                                        const std::vector<std::vector<std::string>>& rows) {
    std::set<int64_t> want;
    for (const auto& r : rows) {
      for (size_t i = 0; i < t.cols.size(); ++i) {
        const Col how = t.cols[i].how;
        if (how == Col::kMessage || how == Col::kMessagePk) {
          want.insert(std::stoll(r[i].empty() ? "0" : r[i]));
        } else if (how == Col::kRecordKey && r[i].rfind("MSG|", 0) == 0) {
          try {
            want.insert(std::stoll(r[i].substr(4)));
          } catch (const std::exception&) {
          }
        }
      }
    }
    std::map<int64_t, int64_t> out;
    if (want.empty()) return out;
    std::string ids = "{";
    for (int64_t id : want) {
      if (ids.size() > 1) ids += ',';
      ids += std::to_string(id);
    }
    ids += '}';
    pqxx::nontransaction n(pg_);
    for (const auto& row : n.exec_params("SELECT old_id, new_id FROM hie_import_ids WHERE source "
                                         "= $1 AND kind = 'message' AND old_id = ANY($2::bigint[])",
                                         source_, ids)) {
      out[row[0].as<int64_t>()] = row[1].as<int64_t>();
    }
    return out;
  }

  Status CopyBatch(const Table& t, int key_col, const std::vector<std::vector<std::string>>& rows) {
    const auto msgs = MessageMap(t, rows);
    auto mapped = [&](const std::string& v) -> int64_t {
      auto it = msgs.find(std::stoll(v.empty() ? "0" : v));
      return it == msgs.end() ? 0 : it->second;
    };
    std::string cols, vals;
    int n = 0;
    for (const auto& c : t.cols) {
      if (c.how == Col::kNewId) continue;
      if (!cols.empty()) {
        cols += ", ";
        vals += ", ";
      }
      cols += c.name;
      vals += "$" + std::to_string(++n);
    }
    const bool new_id = Has(t, Col::kNewId);
    const std::string insert = std::string("INSERT INTO ") + t.name + "(" + cols + ") VALUES(" +
                               vals + ")" + (new_id ? " RETURNING id" : "");
    pqxx::work w(pg_);
    try {
      for (const auto& r : rows) {
        const std::string& old_key = r[static_cast<size_t>(key_col)];
        int64_t old_msg = 0, new_msg = 0;
        for (size_t i = 0; i < t.cols.size(); ++i) {
          if (t.cols[i].how == Col::kMessage || t.cols[i].how == Col::kMessagePk) {
            old_msg = std::stoll(r[i].empty() ? "0" : r[i]);
            new_msg = mapped(r[i]);
          }
        }
        std::vector<std::string> params;
        std::string note, skipped;
        for (size_t i = 0; i < t.cols.size(); ++i) {
          switch (t.cols[i].how) {
            case Col::kKeep:
            case Col::kReal:
              params.push_back(r[i]);
              break;
            case Col::kMessage:
              params.push_back(std::to_string(new_msg));
              break;
            case Col::kMessagePk:
              if (new_msg == 0) skipped = "message-gone";
              params.push_back(std::to_string(new_msg));
              break;
            case Col::kRecordKey:
              params.push_back(RemapRecordKey(r[i], msgs));
              break;
            case Col::kItemKey:
              params.push_back(RemapItemKey(r[i], old_msg, new_msg));
              break;
            case Col::kNewId:
              break;
            case Col::kSupersede:
              params.push_back("0");  // set by FixSuperseded once every row is there
              if (r[i] != "0" && !r[i].empty()) note = "superseded_by=" + r[i];
              break;
          }
        }
        int64_t new_key = std::stoll(old_key);
        if (!skipped.empty()) {
          new_key = 0;  // nothing inserted: the source message is gone (retention)
          note = skipped;
        } else if (new_id) {
          new_key =
              w.exec_params(insert, pqxx::prepare::make_dynamic_params(params))[0][0].as<int64_t>();
        } else {
          if (t.cols[static_cast<size_t>(key_col)].how == Col::kMessagePk) new_key = new_msg;
          w.exec_params(insert, pqxx::prepare::make_dynamic_params(params));
        }
        w.exec_params(
            "INSERT INTO hie_import_ids(source, kind, old_id, new_id, note) "
            "VALUES($1, $2, $3, $4, $5)",
            source_, std::string(t.name), std::stoll(old_key), new_key, note);
      }
    } catch (const pqxx::unique_violation& e) {
      return Fail(std::string("目标库已有相同编号的记录 (the target already holds a row with this "
                              "key): ") +
                      e.what(),
                  t.name);
    }
    w.commit();
    return Status::Ok();
  }

  // superseded_by from the mapping alone (the note keeps the old value), so
  // running it again after a resumed run gives the same result.
  void FixSuperseded(const Table& t) {
    pqxx::work w(pg_);
    w.exec_params(std::string("UPDATE ") + t.name +
                      " r SET superseded_by = o.new_id FROM hie_import_ids m JOIN hie_import_ids o "
                      "ON o.source = m.source AND o.kind = m.kind AND o.old_id = "
                      "substring(m.note FROM 'superseded_by=([0-9]+)')::bigint "
                      "WHERE m.source = $1 AND m.kind = $2 AND m.note LIKE 'superseded_by=%' "
                      "AND r.id = m.new_id AND r.superseded_by <> o.new_id",
                  source_, std::string(t.name));
    w.commit();
  }

  sqlite::Conn& src_;
  pqxx::connection& pg_;
  const std::string& source_;
  const int batch_;
  const std::function<void(const MigrateProgress&)>& progress_;
};

// EMPI ids are kept: a target whose EMPI holds rows that did not come from
// this source would clash (or, worse, mix two townships' persons).
Status CheckEmpiTarget(pqxx::connection& pg, const std::string& source) {
  for (const char* table : {"empi_persons", "empi_sources", "empi_reviews", "empi_history"}) {
    pqxx::nontransaction n(pg);
    const bool foreign =
        n.exec_params(std::string("SELECT EXISTS (SELECT 1 FROM ") + table +
                          " t WHERE NOT EXISTS (SELECT 1 FROM hie_import_ids i WHERE i.source = "
                          "$1 AND i.kind = $2 AND i.old_id = t.id))",
                      source, std::string(table))[0][0]
            .as<bool>();
    if (foreign) {
      return Fail(
          "目标库的 EMPI 已有其他来源的数据 (the target's EMPI already holds records of another "
          "origin): EMPI 编号保留不变，合并两个 EMPI 不受支持 (EMPI ids are kept; merging two "
          "EMPIs is not supported); 消息已迁移 (the messages were copied)",
          table);
    }
  }
  return Status::Ok();
}

}  // namespace

Status CopyEmpiAndRecord(sqlite::Conn& src, pqxx::connection& pg, const std::string& source,
                         int batch, const std::function<void(const MigrateProgress&)>& progress) {
  HIE_ASSIGN_OR_RETURN(bool has_empi, SourceHas(src, "empi_persons"));
  if (!has_empi) return Status::Ok();  // a township store from before the EMPI
  // Checked before the first EMPI row of this source goes in; a resumed run
  // goes on (a clash with rows made meanwhile is refused by the keys).
  HIE_ASSIGN_OR_RETURN(int64_t src_persons, SourceCount(src, "SELECT COUNT(*) FROM empi_persons"));
  const int64_t mapped = Scalar(pg,
                                "SELECT COUNT(*) FROM hie_import_ids WHERE source = $1 AND "
                                "kind = $2",
                                source, "empi_persons");
  if (src_persons > 0 && mapped == 0) HIE_RETURN_IF_ERROR(CheckEmpiTarget(pg, source));
  TableCopier copier(src, pg, source, std::max(1, batch), progress);
  for (const Table& t : Tables()) {
    HIE_ASSIGN_OR_RETURN(bool has, SourceHas(src, t.name));
    if (!has) continue;
    HIE_RETURN_IF_ERROR(copier.Copy(t));
  }
  return Status::Ok();
}

Status CountEmpiAndRecord(sqlite::Conn& src, pqxx::connection& pg, const std::string& source,
                          std::vector<TableCount>* out) {
  for (const Table& t : Tables()) {
    HIE_ASSIGN_OR_RETURN(bool has, SourceHas(src, t.name));
    if (!has) continue;
    TableCount c;
    c.table = t.name;
    HIE_ASSIGN_OR_RETURN(c.source, SourceCount(src, std::string("SELECT COUNT(*) FROM ") + t.name));
    const std::string pk = std::string(t.key) == "message_id" ? "message_id" : "id";
    c.target = Scalar(pg,
                      std::string("SELECT COUNT(*) FROM hie_import_ids i JOIN ") + t.name +
                          " r ON r." + pk + " = i.new_id WHERE i.source = $1 AND i.kind = $2",
                      source, t.name);
    // Rows left out because their message is no longer in the source.
    c.conflicts = Scalar(pg,
                         "SELECT COUNT(*) FROM hie_import_ids WHERE source = $1 AND kind = $2 "
                         "AND note = 'message-gone'",
                         source, t.name);
    out->push_back(c);
  }
  return Status::Ok();
}

}  // namespace hie::migrate
