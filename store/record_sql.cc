#include "store/record_sql.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace hie::recordsql {
namespace {

using empisql::Arg;
using empisql::Row;
using empisql::SqlSession;

// Columns after id, in insert order. The first eight are the same for every
// kind (message_id, source_id, facility_id, item_key, version, is_current,
// superseded_by, source_version); version is argument 4 (0-based), is_current
// 5, superseded_by 6.
constexpr char kCommon[] =
    "message_id, source_id, facility_id, item_key, version, is_current, superseded_by, "
    "source_version";
constexpr int kCommonN = 8;
constexpr size_t kVersionArg = 4, kCurrentArg = 5, kSupersededArg = 6;

constexpr char kLabCols[] =
    "status, code_system, code, display, std_code, std_display, value, value_type, unit, "
    "std_unit, reference_range, abnormal_flag, specimen, performing_facility, verifier, "
    "report_id, effective_ms, issued_ms, resource, recorded_at";
constexpr int kLabN = 20;
constexpr char kEncCols[] =
    "visit_number, encounter_class, status, department, attending, start_ms, end_ms, resource, "
    "recorded_at";
constexpr int kEncN = 9;
constexpr char kDiagCols[] =
    "code_system, code, display, std_code, std_display, clinical_status, visit_number, "
    "recorded_ms, resource, recorded_at";
constexpr int kDiagN = 10;
constexpr char kDocCols[] =
    "type_code, title, document_id, effective_ms, content, canonical, recorded_at";
constexpr int kDocN = 7;
// The document index: content and canonical left out.
constexpr char kDocIndexCols[] = "type_code, title, document_id, effective_ms, '', '', recorded_at";

std::string Params(int from, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += "$" + std::to_string(from + i);
  }
  return out;
}

// The statements of one kind of row. `time_col` (argument `time_arg`), if
// any, is the row's time that a new version leaves unknown (0) when its
// message does not say it (an ADT^A08 without PV1-44): it keeps the time of
// the version it supersedes.
struct Kind {
  std::string table, insert, find, supersede, select_cols;
  size_t time_arg = 0;  // 0: none
  Kind(const char* t, const char* cols, int n, const char* time_col = nullptr, size_t arg = 0)
      : table(t), time_arg(arg) {
    insert = "INSERT INTO " + table + " (" + kCommon + ", " + cols + ") VALUES (" +
             Params(1, kCommonN + n) + ") RETURNING id";
    // Every version of the item (a handful): the highest version number and
    // the current row.
    find = "SELECT id, version, is_current, source_version, " +
           std::string(time_col != nullptr ? time_col : "0") + " FROM " + table +
           " WHERE item_key = $1";
    supersede = "UPDATE " + table + " SET is_current = 0, superseded_by = $1 WHERE id = $2";
    select_cols = std::string("id, ") + kCommon + ", " + cols;
  }
};

const Kind& Lab() {
  static const Kind k("record_lab_results", kLabCols, kLabN);
  return k;
}
const Kind& Enc() {
  static const Kind k("record_encounters", kEncCols, kEncN, "start_ms", kCommonN + 5);
  return k;
}
const Kind& Diag() {
  static const Kind k("record_diagnoses", kDiagCols, kDiagN);
  return k;
}
const Kind& Doc() {
  static const Kind k("record_documents", kDocCols, kDocN, "effective_ms", kCommonN + 3);
  return k;
}

template <typename R>
std::vector<Arg> Common(const R& r) {
  return {r.message_id, r.source_id, r.facility_id, r.item_key, int64_t{1},
          int64_t{1},   int64_t{0},  r.source_version};
}

// Inserts one row as its item_key's next version. It supersedes the current
// row, unless both carry a sender's version (source_version > 0) and the new
// one's is lower: then it is history from the start (not current,
// superseded_by the current row), e.g. CDA version 1 arriving after 2.
Status Put(SqlSession& s, const Kind& k, const std::string& item_key, std::vector<Arg> args) {
  int64_t max_version = 0, cur_id = 0, cur_source_version = 0, cur_time = 0;
  HIE_RETURN_IF_ERROR(s.Query(k.find.c_str(), {item_key}, [&](const Row& r) {
    max_version = std::max(max_version, r.Int(1));
    if (r.Int(2) != 0) {
      cur_id = r.Int(0);
      cur_source_version = r.Int(3);
      cur_time = r.Int(4);
    }
  }));
  args[kVersionArg] = max_version + 1;
  const int64_t source_version = std::get<int64_t>(args[kCommonN - 1]);
  const bool older = cur_id != 0 && source_version > 0 && cur_source_version > source_version;
  if (older) {
    args[kCurrentArg] = int64_t{0};
    args[kSupersededArg] = cur_id;
  }
  if (k.time_arg != 0 && cur_id != 0 && std::get<int64_t>(args[k.time_arg]) == 0) {
    args[k.time_arg] = cur_time;
  }
  int64_t id = 0;
  HIE_RETURN_IF_ERROR(s.Query(k.insert.c_str(), args, [&](const Row& r) { id = r.Int(0); }));
  if (id == 0)
    return Status(ErrorCode::kStoreError, "插入记录未返回编号 (insert gave no id)", k.table);
  if (cur_id != 0 && !older) HIE_RETURN_IF_ERROR(s.Exec(k.supersede.c_str(), {id, cur_id}));
  return Status::Ok();
}

template <typename R>
void ReadCommon(const Row& r, R& out) {
  out.id = r.Int(0);
  out.message_id = r.Int(1);
  out.source_id = r.Int(2);
  out.facility_id = r.Str(3);
  out.item_key = r.Str(4);
  out.version = static_cast<int>(r.Int(5));
  out.current = r.Int(6) != 0;
  out.superseded_by = r.Int(7);
  out.source_version = r.Int(8);
}

LabResultRow LabFrom(const Row& r) {
  LabResultRow x;
  ReadCommon(r, x);
  size_t i = kCommonN + 1;
  x.status = r.Str(i++);
  x.code_system = r.Str(i++);
  x.code = r.Str(i++);
  x.display = r.Str(i++);
  x.std_code = r.Str(i++);
  x.std_display = r.Str(i++);
  x.value = r.Str(i++);
  x.value_type = r.Str(i++);
  x.unit = r.Str(i++);
  x.std_unit = r.Str(i++);
  x.reference_range = r.Str(i++);
  x.abnormal_flag = r.Str(i++);
  x.specimen = r.Str(i++);
  x.performing_facility = r.Str(i++);
  x.verifier = r.Str(i++);
  x.report_id = r.Str(i++);
  x.effective_ms = r.Int(i++);
  x.issued_ms = r.Int(i++);
  x.resource = r.Str(i++);
  x.recorded_at_ms = r.Int(i++);
  return x;
}

EncounterRow EncFrom(const Row& r) {
  EncounterRow x;
  ReadCommon(r, x);
  size_t i = kCommonN + 1;
  x.visit_number = r.Str(i++);
  x.encounter_class = r.Str(i++);
  x.status = r.Str(i++);
  x.department = r.Str(i++);
  x.attending = r.Str(i++);
  x.start_ms = r.Int(i++);
  x.end_ms = r.Int(i++);
  x.resource = r.Str(i++);
  x.recorded_at_ms = r.Int(i++);
  return x;
}

DiagnosisRow DiagFrom(const Row& r) {
  DiagnosisRow x;
  ReadCommon(r, x);
  size_t i = kCommonN + 1;
  x.code_system = r.Str(i++);
  x.code = r.Str(i++);
  x.display = r.Str(i++);
  x.std_code = r.Str(i++);
  x.std_display = r.Str(i++);
  x.clinical_status = r.Str(i++);
  x.visit_number = r.Str(i++);
  x.recorded_ms = r.Int(i++);
  x.resource = r.Str(i++);
  x.recorded_at_ms = r.Int(i++);
  return x;
}

DocumentRow DocFrom(const Row& r) {
  DocumentRow x;
  ReadCommon(r, x);
  size_t i = kCommonN + 1;
  x.type_code = r.Str(i++);
  x.title = r.Str(i++);
  x.document_id = r.Str(i++);
  x.effective_ms = r.Int(i++);
  x.content = r.Str(i++);
  x.canonical = r.Str(i++);
  x.recorded_at_ms = r.Int(i++);
  return x;
}

AccessEventRow AccessFrom(const Row& r) {
  AccessEventRow a;
  a.id = r.Int(0);
  a.at_ms = r.Int(1);
  a.actor = r.Str(2);
  a.facility_id = r.Str(3);
  a.person_id = r.Int(4);
  a.what = r.Str(5);
  a.detail = r.Str(6);
  return a;
}

// A person's source ids padded with 0 (no source has it) to a power of
// two, so a handful of statement shapes serve every person.
std::vector<int64_t> Padded(const std::vector<int64_t>& ids) {
  size_t n = 1;
  while (n < ids.size()) n *= 2;
  std::vector<int64_t> out = ids;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  while (n / 2 >= out.size() && n > 1) n /= 2;
  out.resize(n, 0);
  return out;
}

std::string SourceList(const std::vector<int64_t>& ids, int from, std::vector<Arg>& args) {
  const auto padded = Padded(ids);
  for (int64_t id : padded) args.emplace_back(id);
  return Params(from, static_cast<int>(padded.size()));
}

int ClampLimit(int limit, int max) { return std::clamp(limit, 1, max); }

class SqlRecordStore final : public RecordStore {
 public:
  explicit SqlRecordStore(std::unique_ptr<empisql::SessionSource> s) : s_(std::move(s)) {}
  ~SqlRecordStore() override { Close(); }

  Result<std::vector<LabResultRow>> LabResults(const LabResultFilter& f) override {
    if (f.source_ids.empty()) return std::vector<LabResultRow>{};
    // Per source, its newest rows from the (source_id, is_current,
    // effective_ms, id) index read backwards, at most a page each; their
    // union's newest page gives the ids; then only those rows are read. So
    // the cost follows the page, not the length of the person's history.
    const int64_t limit = ClampLimit(f.limit, 1000);
    std::vector<Arg> args;
    auto next = [&](Arg a) {
      args.push_back(std::move(a));
      return "$" + std::to_string(args.size());
    };
    std::string u;
    const auto sources = Padded(f.source_ids);
    for (size_t i = 0; i < sources.size(); ++i) {
      std::string b =
          "SELECT id, effective_ms FROM record_lab_results WHERE source_id = " + next(sources[i]);
      if (!f.include_history) b += " AND is_current = 1";
      if (!f.code.empty()) {
        b += " AND (code = " + next(f.code);
        b += " OR std_code = " + next(f.code) + ")";
      }
      if (!f.facility_id.empty()) {
        b += " AND (facility_id = " + next(f.facility_id);
        b += " OR performing_facility = " + next(f.facility_id) + ")";
      }
      if (f.since_ms > 0) b += " AND effective_ms >= " + next(f.since_ms);
      if (f.before_id > 0) {
        b += " AND (effective_ms, id) < (" + next(f.before_ms);
        b += ", " + next(f.before_id) + ")";
      }
      b += " ORDER BY effective_ms DESC, id DESC LIMIT " + next(limit);
      if (!u.empty()) u += " UNION ALL ";
      u += "SELECT id, effective_ms FROM (" + b + ") s" + std::to_string(i);
    }
    const std::string page =
        "SELECT id FROM (" + u + ") u ORDER BY effective_ms DESC, id DESC LIMIT " + next(limit);
    const std::string sql = "SELECT " + Lab().select_cols +
                            " FROM record_lab_results WHERE id IN (" + page +
                            ") ORDER BY effective_ms DESC, id DESC";
    return Many<LabResultRow>(sql, std::move(args), LabFrom);
  }

  Result<std::vector<LabResultRow>> LabResultHistory(const std::string& item_key) override {
    return Many<LabResultRow>("SELECT " + Lab().select_cols +
                                  " FROM record_lab_results WHERE item_key = $1 "
                                  "ORDER BY source_version, version",
                              {item_key}, LabFrom);
  }

  Result<std::vector<EncounterRow>> Encounters(const std::vector<int64_t>& source_ids,
                                               int limit) override {
    return ByPerson<EncounterRow>(Enc().select_cols, "record_encounters", "start_ms", source_ids,
                                  limit, EncFrom);
  }
  Result<std::vector<DiagnosisRow>> Diagnoses(const std::vector<int64_t>& source_ids,
                                              int limit) override {
    return ByPerson<DiagnosisRow>(Diag().select_cols, "record_diagnoses", "recorded_ms", source_ids,
                                  limit, DiagFrom);
  }
  Result<std::vector<DocumentRow>> Documents(const std::vector<int64_t>& source_ids,
                                             int limit) override {
    static const std::string cols = std::string("id, ") + kCommon + ", " + kDocIndexCols;
    return ByPerson<DocumentRow>(cols, "record_documents", "effective_ms", source_ids, limit,
                                 DocFrom);
  }
  Result<std::optional<DocumentRow>> GetDocument(int64_t id) override {
    HIE_ASSIGN_OR_RETURN(auto rows, Many<DocumentRow>("SELECT " + Doc().select_cols +
                                                          " FROM record_documents WHERE id = $1",
                                                      {id}, DocFrom));
    if (rows.empty()) return std::optional<DocumentRow>();
    return std::optional<DocumentRow>(std::move(rows.front()));
  }

  Status AppendAccess(const std::vector<AccessEventRow>& events) override {
    if (events.empty()) return Status::Ok();
    return s_->WithSession(true, [&](SqlSession& s) -> Status {
      HIE_RETURN_IF_ERROR(s.Begin(/*sync=*/true));
      Status st;
      for (const auto& e : events) {
        st = s.Exec(
            "INSERT INTO record_access (at, actor, facility_id, person_id, what, detail) VALUES "
            "($1, $2, $3, $4, $5, $6)",
            {e.at_ms, e.actor, e.facility_id, e.person_id, e.what,
             e.detail.empty() ? "{}" : e.detail});
        if (!st.ok()) break;
      }
      if (st.ok()) st = s.Commit();
      if (!st.ok()) s.Rollback();
      return st;
    });
  }
  Result<std::vector<AccessEventRow>> AccessOfPerson(int64_t person_id, int limit) override {
    return Many<AccessEventRow>(
        "SELECT id, at, actor, facility_id, person_id, what, detail FROM record_access "
        "WHERE person_id = $1 ORDER BY id DESC LIMIT $2",
        {person_id, static_cast<int64_t>(ClampLimit(limit, 10000))}, AccessFrom);
  }

  void Close() override {
    std::lock_guard<std::mutex> lock(close_mu_);
    if (s_) s_->Close();
  }

 private:
  template <typename T, typename F>
  Result<std::vector<T>> ByPerson(const std::string& cols, const char* table, const char* time_col,
                                  const std::vector<int64_t>& source_ids, int limit, F from) {
    if (source_ids.empty()) return std::vector<T>{};
    std::vector<Arg> args;
    const std::string in = SourceList(source_ids, 1, args);
    const std::string sql = "SELECT " + cols + " FROM " + table + " WHERE source_id IN (" + in +
                            ") AND is_current = 1 ORDER BY " + time_col + " DESC, id DESC LIMIT $" +
                            std::to_string(args.size() + 1);
    args.emplace_back(static_cast<int64_t>(ClampLimit(limit, 1000)));
    return Many<T>(sql, std::move(args), from);
  }

  template <typename T, typename F>
  Result<std::vector<T>> Many(const std::string& sql, std::vector<Arg> args, F from) {
    std::vector<T> out;
    Status st = s_->WithSession(false, [&](SqlSession& s) {
      return s.Query(sql.c_str(), args, [&](const Row& r) { out.push_back(from(r)); });
    });
    if (!st.ok()) return st;
    return out;
  }

  std::unique_ptr<empisql::SessionSource> s_;
  std::mutex close_mu_;
};

}  // namespace

Status ApplyRecordIn(SqlSession& s, const RecordWrite& w, const std::set<int64_t>& skip) {
  auto skipped = [&](int64_t message_id) { return skip.count(message_id) != 0; };
  for (const auto& r : w.lab_results) {
    if (skipped(r.message_id)) continue;
    auto args = Common(r);
    for (Arg a : std::initializer_list<Arg>{r.status,
                                            r.code_system,
                                            r.code,
                                            r.display,
                                            r.std_code,
                                            r.std_display,
                                            r.value,
                                            r.value_type,
                                            r.unit,
                                            r.std_unit,
                                            r.reference_range,
                                            r.abnormal_flag,
                                            r.specimen,
                                            r.performing_facility,
                                            r.verifier,
                                            r.report_id,
                                            r.effective_ms,
                                            r.issued_ms,
                                            r.resource,
                                            r.recorded_at_ms}) {
      args.push_back(std::move(a));
    }
    HIE_RETURN_IF_ERROR(Put(s, Lab(), r.item_key, std::move(args)));
  }
  for (const auto& r : w.encounters) {
    if (skipped(r.message_id)) continue;
    auto args = Common(r);
    for (Arg a : std::initializer_list<Arg>{r.visit_number, r.encounter_class, r.status,
                                            r.department, r.attending, r.start_ms, r.end_ms,
                                            r.resource, r.recorded_at_ms}) {
      args.push_back(std::move(a));
    }
    HIE_RETURN_IF_ERROR(Put(s, Enc(), r.item_key, std::move(args)));
  }
  for (const auto& r : w.diagnoses) {
    if (skipped(r.message_id)) continue;
    auto args = Common(r);
    for (Arg a : std::initializer_list<Arg>{r.code_system, r.code, r.display, r.std_code,
                                            r.std_display, r.clinical_status, r.visit_number,
                                            r.recorded_ms, r.resource, r.recorded_at_ms}) {
      args.push_back(std::move(a));
    }
    HIE_RETURN_IF_ERROR(Put(s, Diag(), r.item_key, std::move(args)));
  }
  for (const auto& r : w.documents) {
    if (skipped(r.message_id)) continue;
    auto args = Common(r);
    for (Arg a : std::initializer_list<Arg>{r.type_code, r.title, r.document_id, r.effective_ms,
                                            r.content, r.canonical, r.recorded_at_ms}) {
      args.push_back(std::move(a));
    }
    HIE_RETURN_IF_ERROR(Put(s, Doc(), r.item_key, std::move(args)));
  }
  return Status::Ok();
}

std::unique_ptr<RecordStore> MakeSqlRecordStore(std::unique_ptr<empisql::SessionSource> sessions) {
  return std::make_unique<SqlRecordStore>(std::move(sessions));
}

}  // namespace hie::recordsql
