// Routing: which destinations a message goes to, from the config's routes.
// A route matches when every key its `when` gives matches (message type with
// `*` wildcards per component, facility id, facility kind, document type).
// Thread rules: immutable after construction; Route() is safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/config.h"

namespace hie {

struct RouteInput {
  std::string_view message_type;   // "ADT^A04" (first two components of MSH-9)
  std::string_view facility_id;
  FacilityKind facility_kind = FacilityKind::kVillage;
  std::string_view document_type;  // "C0007" for CDA; empty for v2
};

struct RouteDecision {
  std::vector<std::string> route_ids;        // routes that matched, in config order
  std::vector<std::string> destination_ids;  // union, in first-seen order, no repeats
};

// True when `pattern` matches `type`: compared component by component on '^';
// "*" matches anything (alone or as a component); a pattern with fewer
// components matches any longer type ("ADT" matches "ADT^A04"); "ADT^A04"
// matches "ADT^A04^ADT_A01" (only the first two components of a type count).
bool MessageTypeMatches(std::string_view pattern, std::string_view type);

class Router {
 public:
  explicit Router(const Config& config) : routes_(config.routes) {}
  RouteDecision Route(const RouteInput& in) const;

 private:
  std::vector<RouteConfig> routes_;
};

}  // namespace hie
