#include "mappings/hl7v2/pid.h"

namespace hie {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Trim(Er7Unescape(raw)); without an escape character in `raw` that is the
// trimmed view, copied once.
std::string Clean(std::string_view raw, const Er7Delimiters& d) {
  if (d.escape != '\0' && raw.find(d.escape) != std::string_view::npos) {
    return Trim(Er7Unescape(raw, d));
  }
  size_t b = 0, e = raw.size();
  while (b < e && IsSpace(raw[b])) ++b;
  while (e > b && IsSpace(raw[e - 1])) --e;
  return std::string(raw.substr(b, e - b));
}

// Upper-cased (a-z only) `s` equals the two letters `upper`.
bool IsType(std::string_view s, const char (&upper)[3]) {
  auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
  return s.size() == 2 && up(s[0]) == upper[0] && up(s[1]) == upper[1];
}

std::string Join(std::string_view a, std::string_view b, std::string_view c = {},
                 std::string_view e = {}) {
  std::string out;
  out.reserve(a.size() + b.size() + c.size() + e.size());
  out.append(a).append(b).append(c).append(e);
  return out;
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
      std::string id = Clean(Er7Piece(cx, d.component, 1), d);
      if (id.empty() || id == "\"\"") continue;
      const std::string type = Clean(Er7Piece(cx, d.component, 5), d);
      if (IsType(type, "MR")) return Join("MR:", facility, ":", id);
      if (IsType(type, "NI") && ni.empty()) ni = id;
      if (first_id.empty()) {
        first_id = std::move(id);
        first_auth = Clean(Er7Piece(Er7Piece(cx, d.component, 4), d.subcomponent, 1), d);
      }
    }
    if (!ni.empty()) return Join("NI:", ni);
    if (!first_id.empty()) return Join("ID:", first_auth, ":", first_id);
  }
  return {};
}

}  // namespace hie
