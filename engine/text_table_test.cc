// Terminal tables (engine/text_table.h): CJK characters count two columns.
#include "engine/text_table.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

TEST(TextTableTest, DisplayWidth) {
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("血红蛋白"), 8);
  EXPECT_EQ(DisplayWidth("g/L"), 3);
  EXPECT_EQ(DisplayWidth("μmol/L"), 6);  // Greek mu is narrow
  EXPECT_EQ(DisplayWidth("（全角）"), 8);
  EXPECT_EQ(DisplayWidth("✔ 可互认"), 1 + 1 + 6);
}

TEST(TextTableTest, TruncateNeverSplitsACharacter) {
  EXPECT_EQ(TruncateToWidth("血红蛋白测定", 7), "血红..");  // 蛋 would need columns 5-6 and 7
  EXPECT_EQ(TruncateToWidth("血红蛋白测定", 8), "血红蛋..");
  EXPECT_EQ(DisplayWidth(TruncateToWidth("血红蛋白测定", 8)), 8);
  EXPECT_EQ(TruncateToWidth("abc", 3), "abc");
}

TEST(TextTableTest, ColumnsAlignByDisplayWidth) {
  std::string t = RenderTable({"项目", "结果"}, {{"血红蛋白", "135"}, {"HGB", "5.1"}});
  // Every line puts the second column at the same display column.
  std::vector<std::string> lines;
  size_t p = 0;
  while (p < t.size()) {
    size_t nl = t.find('\n', p);
    lines.push_back(t.substr(p, nl - p));
    p = nl + 1;
  }
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "项目      结果");
  EXPECT_EQ(lines[2], "血红蛋白  135");
  EXPECT_EQ(lines[3], "HGB       5.1");
  EXPECT_EQ(lines[1], std::string(8 + 2 + 4, '-'));  // the rule spans the table
  // No header: just the rows.
  EXPECT_EQ(RenderTable({"", ""}, {{"姓名", "张三"}}), "姓名  张三\n");
}

}  // namespace
}  // namespace hie
