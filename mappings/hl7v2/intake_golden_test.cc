// Pins the bytes the MLLP intake produces from a message header: the MshInfo
// fields ReadMsh reads, the exact ACKs BuildAck writes and the error texts of
// ReadMsh / DecodeToUtf8, for tricky inputs (escaped delimiters, custom
// encoding characters, three-part HDs, missing fields, BOM and MLLP bytes,
// GB18030). The golden strings were recorded from the path-based reader and
// the Er7Builder-based ACK writer; the differential tests below compare the
// current code with those reference implementations (kept here) on random
// headers, so any byte that changes shows.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "mappings/hl7v2/ack.h"
#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/msh.h"
#include "mappings/hl7v2/pid.h"

namespace hie {
namespace {

std::string Hd(const HdParts& h) {
  return h.namespace_id + "/" + h.universal_id + "/" + h.universal_id_type;
}

// Every MshInfo field on one line.
std::string Dump(const MshInfo& m) {
  return "app=" + m.sending_application + "|fac=" + m.sending_facility +
         "|rapp=" + m.receiving_application + "|rfac=" + m.receiving_facility +
         "|dt=" + m.datetime + "|code=" + m.message_code + "|trig=" + m.trigger_event +
         "|struct=" + m.message_structure + "|type=" + m.message_type + "|ctl=" + m.control_id +
         "|proc=" + m.processing_id + "|ver=" + m.version + "|cs=" + m.charset +
         "|hd3=" + Hd(m.sending_application_hd) + "|hd4=" + Hd(m.sending_facility_hd) +
         "|hd5=" + Hd(m.receiving_application_hd) + "|hd6=" + Hd(m.receiving_facility_hd) +
         "|fs=" + std::string(1, m.delimiters.field) + "|enc=" + m.delimiters.EncodingCharacters();
}

std::string DumpRead(const Result<MshInfo>& r) {
  if (r.ok()) return Dump(*r);
  return std::string(ApiCode(r.status().code())) + " " + r.status().ToString();
}

// Golden cases: the fields read from tricky headers and the exact error texts,
// recorded from the path-based reader (before the direct field access) so a
// change of any byte shows.
constexpr const char* kGoldenMsh[] = {
    // 0: MLLP start byte, BOM, blank line; escaped delimiters, spaces and \X20\ around values
    "\x0b\xEF\xBB\xBF\r\nMSH|^~\\&|LIS\\F\\X^1.2\\S\\3^ISO|XQRMYY^2.16.156&x^L| HUB \\T\\ |  "
    "\\X20\\CTY\\X20\\ |"
    "20261122071818+0800^S||ORU^R\\S\\01^ORU_R01~ADT|C\\F\\1^a~b| P ^T|2.3.1^CHN|||||CHN|UNICODE "
    "UTF-8~GB 18030-2000\r"
    "PID|1||X^^^Y^MR\r",
    // 1: custom encoding characters # $ * ! @ and LF segment ends
    "MSH#$*!@#APP$U$T#FAC#!F!R$!S!#RFAC$$T#2026#!F!x#ADT$A04#ID!S!1!E!#D#2.5.1#####CHN#GBK\nPID#"
    "1\n",
    // 2: only a component separator: no escape, no repetition
    "MSH|^|A~1|B\\|C|D|1||ADT^A01|X\\Y~Z|P|2.5||||||GB18030~UTF-8\r",
    // 3: HD with three parts everywhere, CRLF
    "MSH|^~\\&|HIS^1.2.156.1^ISO|XQRMYY^1.2.156.2^ISO|HIE^1.3^DNS|CTY^1.4^ISO|20261122||ADT^A04^"
    "ADT_A01|M1|P|2.5|||||CHN|UNICODE UTF-8\r\nEVN|A04\r\n",
    // 4: HD parts missing in between, no trigger, no version, no processing id
    "MSH|^~\\&|HIS^^ISO|^1.2^|^^L||20261122||ACK|Z9\r",
    // 5: v2.4, MSH-18 in a later repetition only, embedded CR escape in control id
    "MSH|^~\\&|A|F&sub^u|R|RF|1||ADT^A08|\\X0D\\id\\.br\\|T|2.4|||||CHN|~GBK\r",
    // 6: no segment terminator at all
    "MSH|^~\\&|A|F|R|RF|1||ORU^R01|1|P|2.5",
    // 7: truncation character (v2.7), \P\ in a value
    "MSH|^~\\&#|A\\P\\B|F|R|RF|1||ORU^R01^ORU_R01|77#1|P|2.7\r",
};
constexpr const char* kGoldenMshRead[] = {
    "app=LIS|X|fac=XQRMYY|rapp=HUB "
    "&|rfac=CTY|dt=20261122071818+0800|code=ORU|trig=R^01|struct=ORU_R01|type=ORU^R^01|ctl=C|1^a~b|"
    "proc=P|ver=2.3.1|cs=UNICODE UTF-8|hd3=LIS|X/1.2^3/ISO|hd4=XQRMYY/2.16.156&x/L|hd5=HUB "
    "&//|hd6=CTY//|fs=||enc=^~\\&",
    "app=APP|fac=FAC|rapp=#R|rfac=RFAC|dt=2026|code=ADT|trig=A04|struct=|type=ADT^A04|ctl=ID$1!|"
    "proc=D|ver=2.5.1|cs=GBK|hd3=APP/U/T|hd4=FAC//|hd5=#R/$/|hd6=RFAC//T|fs=#|enc=$*!@",
    "app=A~1|fac=B\\|rapp=C|rfac=D|dt=1|code=ADT|trig=A01|struct=|type=ADT^A01|ctl=X\\Y~Z|proc=P|"
    "ver=2.5|cs=GB18030~UTF-8|hd3=A~1//|hd4=B\\//|hd5=C//|hd6=D//|fs=||enc=^",
    "app=HIS|fac=XQRMYY|rapp=HIE|rfac=CTY|dt=20261122|code=ADT|trig=A04|struct=ADT_A01|type=ADT^"
    "A04|ctl=M1|proc=P|ver=2.5|cs=UNICODE "
    "UTF-8|hd3=HIS/1.2.156.1/ISO|hd4=XQRMYY/1.2.156.2/ISO|hd5=HIE/1.3/DNS|hd6=CTY/1.4/"
    "ISO|fs=||enc=^~\\&",
    "app=HIS|fac=|rapp=|rfac=|dt=20261122|code=ACK|trig=|struct=|type=ACK|ctl=Z9|proc=|ver=|cs=|"
    "hd3=HIS//ISO|hd4=/1.2/|hd5=//L|hd6=//|fs=||enc=^~\\&",
    "app=A|fac=F&sub|rapp=R|rfac=RF|dt=1|code=ADT|trig=A08|struct=|type=ADT^A08|ctl=\rid\n|proc=T|"
    "ver=2.4|cs=|hd3=A//|hd4=F&sub/u/|hd5=R//|hd6=RF//|fs=||enc=^~\\&",
    "app=A|fac=F|rapp=R|rfac=RF|dt=1|code=ORU|trig=R01|struct=|type=ORU^R01|ctl=1|proc=P|ver=2.5|"
    "cs=|hd3=A//|hd4=F//|hd5=R//|hd6=RF//|fs=||enc=^~\\&",
    "app=A#B|fac=F|rapp=R|rfac=RF|dt=1|code=ORU|trig=R01|struct=ORU_R01|type=ORU^R01|ctl=77#1|proc="
    "P|ver=2.7|cs=|hd3=A#B//|hd4=F//|hd5=R//|hd6=RF//|fs=||enc=^~\\&#",
};
constexpr const char* kGoldenBadMsh[] = {
    "PID|1||X\r",
    "",
    "MSH",
    "MSH|",
    "MSH\r",
    "MSH |^~\\&|",
    "MSH|&&&&|A|B\r",
    "MSH||A|B\r",
    "MSHA^~\\&|",
    "MSH|^~\\&\r",
    "MSH|^~\\&|A|B|C|D|20240101||^A01|1|P|2.5\r",
    "MSH|^~\\&|A|B|C|D|20240101\r",
    "MSH|^~\\&|A|B|C|D|20240101||ADT^A01||P|2.5\r",
    "MSH|^~\\&|A|B|C|D|1||ADT^A01| \\X20\\ |P|2.5\r",
    "MSH|^~\\&|A|B|C|D|1|| \\X20\\^A01|1|P\r",
    "MSH|^~\\&|A|B|C|D|1||~ADT^A01|1|P\r",
    "MSH|^~\\&|A|B|C|D|1||\\S\\^A01|1|P\r",
    "\x0b\x0b  \r\n\xEF\xBB\xBF\xEF\xBB\xBFPID\r",
    "\xEF\xBB",
    "MSH|^~\\&abc|A\r",
    "MSH|^~\\&\x7f|A\r",
    "MSH\x7f^~\\&|A\r",
    "MSH1^~\\&|A\r",
};
constexpr const char* kGoldenBadMshRead[] = {
    "parse_error 报文必须以 MSH 段开头 (message must start with an MSH segment) (位置 where: MSH)",
    "parse_error 报文必须以 MSH 段开头 (message must start with an MSH segment) (位置 where: MSH)",
    "parse_error 缺少字段分隔符 (field separator missing) (位置 where: MSH-1)",
    "parse_error 编码字符无效 (invalid encoding characters): 应为 1-5 个字符 (1 to 5 expected) "
    "(位置 where: MSH-2)",
    "parse_error 缺少字段分隔符 (field separator missing) (位置 where: MSH-1)",
    "parse_error 字段分隔符无效 (invalid field separator) (位置 where: MSH-1)",
    "parse_error 编码字符无效或重复 (invalid or duplicate encoding characters) (位置 where: MSH-2)",
    "parse_error 编码字符无效 (invalid encoding characters): 应为 1-5 个字符 (1 to 5 expected) "
    "(位置 where: MSH-2)",
    "parse_error 字段分隔符无效 (invalid field separator) (位置 where: MSH-1)",
    "required_missing 缺少必填字段 MSH-9 消息类型 (required field missing: message type) (位置 "
    "where: MSH-9)",
    "required_missing 缺少必填字段 MSH-9 消息类型 (required field missing: message type) (位置 "
    "where: MSH-9)",
    "required_missing 缺少必填字段 MSH-9 消息类型 (required field missing: message type) (位置 "
    "where: MSH-9)",
    "required_missing 缺少必填字段 MSH-10 消息控制号 (required field missing: message control ID) "
    "(位置 where: MSH-10)",
    "required_missing 缺少必填字段 MSH-10 消息控制号 (required field missing: message control ID) "
    "(位置 where: MSH-10)",
    "required_missing 缺少必填字段 MSH-9 消息类型 (required field missing: message type) (位置 "
    "where: MSH-9)",
    "required_missing 缺少必填字段 MSH-9 消息类型 (required field missing: message type) (位置 "
    "where: MSH-9)",
    "app=A|fac=B|rapp=C|rfac=D|dt=1|code=^|trig=A01|struct=|type=^^A01|ctl=1|proc=P|ver=|cs=|hd3=A/"
    "/|hd4=B//|hd5=C//|hd6=D//|fs=||enc=^~\\&",
    "parse_error 报文必须以 MSH 段开头 (message must start with an MSH segment) (位置 where: MSH)",
    "parse_error 报文必须以 MSH 段开头 (message must start with an MSH segment) (位置 where: MSH)",
    "parse_error 编码字符无效 (invalid encoding characters): 应为 1-5 个字符 (1 to 5 expected) "
    "(位置 where: MSH-2)",
    "parse_error 编码字符无效或重复 (invalid or duplicate encoding characters) (位置 where: MSH-2)",
    "parse_error 字段分隔符无效 (invalid field separator) (位置 where: MSH-1)",
    "parse_error 字段分隔符无效 (invalid field separator) (位置 where: MSH-1)",
};

struct GoldenAck {
  int msh;  // index into kGoldenMsh (msh_test.cc), -1: no MSH
  AckCode code;
  ErrorCode err;
  const char* message;
  const char* where;
};
constexpr GoldenAck kGoldenAcks[] = {
    {0, AckCode::kAA, ErrorCode::kOk, "", ""},
    {0, AckCode::kAE, ErrorCode::kRequiredMissing,
     "缺少患者标识 PID-3 (patient identifier list missing)", "PID-3"},
    {1, AckCode::kAA, ErrorCode::kOk, "", ""},
    {1, AckCode::kAR, ErrorCode::kUnsupportedCharset, "第 4 字节 a|b^c~d\\e&f\r\ng", "MSH-18"},
    {2, AckCode::kAA, ErrorCode::kOk, "", ""},
    {2, AckCode::kAR, ErrorCode::kParseError, "连接在报文传输中断开 (truncated)", "MLLP"},
    {3, AckCode::kAA, ErrorCode::kOk, "", ""},
    {3, AckCode::kAE, ErrorCode::kOk, "", ""},
    {3, AckCode::kAR, ErrorCode::kTooLarge, "消息过大 (message too large): 9 字节",
     "Content-Length"},
    {4, AckCode::kAA, ErrorCode::kOk, "", ""},
    {4, AckCode::kAR, ErrorCode::kUnsupportedType, "", "OBX[2]-5[3].1.2"},
    {5, AckCode::kAA, ErrorCode::kOk, "", ""},
    {5, AckCode::kAR, ErrorCode::kUnknownFacility, "未登记的发送机构 (unknown facility) \"F\"",
     "MSH-4"},
    {5, AckCode::kAE, ErrorCode::kSegmentSequence, "x", "MSH"},
    {5, AckCode::kAE, ErrorCode::kInvalidArgument, "y", "PID[2]-3[2]"},
    {6, AckCode::kAA, ErrorCode::kOk, "", ""},
    {7, AckCode::kAA, ErrorCode::kOk, "", ""},
    {7, AckCode::kAR, ErrorCode::kUnsupportedVersion, "v", "MSH-12.1"},
    {-1, AckCode::kAR, ErrorCode::kParseError,
     "报文必须以 MSH 段开头 (message must start with an MSH segment)", "MSH"},
    {-1, AckCode::kAR, ErrorCode::kInternal, "", ""},
    {-1, AckCode::kAA, ErrorCode::kOk, "", ""},
    {-1, AckCode::kAE, ErrorCode::kConfigError, "c", "config.yaml:3"},
};
constexpr const char* kGoldenAckBytes[] = {
    "MSH|^~\\&|HUB "
    "\\T\\|CTY|LIS\\F\\X^1.2\\S\\3^ISO|XQRMYY^2.16.156\\T\\x^L|20261122071818||ACK^R\\S\\01^ACK|"
    "H1764000000123-7|P|2.3.1||||||UNICODE UTF-8\rMSA|AA|C\\F\\1\\S\\a\\R\\b\r",
    "MSH|^~\\&|HUB "
    "\\T\\|CTY|LIS\\F\\X^1.2\\S\\3^ISO|XQRMYY^2.16.156\\T\\x^L|20261122071818||ACK^R\\S\\01^ACK|"
    "H1764000000123-7|P|2.3.1||||||UNICODE UTF-8\rMSA|AE|C\\F\\1\\S\\a\\R\\b|缺少患者标识 PID-3 "
    "(patient identifier list missing) (位置 where: PID-3)\rERR|PID^1^3^101&required field "
    "missing&HL70357|PID^1^3|101^required field missing^HL70357|E||||缺少患者标识 PID-3 (patient "
    "identifier list missing) (位置 where: PID-3)\r",
    "MSH|^~\\&|#R^$^|RFAC^^T|APP^U^T|FAC|20261122071818||ACK^A04^ACK|H1764000000123-7|D|2.5.1||||||"
    "UNICODE UTF-8\rMSA|AA|ID$1!\r",
    "MSH|^~\\&|#R^$^|RFAC^^T|APP^U^T|FAC|20261122071818||ACK^A04^ACK|H1764000000123-7|D|2.5.1||||||"
    "UNICODE UTF-8\rMSA|AR|ID$1!|第 4 字节 a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\X0D\\\\.br\\g (位置 "
    "where: MSH-18)\rERR||MSH^1^18|207^unsupported character set^HL70357|E||||第 4 字节 "
    "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\X0D\\\\.br\\g (位置 where: MSH-18)\r",
    "MSH|^~\\&|C|D|A\\R\\1|B\\E\\|20261122071818||ACK^A01^ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AA|X\\E\\Y\\R\\Z\r",
    "MSH|^~\\&|C|D|A\\R\\1|B\\E\\|20261122071818||ACK^A01^ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AR|X\\E\\Y\\R\\Z|连接在报文传输中断开 (truncated) (位置 where: "
    "MLLP)\rERR|||102^parse error^HL70357|E||||连接在报文传输中断开 (truncated) (位置 where: "
    "MLLP)\r",
    "MSH|^~\\&|HIE^1.3^DNS|CTY^1.4^ISO|HIS^1.2.156.1^ISO|XQRMYY^1.2.156.2^ISO|20261122071818||ACK^"
    "A04^ACK|H1764000000123-7|P|2.5||||||UNICODE UTF-8\rMSA|AA|M1\r",
    "MSH|^~\\&|HIE^1.3^DNS|CTY^1.4^ISO|HIS^1.2.156.1^ISO|XQRMYY^1.2.156.2^ISO|20261122071818||ACK^"
    "A04^ACK|H1764000000123-7|P|2.5||||||UNICODE UTF-8\rMSA|AE|M1|内部错误 (internal "
    "error)\rERR|||207^internal error^HL70357|E||||内部错误 (internal error)\r",
    "MSH|^~\\&|HIE^1.3^DNS|CTY^1.4^ISO|HIS^1.2.156.1^ISO|XQRMYY^1.2.156.2^ISO|20261122071818||ACK^"
    "A04^ACK|H1764000000123-7|P|2.5||||||UNICODE UTF-8\rMSA|AR|M1|消息过大 (message too large): 9 "
    "字节 (位置 where: Content-Length)\rERR|||207^message too large^HL70357|E||||消息过大 (message "
    "too large): 9 字节 (位置 where: Content-Length)\r",
    "MSH|^~\\&|^^L|COUNTY-HIE|HIS|^1.2^|20261122071818||ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AA|Z9\r",
    "MSH|^~\\&|^^L|COUNTY-HIE|HIS|^1.2^|20261122071818||ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AR|Z9|不支持的消息类型 (unsupported message type) (位置 where: "
    "OBX[2]-5[3].1.2)\rERR||OBX^2^5^3^1^2|200^unsupported message "
    "type^HL70357|E||||不支持的消息类型 (unsupported message type) (位置 where: OBX[2]-5[3].1.2)\r",
    "MSH|^~\\&|R|RF|A|F\\T\\sub^u^|20261122071818||ACK^A08^ACK|H1764000000123-7|T|2.4||||||UNICODE "
    "UTF-8\rMSA|AA|\\X0D\\id\\.br\\\r",
    "MSH|^~\\&|R|RF|A|F\\T\\sub^u^|20261122071818||ACK^A08^ACK|H1764000000123-7|T|2.4||||||UNICODE "
    "UTF-8\rMSA|AR|\\X0D\\id\\.br\\|未登记的发送机构 (unknown facility) \"F\" (位置 where: "
    "MSH-4)\rERR|MSH^1^4^204&unknown facility&HL70357|MSH^1^4|204^unknown "
    "facility^HL70357|E||||未登记的发送机构 (unknown facility) \"F\" (位置 where: MSH-4)\r",
    "MSH|^~\\&|R|RF|A|F\\T\\sub^u^|20261122071818||ACK^A08^ACK|H1764000000123-7|T|2.4||||||UNICODE "
    "UTF-8\rMSA|AE|\\X0D\\id\\.br\\|x (位置 where: MSH)\rERR|MSH^1^^100&segment sequence "
    "error&HL70357|MSH^1|100^segment sequence error^HL70357|E||||x (位置 where: MSH)\r",
    "MSH|^~\\&|R|RF|A|F\\T\\sub^u^|20261122071818||ACK^A08^ACK|H1764000000123-7|T|2.4||||||UNICODE "
    "UTF-8\rMSA|AE|\\X0D\\id\\.br\\|y (位置 where: PID[2]-3[2])\rERR|PID^2^3^207&invalid "
    "argument&HL70357|PID^2^3|207^invalid argument^HL70357|E||||y (位置 where: PID[2]-3[2])\r",
    "MSH|^~\\&|R|RF|A|F|20261122071818||ACK^R01^ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AA|1\r",
    "MSH|^~\\&|R|RF|A#B|F|20261122071818||ACK^R01^ACK|H1764000000123-7|P|2.7||||||UNICODE "
    "UTF-8\rMSA|AA|77#1\r",
    "MSH|^~\\&|R|RF|A#B|F|20261122071818||ACK^R01^ACK|H1764000000123-7|P|2.7||||||UNICODE "
    "UTF-8\rMSA|AR|77#1|v (位置 where: MSH-12.1)\rERR||MSH^1^12^1^1|203^unsupported "
    "version^HL70357|E||||v (位置 where: MSH-12.1)\r",
    "MSH|^~\\&|COUNTY-HIE|COUNTY-HIE|||20261122071818||ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AR||报文必须以 MSH 段开头 (message must start with an MSH segment) (位置 where: "
    "MSH)\rERR||MSH^1|102^parse error^HL70357|E||||报文必须以 MSH 段开头 (message must start with "
    "an MSH segment) (位置 where: MSH)\r",
    "MSH|^~\\&|COUNTY-HIE|COUNTY-HIE|||20261122071818||ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AR||内部错误 (internal error)\rERR|||207^internal error^HL70357|E||||内部错误 "
    "(internal error)\r",
    "MSH|^~\\&|COUNTY-HIE|COUNTY-HIE|||20261122071818||ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AA|\r",
    "MSH|^~\\&|COUNTY-HIE|COUNTY-HIE|||20261122071818||ACK|H1764000000123-7|P|2.5||||||UNICODE "
    "UTF-8\rMSA|AE||c (位置 where: config.yaml:3)\rERR|||207^configuration error^HL70357|E||||c "
    "(位置 where: config.yaml:3)\r",
};

struct CharsetCase {
  const char* bytes;
  size_t size;  // bytes may hold NUL
  const char* label;
};
#define CS(s, label) \
  { s, sizeof(s) - 1, label }
constexpr CharsetCase kCharsets[] = {
    CS("MSH|^~\\&|A\rPID|1||||\xD5\xC5\xC8\xFD\r", "GB 18030-2000"),
    CS("MSH|^~\\&|A\rPID|1||||\xD5\xC5\xC8\xFD\x81\r", "GB18030"),
    CS("ab\xD5\xC5\xC8\xFD\x81", "GBK"),
    CS("MSH|^~\\&|A\rPID|1||||\xE5\xBC\xA0\xE4\xB8\x89\r", "UNICODE UTF-8"),
    CS("MSH|^~\\&|A\rPID|1||||\xD5\xC5\xC8\xFD\r", "UNICODE UTF-8"),
    CS("MSH|^~\\&|A\rPID|1||||\xD5\xC5\xC8\xFD\r", ""),
    CS("0123456789abcdef0123456789\xE5\xBC\xA0\xE4\xB8", "UTF-8"),
    CS("0123456\xED\xA0\x80", "UTF-8"),
    CS("01234567\xF4\x90\x80\x80xxxxxxxx", "UTF8"),
    CS("\xC0\x80", "ASCII"),
    CS("abc\xE5\xBC\xA0", "ASCII"),
    CS("abc\0def\xFF", "UTF-8"),
    CS("plain ascii only", "GB18030"),
    CS("5 \xB5g", "8859/1"),
    CS("5 \xB5g", "ISO-8859-5"),
    CS("x", "EBCDIC"),
    CS("\xA1\xA1\xFF\xFF", "BIG5"),
};
#undef CS
constexpr const char* kCharsetResults[] = {
    "ok MSH|^~\\&|A\rPID|1||||张三\r",
    "unsupported_charset 第 24 字节不是合法的 GB18030 编码 (invalid GB18030 byte at offset "
    "24)；请核对 MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) "
    "(位置 where: MSH-18)",
    "unsupported_charset 第 6 字节不是合法的 GB18030 编码 (invalid GB18030 byte at offset "
    "6)；请核对 MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) "
    "(位置 where: MSH-18)",
    "ok MSH|^~\\&|A\rPID|1||||张三\r",
    "unsupported_charset 第 20 字节不是合法的 UTF-8 编码 (invalid UTF-8 byte at offset 20)；请核对 "
    "MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) (位置 where: "
    "MSH-18)",
    "unsupported_charset 第 20 字节不是合法的 UTF-8 编码 (invalid UTF-8 byte at offset 20)；请核对 "
    "MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) (位置 where: "
    "MSH-18)",
    "unsupported_charset 第 29 字节不是合法的 UTF-8 编码 (invalid UTF-8 byte at offset 29)；请核对 "
    "MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) (位置 where: "
    "MSH-18)",
    "unsupported_charset 第 7 字节不是合法的 UTF-8 编码 (invalid UTF-8 byte at offset 7)；请核对 "
    "MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) (位置 where: "
    "MSH-18)",
    "unsupported_charset 第 8 字节不是合法的 UTF-8 编码 (invalid UTF-8 byte at offset 8)；请核对 "
    "MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) (位置 where: "
    "MSH-18)",
    "unsupported_charset 第 0 字节不是合法的 ASCII 编码 (invalid ASCII byte at offset 0)；请核对 "
    "MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) (位置 where: "
    "MSH-18)",
    "ok abc张",
    "unsupported_charset 第 7 字节不是合法的 UTF-8 编码 (invalid UTF-8 byte at offset 7)；请核对 "
    "MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) (位置 where: "
    "MSH-18)",
    "ok plain ascii only",
    "ok 5 µg",
    "ok 5 Еg",
    "unsupported_charset 不支持的字符集 (unsupported character set) 'EBCDIC' (位置 where: MSH-18)",
    "unsupported_charset 第 2 字节不是合法的 BIG5 编码 (invalid BIG5 byte at offset 2)；请核对 "
    "MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's charset setting) (位置 where: "
    "MSH-18)",
};

TEST(IntakeGolden, ReadMshFields) {
  static_assert(std::size(kGoldenMsh) == std::size(kGoldenMshRead));
  for (size_t i = 0; i < std::size(kGoldenMsh); ++i) {
    EXPECT_EQ(DumpRead(ReadMsh(kGoldenMsh[i])), kGoldenMshRead[i]) << "case " << i;
  }
}

TEST(IntakeGolden, ReadMshErrors) {
  static_assert(std::size(kGoldenBadMsh) == std::size(kGoldenBadMshRead));
  for (size_t i = 0; i < std::size(kGoldenBadMsh); ++i) {
    EXPECT_EQ(DumpRead(ReadMsh(kGoldenBadMsh[i])), kGoldenBadMshRead[i]) << "case " << i;
  }
}

TEST(IntakeGolden, AckBytes) {
  static_assert(std::size(kGoldenAcks) == std::size(kGoldenAckBytes));
  for (size_t i = 0; i < std::size(kGoldenAcks); ++i) {
    const GoldenAck& a = kGoldenAcks[i];
    Result<MshInfo> msh = Status(ErrorCode::kParseError, "none");
    if (a.msh >= 0) msh = ReadMsh(kGoldenMsh[a.msh]);
    ASSERT_TRUE(a.msh < 0 || msh.ok()) << "case " << i;
    const Status st = a.err == ErrorCode::kOk ? Status::Ok() : Status(a.err, a.message, a.where);
    EXPECT_EQ(
        BuildAck(a.msh >= 0 ? &*msh : nullptr, a.code, st, "H1764000000123-7", "20261122071818"),
        kGoldenAckBytes[i])
        << "case " << i;
  }
}

TEST(IntakeGolden, CharsetTexts) {
  static_assert(std::size(kCharsets) == std::size(kCharsetResults));
  for (size_t i = 0; i < std::size(kCharsets); ++i) {
    const CharsetCase& c = kCharsets[i];
    auto r = DecodeToUtf8(std::string_view(c.bytes, c.size), c.label);
    const std::string got =
        r.ok() ? "ok " + *r : std::string(ApiCode(r.status().code())) + " " + r.status().ToString();
    EXPECT_EQ(got, kCharsetResults[i]) << "case " << i;
  }
}

// ------------------------------------------------- reference implementations
// The path-based ReadMsh, the Er7Builder-based BuildAck and the byte-by-byte
// UTF-8 check as they were before the intake fast paths.

std::string RefTrim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

HdParts RefReadHd(const Er7Message& m, const std::string& base) {
  HdParts hd;
  hd.namespace_id = RefTrim(m.Decoded(base + ".1"));
  hd.universal_id = RefTrim(m.Decoded(base + ".2"));
  hd.universal_id_type = RefTrim(m.Decoded(base + ".3"));
  return hd;
}

Result<MshInfo> RefReadMsh(std::string_view raw) {
  size_t start = 0;
  for (;;) {
    if (start < raw.size() &&
        (raw[start] == '\x0b' || raw[start] == ' ' || raw[start] == '\r' || raw[start] == '\n')) {
      ++start;
    } else if (raw.substr(start, 3) == "\xEF\xBB\xBF") {
      start += 3;
    } else {
      break;
    }
  }
  size_t eol = raw.find_first_of("\r\n", start);
  std::string_view line =
      raw.substr(start, eol == std::string_view::npos ? raw.size() - start : eol - start);
  HIE_ASSIGN_OR_RETURN(Er7Message m, Er7Message::Parse(line));
  MshInfo info;
  info.delimiters = m.delimiters();
  info.sending_application_hd = RefReadHd(m, "MSH-3");
  info.sending_facility_hd = RefReadHd(m, "MSH-4");
  info.receiving_application_hd = RefReadHd(m, "MSH-5");
  info.receiving_facility_hd = RefReadHd(m, "MSH-6");
  info.sending_application = info.sending_application_hd.namespace_id;
  info.sending_facility = info.sending_facility_hd.namespace_id;
  info.receiving_application = info.receiving_application_hd.namespace_id;
  info.receiving_facility = info.receiving_facility_hd.namespace_id;
  info.datetime = RefTrim(m.Decoded("MSH-7.1"));
  info.message_code = RefTrim(m.Decoded("MSH-9.1"));
  if (info.message_code.empty()) {
    return Status(ErrorCode::kRequiredMissing,
                  "缺少必填字段 MSH-9 消息类型 (required field missing: message type)", "MSH-9");
  }
  info.trigger_event = RefTrim(m.Decoded("MSH-9.2"));
  info.message_structure = RefTrim(m.Decoded("MSH-9.3"));
  info.message_type =
      info.trigger_event.empty() ? info.message_code : info.message_code + "^" + info.trigger_event;
  info.control_id = RefTrim(m.Decoded("MSH-10"));
  if (info.control_id.empty()) {
    return Status(ErrorCode::kRequiredMissing,
                  "缺少必填字段 MSH-10 消息控制号 (required field missing: message control ID)",
                  "MSH-10");
  }
  info.processing_id = RefTrim(m.Decoded("MSH-11.1"));
  info.version = RefTrim(m.Decoded("MSH-12.1"));
  info.charset = RefTrim(m.Decoded("MSH-18[1]"));
  return info;
}

std::string RefEnglishText(ErrorCode code) {
  std::string_view t = DefaultText(code);
  size_t open = t.rfind('(');
  size_t close = t.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::string(t);
  }
  return std::string(t.substr(open + 1, close - open - 1));
}

void RefSetHd(Er7Builder& b, const std::string& field, const HdParts* hd) {
  if (hd == nullptr || hd->empty()) {
    (void)b.Set(field + ".1", "COUNTY-HIE");
    return;
  }
  (void)b.Set(field + ".1", hd->namespace_id);
  if (!hd->universal_id.empty() || !hd->universal_id_type.empty()) {
    (void)b.Set(field + ".2", hd->universal_id);
    (void)b.Set(field + ".3", hd->universal_id_type);
  }
}

std::string RefBuildAck(const MshInfo* msh, AckCode code, const Status& given_error,
                        std::string_view ack_control_id, std::string_view timestamp) {
  Er7Builder b;
  b.AddSegment("MSH");
  b.AddSegment("MSA");
  if (code != AckCode::kAA) b.AddSegment("ERR");
  auto set = [&](std::string_view path, std::string_view v) { EXPECT_TRUE(b.Set(path, v).ok()); };
  const std::string version = msh && !msh->version.empty() ? msh->version : "2.5";
  RefSetHd(b, "MSH-3", msh ? &msh->receiving_application_hd : nullptr);
  RefSetHd(b, "MSH-4", msh ? &msh->receiving_facility_hd : nullptr);
  if (msh != nullptr) {
    set("MSH-5.1", msh->sending_application_hd.namespace_id);
    if (!msh->sending_application_hd.universal_id.empty()) {
      set("MSH-5.2", msh->sending_application_hd.universal_id);
      set("MSH-5.3", msh->sending_application_hd.universal_id_type);
    }
    set("MSH-6.1", msh->sending_facility_hd.namespace_id);
    if (!msh->sending_facility_hd.universal_id.empty()) {
      set("MSH-6.2", msh->sending_facility_hd.universal_id);
      set("MSH-6.3", msh->sending_facility_hd.universal_id_type);
    }
  }
  set("MSH-7", timestamp);
  set("MSH-9.1", "ACK");
  if (msh != nullptr && !msh->trigger_event.empty()) {
    set("MSH-9.2", msh->trigger_event);
    set("MSH-9.3", "ACK");
  }
  set("MSH-10", ack_control_id);
  set("MSH-11", msh && !msh->processing_id.empty() ? msh->processing_id : "P");
  set("MSH-12", version);
  set("MSH-18", "UNICODE UTF-8");
  set("MSA-1", AckCodeText(code));
  set("MSA-2", msh ? msh->control_id : "");
  if (code == AckCode::kAA) return b.Serialize();

  const Status error = given_error.ok() ? Status(ErrorCode::kInternal, "") : given_error;
  const std::string hl7_code(Hl7ErrorCode(error.code()));
  const std::string english = RefEnglishText(error.code());
  set("MSA-3", error.ToString());
  auto loc = Er7Path::Parse(error.where());
  if (loc.ok()) {
    set("ERR-2.1", loc->segment_id());
    set("ERR-2.2", std::to_string(loc->occurrence));
    if (loc->field != 0) set("ERR-2.3", std::to_string(loc->field));
    if (loc->component != 0) {
      set("ERR-2.4", std::to_string(std::max(1u, loc->repetition)));
      set("ERR-2.5", std::to_string(loc->component));
      if (loc->subcomponent != 0) set("ERR-2.6", std::to_string(loc->subcomponent));
    }
  }
  const std::string_view v3 = std::string_view(version).substr(0, 3);
  if (v3 == "2.1" || v3 == "2.2" || v3 == "2.3" || v3 == "2.4") {
    if (loc.ok()) {
      set("ERR-1.1", loc->segment_id());
      set("ERR-1.2", std::to_string(loc->occurrence));
      if (loc->field != 0) set("ERR-1.3", std::to_string(loc->field));
    }
    set("ERR-1.4.1", hl7_code);
    set("ERR-1.4.2", english);
    set("ERR-1.4.3", "HL70357");
  }
  set("ERR-3.1", hl7_code);
  set("ERR-3.2", english);
  set("ERR-3.3", "HL70357");
  set("ERR-4", "E");
  set("ERR-8", error.ToString());
  return b.Serialize();
}

size_t RefFindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

std::string RefUpper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string RefPatientKey(const Er7Message& msg, std::string_view facility) {
  auto pid = msg.FindSegment("PID");
  if (!pid) return {};
  const Er7Delimiters& d = msg.delimiters();
  std::string ni, first_id, first_auth;
  for (size_t field : {3, 2}) {
    std::string_view f = msg.field(*pid, field);
    const size_t reps = Er7PieceCount(f, d.repetition);
    for (size_t r = 1; r <= reps; ++r) {
      std::string_view cx = Er7Piece(f, d.repetition, r);
      std::string id = RefTrim(Er7Unescape(Er7Piece(cx, d.component, 1), d));
      if (id.empty() || id == "\"\"") continue;
      std::string type = RefUpper(RefTrim(Er7Unescape(Er7Piece(cx, d.component, 5), d)));
      if (type == "MR") return "MR:" + std::string(facility) + ":" + id;
      if (type == "NI" && ni.empty()) ni = id;
      if (first_id.empty()) {
        first_id = id;
        first_auth =
            RefTrim(Er7Unescape(Er7Piece(Er7Piece(cx, d.component, 4), d.subcomponent, 1), d));
      }
    }
    if (!ni.empty()) return "NI:" + ni;
    if (!first_id.empty()) return "ID:" + first_auth + ":" + first_id;
  }
  return {};
}

// ------------------------------------------------------------ random inputs

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  template <typename T, size_t N>
  const T& Pick(const T (&a)[N]) {
    return a[Below(N)];
  }

  // A field value: text, spaces, escapes (good and bad) and delimiters.
  std::string Value(const std::string& enc) {
    const char esc = enc.size() > 2 ? enc[2] : '\\';
    static const char* kWords[] = {
        "A", "HIS", "1.2.156", "ISO", " ",  "  ", "\t",  "中文", "ADT",           "A04", "x y",
        "#", "&",   "^",       "~",   "\\", "|",  "2.4", "2.5",  "UNICODE UTF-8", "GBK"};
    static const char* kEscapes[] = {"F",   "S", "T", "R",  "E",  "P",    "X20",  "X0D",
                                     ".br", "H", "N", "X4", "Z1", ".sp2", "C2842"};
    std::string v;
    for (size_t n = Below(5); n > 0; --n) {
      switch (Below(4)) {
        case 0:
          v += std::string(1, esc) + Pick(kEscapes) + std::string(1, esc);
          break;
        case 1:
          if (!enc.empty()) v += enc[Below(enc.size())];
          break;
        default:
          v += Pick(kWords);
      }
    }
    if (Below(20) == 0) v += esc;  // unterminated escape
    return v;
  }

  std::string MshLine() {
    static const char* kEnc[] = {"^~\\&", "^~\\&", "^~\\&", "^~\\&#", "$*!@",   "^",
                                 "^~",    "^~\\",  "^^",    "",       "^~\\&ab"};
    static const char* kFs[] = {"|", "|", "|", "#", "!", "A", " "};
    static const char* kPrefix[] = {"", "", "\x0b", "\xEF\xBB\xBF", "\r\n", " \x0b\r"};
    static const char* kEnd[] = {"\r", "\n", "\r\n", "", "\rPID|1||X\r"};
    const std::string fs = Pick(kFs);
    const std::string enc = Pick(kEnc);
    std::string line = std::string(Pick(kPrefix)) + "MSH" + fs + enc;
    const bool usable = Below(4) != 0;  // a message type and control id
    const size_t fields = usable ? 8 + Below(10) : Below(18);
    for (size_t f = 3; f < 3 + fields; ++f) {
      line += fs;
      const char comp = enc.empty() ? '^' : enc[0];
      if (usable && f == 9) {
        line += Below(2) ? "ADT" : Value(enc) + "O";
        if (Below(2)) line += comp + Value(enc);
        continue;
      }
      if (usable && f == 10) line += "C";
      const size_t comps = Below(4);
      for (size_t c = 0; c < comps; ++c) {
        if (c > 0) line += comp;
        line += Value(enc);
      }
    }
    return line + Pick(kEnd);
  }

  Status Error() {
    static const char* kWhere[] = {"",
                                   "MSH",
                                   "MSH-9",
                                   "MSH-18",
                                   "PID-3",
                                   "PID[2]-3[2].4.5",
                                   "OBX[10]-5.1.2",
                                   "MLLP",
                                   "Content-Length",
                                   "segment 4",
                                   "config.yaml:3",
                                   "PID-0",
                                   "PID-3.0",
                                   "pid-3",
                                   "PID-12345678",
                                   "ERR-1",
                                   "MSH-12.1",
                                   "ZZ1-2[3]"};
    if (Below(8) == 0) return Status::Ok();
    const auto code = static_cast<ErrorCode>(1 + Below(20));
    return Status(code, Below(4) == 0 ? std::string() : Value("^~\\&"), Pick(kWhere));
  }

 private:
  std::mt19937 rng_;
};

TEST(IntakeDifferential, ReadMshMatchesPathReader) {
  Gen g(20261202);
  size_t ok = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string line = g.MshLine();
    const auto got = ReadMsh(line);
    ASSERT_EQ(DumpRead(got), DumpRead(RefReadMsh(line)))
        << "line " << ::testing::PrintToString(line);
    ok += got.ok();
  }
  EXPECT_GT(ok, 1000u);  // the generator reaches the happy path often
}

TEST(IntakeDifferential, AckMatchesBuilder) {
  Gen g(4242);
  for (int i = 0; i < 3000; ++i) {
    const std::string line = g.MshLine();
    auto msh = ReadMsh(line);
    MshInfo info;
    if (msh.ok()) info = *msh;
    if (g.Below(3) == 0) {  // values ReadMsh cannot produce (CR, LF, raw delimiters)
      for (HdParts* hd : {&info.sending_application_hd, &info.sending_facility_hd,
                          &info.receiving_application_hd, &info.receiving_facility_hd}) {
        if (g.Below(2)) hd->namespace_id = g.Value("^~\\&") + "\r\n";
        if (g.Below(2)) hd->universal_id = g.Value("^~\\&");
        if (g.Below(2)) hd->universal_id_type = g.Value("#$*!");
      }
      info.trigger_event = g.Below(2) ? g.Value("^~\\&") : "";
      info.control_id = g.Value("^~\\&") + "\n";
      info.processing_id = g.Below(2) ? g.Value("|") : "";
      static const char* kVersions[] = {"",    "2.1",  "2.2", "2.3", "2.3.1", "2.4",
                                        "2.5", "2.51", "2",   "2.",  "3.0",   "2.4^x"};
      info.version = g.Pick(kVersions);
    }
    const bool have = msh.ok() || g.Below(2) == 0;
    const MshInfo* p = have ? &info : nullptr;
    for (AckCode code : {AckCode::kAA, AckCode::kAE, AckCode::kAR}) {
      const Status st = code == AckCode::kAA ? Status::Ok() : g.Error();
      const std::string id = g.Below(2) ? "H1764000000123-7" : g.Value("^~\\&");
      const std::string ts = g.Below(2) ? "20261122071818" : g.Value("^~\\&");
      ASSERT_EQ(BuildAck(p, code, st, id, ts), RefBuildAck(p, code, st, id, ts))
          << "line " << ::testing::PrintToString(line) << " error " << st.ToString();
    }
  }
}

TEST(IntakeDifferential, Utf8CheckMatchesByteByByte) {
  Gen g(7);
  static const char* kPieces[] = {
      "a",
      "0123456789abcdef",
      "MSH|^~\\&|",
      "\r",
      "" /* a NUL byte */,
      "\xE5\xBC\xA0",
      "\xC2\xB5",
      "\xF0\xA0\x80\x80",
      "\xF4\x8F\xBF\xBF",
      "\xEF\xBF\xBD",
      "\x80",
      "\xBF",
      "\xC0\x80",
      "\xC1\xBF",
      "\xE0\x80\xAF",
      "\xED\xA0\x80",
      "\xF4\x90\x80\x80",
      "\xF5\x80\x80\x80",
      "\xFF",
      "\xE5\xBC",
      "\xF0\xA0\x80",
      "\xC2",
      "\xE5"
      "a\xBC",
  };
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    for (size_t n = g.Below(12); n > 0; --n) {
      const char* p = g.Pick(kPieces);
      s += *p == '\0' ? std::string(1, '\0') : std::string(p);
      if (g.Below(3) == 0) s.append(g.Below(20), 'x');
    }
    const size_t want = RefFindInvalidUtf8(s);
    ASSERT_EQ(FindInvalidUtf8(s), want) << ::testing::PrintToString(s);
    for (const char* label : {"UNICODE UTF-8", "", "ASCII"}) {
      auto r = DecodeToUtf8(s, label);
      ASSERT_EQ(r.ok(), want == std::string_view::npos) << ::testing::PrintToString(s);
      if (r.ok()) {
        ASSERT_EQ(*r, s);
      } else {
        ASSERT_NE(r.status().message().find("offset " + std::to_string(want) + ")"),
                  std::string::npos)
            << r.status().message();
      }
    }
  }
}

// Er7Message::Parse scans eight bytes a step: fields of every length around
// that step, bytes that look like stop bytes in a word (0x0C, 0x0E, 0x7B,
// high bytes), and runs of empty fields (more fields than the first guess
// of the field table) split exactly as a byte-by-byte split does.
TEST(IntakeDifferential, ParseSplitsLikeNaiveSplit) {
  Gen g(99);
  static const char kBytes[] = {'a',    'Z',    '0',    ' ',    '^',    '~',    '\\',
                                '&',    '\x0c', '\x0e', '\x7b', '\x7d', '\x8d', '\x8a',
                                '\xfc', '\x00', '\x01', '\xff', '#'};
  for (int i = 0; i < 3000; ++i) {
    const char fs = g.Below(4) == 0 ? '#' : '|';
    const std::string term = g.Below(3) == 0 ? "\n" : "\r";
    std::vector<std::vector<std::string>> segs;  // [seg][field], field 0 = id
    std::string text;
    const size_t nseg = 1 + g.Below(6);
    for (size_t si = 0; si < nseg; ++si) {
      std::vector<std::string> fields;
      fields.push_back(si == 0 ? "MSH" : g.Below(2) ? "OBX" : "ZP1");
      if (si == 0) fields.push_back("^~\\&");  // MSH-2
      const size_t nf = g.Below(8) == 0 ? 200 + g.Below(400) : g.Below(30);
      for (size_t f = 0; f < nf; ++f) {
        std::string v;
        const size_t len = g.Below(3) == 0 ? 0 : g.Below(24);
        for (size_t k = 0; k < len; ++k) {
          char c = g.Pick(kBytes);
          if (c == fs) c = 'x';
          v += c;
        }
        fields.push_back(v);
      }
      for (size_t f = 0; f < fields.size(); ++f) {
        if (f > 0) text += fs;
        text += fields[f];
      }
      text += term;
      segs.push_back(std::move(fields));
    }
    auto m = Er7Message::Parse(text);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_EQ(m->segment_count(), segs.size());
    for (size_t si = 0; si < segs.size(); ++si) {
      const auto& fields = segs[si];
      // MSH counts the separator itself as MSH-1: its fields shift by one.
      const size_t shift = si == 0 ? 1 : 0;
      ASSERT_EQ(m->field_count(si), fields.size() - 1 + shift) << si;
      if (si == 0) {
        EXPECT_EQ(m->field(0, 1), std::string(1, fs));
      }
      for (size_t f = 1; f < fields.size(); ++f) {
        ASSERT_EQ(m->field(si, f + shift), fields[f]) << "segment " << si << " field " << f;
      }
    }
    EXPECT_EQ(m->Serialize(), text);
  }
}

TEST(IntakeDifferential, PatientKeyMatchesReference) {
  Gen g(31337);
  static const char* kParts[] = {"MR",
                                 "mr",
                                 "Mr",
                                 " MR ",
                                 "NI",
                                 "ni",
                                 "PI",
                                 "\"\"",
                                 "",
                                 " ",
                                 "\t",
                                 "A123",
                                 "110101199001011234",
                                 "\\X4D\\R",
                                 "\\T\\",
                                 "HOSP&1.2&ISO",
                                 " H ",
                                 "M",
                                 "MRN",
                                 "N\\E\\I"};
  for (int i = 0; i < 4000; ++i) {
    std::string pid = "PID|1|";
    for (int field = 2; field <= 3; ++field) {
      for (size_t r = 0, reps = g.Below(4); r < reps; ++r) {
        if (r > 0) pid += '~';
        for (size_t c = 0, comps = g.Below(6); c < comps; ++c) {
          if (c > 0) pid += '^';
          pid += g.Pick(kParts);
          if (g.Below(3) == 0) pid += g.Pick(kParts);
        }
      }
      if (field == 2) pid += '|';
    }
    const std::string text = "MSH|^~\\&|A|F|||1||ADT^A04|1|P|2.5\r" + pid + "\r";
    auto m = Er7Message::Parse(text);
    ASSERT_TRUE(m.ok()) << text;
    const std::string facility = g.Below(2) ? "XQRMYY" : "";
    ASSERT_EQ(PatientKey(*m, facility), RefPatientKey(*m, facility)) << text;
  }
}

}  // namespace
}  // namespace hie
