#include "mappings/hl7v2/pid.h"

namespace hie {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

std::string PatientKey(const Er7Message& msg, std::string_view facility) {
  auto pid = msg.FindSegment("PID");
  if (!pid) return {};
  const Er7Delimiters& d = msg.delimiters();
  std::string ni, first_id, first_auth;
  for (size_t field : {3, 2}) {
    std::string_view f = msg.field(*pid, field);
    const size_t reps = Er7PieceCount(f, d.repetition);
    for (size_t r = 1; r <= reps; ++r) {
      std::string_view cx = Er7Piece(f, d.repetition, r);
      std::string id = Trim(Er7Unescape(Er7Piece(cx, d.component, 1), d));
      if (id.empty() || id == "\"\"") continue;
      std::string type = Upper(Trim(Er7Unescape(Er7Piece(cx, d.component, 5), d)));
      if (type == "MR") return "MR:" + std::string(facility) + ":" + id;
      if (type == "NI" && ni.empty()) ni = id;
      if (first_id.empty()) {
        first_id = id;
        first_auth =
            Trim(Er7Unescape(Er7Piece(Er7Piece(cx, d.component, 4), d.subcomponent, 1), d));
      }
    }
    if (!ni.empty()) return "NI:" + ni;
    if (!first_id.empty()) return "ID:" + first_auth + ":" + first_id;
  }
  return {};
}

}  // namespace hie
