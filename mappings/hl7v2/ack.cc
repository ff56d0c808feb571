#include "mappings/hl7v2/ack.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

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

bool OldVersion(std::string_view v) {
  return v.substr(0, 3) == "2.1" || v.substr(0, 3) == "2.2" || v.substr(0, 3) == "2.3" ||
         v.substr(0, 3) == "2.4";
}

// The ACK is written straight into one string in the default delimiters
// |^~\& (the bytes an Er7Builder filled by Set(path, value) produced before:
// every value escaped as Er7Escape does, components joined in order, absent
// ones empty).
class AckWriter {
  // What Er7Escape writes for each byte in the default delimiters; empty:
  // the byte itself.
  static constexpr std::array<std::string_view, 256> kEscapes = [] {
    std::array<std::string_view, 256> t{};
    t['|'] = "\\F\\";
    t['^'] = "\\S\\";
    t['\\'] = "\\E\\";
    t['&'] = "\\T\\";
    t['~'] = "\\R\\";
    t['\r'] = "\\X0D\\";
    t['\n'] = "\\.br\\";
    return t;
  }();

 public:
  explicit AckWriter(size_t reserve) { out_.reserve(reserve); }

  // Er7Escape(plain, Er7Delimiters{}) appended.
  void Text(std::string_view plain) {
    size_t run = 0;  // start of the bytes not yet copied
    for (size_t i = 0; i < plain.size(); ++i) {
      const std::string_view seq = kEscapes[static_cast<unsigned char>(plain[i])];
      if (seq.empty()) continue;
      out_.append(plain.substr(run, i - run));
      out_.append(seq);
      run = i + 1;
    }
    out_.append(plain.substr(run));
  }
  void Raw(std::string_view raw) { out_.append(raw); }
  void Char(char c) { out_.push_back(c); }
  void Number(uint32_t v) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  // Components count from 1 within the current field; Component(n) writes
  // the separators up to n, as Set("SEG-f.n") pads an unfinished field.
  void StartField() {
    out_.push_back('|');
    component_ = 1;
  }
  void Component(uint32_t n) {
    for (; component_ < n; ++component_) out_.push_back('^');
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
  uint32_t component_ = 1;
};

// MSH-3 / MSH-4: our side, i.e. their receiver (or the hub's name).
void WriteOwnHd(AckWriter& w, const HdParts* hd) {
  w.StartField();
  if (hd == nullptr || hd->empty()) {
    w.Raw(kHubName);
    return;
  }
  w.Text(hd->namespace_id);
  if (!hd->universal_id.empty() || !hd->universal_id_type.empty()) {
    w.Char('^');
    w.Text(hd->universal_id);
    w.Char('^');
    w.Text(hd->universal_id_type);
  }
}

// MSH-5 / MSH-6: their sender.
void WriteTheirHd(AckWriter& w, const HdParts& hd) {
  w.StartField();
  w.Text(hd.namespace_id);
  if (!hd.universal_id.empty()) {
    w.Char('^');
    w.Text(hd.universal_id);
    w.Char('^');
    w.Text(hd.universal_id_type);
  }
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

std::string BuildAck(const MshInfo* msh, AckCode code, const Status& given_error,
                     std::string_view ack_control_id, std::string_view timestamp) {
  const std::string_view version =
      msh && !msh->version.empty() ? std::string_view(msh->version) : std::string_view("2.5");
  AckWriter w(code == AckCode::kAA ? 192 : 512);
  w.Raw("MSH|^~\\&");
  WriteOwnHd(w, msh ? &msh->receiving_application_hd : nullptr);  // MSH-3
  WriteOwnHd(w, msh ? &msh->receiving_facility_hd : nullptr);     // MSH-4
  if (msh != nullptr) {
    WriteTheirHd(w, msh->sending_application_hd);  // MSH-5
    WriteTheirHd(w, msh->sending_facility_hd);     // MSH-6
  } else {
    w.Raw("||");
  }
  w.StartField();  // MSH-7
  w.Text(timestamp);
  w.Raw("||ACK");  // MSH-8 empty, MSH-9
  if (msh != nullptr && !msh->trigger_event.empty()) {
    w.Char('^');
    w.Text(msh->trigger_event);
    w.Raw("^ACK");
  }
  w.StartField();  // MSH-10
  w.Text(ack_control_id);
  w.StartField();  // MSH-11
  w.Text(msh && !msh->processing_id.empty() ? std::string_view(msh->processing_id) : "P");
  w.StartField();  // MSH-12
  w.Text(version);
  w.Raw("||||||UNICODE UTF-8\r");  // MSH-13 .. 17 empty, MSH-18

  w.Raw("MSA|");
  w.Raw(AckCodeText(code));
  w.StartField();  // MSA-2
  if (msh != nullptr) w.Text(msh->control_id);
  if (code == AckCode::kAA) {
    w.Char('\r');
    return w.Take();
  }

  const Status error = given_error.ok() ? Status(ErrorCode::kInternal, "") : given_error;
  const std::string_view hl7_code = Hl7ErrorCode(error.code());
  const std::string english = EnglishText(error.code());
  const std::string text = error.ToString();
  w.StartField();  // MSA-3
  w.Text(text);
  w.Raw("\rERR");

  auto loc = Er7Path::Parse(error.where());
  // Segment ID ^ sequence ^ field position: the start of ERR-1 and of ERR-2.
  auto segment_and_field = [&] {
    w.Text(loc->segment_id());
    w.Component(2);
    w.Number(loc->occurrence);
    if (loc->field != 0) {
      w.Component(3);
      w.Number(loc->field);
    }
  };
  w.StartField();  // ERR-1 (ELD), the only ERR field before v2.5
  if (OldVersion(version)) {
    if (loc.ok()) segment_and_field();
    w.Component(4);  // ERR-1.4.1 .. ERR-1.4.3
    w.Text(hl7_code);
    w.Char('&');
    w.Text(english);
    w.Raw("&HL70357");
  }
  w.StartField();  // ERR-2 (ERL)
  if (loc.ok()) {
    segment_and_field();
    if (loc->component != 0) {
      w.Component(4);
      w.Number(std::max(1u, loc->repetition));
      w.Component(5);
      w.Number(loc->component);
      if (loc->subcomponent != 0) {
        w.Component(6);
        w.Number(loc->subcomponent);
      }
    }
  }
  w.StartField();  // ERR-3
  w.Text(hl7_code);
  w.Char('^');
  w.Text(english);
  w.Raw("^HL70357|E||||");  // ERR-4 E, ERR-5 .. 7 empty
  w.Text(text);             // ERR-8
  w.Char('\r');
  return w.Take();
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
