// The hub: wires config, store, intake, pipeline, delivery, the MLLP and
// HTTP listeners and the REST API explicitly (no self-registration), runs
// them on one event loop, and drains on SIGTERM/SIGINT. SIGHUP reloads the
// terminology directory (a rejected reload keeps the old maps).
// Thread rules: Start/Run/Shutdown from the main thread only.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connectors/http/http_server.h"
#include "connectors/mllp/mllp_server.h"
#include "core/env.h"
#include "core/metrics.h"
#include "engine/access_log.h"
#include "engine/config.h"
#include "engine/delivery.h"
#include "engine/empi_service.h"
#include "engine/intake.h"
#include "engine/write_coalescer.h"
#include "engine/pipeline.h"
#include "engine/recognition.h"
#include "engine/rest_api.h"
#include "engine/retranslate.h"
#include "engine/retention.h"
#include "engine/terminology_service.h"
#include "store/record_store.h"
#include "store/store.h"

namespace hie {

class Hub {
 public:
  Hub(Config config, Env& env);
  ~Hub();

  // Opens the store, starts workers and listeners, writes DATA_DIR/ports.json.
  Status Start();
  // Blocks until SIGTERM/SIGINT, then drains and returns. SIGHUP reloads the
  // terminology and keeps waiting.
  void RunUntilSignal();
  // Stops accepting, finishes in-flight work (or leaves it safely queued in
  // the store), closes the store. Idempotent.
  void Shutdown();

  uint16_t mllp_port() const;
  uint16_t http_port() const;

 private:
  Status WritePortsFile();
  void OnMllp(MllpInbound in, MllpReply reply);

  Config config_;
  Env& env_;
  MetricsRegistry metrics_;
  std::unique_ptr<TerminologyService> terminology_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EmpiService> empi_;  // when empi.enabled
  std::unique_ptr<Renderer> renderer_;
  std::unique_ptr<RecordStore> records_;             // the shared record (with the EMPI)
  std::unique_ptr<AccessLog> access_;                // every read of a person's data
  std::unique_ptr<ReadPool> record_readers_;         // the record reads, off the event loop
  std::unique_ptr<Retranslator> retranslator_;       // with the shared record
  std::unique_ptr<RecognitionCatalogue> recognition_;  // config `recognition`
  std::unique_ptr<DeliveryService> delivery_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<WriteCoalescer> coalescer_;  // intake writes, one hand-off per event-loop turn
  std::unique_ptr<RestApi> rest_;
  std::unique_ptr<RetentionRunner> retention_;  // when `retention:` is set
  boost::asio::io_context io_;
  std::unique_ptr<MllpServer> mllp_;
  std::unique_ptr<HttpServer> http_;
  // Signals are caught from Start on (before ports.json says we are up), so
  // an early SIGHUP never kills the process with the default action.
  boost::asio::io_context sig_io_;
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::vector<std::thread> io_threads_;
  std::atomic<bool> draining_{false};
  bool shut_down_ = false;
};

}  // namespace hie
