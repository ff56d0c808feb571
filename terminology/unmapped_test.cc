#include "terminology/unmapped.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "terminology/csv.h"
#include "terminology/terminology.h"

namespace hie {
namespace {

TEST(UnmappedTest, ConcurrentRecordsCountExactly) {
  UnmappedRegister reg;
  constexpr int kThreads = 4, kPerThread = 20000, kCodes = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&reg, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string code = "C" + std::to_string(i % kCodes);
        reg.Record("local:F", code, "显示", "F", "MSG-" + std::to_string(t),
                   1000 + t * kPerThread + i, "LOINC");
      }
    });
  }
  for (auto& th : threads) th.join();
  auto entries = reg.Snapshot();
  ASSERT_EQ(entries.size(), static_cast<size_t>(kCodes));
  uint64_t total = 0;
  for (const UnmappedEntry& e : entries) {
    EXPECT_EQ(e.count, static_cast<uint64_t>(kThreads * kPerThread / kCodes)) << e.code;
    EXPECT_EQ(e.display, "显示");
    EXPECT_EQ(e.sample_message_id.rfind("MSG-", 0), 0u);
    EXPECT_LE(e.first_seen_ms, e.last_seen_ms);
    total += e.count;
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kThreads * kPerThread));
  // C0 is seen first by thread 0 at 1000; C49 last by thread 3.
  for (const UnmappedEntry& e : entries) {
    if (e.code == "C0") {
      EXPECT_EQ(e.first_seen_ms, 1000);
    }
    if (e.code == "C49") {
      EXPECT_EQ(e.last_seen_ms, 1000 + 4 * kPerThread - 1);
    }
  }
  EXPECT_EQ(reg.dropped(), 0u);
}

TEST(UnmappedTest, ChangeTrackingHandsOutEachOccurrenceOnce) {
  UnmappedRegister reg;
  reg.Record("local:F", "OLD", "", "F", "1", 10, "LOINC");  // before tracking: not a change
  reg.EnableChangeTracking();
  EXPECT_TRUE(reg.TakeChanges().empty());
  reg.Record("local:F", "OLD", "", "F", "2", 20, "LOINC");
  reg.Record("local:F", "XT", "血糖", "F", "3", 30, "LOINC");
  reg.Record("local:F", "XT", "", "F", "4", 40, "LOINC");
  auto c = reg.TakeChanges();
  ASSERT_EQ(c.added.size(), 2u);
  std::map<std::string, UnmappedEntry> by;
  for (const auto& e : c.added) by[e.code] = e;
  EXPECT_EQ(by.at("OLD").count, 1u);  // only what came since
  EXPECT_EQ(by.at("OLD").first_seen_ms, 10);
  EXPECT_EQ(by.at("XT").count, 2u);
  EXPECT_EQ(by.at("XT").display, "血糖");
  EXPECT_EQ(by.at("XT").sample_message_id, "3");
  EXPECT_EQ(by.at("XT").last_seen_ms, 40);
  EXPECT_TRUE(reg.TakeChanges().empty());
  // A failed write is returned and comes back merged with what came since.
  reg.Record("local:F", "XT", "", "F", "5", 50, "LOINC");
  reg.ReturnChanges(std::move(c));
  auto again = reg.TakeChanges();
  uint64_t xt = 0, old = 0;
  for (const auto& e : again.added) (e.code == "XT" ? xt : old) += e.count;
  EXPECT_EQ(xt, 3u);
  EXPECT_EQ(old, 1u);
  EXPECT_EQ(again.added.size(), 2u);
  // The register's own totals never changed by taking.
  for (const auto& e : reg.Snapshot()) EXPECT_EQ(e.count, e.code == "XT" ? 3u : 2u);
}

TEST(UnmappedTest, ConcurrentRecordsAndTakesLoseNothing) {
  UnmappedRegister reg;
  reg.EnableChangeTracking();
  constexpr int kThreads = 3, kPerThread = 20000;
  std::atomic<bool> done{false};
  uint64_t taken = 0;
  std::thread taker([&] {
    while (!done.load()) {
      for (const auto& e : reg.TakeChanges().added) taken += e.count;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&reg] {
      for (int i = 0; i < kPerThread; ++i) {
        reg.Record("local:F", "C" + std::to_string(i % 37), "", "F", "m", i, "LOINC");
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  taker.join();
  for (const auto& e : reg.TakeChanges().added) taken += e.count;
  EXPECT_EQ(taken, static_cast<uint64_t>(kThreads * kPerThread));
}

TEST(UnmappedTest, LoadMergesStoredEntriesWithinTheBound) {
  UnmappedRegister reg(2);
  reg.EnableChangeTracking();
  reg.Record("local:F", "A", "", "F", "9", 900, "LOINC");
  UnmappedEntry a;
  a.system = "local:F";
  a.code = "A";
  a.facility = "F";
  a.target_system = "LOINC";
  a.display = "甲";
  a.sample_message_id = "1";
  a.count = 10;
  a.first_seen_ms = 100;
  a.last_seen_ms = 800;
  reg.Load(a);
  UnmappedEntry b = a;
  b.code = "B";
  reg.Load(b);
  UnmappedEntry c = a;
  c.code = "C";
  reg.Load(c);  // beyond the bound
  EXPECT_EQ(reg.size(), 2u);
  EXPECT_EQ(reg.dropped(), 1u);
  auto entries = reg.Snapshot();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].code, "A");
  EXPECT_EQ(entries[0].count, 11u);
  EXPECT_EQ(entries[0].first_seen_ms, 100);
  EXPECT_EQ(entries[0].last_seen_ms, 900);
  EXPECT_EQ(entries[0].display, "甲");
  EXPECT_EQ(entries[0].sample_message_id, "9");
  // Loaded counts are not changes; only A's own occurrence is.
  auto ch = reg.TakeChanges();
  ASSERT_EQ(ch.added.size(), 1u);
  EXPECT_EQ(ch.added[0].count, 1u);
}

TEST(UnmappedTest, RefreshTakesTheTableTotalsPlusWhatIsNotWrittenYet) {
  UnmappedRegister reg;
  reg.EnableChangeTracking();
  reg.Record("local:F", "A", "", "F", "1", 100, "LOINC");
  (void)reg.TakeChanges();                                // written: the table has 1 of ours
  reg.Record("local:F", "A", "", "F", "2", 200, "LOINC");  // not written yet
  UnmappedEntry stored;
  stored.system = "local:F";
  stored.code = "A";
  stored.facility = "F";
  stored.target_system = "LOINC";
  stored.count = 5;  // ours (1) + another node's (4)
  stored.first_seen_ms = 50;
  stored.last_seen_ms = 150;
  reg.Refresh(stored);
  UnmappedEntry other = stored;
  other.code = "B";  // only the other node saw it
  other.count = 3;
  reg.Refresh(other);
  std::map<std::string, UnmappedEntry> by;
  for (const auto& e : reg.Snapshot()) by[e.code] = e;
  ASSERT_EQ(by.size(), 2u);
  EXPECT_EQ(by.at("A").count, 6u);
  EXPECT_EQ(by.at("A").first_seen_ms, 50);
  EXPECT_EQ(by.at("A").last_seen_ms, 200);
  EXPECT_EQ(by.at("B").count, 3u);
  // Only our unwritten occurrence is a change.
  auto c = reg.TakeChanges();
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0].code, "A");
  EXPECT_EQ(c.added[0].count, 1u);
}

TEST(UnmappedTest, SeparatesFacilitiesAndIsBounded) {
  UnmappedRegister reg(3);
  reg.Record("HL7 0001", "X", "", "F1", "m1", 10, "GB/T 2261.1");
  reg.Record("HL7 0001", "X", "", "F2", "m2", 20, "GB/T 2261.1");
  reg.Record("HL7 0001", "X", "", "F1", "m3", 30, "GB/T 2261.1");
  reg.Record("local:F1", "A", "", "F1", "m4", 40);
  reg.Record("local:F1", "B", "", "F1", "m5", 50);  // beyond the bound
  EXPECT_EQ(reg.size(), 3u);
  EXPECT_EQ(reg.dropped(), 1u);
  auto entries = reg.Snapshot();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].facility, "F1");
  EXPECT_EQ(entries[0].count, 2u);
  EXPECT_EQ(entries[0].sample_message_id, "m1");
  EXPECT_EQ(entries[0].last_seen_ms, 30);
  reg.Clear();
  EXPECT_EQ(reg.size(), 0u);
  reg.Record("local:F1", "B", "", "F1", "m5", 50);
  EXPECT_EQ(reg.size(), 1u);
}

TEST(UnmappedTest, ConceptMapCsvRoundTripsThroughTheLoader) {
  UnmappedRegister reg;
  reg.Record("local:CWS001", "GLU2", "葡萄糖, 餐后 \"2h\"", "CWS001", "m1", 1, "LOINC");
  reg.Record("local:CWS001", "GLU2", "", "CWS001", "m2", 2, "LOINC");
  reg.Record("HL7 0001", "X", "", "CWS001", "m3", 3, "GB/T 2261.1");
  reg.Record("HL7 0001", "X", "", "WSY01", "m4", 4, "GB/T 2261.1");  // same row in the CSV
  reg.Record("local:WSY01", "K+", "钾", "WSY01", "m5", 5);           // no target known
  const std::string csv = reg.ToConceptMapCsv();

  auto table = ParseCsv(csv, "unmapped.csv");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_EQ(table->rows.size(), 3u);
  EXPECT_EQ(table->rows[0].fields[1], "GLU2");  // most frequent first (tie: first seen)
  EXPECT_EQ(table->rows[0].fields[2], "葡萄糖, 餐后 \"2h\"");
  EXPECT_EQ(table->rows[0].fields[3], "LOINC");
  EXPECT_EQ(table->rows[0].fields[4], "");

  // As exported: loads, every row pending.
  const std::string systems = HIE_SOURCE_DIR "/terminology/data/systems.csv";
  {
    TerminologyBuilder b;
    ASSERT_TRUE(b.AddFile(systems).ok());
    ASSERT_TRUE(b.AddCsv(csv, "unmapped.csv").ok());
    auto snap = b.Build();
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    EXPECT_EQ((*snap)->stats().pending_rows, 3u);
    EXPECT_EQ((*snap)->mapping_count(), 0u);
  }
  // County IT fills one blank: it loads and translates, and the register prunes it.
  std::string filled = csv;
  const std::string blank = "LOINC,,\r\n";
  const size_t at = filled.find(blank);
  ASSERT_NE(at, std::string::npos);
  filled.replace(at, blank.size(), "LOINC,1521-4,\r\n");
  TerminologyBuilder b;
  ASSERT_TRUE(b.AddFile(systems).ok());
  ASSERT_TRUE(b.AddCsv(filled, "unmapped.csv").ok());
  auto snap = b.Build();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->stats().pending_rows, 2u);
  TranslateResult r = (*snap)->Translate("local:CWS001", "GLU2", "LOINC");
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.code, "1521-4");
  EXPECT_EQ(reg.PruneResolved(**snap), 1u);
  EXPECT_EQ(reg.size(), 3u);
}

}  // namespace
}  // namespace hie
