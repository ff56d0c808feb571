#include "terminology/terminology.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hie {
namespace {

const std::filesystem::path kDataDir = HIE_SOURCE_DIR "/terminology/data";

std::shared_ptr<const TerminologySnapshot> LoadShipped() {
  auto snap = LoadTerminologyDir(kDataDir);
  EXPECT_TRUE(snap.ok()) << snap.status().ToString();
  return snap.ok() ? *snap : TerminologySnapshot::Empty();
}

TEST(TerminologyTest, ShippedDataLoadsCleanly) {
  auto s = LoadShipped();
  EXPECT_TRUE(s->stats().warnings.empty()) << s->stats().warnings.front();
  EXPECT_EQ(s->stats().pending_rows, 0u);
  EXPECT_GE(s->stats().files, 12u);

  // Sex, marital status, ethnicity (all 56 + 97 + 98), WS 364.
  EXPECT_EQ(s->Lookup("GB/T 2261.1", "9").value_or(""), "未说明的性别");
  EXPECT_EQ(s->Lookup("GB/T 2261.2", "23").value_or(""), "复婚");
  EXPECT_EQ(s->FindConcept(s->FindSystem("GB/T 2261.2"), "21")->parent, "20");
  for (int i = 1; i <= 56; ++i) {
    EXPECT_TRUE(s->Lookup("GB 3304", std::to_string(i)).has_value()) << i;
  }
  EXPECT_EQ(s->Lookup("GB 3304", "56").value_or(""), "基诺族");
  EXPECT_EQ(s->Lookup("GB 3304", "98").value_or(""), "外国血统中国籍人士");
  EXPECT_EQ(s->Lookup("CV02.01.101", "07").value_or(""), "台湾居民来往内地通行证");
  EXPECT_EQ(s->Lookup("医疗付费方式代码表", "3").value_or(""), "新型农村合作医疗");
  EXPECT_EQ(s->Lookup("2.16.156.10011.2.3.1.85", "4").value_or(""), "AB型");
  EXPECT_EQ(s->Lookup("CV04.50.020", "2").value_or(""), "阳性");
  EXPECT_EQ(s->Lookup("WS/T 500", "C0013").value_or(""), "输血记录");
  EXPECT_EQ(s->Lookup("HIE-OID", "2.16.156.10011.2.1.1.33").value_or("").substr(0, 5), "C0013");

  // LOINC subset: at least 80 items, each with an English name.
  const SystemId loinc = s->FindSystem("LOINC");
  ASSERT_NE(loinc, kNoSystem);
  const Concept* glu = s->FindConcept(loinc, "2345-7");
  ASSERT_NE(glu, nullptr);
  EXPECT_EQ(glu->display_en, "Glucose [Mass/volume] in Serum or Plasma");
  EXPECT_EQ(glu->unit, "mg/dL");
  // Administrative divisions: Hunan, 14 prefectures, 122 counties.
  const SystemId div = s->FindSystem("GB/T 2260");
  size_t loinc_count = 0, prefectures = 0, counties = 0;
  for (int code = 430000; code < 440000; ++code) {
    const Concept* c = s->FindConcept(div, std::to_string(code));
    if (c == nullptr || code == 430000) continue;
    (code % 100 == 0 ? prefectures : counties)++;
  }
  EXPECT_EQ(prefectures, 14u);
  EXPECT_EQ(counties, 122u);
  EXPECT_EQ(s->Lookup("行政区划代码", "430181").value_or(""), "浏阳市");
  EXPECT_EQ(s->Lookup("统计用区划代码", "430181001000").value_or("").substr(0, 9), "浏阳市");
  std::ifstream loinc_file(kDataDir / "loinc_county_lab.csv");
  for (std::string line; std::getline(loinc_file, line);)
    loinc_count += line.rfind("LOINC,", 0) == 0;
  EXPECT_GE(loinc_count, 80u);
}

TEST(TerminologyTest, AliasesAndOidsAreInterchangeable) {
  auto s = LoadShipped();
  const char* sources[] = {"HL7 0001", "2.16.840.1.113883.12.1", "hl7 0001", "HL70001"};
  const char* targets[] = {"GB/T 2261.1", "2.16.156.10011.2.3.3.4", "生理性别代码表",
                           "gb/t 2261.1"};
  for (const char* src : sources) {
    for (const char* tgt : targets) {
      TranslateResult r = s->Translate(src, "F", tgt);
      ASSERT_TRUE(r.found) << src << " -> " << tgt;
      EXPECT_EQ(r.code, "2");
      EXPECT_EQ(r.display, "女性");
      EXPECT_EQ(r.target_system, "GB/T 2261.1");
    }
  }
  EXPECT_EQ(s->Translate("HL7 0001", "A", "GB/T 2261.1").code, "9");
  EXPECT_EQ(s->Translate("GB/T 2261.1", "9", "HL7 0001").code, "U");
  // Same system: the concept itself.
  EXPECT_EQ(s->Translate("GB/T 2261.1", "1", "2.16.156.10011.2.3.3.4").display, "男性");
  EXPECT_FALSE(s->Translate("HL7 0001", "X", "GB/T 2261.1").found);
  EXPECT_FALSE(s->Translate("no such system", "M", "GB/T 2261.1").found);
}

TEST(TerminologyTest, PaddingNormalisation) {
  TerminologyBuilder b;
  ASSERT_TRUE(b.AddCsv("system,oid,aliases,code_width\n"
                       "ETH,1.2.3,eth-alias,2\n"
                       "NUM,,,numeric\n",
                       "sys.csv")
                  .ok());
  ASSERT_TRUE(
      b.AddCsv("system,code,display\nETH,1,汉族\nETH,02,蒙古族\nNUM,0007,七\n", "cs.csv").ok());
  ASSERT_TRUE(
      b.AddCsv("source_system,source_code,source_display,target_system,target_code,target_display\n"
               "local:F1,001,汉,ETH,1,\n"
               "local:F1,H,汉,eth-alias,001,\n"
               "NUM,07,七,ETH,2,\n",
               "map.csv")
          .ok());
  auto snap = b.Build();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const auto& s = **snap;
  EXPECT_TRUE(s.stats().warnings.empty());
  for (const char* code : {"1", "01", "001", "0001"}) {
    EXPECT_EQ(s.Lookup("ETH", code).value_or(""), "汉族") << code;
  }
  EXPECT_EQ(s.Lookup("1.2.3", "2").value_or(""), "蒙古族");
  EXPECT_EQ(s.Lookup("NUM", "7").value_or(""), "七");
  EXPECT_EQ(s.Lookup("NUM", "00007").value_or(""), "七");
  // Local systems compare exactly: "001" is not "1".
  TranslateResult r = s.Translate("local:F1", "001", "ETH");
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.code, "01");
  EXPECT_EQ(r.display, "汉族");  // filled in from the code system
  EXPECT_FALSE(s.Translate("local:F1", "1", "ETH").found);
  EXPECT_EQ(s.Translate("local:F1", "H", "1.2.3").code, "01");
  EXPECT_EQ(s.Translate("NUM", "0007", "ETH").code, "02");
  EXPECT_EQ(s.NormalizeCode(s.FindSystem("ETH"), "3"), "03");
  EXPECT_EQ(s.NormalizeCode(s.FindSystem("ETH"), "123"), "123");
  EXPECT_EQ(s.Lookup("local:F1", "H").value_or(""), "汉");  // local display from the map
}

struct BadCase {
  const char* name;
  const char* text;
  const char* where;
  const char* reason;  // English term expected in the message
};

TEST(TerminologyTest, BadRowsAreRefusedWithFileLineAndReason) {
  const char* kMap =
      "source_system,source_code,source_display,target_system,target_code,target_display\n";
  const std::string base = std::string(kMap);
  const BadCase cases[] = {
      {"columns", "system,code,display\nGB/T 2261.1,1,男性\nGB/T 2261.1,2\n", "bad.csv:3",
       "wrong column count"},
      {"quoting", "system,code,display\nX,1,\"open\n", "bad.csv:2", "broken quoting"},
      {"header", "sys,code_x,name\nX,1,y\n", "bad.csv:1", "unknown header"},
      {"map header order",
       "source_code,source_system,source_display,target_system,target_code,target_display\n",
       "bad.csv:1", "unknown header"},
      {"unknown column", "system,code,display,colour\nX,1,y,red\n", "bad.csv:1", "unknown header"},
      {"duplicate",
       "# note\nsource_system,source_code,source_display,target_system,target_code,target_display\n"
       "local:A,GLU,糖,LOINC,2345-7,\nlocal:A,GLU,糖,LOINC,14749-6,\n",
       "bad.csv:4", "duplicate source code"},
      {"unknown system",
       "source_system,source_code,source_display,target_system,target_code,target_display\n"
       "local:A,GLU,糖,LOINK,2345-7,\n",
       "bad.csv:2", "unknown system"},
      {"empty source code",
       "source_system,source_code,source_display,target_system,target_code,target_display\n"
       "local:A,,糖,LOINC,2345-7,\n",
       "bad.csv:2", "empty code"},
      {"empty target code",
       "source_system,source_code,source_display,target_system,target_code,target_display\n"
       "local:A,GLU,糖,LOINC,,葡萄糖\n",
       "bad.csv:2", "empty code"},
      {"empty code system code", "system,code,display\nX,1,a\nX, ,b\n", "bad.csv:3", "empty code"},
      {"conflicting display", "system,code,display\nX,1,a\nX,1,b\n", "bad.csv:3",
       "different display"},
      {"alias conflict", "system,oid,aliases\nLOINC2,,LOINC\n", "bad.csv:2", "alias conflict"},
      {"bad width", "system,oid,code_width\nX,,wide\n", "bad.csv:2", "invalid code width"},
      {"not utf8", "system,code,display\nX,1,\xC4\xD0\n", "bad.csv:2", "invalid UTF-8"},
  };
  for (const BadCase& c : cases) {
    TerminologyBuilder b;
    ASSERT_TRUE(b.AddCsv("system,oid\nLOINC,2.16.840.1.113883.6.1\n", "systems.csv").ok());
    Status st = b.AddCsv(c.text, "bad.csv");
    if (st.ok()) {
      auto built = b.Build();
      ASSERT_FALSE(built.ok()) << c.name;
      st = built.status();
    }
    EXPECT_EQ(st.code(), ErrorCode::kConfigError) << c.name;
    EXPECT_EQ(st.where(), c.where) << c.name << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.reason), std::string::npos) << c.name << ": " << st.message();
  }
}

TEST(TerminologyTest, SameMappingTwiceAndBlankRowsAreAccepted) {
  TerminologyBuilder b;
  ASSERT_TRUE(b.AddCsv("system,oid\nLOINC,2.16.840.1.113883.6.1\n", "systems.csv").ok());
  ASSERT_TRUE(
      b.AddCsv("source_system,source_code,source_display,target_system,target_code,target_display\n"
               "local:A,GLU,糖,LOINC,2345-7,\n"
               "local:A,GLU,糖,2.16.840.1.113883.6.1,2345-7,\n"
               "local:A,GLU,糖,local:B,G1,\n"  // another target system: allowed
               "local:A,XYZ,未知,,,\n",        // blank target: pending
               "m.csv")
          .ok());
  auto snap = b.Build();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->mapping_count(), 2u);
  EXPECT_EQ((*snap)->stats().pending_rows, 1u);
  EXPECT_EQ((*snap)->Translate("local:A", "GLU", "local:B").code, "G1");
}

TEST(TerminologyTest, TargetCodeMissingFromCodeSystemIsAWarning) {
  TerminologyBuilder b;
  ASSERT_TRUE(b.AddCsv("system,code,display\nLOINC,2345-7,葡萄糖\n", "l.csv").ok());
  ASSERT_TRUE(
      b.AddCsv("source_system,source_code,source_display,target_system,target_code,target_display\n"
               "local:A,GLU,糖,LOINC,2345-8,\n",
               "m.csv")
          .ok());
  auto snap = b.Build();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ((*snap)->stats().warnings.size(), 1u);
  EXPECT_NE((*snap)->stats().warnings[0].find("m.csv:2"), std::string::npos);
}

// Two maps of the same 200 codes that disagree on every target.
std::shared_ptr<const TerminologySnapshot> MakeMap(const std::string& target) {
  std::string text =
      "source_system,source_code,source_display,target_system,target_code,target_display\n";
  for (int i = 0; i < 200; ++i) {
    text += "local:F,C" + std::to_string(i) + ",x,local:T," + target + std::to_string(i) + ",\n";
  }
  TerminologyBuilder b;
  EXPECT_TRUE(b.AddCsv(text, "map-" + target + ".csv").ok());
  auto snap = b.Build();
  EXPECT_TRUE(snap.ok());
  return *snap;
}

TEST(TerminologyTest, SwapWhileReadingNeverTears) {
  auto a = MakeMap("A");
  auto b = MakeMap("B");
  Terminology term(a);
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, batches_a{0}, batches_b{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto snap = term.Current();  // one snapshot per batch
        const SystemId f = snap->FindSystem("local:F");
        const SystemId target = snap->FindSystem("local:T");
        char first = 0;
        for (int i = 0; i < 200; ++i) {
          TranslateResult r = snap->Translate(f, "C" + std::to_string(i), target);
          if (!r.found) {
            ++torn;
            continue;
          }
          if (first == 0) first = r.code[0];
          if (r.code[0] != first || r.code.substr(1) != std::to_string(i)) ++torn;
        }
        (first == 'A' ? batches_a : batches_b)++;
      }
    });
  }
  for (int i = 0; i < 2000; ++i) term.Swap(i % 2 == 0 ? b : a);
  // Keep readers going until both maps have been seen (bounded by work, not time).
  for (int spins = 0; spins < 100000 && (batches_a == 0 || batches_b == 0); ++spins) {
    term.Swap(spins % 2 == 0 ? b : a);
    std::this_thread::yield();
  }
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(batches_a.load() + batches_b.load(), 0);
  EXPECT_GE(term.generation(), 2000u);
}

TEST(TerminologyTest, ReloadKeepsOldSnapshotOnErrorAndPrunesResolved) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("hie_term_reload_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "local");
  std::filesystem::copy_file(kDataDir / "systems.csv", dir / "systems.csv");
  const auto write = [&](const std::string& text) {
    std::ofstream(dir / "local" / "F1.csv", std::ios::trunc) << text;
  };
  const std::string header =
      "source_system,source_code,source_display,target_system,target_code,target_display\n";
  write(header + "local:F1,GLU,糖,LOINC,2345-7,\n");

  Terminology term;
  ASSERT_TRUE(term.ReloadDir(dir).ok());
  EXPECT_TRUE(term.Current()->Translate("local:F1", "GLU", "LOINC").found);
  term.unmapped().Record("local:F1", "XT", "血糖", "F1", "MSG1", 1000, "LOINC");
  term.unmapped().Record("local:F1", "ZZ", "其他", "F1", "MSG2", 1000, "LOINC");

  auto changed = term.ReloadDirIfChanged(dir);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);

  write(header + "local:F1,GLU,糖,LOINC,2345-7,\nlocal:F1,GLU,糖,LOINC,1558-6,\n");
  const uint64_t gen = term.generation();
  Status st = term.ReloadDir(dir);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.where().find("F1.csv:3"), std::string::npos) << st.ToString();
  EXPECT_EQ(term.generation(), gen);
  EXPECT_TRUE(term.Current()->Translate("local:F1", "GLU", "LOINC").found);  // old one kept

  write(header + "local:F1,GLU,糖,LOINC,2345-7,\nlocal:F1,XT,血糖,LOINC,2345-7,\n");
  ASSERT_TRUE(term.ReloadDir(dir).ok());
  EXPECT_TRUE(term.Current()->Translate("local:F1", "XT", "LOINC").found);
  auto left = term.unmapped().Snapshot();
  ASSERT_EQ(left.size(), 1u);  // XT was resolved by the new map and pruned
  EXPECT_EQ(left[0].code, "ZZ");
  std::filesystem::remove_all(dir);
}

TEST(TerminologyTest, ShippedDataPlusExampleLocalMap) {
  TerminologyBuilder b;
  ASSERT_TRUE(b.AddDir(kDataDir).ok());
  ASSERT_TRUE(b.AddFile(HIE_SOURCE_DIR "/terminology/examples/local-CWS001.csv").ok());
  auto snap = b.Build();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const auto& s = **snap;
  EXPECT_TRUE(s.stats().warnings.empty()) << s.stats().warnings.front();
  for (const char* code : {"GLU", "XT", "葡萄糖(空腹)"}) {
    TranslateResult r = s.Translate("local:CWS001", code, "LOINC");
    ASSERT_TRUE(r.found) << code;
    EXPECT_EQ(r.code, "2345-7");
  }
  EXPECT_EQ(s.Translate("local:CWS001", "M", "GB/T 2261.1").code, "1");
  EXPECT_EQ(s.Translate("local:CWS001", "汉", "2.16.156.10011.2.3.3.3").code, "01");
  EXPECT_EQ(s.Translate("local:CWS001", "新农合", "医疗付费方式代码表").code, "03");
  EXPECT_EQ(s.Translate("local:CWS001", "WBC", "LOINC").display, "白细胞计数");
}

}  // namespace
}  // namespace hie
