// OidTable: the configurable table from an OID to the short code-system name
// the canonical model uses ("LOINC", "GB/T 2261.1", "ICD-10", ...), and back.
// Loaded from a CSV county IT can edit (mappings/cda/oid_systems.csv:
// oid,name,aliases,display); a built-in copy of the shipped table is used
// when no path is configured.
//
// Thread rules: an OidTable is immutable after loading; share one
// std::shared_ptr<const OidTable> between threads freely.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace hie::cda {

struct OidEntry {
  std::string oid;
  std::string name;     // short name for coding.system
  std::string display;  // codeSystemName written into CDA
};

class OidTable {
 public:
  // Parses CSV text (header row "oid,name,aliases,display"; '#' comments).
  // Errors name the line: "oid_systems.csv:12".
  static Result<std::shared_ptr<const OidTable>> Parse(std::string_view csv,
                                                       std::string_view source_name);
  static Result<std::shared_ptr<const OidTable>> LoadFile(const std::string& path);
  // The table shipped with the hub (same content as oid_systems.csv).
  static std::shared_ptr<const OidTable> BuiltIn();

  // OID -> entry, or nullptr when the OID is not in the table.
  const OidEntry* ByOid(std::string_view oid) const;
  // Name, alias or display -> entry, or nullptr.
  const OidEntry* ByName(std::string_view name) const;

  // coding.system for a CDA codeSystem: the short name when known, otherwise
  // the OID itself (the canonical model accepts bare OIDs).
  std::string SystemForOid(std::string_view oid) const;
  // The CDA codeSystem for a coding.system: "urn:oid:X" and bare OIDs pass
  // through; names and aliases map through the table; std::nullopt when the
  // system has no OID (e.g. "local:<facility>").
  std::optional<std::string> OidForSystem(std::string_view system) const;

 private:
  std::map<std::string, OidEntry, std::less<>> by_oid_;
  std::map<std::string, std::string, std::less<>> name_to_oid_;
};

// True for a dotted-decimal OID such as "2.16.156.10011.1.3".
bool LooksLikeOid(std::string_view s);

}  // namespace hie::cda
