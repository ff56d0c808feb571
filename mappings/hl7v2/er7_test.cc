#include "mappings/hl7v2/er7.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

const char kAdt[] =
    "MSH|^~\\&|HIS|XYZRMYY|COUNTY-HIE|HUB|20261122071818||ADT^A04^ADT_A01|MSG0001|P|2.5|||||CHN|"
    "UNICODE UTF-8\r"
    "EVN|A04|20261122071818\r"
    "PID|1||123456^^^XYZRMYY^MR~110101199001011234^^^CHN^NI||张三^^^^^^L||19900101|M\r"
    "OBX|1|NM|HGB||135|g/L\r"
    "OBX|2|NM|WBC||6.1|10*9/L\r"
    "OBX|3|ST|NOTE||a\\F\\b\\S\\c\r"
    "ZPI|custom|fields\r";

TEST(Er7Path, ParsesAllParts) {
  auto p = Er7Path::Parse("OBX[3]-5[2].4.1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->segment_id(), "OBX");
  EXPECT_EQ(p->occurrence, 3u);
  EXPECT_EQ(p->field, 5u);
  EXPECT_EQ(p->repetition, 2u);
  EXPECT_EQ(p->component, 4u);
  EXPECT_EQ(p->subcomponent, 1u);
  auto seg = Er7Path::Parse("PID");
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ(seg->field, 0u);
  for (const char* bad : {"", "PI", "pid-3", "PID-", "PID-0", "PID-3.", "PID-3[x]", "PID[0]-1",
                          "PID-3..1", "PID-3 ", "PID_3"}) {
    EXPECT_FALSE(Er7Path::Parse(bad).ok()) << bad;
    EXPECT_EQ(Er7Path::Parse(bad).status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(Er7Message, GetByPath) {
  auto m = Er7Message::Parse(kAdt);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->segment_count(), 7u);
  EXPECT_EQ(m->terminator(), SegmentTerminator::kCR);
  EXPECT_EQ(m->Get("MSH-1"), "|");
  EXPECT_EQ(m->Get("MSH-2"), "^~\\&");
  EXPECT_EQ(m->Get("MSH-2.2"), "");  // never split
  EXPECT_EQ(m->Get("MSH-3"), "HIS");
  EXPECT_EQ(m->Get("MSH-9"), "ADT^A04^ADT_A01");
  EXPECT_EQ(m->Get("MSH-9.1"), "ADT");
  EXPECT_EQ(m->Get("MSH-9.2"), "A04");
  EXPECT_EQ(m->Get("MSH-10"), "MSG0001");
  EXPECT_EQ(m->Get("MSH-18"), "UNICODE UTF-8");
  EXPECT_EQ(m->field_count(0), 18u);
  EXPECT_EQ(m->Get("PID-3"), "123456^^^XYZRMYY^MR~110101199001011234^^^CHN^NI");
  EXPECT_EQ(m->Get("PID-3[2]"), "110101199001011234^^^CHN^NI");
  EXPECT_EQ(m->Get("PID-3[2].1"), "110101199001011234");
  EXPECT_EQ(m->Get("PID-3.5"), "MR");
  EXPECT_EQ(m->Get("PID-3[3].1"), "");
  EXPECT_EQ(m->Get("PID-5.1.1"), "张三");
  EXPECT_EQ(m->Get("PID-5.2"), "");
  EXPECT_EQ(m->Get("OBX[2]-5"), "6.1");
  EXPECT_EQ(m->Get("OBX[3]-5"), "a\\F\\b\\S\\c");
  EXPECT_EQ(m->Decoded("OBX[3]-5"), "a|b^c");
  EXPECT_EQ(m->Get("OBX[4]-5"), "");
  EXPECT_EQ(m->Get("PID-99"), "");
  EXPECT_EQ(m->Get("ZPI-2"), "fields");
  EXPECT_EQ(m->Get("PID"),
            "PID|1||123456^^^XYZRMYY^MR~110101199001011234^^^CHN^NI||张三^^^^^^L||19900101|M");
  EXPECT_EQ(m->Get("not a path"), "");
  EXPECT_EQ(m->CountSegments("OBX"), 3u);
  EXPECT_EQ(m->RepetitionCount("PID-3"), 2u);
  EXPECT_EQ(m->RepetitionCount("PID-2"), 0u);
  EXPECT_EQ(m->RepetitionCount("MSH-2"), 1u);
  EXPECT_EQ(m->segment_id(2), "PID");
  EXPECT_EQ(m->field(2, 8), "M");
  EXPECT_EQ(m->Serialize(), kAdt);
}

TEST(Er7Message, TerminatorsDetectedAndRoundTripped) {
  std::string cr = kAdt;
  for (auto [term, kind] : {std::pair<std::string, SegmentTerminator>{"\n", SegmentTerminator::kLF},
                            {"\r\n", SegmentTerminator::kCRLF},
                            {"\r", SegmentTerminator::kCR}}) {
    std::string text;
    for (char c : cr) {
      if (c == '\r')
        text += term;
      else
        text += c;
    }
    auto m = Er7Message::Parse(text);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->terminator(), kind);
    EXPECT_EQ(m->segment_count(), 7u);
    EXPECT_EQ(m->Get("PID-8"), "M");
    EXPECT_EQ(m->Serialize(), text);
    EXPECT_EQ(m->Serialize(SegmentTerminator::kCR), cr);
  }
}

TEST(Er7Message, FramingBlankLinesAndNoFinalTerminator) {
  std::string text = "\x0bMSH|^~\\&|A|B\r\n\r\nPID|1||X\r\n  \r\n\x1c\r";
  auto m = Er7Message::Parse(text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->segment_count(), 2u);
  EXPECT_EQ(m->Get("PID-3"), "X");
  EXPECT_EQ(m->Serialize(), text);
  auto bare = Er7Message::Parse("MSH|^~\\&|A\rPID|1");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->Get("PID-1"), "1");
  EXPECT_EQ(bare->Serialize(), "MSH|^~\\&|A\rPID|1");
}

TEST(Er7Message, LoneLfInCrMessageIsData) {
  std::string text = "MSH|^~\\&|A\rOBX|1|TX|||line1\nline2\rPID|1\r";
  auto m = Er7Message::Parse(text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->segment_count(), 3u);
  EXPECT_EQ(m->Get("OBX-5"), "line1\nline2");
  EXPECT_EQ(m->Serialize(), text);
  // ...but a segment id after it still starts a segment.
  auto mixed = Er7Message::Parse("MSH|^~\\&|A\rOBX|1\nPID|1\r");
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->segment_count(), 3u);
}

TEST(Er7Message, CustomDelimiters) {
  // Field '^', component '~', repetition '|' (as in HAPI's segmentfinder).
  auto m = Er7Message::Parse("MSH^~|\\&^APP^FAC^^^2024^^ADT~A24^1^P^2.3\rPID^1^^a~b|c~d");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->delimiters().field, '^');
  EXPECT_EQ(m->delimiters().component, '~');
  EXPECT_EQ(m->delimiters().repetition, '|');
  EXPECT_EQ(m->Get("MSH-1"), "^");
  EXPECT_EQ(m->Get("MSH-2"), "~|\\&");
  EXPECT_EQ(m->Get("MSH-9.2"), "A24");
  EXPECT_EQ(m->Get("PID-3[2].2"), "d");
  auto hash = Er7Message::Parse("MSH#$%!@#X#Y\rPID#1##a$b%c$d@e");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->Get("PID-3[2].2.2"), "e");
  EXPECT_EQ(hash->Escape("#$%!@"), "!F!!S!!R!!E!!T!");
  EXPECT_EQ(hash->Decoded("PID-1"), "1");
}

TEST(Er7Message, TruncationCharacterV27) {
  auto m = Er7Message::Parse("MSH|^~\\&#|A|B\rNTE|1||50\\P\\ off");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->delimiters().truncation, '#');
  EXPECT_EQ(m->Get("MSH-2"), "^~\\&#");
  EXPECT_EQ(m->Get("MSH-3"), "A");
  EXPECT_EQ(m->Decoded("NTE-3"), "50# off");
  EXPECT_EQ(m->Escape("a#b"), "a\\P\\b");
}

TEST(Er7Message, Errors) {
  struct Case {
    std::string text;
    std::string where;
  } cases[] = {
      {"", "MSH"},
      {"PID|1", "MSH"},
      {"MSH", "MSH-1"},
      {"MSHA^~\\&", "MSH-1"},
      {"MSH|&&&&|A", "MSH-2"},
      {"MSH||A", "MSH-2"},
      {"MSH|^~\\&$%!|A", "MSH-2"},
      {"MSH|^A\\&|A", "MSH-2"},
      {"MSH|^~\\&|A\rpid|1", "segment 2"},
      {"MSH|^~\\&|A\rPID|1\rPIDX|1", "segment 3"},
  };
  for (const auto& c : cases) {
    auto m = Er7Message::Parse(c.text);
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_EQ(m.status().code(), ErrorCode::kParseError) << c.text;
    EXPECT_EQ(m.status().where(), c.where) << c.text;
    EXPECT_NE(m.status().message().find('('), std::string::npos);  // Chinese (English)
  }
}

TEST(Er7Escape, DecodesAllSequences) {
  Er7Delimiters d;
  EXPECT_EQ(Er7Unescape("\\F\\\\S\\\\T\\\\R\\\\E\\", d), "|^&~\\");
  EXPECT_EQ(Er7Unescape("\\X41424344\\", d), "ABCD");
  EXPECT_EQ(Er7Unescape("a\\X0D0A\\b", d), "a\r\nb");
  EXPECT_EQ(Er7Unescape("\\XE5BCA0\\", d), "张");
  EXPECT_EQ(Er7Unescape("line1\\.br\\line2", d), "line1\nline2");
  EXPECT_EQ(Er7Unescape("\\H\\bold\\N\\", d), "bold");
  EXPECT_EQ(Er7Unescape("x\\.ce\\y", d), "xy");
  EXPECT_EQ(Er7Unescape("\\Zcustom\\", d), "\\Zcustom\\");
  EXPECT_EQ(Er7Unescape("\\XZZ\\", d), "\\XZZ\\");
  EXPECT_EQ(Er7Unescape("open \\F", d), "open \\F");
  EXPECT_EQ(Er7Unescape("no escapes", d), "no escapes");
  EXPECT_EQ(Er7Unescape("\\P\\", d), "\\P\\");  // no truncation char declared
}

TEST(Er7Escape, EscapesAndRoundTrips) {
  Er7Delimiters d;
  EXPECT_EQ(Er7Escape("a|b^c&d~e\\f", d), "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f");
  EXPECT_EQ(Er7Escape("1\r2\n3", d), "1\\X0D\\2\\.br\\3");
  EXPECT_EQ(Er7Escape("plain 张三", d), "plain 张三");
  for (std::string s : {"", "|", "\\\\", "a^b|c\r\nd&&e~", "\\F\\ literal", "张三|李四"}) {
    EXPECT_EQ(Er7Unescape(Er7Escape(s, d), d), s) << s;
  }
}

TEST(Er7Builder, BuildsFromScratch) {
  Er7Builder b;
  b.AddSegment("MSH");
  ASSERT_TRUE(b.Set("MSH-9.1", "ACK").ok());
  ASSERT_TRUE(b.Set("MSH-9.2", "A04").ok());
  ASSERT_TRUE(b.Set("MSH-10", "id|1").ok());
  ASSERT_TRUE(b.Set("PID-3[2].4.2", "x^y").ok());  // creates PID, pads everything
  ASSERT_TRUE(b.SetRaw("PID-5", "张^三").ok());
  EXPECT_EQ(b.Serialize(),
            "MSH|^~\\&|||||||ACK^A04|id\\F\\1\r"
            "PID|||~^^^&x\\S\\y||张^三\r");
  EXPECT_EQ(b.Get("PID-5.2"), "三");
  EXPECT_FALSE(b.Set("MSH-2", "x").ok());
  EXPECT_FALSE(b.Set("OBX[2]-1", "x").ok());  // no OBX[1]
  EXPECT_FALSE(b.Set("PID", "x").ok());
  const std::string built = b.Serialize();
  auto parsed = Er7Message::Parse(built);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Decoded("MSH-10"), "id|1");
  EXPECT_EQ(parsed->Decoded("PID-3[2].4.2"), "x^y");
}

TEST(Er7Builder, EditsAParsedMessage) {
  auto m = Er7Message::Parse(kAdt);
  ASSERT_TRUE(m.ok());
  Er7Builder b = Er7Builder::From(*m);
  EXPECT_EQ(b.Serialize(), kAdt);  // unchanged -> same bytes
  ASSERT_TRUE(b.Set("PID-5.1", "李四").ok());
  ASSERT_TRUE(b.Set("PID-3[2].1", "X").ok());
  ASSERT_TRUE(b.Set("OBX[4]-5", "new").ok());
  b.RemoveSegments("ZPI");
  const std::string edited = b.Serialize();
  auto m2 = Er7Message::Parse(edited);
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->Get("PID-5"), "李四^^^^^^L");
  EXPECT_EQ(m2->Get("PID-3"), "123456^^^XYZRMYY^MR~X^^^CHN^NI");
  EXPECT_EQ(m2->Get("OBX[4]-5"), "new");
  EXPECT_EQ(m2->CountSegments("ZPI"), 0u);
  EXPECT_EQ(m2->Get("MSH-9"), "ADT^A04^ADT_A01");

  auto custom = Er7Message::Parse("MSH^~|\\&^APP\nPID^1\n");
  ASSERT_TRUE(custom.ok());
  Er7Builder cb = Er7Builder::From(*custom);
  ASSERT_TRUE(cb.Set("PID-2", "a^b").ok());
  EXPECT_EQ(cb.Serialize(), "MSH^~|\\&^APP\nPID^1^a\\F\\b\n");
}

}  // namespace
}  // namespace hie

namespace hie {
namespace {

// Truncations and byte mutations never crash, and whatever parses
// serializes back to the same bytes.
TEST(Er7Message, SurvivesMutations) {
  const std::string base = kAdt;
  for (size_t len = 0; len <= base.size(); ++len) {
    std::string t = base.substr(0, len);
    auto m = Er7Message::Parse(t);
    if (m.ok()) EXPECT_EQ(m->Serialize(), t);
  }
  uint32_t seed = 12345;
  auto next = [&]() { return seed = seed * 1103515245u + 12345u; };
  const char alphabet[] = "|^~\\&#\r\nAZ09 \x0b\x1c\xff";
  size_t parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string t = base;
    for (int k = 0; k < 3; ++k) {
      t[(next() >> 8) % t.size()] = alphabet[(next() >> 8) % (sizeof(alphabet) - 1)];
    }
    auto m = Er7Message::Parse(t);
    if (!m.ok()) continue;
    ++parsed;
    ASSERT_EQ(m->Serialize(), t);
    for (const char* p : {"MSH-2", "MSH-9.2", "PID-3[2].4.1", "PID-5.1.1", "OBX[3]-5", "ZPI-9"}) {
      (void)m->Decoded(p);
    }
    for (size_t s = 0; s < m->segment_count(); ++s) {
      for (size_t f = 0; f <= m->field_count(s) + 1; ++f) (void)m->field(s, f);
    }
    Er7Builder b = Er7Builder::From(*m);
    const std::string rebuilt = b.Serialize();
    auto again = Er7Message::Parse(rebuilt);
    EXPECT_TRUE(again.ok());
  }
  EXPECT_GT(parsed, 100u);
}

}  // namespace
}  // namespace hie
