#include "mappings/hl7v2/ack.h"

#include <algorithm>

#include "mappings/hl7v2/charset.h"
#include "mappings/hl7v2/er7.h"

namespace hie {
namespace {

constexpr std::string_view kHubName = "COUNTY-HIE";

// "报文无法解析 (parse error)" -> "parse error".
std::string EnglishText(ErrorCode code) {
  std::string_view t = DefaultText(code);
  size_t open = t.rfind('(');
  size_t close = t.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::string(t);
  }
  return std::string(t.substr(open + 1, close - open - 1));
}

Status SetHd(Er7Builder& b, const std::string& field, const HdParts* hd) {
  if (hd == nullptr || hd->empty()) return b.Set(field + ".1", kHubName);
  HIE_RETURN_IF_ERROR(b.Set(field + ".1", hd->namespace_id));
  if (!hd->universal_id.empty() || !hd->universal_id_type.empty()) {
    HIE_RETURN_IF_ERROR(b.Set(field + ".2", hd->universal_id));
    HIE_RETURN_IF_ERROR(b.Set(field + ".3", hd->universal_id_type));
  }
  return Status::Ok();
}

bool OldVersion(std::string_view v) {
  return v.substr(0, 3) == "2.1" || v.substr(0, 3) == "2.2" || v.substr(0, 3) == "2.3" ||
         v.substr(0, 3) == "2.4";
}

Status Fill(Er7Builder& b, const MshInfo* msh, AckCode code, const Status& given_error,
            std::string_view ack_control_id, std::string_view timestamp) {
  const std::string version = msh && !msh->version.empty() ? msh->version : "2.5";
  HIE_RETURN_IF_ERROR(SetHd(b, "MSH-3", msh ? &msh->receiving_application_hd : nullptr));
  HIE_RETURN_IF_ERROR(SetHd(b, "MSH-4", msh ? &msh->receiving_facility_hd : nullptr));
  if (msh != nullptr) {
    HIE_RETURN_IF_ERROR(b.Set("MSH-5.1", msh->sending_application_hd.namespace_id));
    if (!msh->sending_application_hd.universal_id.empty()) {
      HIE_RETURN_IF_ERROR(b.Set("MSH-5.2", msh->sending_application_hd.universal_id));
      HIE_RETURN_IF_ERROR(b.Set("MSH-5.3", msh->sending_application_hd.universal_id_type));
    }
    HIE_RETURN_IF_ERROR(b.Set("MSH-6.1", msh->sending_facility_hd.namespace_id));
    if (!msh->sending_facility_hd.universal_id.empty()) {
      HIE_RETURN_IF_ERROR(b.Set("MSH-6.2", msh->sending_facility_hd.universal_id));
      HIE_RETURN_IF_ERROR(b.Set("MSH-6.3", msh->sending_facility_hd.universal_id_type));
    }
  }
  HIE_RETURN_IF_ERROR(b.Set("MSH-7", timestamp));
  HIE_RETURN_IF_ERROR(b.Set("MSH-9.1", "ACK"));
  if (msh != nullptr && !msh->trigger_event.empty()) {
    HIE_RETURN_IF_ERROR(b.Set("MSH-9.2", msh->trigger_event));
    HIE_RETURN_IF_ERROR(b.Set("MSH-9.3", "ACK"));
  }
  HIE_RETURN_IF_ERROR(b.Set("MSH-10", ack_control_id));
  HIE_RETURN_IF_ERROR(
      b.Set("MSH-11", msh && !msh->processing_id.empty() ? msh->processing_id : "P"));
  HIE_RETURN_IF_ERROR(b.Set("MSH-12", version));
  HIE_RETURN_IF_ERROR(b.Set("MSH-18", "UNICODE UTF-8"));

  HIE_RETURN_IF_ERROR(b.Set("MSA-1", AckCodeText(code)));
  HIE_RETURN_IF_ERROR(b.Set("MSA-2", msh ? msh->control_id : ""));
  if (code == AckCode::kAA) return Status::Ok();

  const Status error = given_error.ok() ? Status(ErrorCode::kInternal, "") : given_error;
  const std::string hl7_code(Hl7ErrorCode(error.code()));
  const std::string english = EnglishText(error.code());
  HIE_RETURN_IF_ERROR(b.Set("MSA-3", error.ToString()));

  auto loc = Er7Path::Parse(error.where());
  if (loc.ok()) {
    HIE_RETURN_IF_ERROR(b.Set("ERR-2.1", loc->segment_id()));
    HIE_RETURN_IF_ERROR(b.Set("ERR-2.2", std::to_string(loc->occurrence)));
    if (loc->field != 0) HIE_RETURN_IF_ERROR(b.Set("ERR-2.3", std::to_string(loc->field)));
    if (loc->component != 0) {
      HIE_RETURN_IF_ERROR(b.Set("ERR-2.4", std::to_string(std::max(1u, loc->repetition))));
      HIE_RETURN_IF_ERROR(b.Set("ERR-2.5", std::to_string(loc->component)));
      if (loc->subcomponent != 0) {
        HIE_RETURN_IF_ERROR(b.Set("ERR-2.6", std::to_string(loc->subcomponent)));
      }
    }
  }
  if (OldVersion(version)) {  // ERR-1 (ELD), the only ERR field before v2.5
    if (loc.ok()) {
      HIE_RETURN_IF_ERROR(b.Set("ERR-1.1", loc->segment_id()));
      HIE_RETURN_IF_ERROR(b.Set("ERR-1.2", std::to_string(loc->occurrence)));
      if (loc->field != 0) HIE_RETURN_IF_ERROR(b.Set("ERR-1.3", std::to_string(loc->field)));
    }
    HIE_RETURN_IF_ERROR(b.Set("ERR-1.4.1", hl7_code));
    HIE_RETURN_IF_ERROR(b.Set("ERR-1.4.2", english));
    HIE_RETURN_IF_ERROR(b.Set("ERR-1.4.3", "HL70357"));
  }
  HIE_RETURN_IF_ERROR(b.Set("ERR-3.1", hl7_code));
  HIE_RETURN_IF_ERROR(b.Set("ERR-3.2", english));
  HIE_RETURN_IF_ERROR(b.Set("ERR-3.3", "HL70357"));
  HIE_RETURN_IF_ERROR(b.Set("ERR-4", "E"));
  return b.Set("ERR-8", error.ToString());
}

}  // namespace

std::string_view AckCodeText(AckCode code) {
  switch (code) {
    case AckCode::kAA:
      return "AA";
    case AckCode::kAE:
      return "AE";
    case AckCode::kAR:
      return "AR";
  }
  return "AR";
}

std::string BuildAck(const MshInfo* msh, AckCode code, const Status& error,
                     std::string_view ack_control_id, std::string_view timestamp) {
  Er7Builder b;
  b.AddSegment("MSH");
  b.AddSegment("MSA");
  if (code != AckCode::kAA) b.AddSegment("ERR");
  // Every path above is well formed and every segment exists, so Set cannot
  // fail; a failure would be a programming error caught by the tests.
  Status st = Fill(b, msh, code, error, ack_control_id, timestamp);
  (void)st;
  return b.Serialize();
}

Result<AckInfo> ReadAck(std::string_view ack) {
  HIE_ASSIGN_OR_RETURN(Er7Message m, Er7Message::Parse(ack));
  std::string decoded;
  const std::string label = m.Decoded("MSH-18[1]");
  auto cs = CanonicalCharset(label);
  if (cs.ok() && *cs != "UTF-8" && *cs != "ASCII") {
    auto utf8 = DecodeToUtf8(ack, label);
    if (utf8.ok()) {
      decoded = std::move(*utf8);
      HIE_ASSIGN_OR_RETURN(m, Er7Message::Parse(decoded));
    }
  }
  if (!m.FindSegment("MSA")) {
    return Status(ErrorCode::kParseError, "应答缺少 MSA 段 (MSA segment missing)", "MSA");
  }
  AckInfo info;
  info.code = m.Decoded("MSA-1");
  static constexpr std::string_view kCodes[] = {"AA", "AE", "AR", "CA", "CE", "CR"};
  bool known = false;
  for (auto c : kCodes) known = known || info.code == c;
  if (!known) {
    return Status(ErrorCode::kParseError,
                  "未知的确认码 (unknown acknowledgment code) '" + info.code + "'", "MSA-1");
  }
  info.control_id = m.Decoded("MSA-2");
  info.text = m.Decoded("MSA-3");
  if (info.text.empty()) info.text = m.Decoded("ERR-8");
  info.error_code = m.Decoded("ERR-3.1");
  if (info.error_code.empty()) info.error_code = m.Decoded("ERR-1.4.1");
  return info;
}

}  // namespace hie
