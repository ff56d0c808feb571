// REST handlers of the EMPI (CONTRACT §4 and docs/api.md): PIX and PDQ
// (GET /api/v1/patients?identifier= | ?name=&birth_date=&sex=), one person
// (GET /api/v1/patients/{empi_id}), the review queue
// (/api/v1/empi/reviews...) and the operations (link, unlink, merge,
// unmerge). The caller may read full identifiers (it is the data); nothing
// here logs them.
// Thread rules: safe from any thread (EmpiService is).
#pragma once

#include <string_view>
#include <vector>

#include "connectors/http/http_server.h"
#include "engine/empi_service.h"

namespace hie {

// `parts`: the path after /api/v1, split at '/'. True when it answered
// (into *out); false for paths it does not serve (lab-results, documents).
bool HandleEmpiRequest(EmpiService& empi, const HttpRequest& req,
                       const std::vector<std::string_view>& parts, HttpResponse* out);

}  // namespace hie
