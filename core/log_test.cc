#include "core/log.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

TEST(LogTest, MasksIdentifiers) {
  EXPECT_EQ(MaskIdCard("11010119900307777X"), "1101************7X");
  EXPECT_EQ(MaskPhone("13812345678"), "138****5678");
  EXPECT_EQ(MaskName("张三丰"), "张**");
  EXPECT_EQ(MaskName("李"), "李*");
}

TEST(LogTest, MaskPhiInFreeText) {
  std::string s = MaskPhi("PID|||110101199003077777^^^NI||张三||13812345678|MSH-10 12345");
  EXPECT_EQ(s.find("110101199003077777"), std::string::npos);
  EXPECT_EQ(s.find("13812345678"), std::string::npos);
  EXPECT_NE(s.find("12345"), std::string::npos);
}

}  // namespace
}  // namespace hie
