// Patient key for per-patient ordering in the intake: messages about the same
// patient from a facility are processed in arrival order.
// Thread rules: pure function, safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "mappings/hl7v2/er7.h"

namespace hie {

// From PID-3 repetitions (CX id^^^authority^type): the first of type MR ->
// "MR:<facility>:<id>", else the first of type NI (resident ID card) ->
// "NI:<id>", else the first non-empty id -> "ID:<authority>:<id>" (authority
// = CX-4.1). Falls back to PID-2 the same way. "" when there is no PID or no id.
std::string PatientKey(const Er7Message& msg, std::string_view facility);

}  // namespace hie
