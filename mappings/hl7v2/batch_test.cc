#include "mappings/hl7v2/batch.h"

#include <gtest/gtest.h>

#include "mappings/hl7v2/er7.h"

namespace hie {
namespace {

TEST(SplitEr7, BatchEnvelopeWithCrlf) {
  std::string text =
      "FHS|^~\\&|A\r\nBHS|^~\\&|A\r\n"
      "MSH|^~\\&|A|B|||1||ADT^A04|1|P|2.5\r\nPID|1||X\r\n"
      "MSH|^~\\&|A|B|||1||ADT^A08|2|P|2.5\r\nPID|1||Y\r\n"
      "BTS|2\r\nFTS|1\r\n";
  auto s = SplitEr7(text, /*normalize_to_cr=*/true);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->batch);
  ASSERT_EQ(s->messages.size(), 2u);
  EXPECT_EQ(s->messages[0], "MSH|^~\\&|A|B|||1||ADT^A04|1|P|2.5\r\nPID|1||X\r\n");
  EXPECT_EQ(s->normalized[1], "MSH|^~\\&|A|B|||1||ADT^A08|2|P|2.5\rPID|1||Y\r");
}

TEST(SplitEr7, ConsecutiveMessagesBlankLinesFramingAndComments) {
  std::string text =
      "// a comment\n\n\x0bMSH|^~\\&|A\nPID|1\n\x1c\r\n"
      "/* another */\n"
      "MSH|^~\\&|B\rOBX|1|TX|||l1\nl2\rNTE|1\r";
  auto s = SplitEr7(text, true);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->batch);
  ASSERT_EQ(s->messages.size(), 2u);
  EXPECT_EQ(s->messages[0], "MSH|^~\\&|A\nPID|1\n");
  EXPECT_EQ(s->messages[1], "MSH|^~\\&|B\rOBX|1|TX|||l1\nl2\rNTE|1\r");
  EXPECT_EQ(s->normalized[0], "MSH|^~\\&|A\rPID|1\r");
  // The LF inside OBX-5 is data in a CR-terminated message, and stays so.
  EXPECT_EQ(s->normalized[1], "MSH|^~\\&|B\rOBX|1|TX|||l1\nl2\rNTE|1\r");
}

TEST(SplitEr7, SegmentsOutsideAMessageAreErrors) {
  auto bhs_inside = SplitEr7("BHS|^~\\&\rMSH|^~\\&|A\rEVN|A04\rBHS|^~\\&\rPID|1\rBTS|1\r");
  ASSERT_FALSE(bhs_inside.ok());
  EXPECT_EQ(bhs_inside.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(bhs_inside.status().where(), "line 5");
  auto no_msh = SplitEr7("FHS|^~\\&\rEVN|A04\rFTS|1\r");
  ASSERT_FALSE(no_msh.ok());
  EXPECT_EQ(no_msh.status().where(), "line 2");
  auto nothing = SplitEr7("\r\n  \n");
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.status().where(), "MSH");
}

}  // namespace
}  // namespace hie
