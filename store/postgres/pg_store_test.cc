// PostgreSQL-only store tests: several hub nodes (Store instances) on one
// database, migrations, dropped connections, and OpenStore by URI. The
// shared behaviour of every backend is in store/store_contract_test.cc.
// Runs when HIE_TEST_PG_URI is set (tools/test starts a throwaway server);
// each test gets its own schema, dropped afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/open.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_ops.h"
#include "store/store.h"
#include "store/store_test_backends.h"

namespace hie {
namespace {

using store_test::Key;
using store_test::Msg;

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = store_test::PostgresBackend().unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
    dir_ = store_test::MakeTempDir();
    schema_ = store_test::PgSchemaFor(dir_);
    ASSERT_TRUE(store_test::PgCreateSchema(schema_));
  }
  void TearDown() override {
    for (auto& s : nodes_) {
      if (s) s->Close();
    }
    nodes_.clear();
    if (dir_.empty()) return;
    store_test::PgDropSchema(schema_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Another hub node on the same database.
  Store& Node(int64_t lease_ms = 300'000) {
    StoreOptions o;
    o.durable_full = false;
    o.claim_lease_ms = lease_ms;
    auto s = OpenStore(store_test::PgUriFor(schema_), o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    nodes_.push_back(std::move(s).value());
    return *nodes_.back();
  }

  static int64_t Insert(Store& s, const NewMessage& m) {
    int64_t id = 0;
    Status st = s.WriteSync([&](WriteTxn& t) -> Status {
      auto r = t.InsertMessage(m);
      if (!r.ok()) return r.status();
      id = *r;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  static int64_t AddDelivery(Store& s, int64_t msg, const std::string& dest,
                             const std::string& patient, int64_t at) {
    int64_t id = 0;
    Status st = s.WriteSync([&](WriteTxn& t) -> Status {
      auto r = t.InsertDelivery(msg, dest, patient, at);
      if (!r.ok()) return r.status();
      id = *r;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  static std::vector<int64_t> Due(Store& s, const std::string& dest, int64_t now,
                                  std::set<int64_t> exclude = {}, int limit = 100) {
    auto r = s.DueDeliveries(dest, now, limit, exclude);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<int64_t> ids;
    if (r.ok()) {
      for (const auto& d : *r) ids.push_back(d.id);
    }
    return ids;
  }

  std::string dir_, schema_;
  std::vector<std::unique_ptr<Store>> nodes_;
};

TEST_F(PgStoreTest, TwoNodesClaimEachDeliveryOnceInPatientOrder) {
  Store& a = Node();
  Store& b = Node();
  int64_t m = Insert(a, Msg("F", "M1"));
  constexpr int kPatients = 12;
  constexpr int kPerPatient = 15;
  std::map<int64_t, std::string> patient_of;
  for (int i = 0; i < kPerPatient; ++i) {
    for (int p = 0; p < kPatients; ++p) {
      Store& via = (i + p) % 2 == 0 ? a : b;  // both nodes enqueue
      std::string pk = Key("P", p);
      patient_of[AddDelivery(via, m, "dest", pk, 100)] = pk;
    }
  }
  std::mutex mu;
  std::map<int64_t, int> claims;                         // delivery -> times claimed
  std::map<std::string, std::vector<int64_t>> sent_seq;  // patient -> ids in send order
  auto node_loop = [&](Store& s) {
    for (int idle = 0; idle < 50;) {
      auto due = s.DueDeliveries("dest", 1000, 5, {});
      ASSERT_TRUE(due.ok()) << due.status().ToString();
      if (due->empty()) {
        ++idle;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      idle = 0;
      for (const auto& d : *due) {
        {
          std::lock_guard lock(mu);
          ++claims[d.id];
          sent_seq[d.patient_key].push_back(d.id);
        }
        Status st = s.WriteSync([&](WriteTxn& t) {
          return t.UpdateDelivery(d.id, DeliveryState::kSent, 1, 0, "", 2000);
        });
        ASSERT_TRUE(st.ok()) << st.ToString();
      }
    }
  };
  std::thread ta([&] { node_loop(a); });
  std::thread tb([&] { node_loop(b); });
  ta.join();
  tb.join();

  ASSERT_EQ(claims.size(), patient_of.size());
  for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << "delivery " << id << " claimed twice";
  for (const auto& [pk, seq] : sent_seq) {
    EXPECT_EQ(seq.size(), static_cast<size_t>(kPerPatient)) << pk;
    for (size_t i = 1; i < seq.size(); ++i) EXPECT_LT(seq[i - 1], seq[i]) << pk << " out of order";
  }
  EXPECT_TRUE(a.QueueDepths()->empty());
}

TEST_F(PgStoreTest, ClaimedDeliveryIsHiddenFromOtherNodesUntilReleased) {
  Store& a = Node();
  Store& b = Node();
  int64_t m = Insert(a, Msg("F", "M1"));
  int64_t d1 = AddDelivery(a, m, "dest", "A", 100);
  int64_t d2 = AddDelivery(a, m, "dest", "A", 100);
  int64_t d3 = AddDelivery(a, m, "dest", "B", 100);

  EXPECT_EQ(Due(a, "dest", 100, {}, 1), (std::vector<int64_t>{d1}));
  // b sees only B's head: A's head is a's, and d2 waits behind it.
  EXPECT_EQ(Due(b, "dest", 100), (std::vector<int64_t>{d3}));
  EXPECT_EQ(Due(a, "dest", 100, {d1}), (std::vector<int64_t>{}));
  // a reports a retry: the claim is released, the head due again later.
  ASSERT_TRUE(a.WriteSync([&](WriteTxn& t) {
                 return t.UpdateDelivery(d1, DeliveryState::kQueued, 1, 500, "timeout", 200);
               }).ok());
  EXPECT_EQ(Due(b, "dest", 499, {d3}), (std::vector<int64_t>{}));
  EXPECT_EQ(Due(b, "dest", 500, {d3}), (std::vector<int64_t>{d1}));
  // Closing b hands its claims back at once.
  b.Close();
  EXPECT_EQ(Due(a, "dest", 500), (std::vector<int64_t>{d1, d3}));
  (void)d2;
}

TEST_F(PgStoreTest, ClaimOfADeadNodeExpires) {
  Store& a = Node(/*lease_ms=*/1500);  // generous: a loaded CI box stalls
  Store& b = Node();
  int64_t m = Insert(a, Msg("F", "M1"));
  int64_t d = AddDelivery(a, m, "dest", "A", 100);
  EXPECT_EQ(Due(a, "dest", 100), (std::vector<int64_t>{d}));
  EXPECT_EQ(Due(b, "dest", 100), (std::vector<int64_t>{}));
  // a goes silent (as if killed): after its lease b takes the delivery over.
  std::this_thread::sleep_for(std::chrono::milliseconds(1800));
  EXPECT_EQ(Due(b, "dest", 100), (std::vector<int64_t>{d}));
  EXPECT_EQ(Due(a, "dest", 100), (std::vector<int64_t>{}));
}

TEST_F(PgStoreTest, InFlightClaimsAreExtended) {
  Store& a = Node(/*lease_ms=*/1500);
  Store& b = Node();
  int64_t m = Insert(a, Msg("F", "M1"));
  int64_t d = AddDelivery(a, m, "dest", "A", 100);
  EXPECT_EQ(Due(a, "dest", 100), (std::vector<int64_t>{d}));
  for (int i = 0; i < 5; ++i) {  // 2.5 s in all, well past one lease
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(Due(a, "dest", 100, {d}), (std::vector<int64_t>{}));  // the poll renews
  }
  EXPECT_EQ(Due(b, "dest", 100), (std::vector<int64_t>{}));
}

TEST_F(PgStoreTest, DedupeHoldsAcrossNodes) {
  Store& a = Node();
  Store& b = Node();
  constexpr int kKeys = 60;
  std::atomic<int> inserted{0}, conflicts{0}, other{0};
  auto run = [&](Store& s) {
    std::vector<std::thread> th;
    for (int w = 0; w < 3; ++w) {
      th.emplace_back([&, w] {
        for (int i = 0; i < kKeys; ++i) {
          int k = (i + w * 7) % kKeys;
          Status st = s.WriteSync([k](WriteTxn& t) -> Status {
            auto hit = t.FindByDedupeKey("F", Key("K", k));
            if (!hit.ok()) return hit.status();
            if (hit->has_value()) return Status(ErrorCode::kConflict, "seen");
            return t.InsertMessage(Msg("F", Key("K", k))).status();
          });
          if (st.ok()) {
            ++inserted;
          } else if (st.code() == ErrorCode::kConflict) {
            ++conflicts;
          } else {
            ++other;
            ADD_FAILURE() << st.ToString();
          }
        }
      });
    }
    for (auto& t : th) t.join();
  };
  std::thread ta([&] { run(a); });
  std::thread tb([&] { run(b); });
  ta.join();
  tb.join();
  EXPECT_EQ(inserted.load(), kKeys);
  EXPECT_EQ(conflicts.load(), kKeys * 6 - kKeys);
  EXPECT_EQ(other.load(), 0);
  auto ids = b.MessageIdsWithStatus(MessageStatus::kReceived, 0, 1000);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), static_cast<size_t>(kKeys));
}

// One node commits a batch while it builds the next (pg_writer.h): a repeat
// in the next batch waits for the key of the one committing, then conflicts.
TEST_F(PgStoreTest, DedupeHoldsAcrossOverlappingBatchesOfOneNode) {
  Store& a = Node();
  constexpr int kKeys = 80, kWriters = 6;
  std::atomic<int> inserted{0}, conflicts{0}, other{0};
  std::vector<std::thread> th;
  for (int w = 0; w < kWriters; ++w) {
    th.emplace_back([&, w] {
      for (int i = 0; i < kKeys; ++i) {
        int k = (i + w * 5) % kKeys;
        Status st = a.WriteSync([k](WriteTxn& t) -> Status {
          auto hit = t.FindByDedupeKey("F", Key("K", k));
          if (!hit.ok()) return hit.status();
          if (hit->has_value()) return Status(ErrorCode::kConflict, "seen");
          return t.InsertMessage(Msg("F", Key("K", k))).status();
        });
        if (st.ok()) {
          ++inserted;
        } else if (st.code() == ErrorCode::kConflict) {
          ++conflicts;
        } else {
          ++other;
          ADD_FAILURE() << st.ToString();
        }
      }
    });
  }
  for (auto& t : th) t.join();
  EXPECT_EQ(inserted.load(), kKeys);
  EXPECT_EQ(conflicts.load(), kKeys * (kWriters - 1));
  EXPECT_EQ(other.load(), 0);
}

// DoneFns come in the order the writes were queued, although batches
// commit on several connections at once.
TEST_F(PgStoreTest, DoneFnsInQueueOrderAcrossOverlappingCommits) {
  Store& a = Node();
  constexpr int kN = 1500;
  std::mutex mu;
  std::vector<int> order;
  std::vector<int64_t> ids(kN, 0);
  std::promise<void> all;
  for (int i = 0; i < kN; ++i) {
    a.Write(
        [&, i](WriteTxn& t) -> Status {
          auto r = t.InsertMessage(Msg("F", Key("O", i)));
          if (!r.ok()) return r.status();
          ids[i] = *r;
          return Status::Ok();
        },
        [&, i](const Status& s) {
          EXPECT_TRUE(s.ok()) << s.ToString();
          std::lock_guard lock(mu);
          order.push_back(i);
          if (order.size() == kN) all.set_value();
        });
  }
  all.get_future().wait();
  for (int i = 0; i < kN; ++i) ASSERT_EQ(order[i], i);
  // Ids were drawn in queue order too (one builder).
  for (int i = 1; i < kN; ++i) ASSERT_LT(ids[i - 1], ids[i]);
}

// Trace rows of one message appended from two nodes and from batches that
// overlap: numbered 1..n without a gap or a repeat.
TEST_F(PgStoreTest, ConcurrentTraceAppendsNumberInTurn) {
  Store& a = Node();
  Store& b = Node();
  const int64_t id = Insert(a, Msg("F", "T1"));
  constexpr int kThreads = 3, kPer = 40;
  std::atomic<int> failed{0};
  auto run = [&](Store& s, int base) {
    std::vector<std::thread> th;
    for (int w = 0; w < kThreads; ++w) {
      th.emplace_back([&, w] {
        for (int i = 0; i < kPer; ++i) {
          // Distinct times: a repeated seq would go in silently.
          TraceEvent e{2000 + base + w * kPer + i, "step", "ok", ""};
          Status st = s.WriteSync([&](WriteTxn& t) { return t.AppendTrace(id, e); });
          if (!st.ok()) {
            ++failed;
            ADD_FAILURE() << st.ToString();
          }
        }
      });
    }
    for (auto& t : th) t.join();
  };
  std::thread ta([&] { run(a, 0); });
  std::thread tb([&] { run(b, 10000); });
  ta.join();
  tb.join();
  EXPECT_EQ(failed.load(), 0);
  const int n = 2 * kThreads * kPer;
  EXPECT_EQ(
      store_test::PgQuery1("SELECT count(DISTINCT seq) || '/' || count(*) || '/' || max(seq) "
                           "FROM " +
                           schema_ + ".message_trace WHERE message_id = " + std::to_string(id)),
      std::to_string(n) + "/" + std::to_string(n) + "/" + std::to_string(n));
}

TEST_F(PgStoreTest, OneHeadPerPatientUnderConcurrentInserts) {
  Store& a = Node();
  Store& b = Node();
  int64_t m = Insert(a, Msg("F", "M1"));
  std::vector<int64_t> ids_a, ids_b;
  std::thread ta([&] {
    for (int i = 0; i < 40; ++i) ids_a.push_back(AddDelivery(a, m, "dest", "A", 100));
  });
  std::thread tb([&] {
    for (int i = 0; i < 40; ++i) ids_b.push_back(AddDelivery(b, m, "dest", "A", 100));
  });
  ta.join();
  tb.join();
  std::set<int64_t> all(ids_a.begin(), ids_a.end());
  all.insert(ids_b.begin(), ids_b.end());
  ASSERT_EQ(all.size(), 80u);
  // Drain: exactly one head at a time, oldest first.
  std::vector<int64_t> order;
  for (int i = 0; i < 80; ++i) {
    auto due = Due(i % 2 == 0 ? a : b, "dest", 1000);
    ASSERT_EQ(due.size(), 1u) << "round " << i;
    order.push_back(due[0]);
    ASSERT_TRUE((i % 2 == 0 ? a : b)
                    .WriteSync([&](WriteTxn& t) {
                      return t.UpdateDelivery(due[0], DeliveryState::kSent, 1, 0, "", 2000);
                    })
                    .ok());
  }
  EXPECT_EQ(order, std::vector<int64_t>(all.begin(), all.end()));
}

// Two nodes each finish one delivery of the same message at the same time,
// as the engine's dispatcher does: the message must end SENT (the later
// writer sees the earlier one's SENT, not a stale QUEUED).
TEST_F(PgStoreTest, ConcurrentLastDeliveriesSeeEachOther) {
  Store& a = Node();
  Store& b = Node();
  for (int round = 0; round < 5; ++round) {
    int64_t m = Insert(a, Msg("F", Key("M", round)));
    int64_t d1 = AddDelivery(a, m, "one", "A", 100);
    int64_t d2 = AddDelivery(a, m, "two", "A", 100);
    std::atomic<int> arrived{0};
    auto finish = [&](int64_t d) {
      return [&, d](WriteTxn& t) -> Status {
        HIE_RETURN_IF_ERROR(t.UpdateDelivery(d, DeliveryState::kSent, 1, 0, "", 2000));
        // Both have updated their own delivery before either looks.
        if (arrived.fetch_add(1) < 2) {
          for (int i = 0; i < 500 && arrived.load() < 2; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
        }
        HIE_ASSIGN_OR_RETURN(auto all, t.DeliveriesOf(m));
        for (const auto& x : all) {
          if (x.state == DeliveryState::kQueued) return Status::Ok();  // not the last
        }
        return t.UpdateStatus(m, MessageStatus::kSent, 2000, Status::Ok());
      };
    };
    std::thread ta([&] { ASSERT_TRUE(a.WriteSync(finish(d1)).ok()); });
    std::thread tb([&] { ASSERT_TRUE(b.WriteSync(finish(d2)).ok()); });
    ta.join();
    tb.join();
    EXPECT_EQ(a.GetMessage(m)->status, MessageStatus::kSent) << "round " << round;
  }
}

TEST_F(PgStoreTest, DroppedConnectionsAreRetried) {
  Store& a = Node();
  int64_t id = Insert(a, Msg("F", "K1"));
  ASSERT_TRUE(a.GetMessage(id).ok());
  // Kill every connection of this test's schema (the writer's and the pool's).
  std::string err = store_test::PgExec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
      schema_ + "' AND pid <> pg_backend_pid()");
  ASSERT_EQ(err, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int64_t id2 = Insert(a, Msg("F", "K2"));
  EXPECT_GT(id2, id);
  auto r = a.GetMessage(id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dedupe_key, "K1");
  EXPECT_TRUE(a.DueDeliveries("dest", 0, 10, {}).ok());
}

TEST_F(PgStoreTest, MonthlyPartitionsAndRetentionDropWholePartitions) {
  Store& a = Node();
  const int64_t now = Env::Default().NowMillis();
  const int64_t day = 24LL * 3600 * 1000;
  const std::string in_schema = "SET search_path = " + schema_ + "; ";
  // Open made this month's partition and the next two; a database that has
  // run for a while also has the months before.
  // From the start of month -4 (not "130 days ago", which on the 1st of a
  // month falls in month -5): regression test for a date-dependent count.
  EXPECT_EQ(store_test::PgQuery1(in_schema + "SELECT hie_ensure_partitions(hie_month_start_ms(" +
                                 std::to_string(now) + ", -4), 5)"),
            "24")
      << "months -4..-1 (this one and the next exist) of each of the 6 tables";
  int64_t old_id = Insert(a, Msg("F", "OLD", now - 95 * day));
  int64_t new_id = Insert(a, Msg("F", "NEW", now));
  EXPECT_EQ(
      store_test::PgQuery1(in_schema + "SELECT tableoid::regclass::text FROM messages WHERE id = " +
                           std::to_string(new_id)),
      "messages_p" + store_test::PgQuery1("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')"));

  // Content retention (60 days): the old body's partition goes, its
  // metadata stays and reads back with an empty raw.
  std::string dropped =
      store_test::PgQuery1(in_schema + "SELECT string_agg(x, ',') FROM hie_apply_retention(" +
                           std::to_string(now - 60 * day) + ", 0) AS x");
  EXPECT_NE(dropped.find("message_bodies_p"), std::string::npos) << dropped;
  EXPECT_EQ(dropped.find("messages_p"), std::string::npos) << dropped;
  auto old_msg = a.GetMessage(old_id);
  ASSERT_TRUE(old_msg.ok()) << old_msg.status().ToString();
  EXPECT_EQ(old_msg->raw, "");
  EXPECT_EQ(old_msg->dedupe_key, "OLD");
  EXPECT_EQ(a.GetMessage(new_id)->raw, Msg("F", "NEW").raw);

  // Metadata retention: the old message and its dedupe key go.
  dropped =
      store_test::PgQuery1(in_schema + "SELECT string_agg(x, ',') FROM hie_apply_retention(0, " +
                           std::to_string(now - 60 * day) + ") AS x");
  EXPECT_NE(dropped.find("messages_p"), std::string::npos) << dropped;
  EXPECT_EQ(a.GetMessage(old_id).status().code(), ErrorCode::kNotFound);
  EXPECT_GT(Insert(a, Msg("F", "OLD", now)), new_id) << "an old key is new again";
  EXPECT_TRUE(a.GetMessage(new_id).ok());
}

// Rows that fell into the DEFAULT partitions (no monthly partition covered
// their time) go by the same cutoffs, row by row; a message with a QUEUED
// delivery, or RECEIVED (waiting for the pipeline), keeps row and body.
TEST_F(PgStoreTest, RetentionEmptiesTheDefaultPartitions) {
  Store& a = Node();
  const int64_t day = 24LL * 3600 * 1000;
  const int64_t now = Env::Default().NowMillis();
  const int64_t t_a = now - 250 * day, t_b = now - 200 * day;
  NewMessage na = Msg("F", "A", t_a), nb = Msg("F", "B", t_b);
  na.status = MessageStatus::kSent;    // delivered long ago
  nb.status = MessageStatus::kQueued;  // still QUEUED
  const int64_t ma = Insert(a, na);
  const int64_t mb = Insert(a, nb);
  const int64_t mr = Insert(a, Msg("F", "R", t_b));  // RECEIVED: the pipeline wants its body
  const std::string in_schema = "SET search_path = " + schema_ + "; ";
  EXPECT_EQ(store_test::PgQuery1(in_schema +
                                 "SELECT tableoid::regclass::text FROM messages "
                                 "WHERE id = " +
                                 std::to_string(ma)),
            "messages_default");
  ASSERT_TRUE(a.WriteSync([&](WriteTxn& t) -> Status {
                 HIE_RETURN_IF_ERROR(t.AppendTrace(ma, {t_a + 1, "received", "ok", ""}));
                 HIE_RETURN_IF_ERROR(t.AppendTrace(mb, {t_b + 1, "received", "ok", ""}));
                 return t.UpdateStatus(mr, MessageStatus::kReceived, t_b, Status::Ok());
               }).ok());
  const int64_t da = AddDelivery(a, ma, "dest", "PA", t_a + 2);
  AddDelivery(a, mb, "dest", "PB", t_b + 2);
  ASSERT_TRUE(a.WriteSync([&](WriteTxn& t) -> Status {
                 DeliveryAttempt at;
                 at.delivery_id = da;
                 at.at_ms = t_a + 3;
                 at.ok = true;
                 HIE_RETURN_IF_ERROR(t.RecordAttempt(at));
                 return t.UpdateDelivery(da, DeliveryState::kSent, 1, 0, "", t_a + 3);
               }).ok());
  RejectedInput rj;
  rj.received_at_ms = t_a;
  rj.raw = "junk";
  int64_t r_old = 0;
  ASSERT_TRUE(a.WriteSync([&](WriteTxn& t) -> Status {
                 HIE_ASSIGN_OR_RETURN(r_old, t.InsertRejected(rj));
                 return Status::Ok();
               }).ok());

  RetentionCutoffs cut;
  cut.content_before_ms = now - 100 * day;
  cut.metadata_before_ms = now - 100 * day;
  auto rep = a.ApplyRetention(cut, nullptr);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->messages_removed, 1);
  EXPECT_EQ(rep->bodies_removed, 1);
  EXPECT_EQ(rep->rejected_removed, 1);
  EXPECT_EQ(a.GetMessage(ma).status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(a.GetTrace(ma)->empty());
  EXPECT_TRUE(a.GetDeliveries(ma)->empty());
  EXPECT_TRUE(a.GetAttempts(da)->empty());
  EXPECT_EQ(a.GetRejected(r_old).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(a.GetMessage(mb)->raw, Msg("F", "B").raw) << "QUEUED: kept";
  EXPECT_EQ(a.GetTrace(mb)->size(), 1u);
  EXPECT_EQ(a.GetMessage(mr)->raw, Msg("F", "R").raw) << "RECEIVED: kept";
  EXPECT_GT(Insert(a, Msg("F", "A", now)), mr) << "A's dedupe key went with it";
  rep = a.ApplyRetention(cut, nullptr);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->messages_removed + rep->bodies_removed + rep->rejected_removed, 0);
}

// A reprocess (the message back to RECEIVED: the pipeline reads its body
// next) committing while a content drop of its month waits for the lock:
// the drop sees it once locked and keeps the partition.
TEST_F(PgStoreTest, ReprocessRacingAContentDropKeepsTheBody) {
  Store& a = Node();
  const int64_t day = 24LL * 3600 * 1000;
  const int64_t now = Env::Default().NowMillis();
  const int64_t t_x = now - 150 * day;
  store_test::PostgresBackend().cover_history(dir_, t_x);
  const int64_t x = Insert(a, Msg("F", "X", t_x));
  ASSERT_TRUE(a.WriteSync([&](WriteTxn& t) {
                 return t.UpdateStatus(x, MessageStatus::kError, t_x,
                                       Status(ErrorCode::kUnavailable, "down", "destination:d"));
               }).ok());
  std::atomic<bool> entered{false}, release{false};
  std::thread reprocess([&] {
    Status st = a.WriteSync([&](WriteTxn& t) -> Status {
      HIE_ASSIGN_OR_RETURN(MessageRecord m, t.GetMessage(x));  // as RestApi::Reprocess
      if (m.raw.empty()) return Status(ErrorCode::kNotFound, "body gone");
      entered = true;
      for (int i = 0; i < 3000 && !release; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      return t.UpdateStatus(x, MessageStatus::kReceived, now, Status::Ok());
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
  });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread retention([&] {
    RetentionCutoffs cut;
    cut.content_before_ms = now - 100 * day;
    auto rep = a.ApplyRetention(cut, nullptr);
    EXPECT_TRUE(rep.ok()) << rep.status().ToString();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  release = true;
  reprocess.join();
  retention.join();
  auto m = a.GetMessage(x);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->status, MessageStatus::kReceived);
  EXPECT_EQ(m->raw, Msg("F", "X").raw) << "the reprocessed message keeps its body";
  // Once the pipeline is done with it, the next run drops the month.
  ASSERT_TRUE(a.WriteSync([&](WriteTxn& t) {
                 return t.UpdateStatus(x, MessageStatus::kSent, now, Status::Ok());
               }).ok());
  RetentionCutoffs cut;
  cut.content_before_ms = now - 100 * day;
  auto rep = a.ApplyRetention(cut, nullptr);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(a.GetMessage(x)->raw, "");
  // The other order: the drop came first; a reprocess then finds the body
  // gone and is refused instead of putting an empty message back to work.
  const int64_t y = Insert(a, Msg("F", "Y", t_x + 1));  // lands in the default partition now
  ASSERT_TRUE(a.WriteSync([&](WriteTxn& t) {
                 return t.UpdateStatus(y, MessageStatus::kError, t_x,
                                       Status(ErrorCode::kUnavailable, "down", "destination:d"));
               }).ok());
  rep = a.ApplyRetention(cut, nullptr);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->bodies_removed, 1);
  Status st = a.WriteSync([&](WriteTxn& t) -> Status {
    HIE_ASSIGN_OR_RETURN(MessageRecord m, t.GetMessage(y));
    return t.UpdateStatus(m.id, MessageStatus::kReceived, now, Status::Ok());
  });
  EXPECT_EQ(st.code(), ErrorCode::kConflict) << st.ToString();
  EXPECT_EQ(a.GetMessage(y)->status, MessageStatus::kError);
}

// A delivery queued after the candidates were listed (a reprocess of an old
// message racing with retention): the drop sees it once the partition is
// detached, and keeps the partition.
TEST_F(PgStoreTest, DropPartitionRechecksQueuedHorizon) {
  Store& a = Node();
  const int64_t day = 24LL * 3600 * 1000;
  const int64_t old = Env::Default().NowMillis() - 200 * day;
  const std::string in_schema = "SET search_path = " + schema_ + "; ";
  ASSERT_EQ(store_test::PgQuery1(in_schema + "SELECT hie_ensure_partitions(" + std::to_string(old) +
                                 ", 0)"),
            "6");
  int64_t m = Insert(a, Msg("F", "OLD", old));
  const std::string part = store_test::PgQuery1(
      in_schema + "SELECT tableoid::regclass::text FROM messages WHERE id = " + std::to_string(m));
  ASSERT_NE(part.find("messages_p"), std::string::npos) << part;
  EXPECT_NE(store_test::PgQuery1(in_schema +
                                 "SELECT string_agg(partition_name, ',') FROM "
                                 "hie_retention_candidates(0, " +
                                 std::to_string(old + 100 * day) + ")")
                .find(part),
            std::string::npos)
      << "nothing queued yet: a candidate";
  AddDelivery(a, m, "dest", "P", Env::Default().NowMillis());  // queued now, e.g. reprocess
  EXPECT_EQ(
      store_test::PgQuery1(in_schema + "SELECT hie_drop_partition('messages', '" + part + "')"),
      "f");
  EXPECT_TRUE(a.GetMessage(m).ok()) << "kept, attached again";
  EXPECT_EQ(
      store_test::PgQuery1(in_schema + "SELECT tableoid::regclass::text FROM messages WHERE id = " +
                           std::to_string(m)),
      part);
}

TEST_F(PgStoreTest, SchemaVersionAndNewerSchemaRefused) {
  Node();
  nodes_.back()->Close();
  auto conn = pg::Conn::Open(store_test::PgUriFor(schema_), false);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto v = pg::SchemaVersion(**conn);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, static_cast<int>(pg::PgMigrations().size()));
  ASSERT_EQ(store_test::PgExec("INSERT INTO " + schema_ +
                               ".hie_schema_migrations(version, name) VALUES (999, 'future')"),
            "");
  StoreOptions o;
  auto s = OpenStore(store_test::PgUriFor(schema_), o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kStoreError);
}

TEST_F(PgStoreTest, CommitMetricsRecorded) {
  MetricsRegistry reg;
  StoreOptions o;
  o.metrics = &reg;
  auto s = OpenStore(store_test::PgUriFor(schema_), o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*s)->WriteSync([i](WriteTxn& t) {
                      return t.InsertMessage(Msg("F", Key("K", i))).status();
                    })
                    .ok());
  }
  (*s)->Close();
  std::string text = reg.RenderPrometheus();
  EXPECT_NE(text.find("hie_store_commits_total 3"), std::string::npos) << text;
}

TEST(PgStoreOpen, UnreachableServerIsUnavailable) {
  StoreOptions o;
  auto s = OpenStore("postgresql://hie:secret@127.0.0.1:1/nothing?connect_timeout=2", o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.status().where().find("secret"), std::string::npos) << s.status().where();
}

TEST(OpenStore, SchemesAndRedaction) {
  std::string dir = store_test::MakeTempDir();
  StoreOptions o;
  auto s = OpenStore("sqlite:" + dir + "/hub.db", o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  (*s)->Close();
  auto bad = OpenStore("mysql://x", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kConfigError);
  EXPECT_EQ(RedactStoreUri("postgresql://hie:pw@db:5432/hie"), "postgresql://hie:***@db:5432/hie");
  EXPECT_EQ(RedactStoreUri("postgresql://hie@db/hie"), "postgresql://hie@db/hie");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(PgConn, NetworkDefaultsAddedUnlessSet) {
  EXPECT_EQ(pg::WithNetworkDefaults("postgresql://h/db?connect_timeout=3"),
            "postgresql://h/db?connect_timeout=3&keepalives_idle=30&keepalives_interval=10"
            "&keepalives_count=3&tcp_user_timeout=60000");
  EXPECT_EQ(
      pg::WithNetworkDefaults("host=h dbname=db").rfind("host=h dbname=db connect_timeout=10 ", 0),
      0u);
}

TEST(PgOps, WildcardToLikeEscapes) {
  EXPECT_EQ(pg::WildcardToLike("ADT^*"), "ADT^%");
  EXPECT_EQ(pg::WildcardToLike("A_%\\*"), "A\\_\\%\\\\%");
  EXPECT_EQ(pg::IdArray({}), "{}");
  EXPECT_EQ(pg::IdArray({3, 1}), "{1,3}");
}

TEST(PgMigrations, NumberedFromOne) {
  const auto& ms = pg::PgMigrations();
  ASSERT_FALSE(ms.empty());
  for (size_t i = 0; i < ms.size(); ++i) EXPECT_EQ(ms[i].version, static_cast<int>(i) + 1);
  EXPECT_STREQ(ms[0].name, "0001_init.sql");
}

}  // namespace
}  // namespace hie
