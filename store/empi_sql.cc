#include "store/empi_sql.h"

#include <cstdlib>
#include <mutex>
#include <set>

#include "store/record_sql.h"

namespace hie::empisql {

int64_t Row::Int(size_t i) const { return std::strtoll(cols[i].c_str(), nullptr, 10); }
double Row::Real(size_t i) const { return std::strtod(cols[i].c_str(), nullptr); }

namespace {

constexpr char kPersonCols[] = "id, state, merged_into, golden, created_at, updated_at";
constexpr char kSourceCols[] =
    "id, person_id, record_key, facility_id, local_id, id_number, name, birth_date, sex, phone, "
    "address, raw, norm, card_reader, link_how, link_weight, link_rule, link_evidence, "
    "replaced_by, last_message, created_at, updated_at";
constexpr char kReviewCols[] =
    "id, kind, source_id, person_id, weight, evidence, state, created_at, decided_at, decided_by";
constexpr char kHistoryCols[] =
    "id, at, op, person_id, other_person, source_id, message_id, actor, detail";

constexpr char kUpsertPerson[] =
    "INSERT INTO empi_persons (id, state, merged_into, golden, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
    "merged_into = excluded.merged_into, golden = excluded.golden, "
    "updated_at = excluded.updated_at";
constexpr char kUpsertSource[] =
    "INSERT INTO empi_sources (id, person_id, record_key, facility_id, local_id, id_number, name, "
    "birth_date, sex, phone, address, raw, norm, card_reader, link_how, link_weight, link_rule, "
    "link_evidence, replaced_by, last_message, created_at, updated_at) VALUES ($1, $2, $3, $4, "
    "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) "
    "ON CONFLICT (id) DO UPDATE SET person_id = excluded.person_id, "
    "record_key = excluded.record_key, facility_id = excluded.facility_id, "
    "local_id = excluded.local_id, id_number = excluded.id_number, name = excluded.name, "
    "birth_date = excluded.birth_date, sex = excluded.sex, phone = excluded.phone, "
    "address = excluded.address, raw = excluded.raw, norm = excluded.norm, "
    "card_reader = excluded.card_reader, link_how = excluded.link_how, "
    "link_weight = excluded.link_weight, link_rule = excluded.link_rule, "
    "link_evidence = excluded.link_evidence, replaced_by = excluded.replaced_by, "
    "last_message = excluded.last_message, updated_at = excluded.updated_at";
constexpr char kUpsertReview[] =
    "INSERT INTO empi_reviews (id, kind, source_id, person_id, weight, evidence, state, "
    "created_at, decided_at, decided_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (id) DO UPDATE SET state = excluded.state, weight = excluded.weight, "
    "evidence = excluded.evidence, decided_at = excluded.decided_at, "
    "decided_by = excluded.decided_by";
constexpr char kInsertHistory[] =
    "INSERT INTO empi_history (id, at, op, person_id, other_person, source_id, message_id, "
    "actor, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
constexpr char kInsertMessage[] =
    "INSERT INTO empi_messages (message_id, source_id, at) VALUES ($1, $2, $3) "
    "ON CONFLICT (message_id) DO NOTHING RETURNING message_id";

EmpiPersonRow PersonFrom(const Row& r) {
  EmpiPersonRow p;
  p.id = r.Int(0);
  p.state = r.Str(1);
  p.merged_into = r.Int(2);
  p.golden = r.Str(3);
  p.created_at_ms = r.Int(4);
  p.updated_at_ms = r.Int(5);
  return p;
}

EmpiSourceRow SourceFrom(const Row& r) {
  EmpiSourceRow s;
  s.id = r.Int(0);
  s.person_id = r.Int(1);
  s.record_key = r.Str(2);
  s.facility_id = r.Str(3);
  s.local_id = r.Str(4);
  s.id_number = r.Str(5);
  s.name = r.Str(6);
  s.birth_date = r.Str(7);
  s.sex = r.Str(8);
  s.phone = r.Str(9);
  s.address = r.Str(10);
  s.raw = r.Str(11);
  s.norm = r.Str(12);
  s.card_reader = r.Int(13) != 0;
  s.link_how = r.Str(14);
  s.link_weight = r.Real(15);
  s.link_rule = r.Str(16);
  s.link_evidence = r.Str(17);
  s.replaced_by = r.Int(18);
  s.last_message = r.Int(19);
  s.created_at_ms = r.Int(20);
  s.updated_at_ms = r.Int(21);
  return s;
}

EmpiReviewRow ReviewFrom(const Row& r) {
  EmpiReviewRow v;
  v.id = r.Int(0);
  v.kind = r.Str(1);
  v.source_id = r.Int(2);
  v.person_id = r.Int(3);
  v.weight = r.Real(4);
  v.evidence = r.Str(5);
  v.state = r.Str(6);
  v.created_at_ms = r.Int(7);
  v.decided_at_ms = r.Int(8);
  v.decided_by = r.Str(9);
  return v;
}

EmpiHistoryRow HistoryFrom(const Row& r) {
  EmpiHistoryRow h;
  h.id = r.Int(0);
  h.at_ms = r.Int(1);
  h.op = r.Str(2);
  h.person_id = r.Int(3);
  h.other_person = r.Int(4);
  h.source_id = r.Int(5);
  h.message_id = r.Int(6);
  h.actor = r.Str(7);
  h.detail = r.Str(8);
  return h;
}

std::string Select(const char* cols, const char* rest) {
  return std::string("SELECT ") + cols + " " + rest;
}

class SqlEmpiStore final : public EmpiStore {
 public:
  explicit SqlEmpiStore(std::unique_ptr<SessionSource> s) : s_(std::move(s)) {
    q_person_ = Select(kPersonCols, "FROM empi_persons WHERE id = $1");
    q_sources_of_ = Select(kSourceCols, "FROM empi_sources WHERE person_id = $1 ORDER BY id");
    q_source_ = Select(kSourceCols, "FROM empi_sources WHERE id = $1");
    q_source_key_ = Select(kSourceCols, "FROM empi_sources WHERE record_key = $1");
    q_source_idn_ = Select(kSourceCols, "FROM empi_sources WHERE id_number = $1 ORDER BY id");
    q_page_ = Select(kSourceCols, "FROM empi_sources WHERE id > $1 ORDER BY id LIMIT $2");
    q_review_ = Select(kReviewCols, "FROM empi_reviews WHERE id = $1");
    q_reviews_state_ = Select(kReviewCols,
                              "FROM empi_reviews WHERE state = $1 AND id < $2 "
                              "ORDER BY id DESC LIMIT $3");
    q_reviews_any_ =
        Select(kReviewCols, "FROM empi_reviews WHERE id < $1 ORDER BY id DESC LIMIT $2");
    q_reviews_source_ = Select(kReviewCols,
                               "FROM empi_reviews WHERE source_id = $1 AND state = 'open' "
                               "ORDER BY id");
    q_history_ = Select(kHistoryCols,
                        "FROM empi_history WHERE person_id = $1 OR other_person = $2 "
                        "ORDER BY id LIMIT $3");
    q_history_one_ = Select(kHistoryCols, "FROM empi_history WHERE id = $1");
  }
  ~SqlEmpiStore() override { Close(); }

  bool shared() const override { return s_->shared(); }
  Result<EmpiRole> TryResolverRole(const std::string& node) override {
    return s_->TryResolverRole(node);
  }

  Status Apply(const EmpiWrite& w) override {
    if (w.empty()) return Status::Ok();
    return s_->WithSession(true, [&](SqlSession& s) -> Status {
      HIE_RETURN_IF_ERROR(s.Begin(w.sync));
      Status st = ApplyIn(s, w);
      if (st.ok()) st = s.Commit();
      if (!st.ok()) s.Rollback();
      return st;
    });
  }

  Result<EmpiMaxIds> MaxIds() override {
    EmpiMaxIds ids;
    Status st = s_->WithSession(false, [&](SqlSession& s) -> Status {
      return s.Query(
          "SELECT (SELECT COALESCE(MAX(id), 0) FROM empi_persons), "
          "(SELECT COALESCE(MAX(id), 0) FROM empi_sources), "
          "(SELECT COALESCE(MAX(id), 0) FROM empi_reviews), "
          "(SELECT COALESCE(MAX(id), 0) FROM empi_history), "
          "(SELECT COALESCE(MAX(message_id), 0) FROM empi_messages)",
          {}, [&](const Row& r) {
            ids.person = r.Int(0);
            ids.source = r.Int(1);
            ids.review = r.Int(2);
            ids.history = r.Int(3);
            ids.message = r.Int(4);
          });
    });
    if (!st.ok()) return st;
    return ids;
  }

  Status ForEachSource(const std::function<Status(const EmpiSourceRow&)>& fn) override {
    constexpr int64_t kPage = 5000;
    int64_t after = 0;
    for (;;) {
      std::vector<EmpiSourceRow> page;
      page.reserve(kPage);
      HIE_RETURN_IF_ERROR(s_->WithSession(false, [&](SqlSession& s) {
        return s.Query(q_page_.c_str(), {after, kPage},
                       [&](const Row& r) { page.push_back(SourceFrom(r)); });
      }));
      for (const auto& row : page) HIE_RETURN_IF_ERROR(fn(row));
      if (static_cast<int64_t>(page.size()) < kPage) return Status::Ok();
      after = page.back().id;
    }
  }

  Result<std::optional<EmpiPersonRow>> GetPerson(int64_t id) override {
    return One<EmpiPersonRow>(q_person_, {id}, PersonFrom);
  }
  Result<std::vector<EmpiSourceRow>> SourcesOfPerson(int64_t person_id) override {
    return Many<EmpiSourceRow>(q_sources_of_, {person_id}, SourceFrom);
  }
  Result<std::optional<EmpiSourceRow>> GetSource(int64_t id) override {
    return One<EmpiSourceRow>(q_source_, {id}, SourceFrom);
  }
  Result<std::optional<EmpiSourceRow>> SourceByKey(const std::string& key) override {
    return One<EmpiSourceRow>(q_source_key_, {key}, SourceFrom);
  }
  Result<std::vector<EmpiSourceRow>> SourcesByIdNumber(const std::string& idn) override {
    if (idn.empty()) return std::vector<EmpiSourceRow>{};
    return Many<EmpiSourceRow>(q_source_idn_, {idn}, SourceFrom);
  }
  Result<std::optional<int64_t>> SourceOfMessage(int64_t message_id) override {
    return One<int64_t>("SELECT source_id FROM empi_messages WHERE message_id = $1", {message_id},
                        [](const Row& r) { return r.Int(0); });
  }
  Result<std::vector<EmpiReviewRow>> ListReviews(const std::string& state, int64_t before_id,
                                                 int limit) override {
    const int64_t before = before_id > 0 ? before_id : INT64_MAX;
    if (state.empty()) {
      return Many<EmpiReviewRow>(q_reviews_any_, {before, static_cast<int64_t>(limit)}, ReviewFrom);
    }
    return Many<EmpiReviewRow>(q_reviews_state_, {state, before, static_cast<int64_t>(limit)},
                               ReviewFrom);
  }
  Result<std::optional<EmpiReviewRow>> GetReview(int64_t id) override {
    return One<EmpiReviewRow>(q_review_, {id}, ReviewFrom);
  }
  Result<std::vector<EmpiReviewRow>> OpenReviewsOfSource(int64_t source_id) override {
    return Many<EmpiReviewRow>(q_reviews_source_, {source_id}, ReviewFrom);
  }
  Result<int64_t> CountReviews(const std::string& state) override {
    HIE_ASSIGN_OR_RETURN(auto n, One<int64_t>("SELECT COUNT(*) FROM empi_reviews WHERE state = $1",
                                              {state}, [](const Row& r) { return r.Int(0); }));
    return n.value_or(0);
  }
  Result<std::vector<EmpiHistoryRow>> History(int64_t person_id, int limit) override {
    return Many<EmpiHistoryRow>(q_history_, {person_id, person_id, static_cast<int64_t>(limit)},
                                HistoryFrom);
  }
  Result<std::optional<EmpiHistoryRow>> GetHistory(int64_t id) override {
    return One<EmpiHistoryRow>(q_history_one_, {id}, HistoryFrom);
  }

  void Close() override {
    std::lock_guard<std::mutex> lock(close_mu_);
    if (s_) s_->Close();
  }

 private:
  static Status ApplyIn(SqlSession& s, const EmpiWrite& w) {
    for (const auto& p : w.persons) {
      HIE_RETURN_IF_ERROR(s.Exec(kUpsertPerson, {p.id, p.state, p.merged_into, p.golden,
                                                 p.created_at_ms, p.updated_at_ms}));
    }
    for (const auto& r : w.sources) {
      HIE_RETURN_IF_ERROR(s.Exec(kUpsertSource, {r.id,
                                                 r.person_id,
                                                 r.record_key,
                                                 r.facility_id,
                                                 r.local_id,
                                                 r.id_number,
                                                 r.name,
                                                 r.birth_date,
                                                 r.sex,
                                                 r.phone,
                                                 r.address,
                                                 r.raw,
                                                 r.norm,
                                                 static_cast<int64_t>(r.card_reader ? 1 : 0),
                                                 r.link_how,
                                                 r.link_weight,
                                                 r.link_rule,
                                                 r.link_evidence,
                                                 r.replaced_by,
                                                 r.last_message,
                                                 r.created_at_ms,
                                                 r.updated_at_ms}));
    }
    for (const auto& v : w.reviews) {
      HIE_RETURN_IF_ERROR(
          s.Exec(kUpsertReview, {v.id, v.kind, v.source_id, v.person_id, v.weight, v.evidence,
                                 v.state, v.created_at_ms, v.decided_at_ms, v.decided_by}));
    }
    for (const auto& h : w.history) {
      HIE_RETURN_IF_ERROR(s.Exec(kInsertHistory, {h.id, h.at_ms, h.op, h.person_id, h.other_person,
                                                  h.source_id, h.message_id, h.actor, h.detail}));
    }
    std::set<int64_t> before;  // messages resolved by an earlier Apply
    for (const auto& [message, source] : w.messages) {
      const int64_t at = w.history.empty() ? 0 : w.history.front().at_ms;
      bool inserted = false;
      HIE_RETURN_IF_ERROR(
          s.Query(kInsertMessage, {message, source, at}, [&](const Row&) { inserted = true; }));
      if (!inserted) before.insert(message);
    }
    return recordsql::ApplyRecordIn(s, w.record, before);
  }

  template <typename T, typename F>
  Result<std::optional<T>> One(const std::string& sql, std::vector<Arg> args, F from) {
    std::optional<T> out;
    Status st = s_->WithSession(false, [&](SqlSession& s) {
      return s.Query(sql.c_str(), args, [&](const Row& r) {
        if (!out) out = from(r);
      });
    });
    if (!st.ok()) return st;
    return out;
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

  std::unique_ptr<SessionSource> s_;
  std::mutex close_mu_;
  std::string q_person_, q_sources_of_, q_source_, q_source_key_, q_source_idn_, q_page_;
  std::string q_review_, q_reviews_state_, q_reviews_any_, q_reviews_source_;
  std::string q_history_, q_history_one_;
};

}  // namespace

std::unique_ptr<EmpiStore> MakeSqlEmpiStore(std::unique_ptr<SessionSource> sessions) {
  return std::make_unique<SqlEmpiStore>(std::move(sessions));
}

}  // namespace hie::empisql
