// The unmapped-code register's SQL, written once for SQLite and PostgreSQL
// (store/unmapped_store.h) over the executor of store/empi_sql.h.
// Portable on both: ON CONFLICT ... DO UPDATE with `excluded`, CASE instead
// of min()/LEAST(), each $N used once and in order.
#include <utility>

#include "store/empi_sql.h"
#include "store/unmapped_store.h"

namespace hie {
namespace {

using empisql::Row;
using empisql::SqlSession;

constexpr char kDelete[] =
    "DELETE FROM terminology_unmapped WHERE system = $1 AND code = $2 AND facility = $3 AND "
    "target_system = $4";
constexpr char kUpsert[] =
    "INSERT INTO terminology_unmapped (system, code, facility, target_system, display, count, "
    "first_seen, last_seen, sample_message_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (system, code, facility, target_system) DO UPDATE SET "
    "count = terminology_unmapped.count + excluded.count, "
    "first_seen = CASE WHEN excluded.first_seen < terminology_unmapped.first_seen "
    "THEN excluded.first_seen ELSE terminology_unmapped.first_seen END, "
    "last_seen = CASE WHEN excluded.last_seen > terminology_unmapped.last_seen "
    "THEN excluded.last_seen ELSE terminology_unmapped.last_seen END, "
    "display = CASE WHEN terminology_unmapped.display = '' THEN excluded.display "
    "ELSE terminology_unmapped.display END, "
    "sample_message_id = CASE WHEN terminology_unmapped.sample_message_id = '' "
    "THEN excluded.sample_message_id ELSE terminology_unmapped.sample_message_id END";
constexpr char kSelect[] =
    "SELECT system, code, facility, target_system, display, count, first_seen, last_seen, "
    "sample_message_id FROM terminology_unmapped";

class SqlUnmappedStore final : public UnmappedStore {
 public:
  explicit SqlUnmappedStore(std::unique_ptr<empisql::SessionSource> s) : s_(std::move(s)) {}
  ~SqlUnmappedStore() override { Close(); }

  Status Apply(const UnmappedChangesRow& c, bool sync) override {
    if (c.empty()) return Status::Ok();
    return s_->WithSession(true, [&](SqlSession& s) -> Status {
      HIE_RETURN_IF_ERROR(s.Begin(sync));
      Status st = ApplyIn(s, c);
      if (st.ok()) st = s.Commit();
      if (!st.ok()) s.Rollback();
      return st;
    });
  }

  Status Load(const std::function<void(const UnmappedRow&)>& fn) override {
    return s_->WithSession(false, [&](SqlSession& s) {
      return s.Query(kSelect, {}, [&](const Row& r) {
        UnmappedRow u;
        u.system = r.Str(0);
        u.code = r.Str(1);
        u.facility = r.Str(2);
        u.target_system = r.Str(3);
        u.display = r.Str(4);
        u.count = r.Int(5);
        u.first_seen_ms = r.Int(6);
        u.last_seen_ms = r.Int(7);
        u.sample_message_id = r.Str(8);
        fn(u);
      });
    });
  }

  bool shared() const override { return s_->shared(); }

  void Close() override {
    if (s_) s_->Close();
  }

 private:
  static Status ApplyIn(SqlSession& s, const UnmappedChangesRow& c) {
    for (const UnmappedRow& u : c.removed) {
      HIE_RETURN_IF_ERROR(s.Exec(kDelete, {u.system, u.code, u.facility, u.target_system}));
    }
    for (const UnmappedRow& u : c.added) {
      HIE_RETURN_IF_ERROR(
          s.Exec(kUpsert, {u.system, u.code, u.facility, u.target_system, u.display, u.count,
                           u.first_seen_ms, u.last_seen_ms, u.sample_message_id}));
    }
    return Status::Ok();
  }

  std::unique_ptr<empisql::SessionSource> s_;
};

}  // namespace

std::unique_ptr<UnmappedStore> MakeSqlUnmappedStore(std::unique_ptr<empisql::SessionSource> s) {
  return std::make_unique<SqlUnmappedStore>(std::move(s));
}

Result<std::unique_ptr<UnmappedStore>> OpenUnmappedStore(const std::string& uri, bool durable) {
  // A writer (every node writes its own counts: not fenced) and one reader.
  HIE_ASSIGN_OR_RETURN(auto s, empisql::OpenSessions(uri, durable, 1, "terminology_unmapped"));
  return MakeSqlUnmappedStore(std::move(s));
}

}  // namespace hie
