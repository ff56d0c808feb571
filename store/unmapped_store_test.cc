// Contract tests of the persisted unmapped-code register
// (store/unmapped_store.h) on SQLite and, when HIE_TEST_PG_URI is set, on
// PostgreSQL (a fresh schema per test).
#include "store/unmapped_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <thread>

#include "store/open.h"
#include "store/store_test_backends.h"

namespace hie {
namespace {

using store_test::MakeTempDir;

class UnmappedStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    uri_ = store_test::FreshUri(GetParam(), dir_, &schema_);
    if (uri_.empty()) GTEST_SKIP() << "HIE_TEST_PG_URI not set";
    ASSERT_EQ(uri_.rfind("ERROR", 0), std::string::npos) << uri_;
    StoreOptions o;
    o.durable_full = false;
    auto s = OpenStore(uri_, o);  // runs the migrations (0006 creates the table)
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    main_ = std::move(s).value();
  }
  void TearDown() override {
    if (main_) main_->Close();
    if (!schema_.empty()) store_test::PgDropSchema(schema_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::unique_ptr<UnmappedStore> Open() {
    auto u = OpenUnmappedStore(uri_, false);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? std::move(u).value() : nullptr;
  }
  static UnmappedRow Row(const std::string& code, const std::string& facility, int64_t count,
                         int64_t first, int64_t last, const std::string& display = "",
                         const std::string& sample = "") {
    UnmappedRow r;
    r.system = "local:" + facility;
    r.code = code;
    r.facility = facility;
    r.target_system = "LOINC";
    r.display = display;
    r.sample_message_id = sample;
    r.count = count;
    r.first_seen_ms = first;
    r.last_seen_ms = last;
    return r;
  }
  static std::map<std::string, UnmappedRow> All(UnmappedStore& s) {
    std::map<std::string, UnmappedRow> out;
    Status st = s.Load([&](const UnmappedRow& r) { out[r.facility + "|" + r.code] = r; });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  std::string dir_, uri_, schema_;
  std::unique_ptr<Store> main_;
};

TEST_P(UnmappedStoreTest, AddsCountsKeepsFirstDisplayAndSampleAcrossReopen) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  UnmappedChangesRow c;
  c.added = {Row("XT", "F1", 3, 1000, 2000, "", "11"), Row("GLU", "F2", 1, 500, 500, "葡萄糖")};
  ASSERT_TRUE(s->Apply(c, true).ok());
  // Later occurrences: counts add up, first is the smaller, last the larger,
  // the display fills in once, the first sample stays.
  c.added = {Row("XT", "F1", 2, 900, 3000, "血糖", "12")};
  ASSERT_TRUE(s->Apply(c, false).ok());
  s->Close();

  auto again = Open();
  ASSERT_NE(again, nullptr);
  auto rows = All(*again);
  ASSERT_EQ(rows.size(), 2u);
  const UnmappedRow& xt = rows.at("F1|XT");
  EXPECT_EQ(xt.system, "local:F1");
  EXPECT_EQ(xt.target_system, "LOINC");
  EXPECT_EQ(xt.count, 5);
  EXPECT_EQ(xt.first_seen_ms, 900);
  EXPECT_EQ(xt.last_seen_ms, 3000);
  EXPECT_EQ(xt.display, "血糖");
  EXPECT_EQ(xt.sample_message_id, "11");
  EXPECT_EQ(rows.at("F2|GLU").display, "葡萄糖");
  EXPECT_EQ(rows.at("F2|GLU").count, 1);
}

TEST_P(UnmappedStoreTest, RemovalAppliesBeforeTheAdditionsOfTheSameChange) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  UnmappedChangesRow c;
  c.added = {Row("A", "F1", 7, 1, 2), Row("B", "F1", 1, 1, 1)};
  ASSERT_TRUE(s->Apply(c, false).ok());
  // A was pruned (a map covers it) and then seen again under another map.
  UnmappedChangesRow d;
  d.removed = {Row("A", "F1", 0, 0, 0), Row("B", "F1", 0, 0, 0)};
  d.added = {Row("A", "F1", 1, 50, 50)};
  ASSERT_TRUE(s->Apply(d, false).ok());
  auto rows = All(*s);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.at("F1|A").count, 1);
  EXPECT_EQ(rows.at("F1|A").first_seen_ms, 50);
}

TEST_P(UnmappedStoreTest, TwoWritersAddUp) {
  // Several hub nodes on one database each write their own counts.
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kRounds = 50;
  auto run = [](UnmappedStore* s, int64_t base) {
    for (int i = 0; i < kRounds; ++i) {
      UnmappedChangesRow c;
      c.added = {Row("XT", "F1", 2, base + i, base + i)};
      Status st;
      // SQLite: the other writer may hold the lock past the busy timeout
      // only in theory; a refusal is retried like the hub's next flush.
      for (int k = 0; k < 5; ++k) {
        st = s->Apply(c, false);
        if (st.ok()) break;
      }
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  };
  std::thread ta(run, a.get(), 1000);
  std::thread tb(run, b.get(), 100);
  ta.join();
  tb.join();
  auto rows = All(*a);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.at("F1|XT").count, 2 * 2 * kRounds);
  EXPECT_EQ(rows.at("F1|XT").first_seen_ms, 100);
  EXPECT_EQ(rows.at("F1|XT").last_seen_ms, 1000 + kRounds - 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, UnmappedStoreTest, ::testing::Values("Sqlite", "Postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hie
