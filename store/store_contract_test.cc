// The store contract: every backend must pass this suite. A backend joins by
// adding a factory to the INSTANTIATE_TEST_SUITE_P list at the bottom:
// SQLite always, PostgreSQL when HIE_TEST_PG_URI is set (skipped with a
// message otherwise). Tests use a fresh temp directory (and, on PostgreSQL,
// a fresh schema) each and no clock: times are plain numbers. Multi-node
// cases (two stores on one database) are in store/postgres/pg_store_test.cc.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_ops.h"
#include "store/store.h"
#include "store/store_test_backends.h"

namespace hie {
namespace {

using store_test::Backend;
using store_test::Key;
using store_test::MakeTempDir;
using store_test::Msg;

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string why = GetParam().unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
    dir_ = MakeTempDir();
    store_ = GetParam().open(dir_);
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    if (store_) store_->Close();
    store_.reset();
    if (dir_.empty()) return;
    GetParam().cleanup(dir_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Reopen() {
    store_->Close();
    store_.reset();
    store_ = GetParam().open(dir_);
    ASSERT_NE(store_, nullptr);
  }

  int64_t Insert(const NewMessage& m) {
    int64_t id = 0;
    Status st = store_->WriteSync([&](WriteTxn& t) -> Status {
      auto r = t.InsertMessage(m);
      if (!r.ok()) return r.status();
      id = *r;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  int64_t AddDelivery(int64_t msg, const std::string& dest, const std::string& patient,
                      int64_t at) {
    int64_t id = 0;
    Status st = store_->WriteSync([&](WriteTxn& t) -> Status {
      auto r = t.InsertDelivery(msg, dest, patient, at);
      if (!r.ok()) return r.status();
      id = *r;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  void SetDelivery(int64_t id, DeliveryState state, int64_t next_at, int attempts = 1) {
    Status st = store_->WriteSync(
        [&](WriteTxn& t) { return t.UpdateDelivery(id, state, attempts, next_at, "", 5000); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  std::vector<int64_t> Due(const std::string& dest, int64_t now, std::set<int64_t> exclude = {},
                           int limit = 100) {
    auto r = store_->DueDeliveries(dest, now, limit, exclude);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<int64_t> ids;
    if (r.ok()) {
      for (const auto& d : *r) ids.push_back(d.id);
    }
    return ids;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, InsertGetRoundTripKeepsBytesExactly) {
  NewMessage m = Msg("F1", "C1", 1234);
  // NULs, a GB18030 name (张三 in GBK) and a four-byte GB18030 sequence.
  m.raw = std::string("MSH|^~\\&|\0PID|||\xD5\xC5\xC8\xFD|\x81\x30\x89\x38\r", 26);
  m.response = std::string("\x0bMSA|AA|\xD5\xC5\0\x1c\r", 14);
  m.charset = "GB18030";
  m.error_code = "x";
  int64_t id = Insert(m);
  ASSERT_GT(id, 0);

  auto r = store_->GetMessage(id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(r->raw, m.raw);
  EXPECT_EQ(r->raw.size(), 26u);
  EXPECT_EQ(r->response, m.response);
  EXPECT_EQ(r->facility_id, "F1");
  EXPECT_EQ(r->dedupe_key, "C1");
  EXPECT_EQ(r->control_id, "C1");
  EXPECT_EQ(r->message_type, "ADT^A04");
  EXPECT_EQ(r->content_type, "application/hl7-v2");
  EXPECT_EQ(r->source, "mllp");
  EXPECT_EQ(r->peer, "10.0.0.1:5000");
  EXPECT_EQ(r->charset, "GB18030");
  EXPECT_EQ(r->patient_key, "P1");
  EXPECT_EQ(r->received_at_ms, 1234);
  EXPECT_EQ(r->updated_at_ms, 1234);
  EXPECT_EQ(r->status, MessageStatus::kReceived);
  EXPECT_EQ(r->error_code, "x");

  // The writer's own view, inside a transaction, agrees.
  std::string raw_in_txn;
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) -> Status {
                    auto g = t.GetMessage(id);
                    if (!g.ok()) return g.status();
                    raw_in_txn = g->raw;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(raw_in_txn, m.raw);

  auto missing = store_->GetMessage(id + 1000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreContract, DedupePerFacilityAndNeverOnEmptyKey) {
  int64_t id = Insert(Msg("F1", "K1"));
  ASSERT_TRUE(store_->WriteSync([&](WriteTxn& t) { return t.SetResponse(id, "ACK-1"); }).ok());
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) {
                    return t.UpdateStatus(id, MessageStatus::kSent, 2000, Status::Ok());
                  })
                  .ok());

  std::optional<DedupeHit> hit, miss, other, empty;
  Status dup;
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) -> Status {
                    hit = *t.FindByDedupeKey("F1", "K1");
                    miss = *t.FindByDedupeKey("F1", "K2");
                    other = *t.FindByDedupeKey("F2", "K1");
                    empty = *t.FindByDedupeKey("F1", "");
                    auto r = t.InsertMessage(Msg("F1", "K1"));
                    dup = r.status();
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->message_id, id);
  EXPECT_EQ(hit->status, MessageStatus::kSent);
  EXPECT_EQ(hit->response, "ACK-1");
  EXPECT_FALSE(miss.has_value());
  EXPECT_FALSE(other.has_value());
  EXPECT_FALSE(empty.has_value());
  EXPECT_EQ(dup.code(), ErrorCode::kConflict);

  // A duplicate returned from the fn fails only that write.
  Status st =
      store_->WriteSync([&](WriteTxn& t) { return t.InsertMessage(Msg("F1", "K1")).status(); });
  EXPECT_EQ(st.code(), ErrorCode::kConflict);
  // Same key, other facility: a different message.
  EXPECT_GT(Insert(Msg("F2", "K1")), 0);
  // Empty keys are never deduplicated.
  int64_t e1 = Insert(Msg("F1", ""));
  int64_t e2 = Insert(Msg("F1", ""));
  EXPECT_GT(e1, 0);
  EXPECT_GT(e2, e1);
}

TEST_P(StoreContract, FailingWriteDoesNotUndoOthersInTheBatch) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  std::atomic<int> pending{kThreads * kPerThread};
  std::promise<void> all_done;
  std::vector<std::vector<Status>> results(kThreads, std::vector<Status>(kPerThread));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = Key("", t);
        key += Key("-", i);
        int kind = i % 4;  // 0,1: ok; 2: returns an error; 3: throws
        store_->Write(
            [key, kind](WriteTxn& txn) -> Status {
              std::string k = kind < 2 ? "ok-" : "bad-";
              k += key;
              auto r = txn.InsertMessage(Msg("F", k));
              if (!r.ok()) return r.status();
              if (!txn.AppendTrace(*r, {1, "received", "ok", ""}).ok()) {
                return Status(ErrorCode::kInternal, "trace");
              }
              if (kind == 2) return Status(ErrorCode::kParseError, "boom");
              if (kind == 3) throw std::runtime_error("thrown");
              return Status::Ok();
            },
            [&, t, i](const Status& s) {
              results[t][i] = s;
              if (--pending == 0) all_done.set_value();
            });
      }
    });
  }
  for (auto& th : threads) th.join();
  all_done.get_future().wait();

  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      int kind = i % 4;
      ErrorCode want =
          kind < 2 ? ErrorCode::kOk : (kind == 2 ? ErrorCode::kParseError : ErrorCode::kInternal);
      ASSERT_EQ(results[t][i].code(), want) << t << "/" << i << " " << results[t][i].ToString();
    }
  }
  // Exactly the good ones are there, with their trace; the bad ones left nothing.
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& txn) -> Status {
                    for (int t = 0; t < kThreads; ++t) {
                      for (int i = 0; i < kPerThread; ++i) {
                        std::string key = Key("", t);
                        key += Key("-", i);
                        bool good = i % 4 < 2;
                        std::string k = good ? "ok-" : "bad-";
                        k += key;
                        auto h = txn.FindByDedupeKey("F", k);
                        EXPECT_TRUE(h.ok());
                        EXPECT_EQ(h->has_value(), good) << key;
                      }
                    }
                    return Status::Ok();
                  })
                  .ok());
  auto ids = store_->MessageIdsWithStatus(MessageStatus::kReceived, 0, 100000);
  ASSERT_TRUE(ids.ok());
  size_t good = 0;
  for (int i = 0; i < kPerThread; ++i) good += i % 4 < 2 ? kThreads : 0;
  EXPECT_EQ(ids->size(), good);
  for (int64_t id : *ids) {
    auto m = store_->GetMessage(id);
    if (m->dedupe_key.rfind("ok-", 0) != 0) ADD_FAILURE() << id << " " << m->dedupe_key;
  }
  for (int64_t id : *ids) {
    auto tr = store_->GetTrace(id);
    ASSERT_TRUE(tr.ok());
    ASSERT_EQ(tr->size(), 1u) << id;
  }
}

TEST_P(StoreContract, DoneRunsOnlyAfterCommitAndSeesTheRow) {
  // Hold the writer inside one fn so the next writes queue up as one batch.
  std::promise<void> entered, release;
  auto release_f = release.get_future().share();
  store_->Write(
      [&](WriteTxn&) {
        entered.set_value();
        release_f.wait();
        return Status::Ok();
      },
      nullptr);
  entered.get_future().wait();

  constexpr int kN = 20;
  std::atomic<int> seen{0}, done_count{0};
  std::promise<void> all;
  std::vector<int64_t> ids(kN, 0);
  for (int i = 0; i < kN; ++i) {
    store_->Write(
        [&, i](WriteTxn& t) -> Status {
          auto r = t.InsertMessage(Msg("F", Key("D", i)));
          if (!r.ok()) return r.status();
          ids[i] = *r;
          return Status::Ok();
        },
        [&, i](const Status& s) {
          // A read connection sees the row: the commit came first.
          if (s.ok() && store_->GetMessage(ids[i]).ok()) ++seen;
          if (++done_count == kN) all.set_value();
        });
  }
  release.set_value();
  all.get_future().wait();
  EXPECT_EQ(seen.load(), kN);
}

TEST_P(StoreContract, StatusUpdatesAndErrorFields) {
  int64_t id = Insert(Msg("F", "S1"));
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) -> Status {
                    HIE_RETURN_IF_ERROR(t.UpdateMeta(id, "ORU^R01", "P9"));
                    return t.UpdateStatus(id, MessageStatus::kError, 7000,
                                          Status(ErrorCode::kRequiredMissing,
                                                 "缺少必填字段 (required field missing)", "PID-3"));
                  })
                  .ok());
  auto r = store_->GetMessage(id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, MessageStatus::kError);
  EXPECT_EQ(r->updated_at_ms, 7000);
  EXPECT_EQ(r->received_at_ms, 1000);
  EXPECT_EQ(r->error_code, "required_missing");
  EXPECT_EQ(r->error_text, "缺少必填字段 (required field missing)");
  EXPECT_EQ(r->error_where, "PID-3");
  EXPECT_EQ(r->message_type, "ORU^R01");
  EXPECT_EQ(r->patient_key, "P9");

  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) {
                    return t.UpdateStatus(id, MessageStatus::kSent, 8000, Status::Ok());
                  })
                  .ok());
  r = store_->GetMessage(id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, MessageStatus::kSent);
  EXPECT_EQ(r->error_code, "");
  EXPECT_EQ(r->error_text, "");
  EXPECT_EQ(r->error_where, "");

  Status st = store_->WriteSync(
      [&](WriteTxn& t) { return t.UpdateStatus(id + 99, MessageStatus::kSent, 1, Status::Ok()); });
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
}

TEST_P(StoreContract, TraceKeepsAppendOrder) {
  int64_t a = Insert(Msg("F", "T1"));
  int64_t b = Insert(Msg("F", "T2"));
  const char* steps[] = {"received", "parsed", "routed", "queued", "delivered"};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_
                    ->WriteSync([&](WriteTxn& t) -> Status {
                      HIE_RETURN_IF_ERROR(t.AppendTrace(a, {100 - i, steps[i], "ok", "说明"}));
                      if (i == 2) HIE_RETURN_IF_ERROR(t.AppendTrace(b, {1, "other", "error", ""}));
                      return Status::Ok();
                    })
                    .ok());
  }
  auto tr = store_->GetTrace(a);
  ASSERT_TRUE(tr.ok());
  ASSERT_EQ(tr->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*tr)[i].step, steps[i]);
    EXPECT_EQ((*tr)[i].at_ms, 100 - i);  // order is append order, not time
    EXPECT_EQ((*tr)[i].outcome, "ok");
    EXPECT_EQ((*tr)[i].detail, "说明");
  }
  auto tb = store_->GetTrace(b);
  ASSERT_TRUE(tb.ok());
  ASSERT_EQ(tb->size(), 1u);
  EXPECT_EQ((*tb)[0].outcome, "error");
  EXPECT_TRUE(store_->GetTrace(b + 100)->empty());
}

TEST_P(StoreContract, DueDeliveriesHeadOfLinePerPatient) {
  int64_t m = Insert(Msg("F", "M1"));
  int64_t d1 = AddDelivery(m, "dest", "A", 100);
  int64_t d2 = AddDelivery(m, "dest", "A", 100);
  int64_t d3 = AddDelivery(m, "dest", "B", 100);
  int64_t other = AddDelivery(m, "other", "A", 100);

  EXPECT_EQ(Due("dest", 100), (std::vector<int64_t>{d1, d3}));
  EXPECT_EQ(Due("dest", 99), (std::vector<int64_t>{}));  // not yet due
  EXPECT_EQ(Due("dest", 100, {}, 1), (std::vector<int64_t>{d1}));
  // In flight d1 is still the head of A: d2 must wait.
  EXPECT_EQ(Due("dest", 100, {d1}), (std::vector<int64_t>{d3}));
  EXPECT_EQ(Due("dest", 100, {d1}, 1), (std::vector<int64_t>{d3}));
  EXPECT_EQ(Due("other", 100), (std::vector<int64_t>{other}));

  // Backoff: d1 stays QUEUED but not due until 10'000; A is held up.
  SetDelivery(d1, DeliveryState::kQueued, 10'000);
  EXPECT_EQ(Due("dest", 200), (std::vector<int64_t>{d3}));
  EXPECT_EQ(Due("dest", 10'000), (std::vector<int64_t>{d1, d3}));

  // d1 SENT -> d2 is the head of A now.
  SetDelivery(d1, DeliveryState::kSent, 0);
  EXPECT_EQ(Due("dest", 200), (std::vector<int64_t>{d2, d3}));

  // d2 ERROR does not hold up the next one of A.
  int64_t d4 = AddDelivery(m, "dest", "A", 100);
  EXPECT_EQ(Due("dest", 200), (std::vector<int64_t>{d2, d3}));
  SetDelivery(d2, DeliveryState::kError, 0);
  EXPECT_EQ(Due("dest", 200), (std::vector<int64_t>{d3, d4}));

  // Re-queueing the older d2 (a manual retry) puts it back in front of d4.
  SetDelivery(d2, DeliveryState::kQueued, 100);
  EXPECT_EQ(Due("dest", 200), (std::vector<int64_t>{d2, d3}));
  SetDelivery(d2, DeliveryState::kSent, 0);
  SetDelivery(d3, DeliveryState::kSent, 0);
  EXPECT_EQ(Due("dest", 200), (std::vector<int64_t>{d4}));

  auto rec = store_->GetDeliveries(m);
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->size(), 5u);
  EXPECT_EQ((*rec)[0].id, d1);
  EXPECT_EQ((*rec)[0].state, DeliveryState::kSent);
  EXPECT_EQ((*rec)[0].attempts, 1);
  EXPECT_EQ((*rec)[0].created_at_ms, 100);
  EXPECT_EQ((*rec)[0].updated_at_ms, 5000);
  EXPECT_EQ((*rec)[1].patient_key, "A");
  EXPECT_EQ((*rec)[1].destination_id, "dest");
  EXPECT_EQ((*rec)[4].state, DeliveryState::kQueued);
}

TEST_P(StoreContract, DeliveryRecordsAttemptsAndTxnReads) {
  int64_t m = Insert(Msg("F", "M1"));
  int64_t d = AddDelivery(m, "dest", "A", 100);
  ASSERT_TRUE(
      store_
          ->WriteSync([&](WriteTxn& t) -> Status {
            HIE_RETURN_IF_ERROR(t.RecordAttempt({d, 1, 200, 15, false, "retry", "timeout"}));
            HIE_RETURN_IF_ERROR(t.RecordAttempt({d, 2, 900, 5, true, "sent", "MSA|AA"}));
            HIE_RETURN_IF_ERROR(t.UpdateDelivery(d, DeliveryState::kSent, 2, 0, "", 900));
            auto g = t.GetDelivery(d);
            if (!g.ok()) return g.status();
            EXPECT_EQ(g->state, DeliveryState::kSent);
            auto all = t.DeliveriesOf(m);
            if (!all.ok()) return all.status();
            EXPECT_EQ(all->size(), 1u);
            EXPECT_EQ(t.GetDelivery(d + 50).status().code(), ErrorCode::kNotFound);
            EXPECT_EQ(t.UpdateDelivery(d + 50, DeliveryState::kSent, 1, 0, "", 1).code(),
                      ErrorCode::kNotFound);
            return Status::Ok();
          })
          .ok());
  auto at = store_->GetAttempts(d);
  ASSERT_TRUE(at.ok());
  ASSERT_EQ(at->size(), 2u);
  EXPECT_EQ((*at)[0].number, 1);
  EXPECT_FALSE((*at)[0].ok);
  EXPECT_EQ((*at)[0].outcome, "retry");
  EXPECT_EQ((*at)[0].duration_ms, 15);
  EXPECT_EQ((*at)[1].response, "MSA|AA");
  EXPECT_TRUE((*at)[1].ok);
  EXPECT_EQ((*at)[1].at_ms, 900);
}

// Regression: reprocess restarts a delivery's retry budget (attempts = 0), so
// the engine hands in number 1 again; the store must keep counting, not
// refuse the attempt (which left the delivery QUEUED forever).
TEST_P(StoreContract, AttemptNumbersContinueAfterReprocess) {
  int64_t m = Insert(Msg("F", "M1"));
  int64_t d = AddDelivery(m, "dest", "A", 100);
  for (int run = 0; run < 2; ++run) {
    ASSERT_TRUE(store_
                    ->WriteSync([&](WriteTxn& t) -> Status {
                      HIE_RETURN_IF_ERROR(
                          t.RecordAttempt({d, 1, 200 + run, 1, false, "failed", "HTTP 400"}));
                      return t.UpdateDelivery(d, DeliveryState::kError, 1, 0, "HTTP 400", 300);
                    })
                    .ok());
    ASSERT_TRUE(store_
                    ->WriteSync([&](WriteTxn& t) {
                      return t.UpdateDelivery(d, DeliveryState::kQueued, 0, 400, "", 400);
                    })
                    .ok());
  }
  auto at = store_->GetAttempts(d);
  ASSERT_TRUE(at.ok());
  ASSERT_EQ(at->size(), 2u);
  EXPECT_EQ((*at)[0].number, 1);
  EXPECT_EQ((*at)[1].number, 2);
  auto due = store_->DueDeliveries("dest", 1000, 10, {});
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, d);
}

TEST_P(StoreContract, NextDueAtQueueDepthsAndPause) {
  auto none = store_->NextDueAt("dest");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_TRUE(store_->QueueDepths()->empty());

  int64_t m = Insert(Msg("F", "M1"));
  int64_t d1 = AddDelivery(m, "dest", "A", 500);
  AddDelivery(m, "dest", "A", 100);
  int64_t d3 = AddDelivery(m, "dest", "B", 300);
  AddDelivery(m, "x", "A", 100);
  EXPECT_EQ(**store_->NextDueAt("dest"), 300);
  SetDelivery(d3, DeliveryState::kQueued, 9000);
  EXPECT_EQ(**store_->NextDueAt("dest"), 500);
  SetDelivery(d1, DeliveryState::kQueued, 8000);
  EXPECT_EQ(**store_->NextDueAt("dest"), 8000);

  auto depths = store_->QueueDepths();
  ASSERT_TRUE(depths.ok());
  EXPECT_EQ(*depths, (std::map<std::string, int64_t>{{"dest", 3}, {"x", 1}}));
  SetDelivery(d1, DeliveryState::kSent, 0);
  EXPECT_EQ(store_->QueueDepths()->at("dest"), 2);

  EXPECT_TRUE(store_->PausedDestinations()->empty());
  ASSERT_TRUE(store_
                  ->WriteSync([](WriteTxn& t) -> Status {
                    HIE_RETURN_IF_ERROR(t.SetDestinationPaused("dest", true));
                    HIE_RETURN_IF_ERROR(t.SetDestinationPaused("x", true));
                    return t.SetDestinationPaused("x", true);
                  })
                  .ok());
  EXPECT_EQ(*store_->PausedDestinations(), (std::set<std::string>{"dest", "x"}));
  ASSERT_TRUE(
      store_->WriteSync([](WriteTxn& t) { return t.SetDestinationPaused("x", false); }).ok());
  EXPECT_EQ(*store_->PausedDestinations(), (std::set<std::string>{"dest"}));
}

TEST_P(StoreContract, ListMessagesFiltersAndPaging) {
  // 30 messages: types cycle ADT^A01, ADT^A04, ORU^R01; facilities F0/F1;
  // every 5th is ERROR; received_at = 1000 * i.
  const char* types[] = {"ADT^A01", "ADT^A04", "ORU^R01"};
  std::vector<int64_t> ids;
  for (int i = 1; i <= 30; ++i) {
    NewMessage m = Msg(Key("F", i % 2), Key("L", i), 1000 * i);
    m.message_type = types[i % 3];
    m.status = i % 5 == 0 ? MessageStatus::kError : MessageStatus::kReceived;
    ids.push_back(Insert(m));
  }
  auto list = [&](MessageFilter f) {
    auto r = store_->ListMessages(f);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<int64_t> out;
    for (const auto& m : *r) {
      EXPECT_TRUE(m.raw.empty());
      out.push_back(m.id);
    }
    return out;
  };
  MessageFilter all;
  all.limit = 1000;
  auto everything = list(all);
  ASSERT_EQ(everything.size(), 30u);
  EXPECT_EQ(everything.front(), ids.back());  // newest first
  EXPECT_EQ(everything.back(), ids.front());

  MessageFilter f;
  f.limit = 100;
  f.status = MessageStatus::kError;
  EXPECT_EQ(list(f), (std::vector<int64_t>{ids[29], ids[24], ids[19], ids[14], ids[9], ids[4]}));

  f = {};
  f.limit = 100;
  f.facility_id = "F1";
  EXPECT_EQ(list(f).size(), 15u);

  f = {};
  f.limit = 100;
  f.message_type = "ADT^*";
  EXPECT_EQ(list(f).size(), 20u);
  f.message_type = "*R01";
  EXPECT_EQ(list(f).size(), 10u);
  f.message_type = "ADT^A04";
  EXPECT_EQ(list(f).size(), 10u);
  f.message_type = "ADT^A0?";  // '?' is not a wildcard
  EXPECT_EQ(list(f).size(), 0u);
  f.message_type = "ADT^[A]*";  // nor are brackets
  EXPECT_EQ(list(f).size(), 0u);

  f = {};
  f.limit = 100;
  f.since_ms = 25'000;
  EXPECT_EQ(list(f).size(), 6u);
  f.since_ms = 20'000;
  f.facility_id = "F0";
  f.message_type = "ADT*";
  f.status = MessageStatus::kReceived;
  // i in 20..30, even, type ADT (i%3 != 2), not ERROR (i%5 != 0): 28, 24, 22.
  EXPECT_EQ(list(f), (std::vector<int64_t>{ids[27], ids[23], ids[21]}));

  // Paging with before_id walks everything exactly once.
  std::vector<int64_t> paged;
  MessageFilter p;
  p.limit = 7;
  for (;;) {
    auto page = list(p);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 7u);
    paged.insert(paged.end(), page.begin(), page.end());
    p.before_id = page.back();
  }
  EXPECT_EQ(paged, everything);

  p = {};
  p.limit = 0;  // clamped to 1
  EXPECT_EQ(list(p).size(), 1u);
  p.limit = -5;
  EXPECT_EQ(list(p).size(), 1u);
}

TEST_P(StoreContract, RejectedInputsKeptRaw) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    RejectedInput r;
    r.received_at_ms = 100 + i;
    r.source = "http";
    r.peer = "1.2.3.4:1";
    r.facility_id = "F";
    r.control_id = Key("C", i);
    r.content_type = "text/plain";
    r.error_code = "parse_error";
    r.error_text = "报文无法解析 (parse error)";
    r.error_where = "MSH-9";
    r.raw = std::string("bad\0\xD5\xC5", 6);
    r.raw_size = i == 4 ? 1'000'000 : 0;  // 0 = the size of raw
    int64_t id = 0;
    ASSERT_TRUE(store_
                    ->WriteSync([&](WriteTxn& t) -> Status {
                      auto res = t.InsertRejected(r);
                      if (!res.ok()) return res.status();
                      id = *res;
                      return Status::Ok();
                    })
                    .ok());
    ids.push_back(id);
  }
  auto page = store_->ListRejected(0, 3);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].id, ids[4]);
  EXPECT_TRUE((*page)[0].raw.empty());
  EXPECT_EQ((*page)[0].raw_size, 1'000'000);
  EXPECT_EQ((*page)[1].raw_size, 6);
  auto rest = store_->ListRejected((*page)[2].id, 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].id, ids[0]);

  auto one = store_->GetRejected(ids[2]);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->raw, std::string("bad\0\xD5\xC5", 6));
  EXPECT_EQ(one->control_id, "C2");
  EXPECT_EQ(one->error_text, "报文无法解析 (parse error)");
  EXPECT_EQ(one->error_where, "MSH-9");
  EXPECT_EQ(one->received_at_ms, 102);
  EXPECT_EQ(store_->GetRejected(ids[4] + 1).status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreContract, MessageIdsWithStatusPages) {
  std::vector<int64_t> received;
  for (int i = 0; i < 25; ++i) {
    NewMessage m = Msg("F", Key("I", i));
    m.status = i % 3 == 0 ? MessageStatus::kQueued : MessageStatus::kReceived;
    int64_t id = Insert(m);
    if (i % 3 != 0) received.push_back(id);
  }
  std::vector<int64_t> got;
  int64_t after = 0;
  for (;;) {
    auto page = store_->MessageIdsWithStatus(MessageStatus::kReceived, after, 4);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    EXPECT_LE(page->size(), 4u);
    got.insert(got.end(), page->begin(), page->end());
    after = page->back();
  }
  EXPECT_EQ(got, received);
  EXPECT_TRUE(store_->MessageIdsWithStatus(MessageStatus::kSent, 0, 10)->empty());
}

TEST_P(StoreContract, ReopenKeepsEverythingAndClosedStoreRefusesWrites) {
  NewMessage nm = Msg("F", "R1");
  nm.raw = std::string("x\0y", 3);
  int64_t id = Insert(nm);
  int64_t d = AddDelivery(id, "dest", "A", 100);
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) -> Status {
                    HIE_RETURN_IF_ERROR(t.AppendTrace(id, {1, "received", "ok", ""}));
                    return t.SetDestinationPaused("dest", true);
                  })
                  .ok());
  store_->Close();
  store_->Close();  // idempotent
  Status after = store_->WriteSync([](WriteTxn&) { return Status::Ok(); });
  EXPECT_FALSE(after.ok());

  for (int round = 0; round < 2; ++round) {  // migrations are idempotent
    Reopen();
    auto m = store_->GetMessage(id);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->raw, std::string("x\0y", 3));
    EXPECT_EQ(store_->GetTrace(id)->size(), 1u);
    EXPECT_EQ(Due("dest", 100), (std::vector<int64_t>{d}));
    EXPECT_EQ(store_->PausedDestinations()->count("dest"), 1u);
    Status dup =
        store_->WriteSync([&](WriteTxn& t) { return t.InsertMessage(Msg("F", "R1")).status(); });
    EXPECT_EQ(dup.code(), ErrorCode::kConflict);
  }
}

// Retention: content first (raw blanked, metadata kept; rejected inputs
// removed), then metadata (message, trace, deliveries, attempts, dedupe key
// removed); a message with a QUEUED delivery is never touched. Rows are
// months apart so PostgreSQL's whole-month partitions and SQLite's rows
// give the same answer.
TEST_P(StoreContract, RetentionRemovesContentThenMetadataNeverQueued) {
  const int64_t day = 24LL * 3600 * 1000;
  const int64_t now = Env::Default().NowMillis();
  const int64_t t_a = now - 215 * day;  // delivered long ago
  const int64_t t_b = now - 170 * day;  // still QUEUED (destination down)
  GetParam().cover_history(dir_, t_a);

  // Statuses as the hub leaves them (PostgreSQL also keeps what a RECEIVED
  // message, waiting for the pipeline, needs).
  NewMessage na = Msg("F", "A", t_a), nb = Msg("F", "B", t_b), nc = Msg("F", "C", now);
  na.status = MessageStatus::kSent;
  nb.status = MessageStatus::kQueued;
  nc.status = MessageStatus::kSent;
  int64_t a = Insert(na);
  int64_t b = Insert(nb);
  int64_t c = Insert(nc);
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) -> Status {
                    HIE_RETURN_IF_ERROR(t.AppendTrace(a, {t_a + 1, "received", "ok", ""}));
                    HIE_RETURN_IF_ERROR(t.AppendTrace(b, {t_b + 1, "received", "ok", ""}));
                    return t.AppendTrace(c, {now, "received", "ok", ""});
                  })
                  .ok());
  int64_t da = AddDelivery(a, "dest", "PA", t_a + 2);
  int64_t db = AddDelivery(b, "dest", "PB", t_b + 2);
  int64_t dc = AddDelivery(c, "dest", "PC", now);
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) {
                    DeliveryAttempt at;
                    at.delivery_id = da;
                    at.at_ms = t_a + 3;
                    at.ok = true;
                    at.outcome = "sent";
                    return t.RecordAttempt(at);
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) {
                    return t.UpdateDelivery(da, DeliveryState::kSent, 1, t_a + 3, "", t_a + 3);
                  })
                  .ok());
  SetDelivery(dc, DeliveryState::kSent, now);
  auto reject = [&](int64_t at) {
    RejectedInput r;
    r.received_at_ms = at;
    r.source = "mllp";
    r.raw = "garbage";
    r.raw_size = 7;
    int64_t id = 0;
    EXPECT_TRUE(store_
                    ->WriteSync([&](WriteTxn& t) -> Status {
                      HIE_ASSIGN_OR_RETURN(id, t.InsertRejected(r));
                      return Status::Ok();
                    })
                    .ok());
    return id;
  };
  int64_t r_old = reject(t_a);
  int64_t r_new = reject(now);

  const bool pg = GetParam().name == "Postgres";
  // Content after 100 days, metadata kept.
  RetentionCutoffs cut;
  cut.content_before_ms = now - 100 * day;
  auto rep = store_->ApplyRetention(cut, nullptr);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->held_back, 1) << "B's QUEUED delivery";
  EXPECT_FALSE(rep->interrupted);
  if (pg) {
    EXPECT_GE(rep->partitions_dropped, 2) << "A's month of bodies and of rejected";
  } else {
    EXPECT_EQ(rep->bodies_removed, 1);
    EXPECT_EQ(rep->rejected_removed, 1);
  }
  auto ma = store_->GetMessage(a);
  ASSERT_TRUE(ma.ok()) << ma.status().ToString();
  EXPECT_EQ(ma->raw, "") << "content gone";
  EXPECT_EQ(ma->dedupe_key, "A") << "metadata kept";
  EXPECT_EQ(store_->GetTrace(a)->size(), 1u);
  EXPECT_EQ(store_->GetAttempts(da)->size(), 1u);
  EXPECT_EQ(store_->GetMessage(b)->raw, Msg("F", "B").raw) << "queued: raw kept";
  EXPECT_EQ(store_->GetMessage(c)->raw, Msg("F", "C").raw);
  EXPECT_EQ(store_->GetRejected(r_old).status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetRejected(r_new).ok());
  Status dup =
      store_->WriteSync([](WriteTxn& t) { return t.InsertMessage(Msg("F", "A")).status(); });
  EXPECT_EQ(dup.code(), ErrorCode::kConflict) << "A's dedupe key still answers";

  // Metadata after 100 days too: A goes with all of its; B stays.
  cut.metadata_before_ms = now - 100 * day;
  rep = store_->ApplyRetention(cut, nullptr);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->held_back, 1);
  if (pg) {
    EXPECT_GE(rep->partitions_dropped, 4) << "A's month of messages, trace, deliveries, attempts";
  } else {
    EXPECT_EQ(rep->messages_removed, 1);
  }
  EXPECT_EQ(store_->GetMessage(a).status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetTrace(a)->empty());
  EXPECT_TRUE(store_->GetDeliveries(a)->empty());
  EXPECT_TRUE(store_->GetAttempts(da)->empty());
  auto mb = store_->GetMessage(b);
  ASSERT_TRUE(mb.ok()) << "a message with a QUEUED delivery is never removed";
  EXPECT_EQ(mb->raw, Msg("F", "B").raw);
  EXPECT_EQ(store_->GetTrace(b)->size(), 1u);
  EXPECT_EQ(Due("dest", now), (std::vector<int64_t>{db}));
  EXPECT_TRUE(store_->GetMessage(c).ok());
  ASSERT_TRUE(store_
                  ->WriteSync([&](WriteTxn& t) -> Status {
                    HIE_ASSIGN_OR_RETURN(auto hit, t.FindByDedupeKey("F", "A"));
                    if (hit) return Status(ErrorCode::kInternal, "key A still there");
                    HIE_ASSIGN_OR_RETURN(auto hit_b, t.FindByDedupeKey("F", "B"));
                    if (!hit_b || hit_b->message_id != b) {
                      return Status(ErrorCode::kInternal, "key B lost");
                    }
                    return Status::Ok();
                  })
                  .ok());
  int64_t a2 = Insert(Msg("F", "A", now));
  EXPECT_GT(a2, c) << "an old key is new again, and ids never repeat";

  // B's delivery ends: B goes on the next run; a second run finds nothing.
  SetDelivery(db, DeliveryState::kSent, now);
  rep = store_->ApplyRetention(cut, nullptr);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->held_back, 0);
  EXPECT_EQ(store_->GetMessage(b).status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetMessage(c).ok());
  EXPECT_TRUE(store_->GetMessage(a2).ok());
  rep = store_->ApplyRetention(cut, nullptr);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(
      rep->messages_removed + rep->bodies_removed + rep->rejected_removed + rep->partitions_dropped,
      0);
}

// Retention runs beside live writes: every write succeeds, nothing new goes.
TEST_P(StoreContract, RetentionUnderConcurrentWrites) {
  const int64_t day = 24LL * 3600 * 1000;
  const int64_t now = Env::Default().NowMillis();
  const int64_t old = now - 400 * day;
  GetParam().cover_history(dir_, old);
  std::vector<int64_t> old_ids;
  for (int i = 0; i < 600; ++i) {
    NewMessage m = Msg("F", Key("OLD", i), old + i);
    m.status = MessageStatus::kSent;  // done with (a RECEIVED one waits for the pipeline)
    old_ids.push_back(Insert(m));
  }
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<int64_t> new_ids;
  std::thread writer([&] {
    for (int i = 0; !done.load() || i < 50; ++i) {
      int64_t id = 0;
      Status st = store_->WriteSync([&](WriteTxn& t) -> Status {
        HIE_ASSIGN_OR_RETURN(id, t.InsertMessage(Msg("F", Key("NEW", i), now)));
        return t.AppendTrace(id, {now, "received", "ok", ""});
      });
      if (!st.ok()) ++failures;
      new_ids.push_back(id);
    }
  });
  RetentionCutoffs cut;
  cut.content_before_ms = now - 30 * day;
  cut.metadata_before_ms = now - 60 * day;
  auto rep = store_->ApplyRetention(cut, nullptr);
  done = true;
  writer.join();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(failures.load(), 0);
  for (int64_t id : old_ids)
    EXPECT_EQ(store_->GetMessage(id).status().code(), ErrorCode::kNotFound);
  for (int64_t id : new_ids) EXPECT_EQ(store_->GetTrace(id)->size(), 1u);
  // A stop flag already set: nothing is done, and it says so.
  std::atomic<bool> stop{true};
  rep = store_->ApplyRetention(cut, &stop);
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->interrupted);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract,
                         ::testing::Values(store_test::SqliteBackend(),
                                           store_test::PostgresBackend()),
                         [](const ::testing::TestParamInfo<Backend>& i) { return i.param.name; });

// ---- SQLite only ----------------------------------------------------------

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(SqliteStoreTest, SchemaVersionAndNewerSchemaRefused) {
  std::string path = dir_ + "/hub.db";
  {
    StoreOptions o;
    o.path = path;
    auto s = OpenSqliteStore(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), static_cast<int>(sqlite::SqliteMigrations().size()));
  sqlite3_finalize(st);
  st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  StoreOptions o;
  o.path = path;
  auto s = OpenSqliteStore(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kStoreError);
}

TEST_F(SqliteStoreTest, MigrationsAreNumberedFromOne) {
  const auto& ms = sqlite::SqliteMigrations();
  ASSERT_FALSE(ms.empty());
  for (size_t i = 0; i < ms.size(); ++i) EXPECT_EQ(ms[i].version, static_cast<int>(i) + 1);
  EXPECT_STREQ(ms[0].name, "0001_init.sql");
}

TEST_F(SqliteStoreTest, CommitMetricsRecorded) {
  MetricsRegistry reg;
  StoreOptions o;
  o.path = dir_ + "/hub.db";
  o.metrics = &reg;
  auto s = OpenSqliteStore(o);
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*s)->WriteSync([i](WriteTxn& t) {
                      return t.InsertMessage(Msg("F", Key("K", i))).status();
                    })
                    .ok());
  }
  (*s)->Close();
  std::string text = reg.RenderPrometheus();
  EXPECT_NE(text.find("hie_store_commits_total 3"), std::string::npos) << text;
  EXPECT_NE(text.find("hie_store_commit_batch_size"), std::string::npos);
  EXPECT_NE(text.find("hie_store_commit_seconds"), std::string::npos);
}

TEST_F(SqliteStoreTest, OpenFailsOnUnwritablePath) {
  StoreOptions o;
  o.path = dir_ + "/no/such/dir/hub.db";
  auto s = OpenSqliteStore(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kStoreError);
}

TEST(WildcardToGlob, EscapesEverythingButStar) {
  EXPECT_EQ(sqlite::WildcardToGlob("ADT^*"), "ADT^*");
  EXPECT_EQ(sqlite::WildcardToGlob("A?[x]*"), "A[?][[]x]*");
}

}  // namespace
}  // namespace hie
