// Contract tests of the EMPI store (store/empi_store.h) on SQLite and, when
// HIE_TEST_PG_URI is set, on PostgreSQL (a fresh schema per test).
#include "store/empi_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/open.h"
#include "store/store_test_backends.h"

namespace hie {
namespace {

using store_test::MakeTempDir;

struct Place {
  std::string dir, uri, schema;
};

class EmpiStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    p_.dir = MakeTempDir();
    if (GetParam() == "Postgres") {
      if (store_test::PgBaseUri().empty()) GTEST_SKIP() << "HIE_TEST_PG_URI not set";
      p_.schema = store_test::PgSchemaFor(p_.dir);
      ASSERT_TRUE(store_test::PgCreateSchema(p_.schema));
      p_.uri = store_test::PgUriFor(p_.schema);
    } else {
      p_.uri = "sqlite:" + p_.dir + "/hub.db";
    }
    StoreOptions o;
    o.durable_full = false;
    auto s = OpenStore(p_.uri, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    main_ = std::move(s).value();
    Reopen();
  }
  void TearDown() override {
    if (empi_) empi_->Close();
    if (main_) main_->Close();
    if (!p_.schema.empty()) store_test::PgDropSchema(p_.schema);
    std::error_code ec;
    std::filesystem::remove_all(p_.dir, ec);
  }
  void Reopen() {
    if (empi_) empi_->Close();
    auto e = OpenEmpiStore(p_.uri, false);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    empi_ = std::move(e).value();
    auto role = empi_->TryResolverRole("test-node-1");
    ASSERT_TRUE(role.ok()) << role.status().ToString();
    ASSERT_TRUE(role->resolver);
  }

  static EmpiSourceRow Source(int64_t id, int64_t person, const std::string& key) {
    EmpiSourceRow s;
    s.id = id;
    s.person_id = person;
    s.record_key = key;
    s.facility_id = "CWS001";
    s.local_id = "MR" + std::to_string(id);
    s.id_number = id % 2 == 0 ? "11010519491231002X" : "";
    s.name = "王秀英";
    s.birth_date = "1949-12-31";
    s.sex = "F";
    s.phone = "13800138000";
    s.address = "城关镇东湖村";
    s.raw = R"({"name":"王 秀英"})";
    s.norm = R"({"n":"王秀英"})";
    s.card_reader = id == 2;
    s.link_how = "auto";
    s.link_weight = 12.625;
    s.link_rule = "id_and_name";
    s.link_evidence = R"({"id":3})";
    s.created_at_ms = 1000 + id;
    s.updated_at_ms = 2000 + id;
    return s;
  }

  Place p_;
  std::unique_ptr<Store> main_;
  std::unique_ptr<EmpiStore> empi_;
};

TEST_P(EmpiStoreTest, ApplyAndReadBack) {
  EmpiWrite w;
  EmpiPersonRow p;
  p.id = 7;
  p.golden = R"({"name":"王秀英"})";
  p.created_at_ms = 5;
  p.updated_at_ms = 6;
  w.persons.push_back(p);
  w.sources.push_back(Source(1, 7, "MR|CWS001|MR1"));
  w.sources.push_back(Source(2, 7, "MR|XQRMYY|MR2"));
  EmpiReviewRow r;
  r.id = 3;
  r.source_id = 1;
  r.person_id = 7;
  r.weight = 5.5;
  r.evidence = R"({"name":2})";
  r.created_at_ms = 9;
  w.reviews.push_back(r);
  EmpiHistoryRow h;
  h.id = 1;
  h.at_ms = 10;
  h.op = "new";
  h.person_id = 7;
  h.source_id = 1;
  h.message_id = 42;
  h.actor = "pipeline";
  h.detail = "{}";
  w.history.push_back(h);
  w.messages.emplace_back(42, 1);
  ASSERT_TRUE(empi_->Apply(w).ok());

  auto got = empi_->GetPerson(7);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->golden, p.golden);
  EXPECT_EQ((*got)->state, "active");
  auto none = empi_->GetPerson(8);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto srcs = empi_->SourcesOfPerson(7);
  ASSERT_TRUE(srcs.ok());
  ASSERT_EQ(srcs->size(), 2u);
  const EmpiSourceRow& s2 = (*srcs)[1];
  EXPECT_EQ(s2.record_key, "MR|XQRMYY|MR2");
  EXPECT_EQ(s2.id_number, "11010519491231002X");
  EXPECT_TRUE(s2.card_reader);
  EXPECT_FALSE((*srcs)[0].card_reader);
  EXPECT_DOUBLE_EQ(s2.link_weight, 12.625);
  EXPECT_EQ(s2.raw, R"({"name":"王 秀英"})");
  EXPECT_EQ(s2.updated_at_ms, 2002);

  auto by_key = empi_->SourceByKey("MR|CWS001|MR1");
  ASSERT_TRUE(by_key.ok() && by_key->has_value());
  EXPECT_EQ((*by_key)->id, 1);
  auto by_idn = empi_->SourcesByIdNumber("11010519491231002X");
  ASSERT_TRUE(by_idn.ok());
  ASSERT_EQ(by_idn->size(), 1u);
  EXPECT_EQ((*by_idn)[0].id, 2);
  auto msg = empi_->SourceOfMessage(42);
  ASSERT_TRUE(msg.ok() && msg->has_value());
  EXPECT_EQ(**msg, 1);

  auto ids = empi_->MaxIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->person, 7);
  EXPECT_EQ(ids->source, 2);
  EXPECT_EQ(ids->review, 3);
  EXPECT_EQ(ids->history, 1);
  EXPECT_EQ(ids->message, 42);

  // Upserts overwrite; a message already mapped keeps its first source.
  EmpiWrite w2;
  EmpiSourceRow moved = Source(1, 9, "MR|CWS001|MR1");
  moved.address = "新地址";
  w2.sources.push_back(moved);
  r.state = "accepted";
  r.decided_by = "api:test";
  r.decided_at_ms = 11;
  w2.reviews.push_back(r);
  w2.messages.emplace_back(42, 2);
  w2.sync = false;  // an unsynced commit reads back the same
  ASSERT_TRUE(empi_->Apply(w2).ok());
  auto s1 = empi_->GetSource(1);
  ASSERT_TRUE(s1.ok() && s1->has_value());
  EXPECT_EQ((*s1)->person_id, 9);
  EXPECT_EQ((*s1)->address, "新地址");
  auto rv = empi_->GetReview(3);
  ASSERT_TRUE(rv.ok() && rv->has_value());
  EXPECT_EQ((*rv)->state, "accepted");
  EXPECT_EQ((*rv)->decided_by, "api:test");
  msg = empi_->SourceOfMessage(42);
  ASSERT_TRUE(msg.ok() && msg->has_value());
  EXPECT_EQ(**msg, 1);

  // Survives a reopen.
  Reopen();
  auto again = empi_->SourcesOfPerson(9);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 1u);
}

TEST_P(EmpiStoreTest, ApplyIsAllOrNothing) {
  EmpiWrite w;
  w.sources.push_back(Source(1, 1, "MR|A|1"));
  ASSERT_TRUE(empi_->Apply(w).ok());
  EmpiWrite bad;
  EmpiPersonRow p;
  p.id = 5;
  p.golden = "{}";
  bad.persons.push_back(p);
  bad.sources.push_back(Source(2, 5, "MR|A|1"));  // record_key taken
  Status st = empi_->Apply(bad);
  EXPECT_EQ(st.code(), ErrorCode::kConflict) << st.ToString();
  auto person = empi_->GetPerson(5);
  ASSERT_TRUE(person.ok());
  EXPECT_FALSE(person->has_value());
  // History is append-only: the same id twice is refused.
  EmpiWrite h1;
  EmpiHistoryRow h;
  h.id = 1;
  h.op = "new";
  h.actor = "t";
  h.detail = "{}";
  h1.history.push_back(h);
  ASSERT_TRUE(empi_->Apply(h1).ok());
  EXPECT_EQ(empi_->Apply(h1).code(), ErrorCode::kConflict);
  // And the store still works after the failures.
  EmpiWrite ok;
  ok.sources.push_back(Source(3, 1, "MR|A|3"));
  EXPECT_TRUE(empi_->Apply(ok).ok());
}

TEST_P(EmpiStoreTest, ForEachSourceStreamsEveryRowInOrder) {
  EmpiWrite w;
  const int n = 5003;  // more than one page
  for (int i = 1; i <= n; ++i) w.sources.push_back(Source(i, 1 + i / 3, "K" + std::to_string(i)));
  ASSERT_TRUE(empi_->Apply(w).ok());
  int64_t last = 0, count = 0;
  Status st = empi_->ForEachSource([&](const EmpiSourceRow& r) -> Status {
    EXPECT_GT(r.id, last);
    last = r.id;
    ++count;
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(count, n);
  // An error from the callback stops the walk with that error.
  int seen = 0;
  st = empi_->ForEachSource([&](const EmpiSourceRow&) -> Status {
    return ++seen == 10 ? Status(ErrorCode::kInternal, "stop") : Status::Ok();
  });
  EXPECT_EQ(st.code(), ErrorCode::kInternal);
  EXPECT_EQ(seen, 10);
}

TEST_P(EmpiStoreTest, ReviewsAndHistoryQueries) {
  EmpiWrite w;
  for (int i = 1; i <= 5; ++i) {
    EmpiReviewRow r;
    r.id = i;
    r.source_id = i == 5 ? 1 : 10 + i;
    r.person_id = 100;
    r.weight = i;
    r.evidence = "{}";
    r.state = i % 2 == 0 ? "rejected" : "open";
    w.reviews.push_back(r);
  }
  for (int i = 1; i <= 4; ++i) {
    EmpiHistoryRow h;
    h.id = i;
    h.at_ms = i;
    h.op = i == 3 ? "merge" : "link";
    h.person_id = i == 3 ? 200 : 100 + i;
    h.other_person = i == 3 ? 101 : 0;
    h.actor = "t";
    h.detail = "{}";
    w.history.push_back(h);
  }
  ASSERT_TRUE(empi_->Apply(w).ok());
  auto open = empi_->ListReviews("open", 0, 10);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 3u);
  EXPECT_EQ((*open)[0].id, 5);  // newest first
  auto page = empi_->ListReviews("open", 5, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, 3);
  auto any = empi_->ListReviews("", 0, 100);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->size(), 5u);
  auto n = empi_->CountReviews("rejected");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  auto of_source = empi_->OpenReviewsOfSource(1);
  ASSERT_TRUE(of_source.ok());
  ASSERT_EQ(of_source->size(), 1u);
  EXPECT_EQ((*of_source)[0].id, 5);

  auto hist = empi_->History(101, 10);
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 2u);  // as person (1) and as other person (3)
  EXPECT_EQ((*hist)[0].id, 1);
  EXPECT_EQ((*hist)[1].op, "merge");
  auto one = empi_->GetHistory(3);
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->other_person, 101);
}

// Several nodes: one resolver per database; the other's Apply is refused
// until the holder's connection goes, then it takes the role.
TEST_P(EmpiStoreTest, OneResolverRoleAtATime) {
  auto other = OpenEmpiStore(p_.uri, false);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EmpiWrite w;
  w.persons.push_back(EmpiPersonRow{1, "active", 0, "{}", 1, 1});
  if (!empi_->shared()) {
    EXPECT_FALSE((*other)->shared());
    EXPECT_TRUE((*other)->TryResolverRole("test-node-2")->resolver);
    (*other)->Close();
    return;
  }
  auto role = (*other)->TryResolverRole("test-node-2");
  ASSERT_TRUE(role.ok()) << role.status().ToString();
  EXPECT_FALSE(role->resolver);
  EXPECT_EQ(role->holder, "test-node-1");
  EXPECT_EQ((*other)->Apply(w).code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(empi_->TryResolverRole("test-node-1")->resolver);  // still held
  ASSERT_TRUE(empi_->Apply(w).ok());
  empi_->Close();  // the holder goes: its lock with it
  empi_.reset();
  bool took = false;
  for (int i = 0; i < 100 && !took; ++i) {
    auto r = (*other)->TryResolverRole("test-node-2");
    took = r.ok() && r->resolver;
    if (!took) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(took);
  w.persons[0].updated_at_ms = 2;
  EXPECT_TRUE((*other)->Apply(w).ok());
  (*other)->Close();
}

INSTANTIATE_TEST_SUITE_P(Backends, EmpiStoreTest, ::testing::Values("Sqlite", "Postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hie
