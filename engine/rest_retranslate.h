// REST of retranslation (issue 4): POST /api/v1/terminology/retranslate
// {"since":"2026-11-01"} starts a pass over the shared record
// (engine/retranslate.h) and answers 202 with its progress; GET answers the
// running or last pass's progress (the CLI polls it). Without the shared
// record (empi.enabled false) both answer 409 saying so.
// Thread rules: safe from any thread (the Retranslator serialises passes).
#pragma once

#include <nlohmann/json.hpp>

#include "connectors/http/http_server.h"
#include "engine/retranslate.h"

namespace hie {

// `r` may be null (no shared record). Handles GET and POST; other methods 405.
HttpResponse HandleRetranslate(Retranslator* r, const HttpRequest& req);

// The progress as the API shows it.
nlohmann::json RetranslateProgressJson(const RetranslateProgress& p);

}  // namespace hie
