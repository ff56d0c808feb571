#include "mappings/hl7v2/charset.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

// 张三 in GB18030 / GBK, built from the known code points.
const std::string kZhangSanGb = "\xD5\xC5\xC8\xFD";
const std::string kZhangSanUtf8 = "\xE5\xBC\xA0\xE4\xB8\x89";  // U+5F20 U+4E09

TEST(Charset, Labels) {
  for (const char* l : {"", "UNICODE UTF-8", "utf-8", "UTF8"}) {
    EXPECT_EQ(*CanonicalCharset(l), "UTF-8") << l;
  }
  for (const char* l : {"GB 18030-2000", "GB18030", "gbk", "GB2312", "cp936", "gb_18030"}) {
    EXPECT_EQ(*CanonicalCharset(l), "GB18030") << l;
  }
  EXPECT_EQ(*CanonicalCharset("8859/1"), "ISO-8859-1");
  EXPECT_EQ(*CanonicalCharset("ASCII"), "ASCII");
  auto unknown = CanonicalCharset("EBCDIC");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kUnsupportedCharset);
  EXPECT_EQ(unknown.status().where(), "MSH-18");
  EXPECT_EQ(DecodeToUtf8("abc", "EBCDIC").status().code(), ErrorCode::kUnsupportedCharset);
}

TEST(Charset, Gb18030RoundTrip) {
  const std::string text = "PID|1||||" + kZhangSanGb + "|";
  for (const char* label : {"GB 18030-2000", "GBK", "GB2312"}) {
    auto utf8 = DecodeToUtf8(text, label);
    ASSERT_TRUE(utf8.ok()) << utf8.status().ToString();
    EXPECT_EQ(*utf8, "PID|1||||" + kZhangSanUtf8 + "|");
    auto back = EncodeFromUtf8(*utf8, label);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text);
  }
  // A four-byte GB18030 sequence: U+20000 is 95 32 82 36.
  auto ext = DecodeToUtf8("\x95\x32\x82\x36", "GB18030");
  ASSERT_TRUE(ext.ok());
  EXPECT_EQ(*ext, "\xF0\xA0\x80\x80");
  EXPECT_EQ(*EncodeFromUtf8("\xF0\xA0\x80\x80", "GB18030"), "\x95\x32\x82\x36");
}

TEST(Charset, InvalidGb18030NamesOffset) {
  auto r = DecodeToUtf8("ab" + kZhangSanGb + "\x81", "GBK");  // truncated at the end
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupportedCharset);
  EXPECT_NE(r.status().message().find("offset 6"), std::string::npos) << r.status().message();
}

TEST(Charset, Utf8ValidationNamesOffset) {
  EXPECT_EQ(*DecodeToUtf8("plain", ""), "plain");
  EXPECT_EQ(*DecodeToUtf8(kZhangSanUtf8, "UNICODE UTF-8"), kZhangSanUtf8);
  auto r = DecodeToUtf8("PID|" + kZhangSanGb, "UNICODE UTF-8");  // GBK sent as UTF-8
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupportedCharset);
  EXPECT_EQ(r.status().where(), "MSH-18");
  EXPECT_NE(r.status().message().find("offset 4"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("charset"), std::string::npos);
  EXPECT_EQ(FindInvalidUtf8("ok\xC0\x80"), 2u);        // overlong
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\x80"), 0u);      // surrogate
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("a\xE5\xBC"), 1u);         // truncated
  EXPECT_EQ(FindInvalidUtf8(kZhangSanUtf8), std::string::npos);
}

TEST(Charset, AsciiAndLatin1) {
  EXPECT_EQ(*DecodeToUtf8("MSH|^~\\&", "ASCII"), "MSH|^~\\&");
  EXPECT_EQ(*DecodeToUtf8(kZhangSanUtf8, "ASCII"), kZhangSanUtf8);  // mislabeled UTF-8
  EXPECT_FALSE(DecodeToUtf8("\xFF", "ASCII").ok());
  EXPECT_EQ(*DecodeToUtf8("5 \xB5g", "8859/1"), "5 \xC2\xB5g");
  EXPECT_EQ(*EncodeFromUtf8("5 \xC2\xB5g", "8859/1"), "5 \xB5g");
  auto r = EncodeFromUtf8("x" + kZhangSanUtf8, "8859/1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 1"), std::string::npos);
  EXPECT_FALSE(EncodeFromUtf8("bad\xFF", "GBK").ok());
}

}  // namespace
}  // namespace hie
