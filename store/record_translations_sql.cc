// Retranslation's SQL over the shared record (store/record_translations.h),
// written once for SQLite and PostgreSQL over the executor of
// store/empi_sql.h ($N in order, each once; LIKE is portable).
#include <utility>

#include "store/empi_sql.h"
#include "store/record_translations.h"

namespace hie {
namespace {

using empisql::Row;
using empisql::SqlSession;

constexpr char kLabPage[] =
    "SELECT id, facility_id, std_code, std_display, std_unit, resource FROM record_lab_results "
    "WHERE id > $1 AND recorded_at >= $2 AND (std_code = '' OR (std_unit = '' AND unit <> '') "
    "OR resource LIKE '%urn:hie:unmapped%') ORDER BY id LIMIT $3";
constexpr char kDiagPage[] =
    "SELECT id, facility_id, std_code, std_display, '', resource FROM record_diagnoses "
    "WHERE id > $1 AND recorded_at >= $2 AND (std_code = '' OR resource LIKE "
    "'%urn:hie:unmapped%') ORDER BY id LIMIT $3";
constexpr char kDocPage[] =
    "SELECT id, facility_id, '', '', '', canonical FROM record_documents "
    "WHERE id > $1 AND recorded_at >= $2 AND canonical LIKE '%urn:hie:unmapped%' "
    "ORDER BY id LIMIT $3";

constexpr char kLabUpdate[] =
    "UPDATE record_lab_results SET std_code = $1, std_display = $2, std_unit = $3, "
    "resource = $4 WHERE id = $5";
constexpr char kDiagUpdate[] =
    "UPDATE record_diagnoses SET std_code = $1, std_display = $2, resource = $3 WHERE id = $4";
constexpr char kDocUpdate[] = "UPDATE record_documents SET canonical = $1 WHERE id = $2";

class SqlRecordTranslations final : public RecordTranslations {
 public:
  explicit SqlRecordTranslations(std::unique_ptr<empisql::SessionSource> s) : s_(std::move(s)) {}
  ~SqlRecordTranslations() override { Close(); }

  Result<std::vector<TranslatableRow>> Page(RecordKind kind, int64_t since_ms, int64_t after_id,
                                            int limit) override {
    const char* sql = kind == RecordKind::kLabResult   ? kLabPage
                      : kind == RecordKind::kDiagnosis ? kDiagPage
                                                       : kDocPage;
    std::vector<TranslatableRow> out;
    Status st = s_->WithSession(false, [&](SqlSession& s) {
      return s.Query(sql, {after_id, since_ms, int64_t{limit}}, [&](const Row& r) {
        TranslatableRow t;
        t.id = r.Int(0);
        t.facility_id = r.Str(1);
        t.std_code = r.Str(2);
        t.std_display = r.Str(3);
        t.std_unit = r.Str(4);
        t.json = r.Str(5);
        out.push_back(std::move(t));
      });
    });
    if (!st.ok()) return st;
    return out;
  }

  Status Update(RecordKind kind, const std::vector<TranslatableRow>& rows) override {
    if (rows.empty()) return Status::Ok();
    return s_->WithSession(true, [&](SqlSession& s) -> Status {
      HIE_RETURN_IF_ERROR(s.Begin(true));
      Status st;
      for (const TranslatableRow& t : rows) {
        switch (kind) {
          case RecordKind::kLabResult:
            st = s.Exec(kLabUpdate, {t.std_code, t.std_display, t.std_unit, t.json, t.id});
            break;
          case RecordKind::kDiagnosis:
            st = s.Exec(kDiagUpdate, {t.std_code, t.std_display, t.json, t.id});
            break;
          case RecordKind::kDocument:
            st = s.Exec(kDocUpdate, {t.json, t.id});
            break;
        }
        if (!st.ok()) break;
      }
      if (st.ok()) st = s.Commit();
      if (!st.ok()) s.Rollback();
      return st;
    });
  }

  void Close() override {
    if (s_) s_->Close();
  }

 private:
  std::unique_ptr<empisql::SessionSource> s_;
};

}  // namespace

std::string_view ToString(RecordKind k) {
  switch (k) {
    case RecordKind::kLabResult:
      return "lab_results";
    case RecordKind::kDiagnosis:
      return "diagnoses";
    case RecordKind::kDocument:
      return "documents";
  }
  return "?";
}

std::unique_ptr<RecordTranslations> MakeSqlRecordTranslations(
    std::unique_ptr<empisql::SessionSource> sessions) {
  return std::make_unique<SqlRecordTranslations>(std::move(sessions));
}

Result<std::unique_ptr<RecordTranslations>> OpenRecordTranslations(const std::string& uri,
                                                                   bool durable) {
  HIE_ASSIGN_OR_RETURN(auto s, empisql::OpenSessions(uri, durable, 1, "record_lab_results"));
  return MakeSqlRecordTranslations(std::move(s));
}

}  // namespace hie
