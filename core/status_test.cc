#include "core/status.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status(ErrorCode::kInvalidArgument, "奇数 (odd)", "x");
  return x / 2;
}

Result<int> Quarter(int x) {
  HIE_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, ErrorTableGivesHttpAndHl7Codes) {
  EXPECT_EQ(HttpStatus(ErrorCode::kUnknownFacility), 403);
  EXPECT_EQ(Hl7ErrorCode(ErrorCode::kRequiredMissing), "101");
  EXPECT_EQ(ApiCode(ErrorCode::kParseError), "parse_error");
  EXPECT_NE(DefaultText(ErrorCode::kTooLarge).find("too large"), std::string_view::npos);
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().where(), "x");
  EXPECT_NE(r.status().ToString().find("where: x"), std::string::npos);
}

}  // namespace
}  // namespace hie
