// REST handlers of the shared record's read side (issue 6; CONTRACT §4,
// docs/api.md "Shared record"): a person's lab results with their
// mutual-recognition status decided now, the document index and one
// document as CDA R2 XML (as received, else generated on demand), the
// one-screen summary, the person read itself, and the access events of a
// person for the auditors.
//
// Every read of a person's data writes an access event through AccessLog
// (the one seam) BEFORE the data is answered; when it cannot be written the
// read answers 503 instead of the data. A merged person's reads are answered
// with its survivor's record (the sources were moved there), saying so.
//
// Thread rules: safe from any thread; answers may come later, from the
// access log's writer thread (after the event's commit).
#pragma once

#include <string_view>
#include <vector>

#include "connectors/http/http_server.h"
#include "core/env.h"
#include "engine/access_log.h"
#include "engine/config.h"
#include "engine/empi_service.h"
#include "engine/recognition.h"
#include "engine/transform.h"
#include "store/record_store.h"

namespace hie {

struct RecordDeps {
  const Config* config = nullptr;
  EmpiService* empi = nullptr;
  RecordStore* records = nullptr;
  AccessLog* access = nullptr;
  const RecognitionCatalogue* catalogue = nullptr;
  const Renderer* renderer = nullptr;
  Env* env = nullptr;
};

// Whether HandleRecordRequest serves this path (after /api/v1) and method.
bool ServesRecordPath(const std::vector<std::string_view>& parts, const std::string& method);

// `parts`: the path after /api/v1, split at '/'. True when it serves the
// path (and then calls `respond` exactly once, possibly later); false for
// paths it does not serve (PIX/PDQ, EMPI operations: rest_patients.h).
bool HandleRecordRequest(const RecordDeps& d, const HttpRequest& req,
                         const std::vector<std::string_view>& parts, const HttpRespond& respond);

}  // namespace hie
