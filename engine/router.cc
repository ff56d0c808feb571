#include "engine/router.h"

#include <algorithm>

namespace hie {
namespace {

std::string_view NextComponent(std::string_view& s) {
  size_t p = s.find('^');
  std::string_view head = s.substr(0, p);
  s = p == std::string_view::npos ? std::string_view{} : s.substr(p + 1);
  return head;
}

bool GlobMatch(std::string_view pat, std::string_view text) {
  // '*' within a component: simple glob with backtracking.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pat.size() && pat[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace

bool MessageTypeMatches(std::string_view pattern, std::string_view type) {
  if (pattern == "*") return true;
  std::string_view pat = pattern, typ = type;
  for (int i = 0; i < 2; ++i) {
    if (pat.empty()) return true;  // shorter pattern: prefix match
    std::string_view pc = NextComponent(pat);
    std::string_view tc = NextComponent(typ);
    if (!GlobMatch(pc, tc)) return false;
  }
  return true;  // components beyond the second are not compared
}

RouteDecision Router::Route(const RouteInput& in) const {
  RouteDecision d;
  for (const auto& r : routes_) {
    const auto& w = r.when;
    if (!w.message_types.empty() &&
        std::none_of(w.message_types.begin(), w.message_types.end(),
                     [&](const std::string& p) { return MessageTypeMatches(p, in.message_type); }))
      continue;
    if (!w.facilities.empty() &&
        std::find(w.facilities.begin(), w.facilities.end(), in.facility_id) == w.facilities.end())
      continue;
    if (!w.facility_kinds.empty() &&
        std::find(w.facility_kinds.begin(), w.facility_kinds.end(), in.facility_kind) ==
            w.facility_kinds.end())
      continue;
    if (!w.document_types.empty() &&
        std::find(w.document_types.begin(), w.document_types.end(), in.document_type) ==
            w.document_types.end())
      continue;
    d.route_ids.push_back(r.id);
    for (const auto& dest : r.to) {
      if (std::find(d.destination_ids.begin(), d.destination_ids.end(), dest) ==
          d.destination_ids.end())
        d.destination_ids.push_back(dest);
    }
  }
  return d;
}

}  // namespace hie
