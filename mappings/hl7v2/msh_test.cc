#include "mappings/hl7v2/msh.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

TEST(ReadMsh, ReadsHeaderFields) {
  // The body after MSH is GBK (张三) and even broken: ReadMsh stops at MSH.
  std::string raw =
      "\x0bMSH|^~\\&|HIS^1.2.3^ISO|XYZRMYY|HUB|COUNTY|20261122071818||ADT^A04^ADT_A01|C\\F\\1|P|"
      "2.4|||||CHN|GB 18030-2000~UNICODE UTF-8\r"
      "PID|1||1^^^X^MR||\xd5\xc5\xc8\xfd\rgarbage";
  auto info = ReadMsh(raw);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->sending_application, "HIS");
  EXPECT_EQ(info->sending_application_hd.universal_id, "1.2.3");
  EXPECT_EQ(info->sending_application_hd.universal_id_type, "ISO");
  EXPECT_EQ(info->sending_facility, "XYZRMYY");
  EXPECT_EQ(info->receiving_application, "HUB");
  EXPECT_EQ(info->receiving_facility, "COUNTY");
  EXPECT_EQ(info->datetime, "20261122071818");
  EXPECT_EQ(info->message_code, "ADT");
  EXPECT_EQ(info->trigger_event, "A04");
  EXPECT_EQ(info->message_structure, "ADT_A01");
  EXPECT_EQ(info->message_type, "ADT^A04");
  EXPECT_EQ(info->control_id, "C|1");
  EXPECT_EQ(info->processing_id, "P");
  EXPECT_EQ(info->version, "2.4");
  EXPECT_EQ(info->charset, "GB 18030-2000");
}

TEST(ReadMsh, TypeWithoutTriggerAndEmptyFacility) {
  auto info = ReadMsh("MSH|^~\\&|APP||||||ACK|42\n");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->message_type, "ACK");
  EXPECT_EQ(info->trigger_event, "");
  EXPECT_EQ(info->sending_facility, "");
  EXPECT_EQ(info->charset, "");
  EXPECT_EQ(info->control_id, "42");
}

TEST(ReadMsh, ErrorsNameWhere) {
  struct Case {
    std::string raw;
    ErrorCode code;
    std::string where;
  } cases[] = {
      {"PID|1||X\r", ErrorCode::kParseError, "MSH"},
      {"", ErrorCode::kParseError, "MSH"},
      {"MSH|&&&&|A|B\r", ErrorCode::kParseError, "MSH-2"},
      {"MSH||A|B\r", ErrorCode::kParseError, "MSH-2"},
      {"MSH|^~\\&|A|B|C|D|20240101||^|1|P|2.5\r", ErrorCode::kRequiredMissing, "MSH-9"},
      {"MSH|^~\\&|A|B|C|D|20240101\r", ErrorCode::kRequiredMissing, "MSH-9"},
      {"MSH|^~\\&|A|B|C|D|20240101||ADT^A01||P|2.5\r", ErrorCode::kRequiredMissing, "MSH-10"},
  };
  for (const auto& c : cases) {
    auto info = ReadMsh(c.raw);
    ASSERT_FALSE(info.ok()) << c.raw;
    EXPECT_EQ(info.status().code(), c.code) << c.raw;
    EXPECT_EQ(info.status().where(), c.where) << c.raw;
  }
}

}  // namespace
}  // namespace hie
