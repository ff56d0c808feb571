// The REST API under /api/v1 (CONTRACT §4), /metrics and the dashboard root.
// Handlers translate HTTP to intake, store reads and delivery controls; they
// hold no state of their own. With the EMPI off, the patient and record
// endpoints answer 501 with a clear text, never a fake result.
// Thread rules: Handle() is safe from any thread; it may answer
// asynchronously (after a durable commit) through `respond`.
#pragma once

#include <atomic>
#include <functional>

#include "connectors/http/http_server.h"
#include "core/env.h"
#include "core/metrics.h"
#include "engine/access_log.h"
#include "engine/config.h"
#include "engine/delivery.h"
#include "engine/empi_service.h"
#include "engine/intake.h"
#include "engine/pipeline.h"
#include "engine/read_pool.h"
#include "engine/recognition.h"
#include "engine/retranslate.h"
#include "engine/terminology_service.h"
#include "store/record_store.h"
#include "store/store.h"

namespace hie {

struct RestDeps {
  const Config* config = nullptr;
  Store* store = nullptr;
  Intake* intake = nullptr;
  Pipeline* pipeline = nullptr;
  DeliveryService* delivery = nullptr;
  MetricsRegistry* metrics = nullptr;
  Env* env = nullptr;
  const std::atomic<bool>* draining = nullptr;
  TerminologyService* terminology = nullptr;
  EmpiService* empi = nullptr;  // null when empi.enabled is false
  // The shared record's read side (engine/rest_record.h); null with the EMPI off.
  RecordStore* records = nullptr;
  AccessLog* access = nullptr;
  const RecognitionCatalogue* recognition = nullptr;
  const Renderer* renderer = nullptr;
  ReadPool* record_readers = nullptr;  // runs the record reads; null: on the caller's thread
  // POST/GET /api/v1/terminology/retranslate; null with the shared record off.
  Retranslator* retranslate = nullptr;
};

class RestApi {
 public:
  explicit RestApi(RestDeps deps) : d_(deps) {}
  void Handle(HttpRequest req, HttpRespond respond);

 private:
  void PostMessage(HttpRequest req, HttpRespond respond);
  HttpResponse ListMessages(const HttpRequest& req);
  HttpResponse GetMessage(int64_t id, const HttpRequest& req);
  HttpResponse Reprocess(int64_t id);
  HttpResponse ListErrors(const HttpRequest& req);
  HttpResponse GetError(int64_t id);
  HttpResponse ListDestinations();
  HttpResponse PauseDestination(const std::string& id, bool paused);
  // /api/v1/terminology/... (CONTRACT §4).
  HttpResponse Translate(const HttpRequest& req);
  HttpResponse Unmapped(const HttpRequest& req);
  HttpResponse Systems();
  HttpResponse ReloadTerminology();

  RestDeps d_;
};

// {"error":{"code","message","where"}} with the status the error code maps to.
HttpResponse ErrorResponse(const Status& st);

// A `since` as every endpoint takes it (ParseSinceMillis: a date meaning
// midnight China time, RFC 3339 or epoch ms); empty means no lower bound
// (0). Unreadable: kInvalidArgument at `where`, one text for all of them.
Result<int64_t> ParseSinceParam(std::string_view text, std::string_view where);
Status UnreadableSince(std::string_view shown, std::string_view where);

}  // namespace hie
