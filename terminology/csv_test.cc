#include "terminology/csv.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

TEST(CsvTest, QuotedFieldsCommasDoubledQuotesNewlines) {
  const std::string text =
      "\xEF\xBB\xBF# source: test\r\n"
      "# edition: 2024\r\n"
      "a,b,c\r\n"
      "1,\"x, y\",\"say \"\"hi\"\"\"\r\n"
      "\r\n"
      "2,\"two\nlines\",\r\n"
      "3,plain,last";
  auto t = ParseCsv(text, "t.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->comments.size(), 2u);
  EXPECT_EQ(t->comments[0], " source: test");
  EXPECT_EQ(t->header.line, 3);
  EXPECT_EQ(t->header.fields, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t->rows.size(), 3u);
  EXPECT_EQ(t->rows[0].fields, (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(t->rows[0].line, 4);
  EXPECT_EQ(t->rows[1].fields, (std::vector<std::string>{"2", "two\nlines", ""}));
  EXPECT_EQ(t->rows[1].line, 6);
  EXPECT_EQ(t->rows[2].fields, (std::vector<std::string>{"3", "plain", "last"}));
  EXPECT_EQ(t->rows[2].line, 8);  // the quoted newline counts as a line
}

TEST(CsvTest, HashAfterHeaderIsData) {
  auto t = ParseCsv("a,b\n#x,y\n", "t.csv");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->rows.size(), 1u);
  EXPECT_EQ(t->rows[0].fields[0], "#x");
}

TEST(CsvTest, BrokenQuotingIsRefusedWithLine) {
  struct Case {
    const char* text;
    const char* where;
  } cases[] = {
      {"a,b\n1,\"open\n2,3\n", "t.csv:2"},  // unterminated
      {"a,b\n1,\"x\"y\n", "t.csv:2"},       // text after closing quote
      {"a,b\n1,2\n3,x\"y\n", "t.csv:3"},    // quote inside unquoted field
  };
  for (const Case& c : cases) {
    auto t = ParseCsv(c.text, "t.csv");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), ErrorCode::kConfigError);
    EXPECT_EQ(t.status().where(), c.where) << c.text;
    EXPECT_NE(t.status().message().find("broken quoting"), std::string::npos);
  }
}

TEST(CsvTest, InvalidUtf8IsRefused) {
  // "男" in GBK is 0xC4 0xD0: not valid UTF-8.
  auto t = ParseCsv("a,b\n1,\xC4\xD0\n", "gbk.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().where(), "gbk.csv:2");
  EXPECT_NE(t.status().message().find("UTF-8"), std::string::npos);
}

TEST(CsvTest, EscapeRoundTrips) {
  std::string out;
  AppendCsvRow(out, {"a", "b,c", "d\"e", "f\ng", "", "#h"});
  auto t = ParseCsv("h1,h2,h3,h4,h5,h6\n" + out, "t.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows.size(), 1u);
  EXPECT_EQ(t->rows[0].fields, (std::vector<std::string>{"a", "b,c", "d\"e", "f\ng", "", "#h"}));
}

}  // namespace
}  // namespace hie
