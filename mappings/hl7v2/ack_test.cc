#include "mappings/hl7v2/ack.h"

#include <gtest/gtest.h>

#include "mappings/hl7v2/er7.h"

namespace hie {
namespace {

MshInfo Their(std::string_view version = "2.5") {
  auto info = ReadMsh(
      "MSH|^~\\&|HIS|XYZRMYY^1.2.156^ISO|HIEAPP|HUB|20261122071800||ADT^A04^ADT_A01|"
      "MSG-7|T|" +
      std::string(version) + "|||||CHN|GB 18030-2000\r");
  EXPECT_TRUE(info.ok());
  return *info;
}

TEST(BuildAck, AcceptSwapsSenderAndReceiver) {
  MshInfo msh = Their();
  std::string ack = BuildAck(&msh, AckCode::kAA, Status::Ok(), "ACK-1", "20261122071818");
  EXPECT_EQ(ack.find('\n'), std::string::npos);
  EXPECT_EQ(ack.back(), '\r');
  auto m = Er7Message::Parse(ack);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->Get("MSH-3"), "HIEAPP");
  EXPECT_EQ(m->Get("MSH-4"), "HUB");
  EXPECT_EQ(m->Get("MSH-5"), "HIS");
  EXPECT_EQ(m->Get("MSH-6"), "XYZRMYY^1.2.156^ISO");
  EXPECT_EQ(m->Get("MSH-7"), "20261122071818");
  EXPECT_EQ(m->Get("MSH-9"), "ACK^A04^ACK");
  EXPECT_EQ(m->Get("MSH-10"), "ACK-1");
  EXPECT_EQ(m->Get("MSH-11"), "T");
  EXPECT_EQ(m->Get("MSH-12"), "2.5");
  EXPECT_EQ(m->Get("MSH-18"), "UNICODE UTF-8");
  EXPECT_EQ(m->Get("MSA"), "MSA|AA|MSG-7");
  EXPECT_FALSE(m->FindSegment("ERR"));

  auto read = ReadAck(ack);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->code, "AA");
  EXPECT_EQ(read->control_id, "MSG-7");
  EXPECT_TRUE(read->accepted());
}

TEST(BuildAck, ErrorCarriesErrSegment) {
  MshInfo msh = Their();
  Status err(ErrorCode::kRequiredMissing, "缺少必填字段 PID-3 (required field missing) a|b^c",
             "PID-3");
  std::string ack = BuildAck(&msh, AckCode::kAE, err, "ACK-2", "20261122071818");
  auto m = Er7Message::Parse(ack);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->Get("MSA-1"), "AE");
  EXPECT_EQ(m->Decoded("MSA-3"), err.ToString());
  EXPECT_EQ(m->Get("ERR-1"), "");  // v2.5: no ERR-1
  EXPECT_EQ(m->Get("ERR-2"), "PID^1^3");
  EXPECT_EQ(m->Get("ERR-3"), "101^required field missing^HL70357");
  EXPECT_EQ(m->Get("ERR-4"), "E");
  EXPECT_EQ(m->Decoded("ERR-8"), err.ToString());
  EXPECT_NE(m->Get("ERR-8").find("a\\F\\b\\S\\c"), std::string_view::npos);

  auto read = ReadAck(ack);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->code, "AE");
  EXPECT_EQ(read->text, err.ToString());
  EXPECT_EQ(read->error_code, "101");
  EXPECT_FALSE(read->accepted());
}

TEST(BuildAck, OldVersionsGetErr1) {
  MshInfo msh = Their("2.3.1");
  Status err(ErrorCode::kParseError, "报文无法解析 (parse error)", "OBX[2]-5.1");
  const std::string ack = BuildAck(&msh, AckCode::kAR, err, "A", "20261122071818");
  auto m = Er7Message::Parse(ack);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Get("MSH-12"), "2.3.1");
  EXPECT_EQ(m->Get("ERR-1"), "OBX^2^5^102&parse error&HL70357");
  EXPECT_EQ(m->Get("ERR-2"), "OBX^2^5^1^1");
  EXPECT_EQ(m->Get("ERR-3.1"), "102");
}

TEST(BuildAck, UnreadableMsh) {
  Status err(ErrorCode::kParseError, "报文必须以 MSH 段开头 (message must start with MSH)", "MSH");
  std::string ack = BuildAck(nullptr, AckCode::kAR, err, "A9", "20261122071818");
  auto m = Er7Message::Parse(ack);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Get("MSH-3"), "COUNTY-HIE");
  EXPECT_EQ(m->Get("MSH-4"), "COUNTY-HIE");
  EXPECT_EQ(m->Get("MSH-9"), "ACK");
  EXPECT_EQ(m->Get("MSH-11"), "P");
  EXPECT_EQ(m->Get("MSH-12"), "2.5");
  EXPECT_EQ(m->Get("MSA"), "MSA|AR||" + m->Escape(err.ToString()));
  EXPECT_EQ(m->Get("ERR-2"), "MSH^1");
  // A location that is not a segment/field is left out.
  Status cfg(ErrorCode::kUnknownFacility, "未登记的机构 (unknown facility)", "config.yaml:3");
  const std::string ack2 = BuildAck(nullptr, AckCode::kAR, cfg, "A", "1");
  auto m2 = Er7Message::Parse(ack2);
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->Get("ERR-2"), "");
  EXPECT_EQ(m2->Get("ERR-3.1"), "204");
}

TEST(ReadAck, ErrorsAndCharsets) {
  auto no_msa = ReadAck("MSH|^~\\&|A|B|||1||ACK|1|P|2.5\r");
  ASSERT_FALSE(no_msa.ok());
  EXPECT_EQ(no_msa.status().where(), "MSA");
  auto bad_code = ReadAck("MSH|^~\\&|A|B|||1||ACK|1|P|2.5\rMSA|OK|1\r");
  ASSERT_FALSE(bad_code.ok());
  EXPECT_EQ(bad_code.status().where(), "MSA-1");
  auto not_hl7 = ReadAck("HTTP/1.1 200 OK");
  EXPECT_FALSE(not_hl7.ok());
  // A GBK ACK: text 张三 decoded to UTF-8.
  auto gbk =
      ReadAck("\x0bMSH|^~\\&|A|B|||1||ACK|1|P|2.4|||||CHN|GBK\rMSA|CR|M1|\xD5\xC5\xC8\xFD\r\x1c\r");
  ASSERT_TRUE(gbk.ok()) << gbk.status().ToString();
  EXPECT_EQ(gbk->code, "CR");
  EXPECT_EQ(gbk->control_id, "M1");
  EXPECT_EQ(gbk->text, "\xE5\xBC\xA0\xE4\xB8\x89");
}

}  // namespace
}  // namespace hie
