#include "engine/hub.h"

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>

#include "connectors/file/file_writer.h"
#include "core/log.h"
#include "core/thread.h"
#include "store/open.h"

namespace hie {

namespace fs = std::filesystem;

namespace {

// Host and data dir: stable across restarts of this node, different for
// every node (each has its own data dir).
std::string NodeId(const std::string& data_dir) {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(data_dir, ec);
  return std::string(host) + ":" + (ec ? data_dir : dir.string());
}

}  // namespace

Hub::Hub(Config config, Env& env) : config_(std::move(config)), env_(env) {}

Hub::~Hub() { Shutdown(); }

uint16_t Hub::mllp_port() const { return mllp_ ? mllp_->port() : 0; }
uint16_t Hub::http_port() const { return http_ ? http_->port() : 0; }

Status Hub::Start() {
  std::error_code ec;
  fs::create_directories(config_.data_dir, ec);
  if (ec) {
    return Status(
        ErrorCode::kConfigError,
        "无法创建数据目录 (cannot create data_dir) " + config_.data_dir + ": " + ec.message(),
        "hub.data_dir");
  }
  {
    std::vector<std::string> facility_ids;
    for (const auto& f : config_.facilities) facility_ids.push_back(f.id);
    terminology_ = std::make_unique<TerminologyService>(config_.terminology_dir,
                                                        std::move(facility_ids), env_, &metrics_);
    auto loaded = terminology_->Load();
    if (!loaded.ok()) {
      // where = "file:line" of the bad row (or the directory): exit code 2.
      return Status(ErrorCode::kConfigError,
                    "术语文件有误 (bad terminology file): " + loaded.status().message(),
                    loaded.status().where());
    }
  }
  // sqlite: a file under data_dir; postgresql://...: the county database,
  // possibly shared by several hub nodes.
  const std::string uri = config_.store == "sqlite"
                              ? "sqlite:" + (fs::path(config_.data_dir) / "hub.db").string()
                              : config_.store;
  StoreOptions so;
  so.durable_full = config_.durability != "os";
  so.claim_lease_ms = config_.claim_lease_ms;
  so.node_id = NodeId(config_.data_dir);
  so.env = &env_;
  so.metrics = &metrics_;
  so.replayers[Intake::kIntent] = &Intake::ReplayIntent;
  auto store = OpenStore(uri, so);
  if (!store.ok()) {
    return Status(store.status().code(), store.status().message(),
                  config_.source_file + ": hub.store = " + RedactStoreUri(uri));
  }
  HIE_LOG_INFO("存储 (store): {}", RedactStoreUri(uri));
  store_ = std::move(store).value();
  if (config_.empi.enabled) {
    // The index is loaded (streamed) from the store before traffic starts.
    auto empi = OpenEmpiService(config_, uri, *store_, env_, metrics_, terminology_.get());
    if (!empi.ok()) return empi.status();
    empi_ = std::move(empi).value();
  }

  if (terminology_->configured()) {
    // The unmapped-code register survives restarts: loaded now, flushed
    // every second off the ACK path (engine/terminology_service.h).
    auto unmapped = OpenUnmappedStore(uri, so.durable_full);
    if (!unmapped.ok()) return unmapped.status();
    HIE_RETURN_IF_ERROR(terminology_->StartPersist(std::move(unmapped).value(), so.durable_full));
  }
  renderer_ = std::make_unique<Renderer>(terminology_.get());
  if (empi_) {
    // The shared record's read side (rows hang on EMPI source records): its
    // tables, the access log every read goes through, the catalogue.
    auto records = OpenRecordStore(uri);
    if (!records.ok()) return records.status();
    records_ = std::move(records).value();
    access_ = std::make_unique<AccessLog>(*records_, env_, metrics_);
    access_->Start();
    record_readers_ = std::make_unique<ReadPool>(4, 1000);
    // `hie terminology retranslate`: stored results brought up to date after
    // a map is added (engine/retranslate.h), on sessions of its own.
    auto translations = OpenRecordTranslations(uri, so.durable_full);
    if (!translations.ok()) return translations.status();
    retranslator_ = std::make_unique<Retranslator>(std::move(translations).value(), *terminology_,
                                                   env_, &metrics_);
  }
  recognition_ = std::make_unique<RecognitionCatalogue>(config_.recognition);
  delivery_ = std::make_unique<DeliveryService>(config_, *store_, env_, metrics_, *renderer_);
  terminology_->StartAudit(store_.get());
  pipeline_ = std::make_unique<Pipeline>(
      config_, *store_, env_, metrics_, [this](const std::string& dest) { delivery_->Wake(dest); });
  intake_ = std::make_unique<Intake>(
      config_, *store_, env_, metrics_,
      [this](const std::vector<std::string>& dests) {
        for (const auto& d : dests) delivery_->Wake(d);
      },
      terminology_.get());
  coalescer_ = std::make_unique<WriteCoalescer>(*store_, io_);
  intake_->SetWriteSink([c = coalescer_.get()](Store::PendingWrite w) { c->Write(std::move(w)); });
  RestDeps deps;
  deps.config = &config_;
  deps.store = store_.get();
  deps.intake = intake_.get();
  deps.pipeline = pipeline_.get();
  deps.delivery = delivery_.get();
  deps.metrics = &metrics_;
  deps.env = &env_;
  deps.draining = &draining_;
  deps.terminology = terminology_.get();
  deps.empi = empi_.get();
  deps.records = records_.get();
  deps.access = access_.get();
  deps.retranslate = retranslator_.get();
  deps.recognition = recognition_.get();
  deps.renderer = renderer_.get();
  deps.record_readers = record_readers_.get();
  if (empi_) {
    // After the commit and the ACK: the patient is resolved off that path.
    intake_->SetOnAccepted([this](int64_t id) { empi_->OnCommitted(id); });
  }
  rest_ = std::make_unique<RestApi>(deps);

  metrics_.AddCallbackGauge("hie_queue_depth", "Deliveries waiting (QUEUED) per destination",
                            [this]() -> std::vector<std::pair<std::string, int64_t>> {
                              std::vector<std::pair<std::string, int64_t>> out;
                              auto depths = store_->QueueDepths();
                              for (const auto& d : config_.destinations) {
                                int64_t v =
                                    depths.ok() && depths->count(d.id) ? depths->at(d.id) : 0;
                                out.emplace_back("destination=\"" + d.id + "\"", v);
                              }
                              return out;
                            });

  pipeline_->Start();
  delivery_->Start();
  if (empi_) empi_->Start();
  if (config_.retention.enabled()) {
    // Once now and every check_interval, on its own thread.
    retention_ = std::make_unique<RetentionRunner>(config_.retention, *store_, env_, metrics_);
    retention_->Start();
  }

  if (config_.mllp.enabled) {
    MllpServerOptions mo;
    mo.host = config_.mllp.host;
    mo.port = config_.mllp.port;
    mo.max_message_bytes = config_.mllp_max_message_bytes;
    mo.idle_timeout = std::chrono::milliseconds(config_.mllp_idle_timeout_ms);
    mllp_ = std::make_unique<MllpServer>(io_, mo, [this](MllpInbound in, MllpReply reply) {
      OnMllp(std::move(in), std::move(reply));
    });
    HIE_RETURN_IF_ERROR(mllp_->Start());
  }
  if (config_.http.enabled) {
    HttpServerOptions ho;
    ho.host = config_.http.host;
    ho.port = config_.http.port;
    ho.max_body_bytes = config_.http_max_body_bytes;
    http_ = std::make_unique<HttpServer>(io_, ho, [this](HttpRequest req, HttpRespond respond) {
      rest_->Handle(std::move(req), std::move(respond));
    });
    HIE_RETURN_IF_ERROR(http_->Start());
  }
  unsigned n = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  for (unsigned i = 0; i < n; ++i) {
    io_threads_.emplace_back([this] {
      NameThisThread("hie-io");
      auto guard = boost::asio::make_work_guard(io_);
      io_.run();
    });
  }
  signals_ = std::make_unique<boost::asio::signal_set>(sig_io_, SIGINT, SIGTERM);
  signals_->add(SIGHUP);
  HIE_RETURN_IF_ERROR(WritePortsFile());
  HIE_LOG_INFO("{} 已启动 (started): MLLP {} HTTP {}, 数据目录 (data_dir) {}", config_.hub_name,
               config_.mllp.enabled ? config_.mllp.host + ":" + std::to_string(mllp_port()) : "-",
               config_.http.enabled ? config_.http.host + ":" + std::to_string(http_port()) : "-",
               config_.data_dir);
  return Status::Ok();
}

Status Hub::WritePortsFile() {
  std::string body = "{\"mllp\": " + std::to_string(mllp_port()) +
                     ", \"http\": " + std::to_string(http_port()) + "}\n";
  return WriteFileAtomic(config_.data_dir, "ports.json", body);
}

void Hub::OnMllp(MllpInbound in, MllpReply reply) {
  IntakeInput ii;
  ii.source = "mllp";
  ii.peer = std::move(in.peer);
  ii.size = in.size;
  ii.oversized = in.kind == MllpInbound::Kind::kOversized;
  ii.truncated = in.kind == MllpInbound::Kind::kTruncated;
  ii.raw = std::move(in.payload);
  intake_->Submit(std::move(ii), [reply = std::move(reply)](const IntakeAnswer& a) {
    if (!a.ack.empty()) reply(a.ack);
  });
}

void Hub::RunUntilSignal() {
  if (!signals_) {
    signals_ = std::make_unique<boost::asio::signal_set>(sig_io_, SIGINT, SIGTERM);
    signals_->add(SIGHUP);
  }
  // Re-arms after each SIGHUP; returns (so run() ends) on SIGINT/SIGTERM.
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [this, &on_signal](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          HIE_LOG_INFO("收到 SIGHUP，重新加载术语 (SIGHUP: reloading terminology)");
          if (terminology_ && terminology_->configured()) {
            (void)terminology_->Reload();  // logs the outcome itself
          } else {
            HIE_LOG_WARN(
                "未配置 terminology.dir，无需重新加载 (no terminology.dir; nothing to reload)");
          }
          signals_->async_wait(on_signal);
          return;
        }
        HIE_LOG_INFO("收到信号 {}，开始停止 (signal received, draining)", sig);
      };
  signals_->async_wait(on_signal);
  sig_io_.run();
  Shutdown();
}

void Hub::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  draining_ = true;
  // 1. Stop accepting; in-flight MLLP/HTTP answers still go out.
  if (mllp_) mllp_->Stop();
  if (http_) http_->Stop();
  // Reads in hand finish (with their access events) while the stores are open.
  if (record_readers_) record_readers_->Stop();
  // 2. Stop routing and sending; what is not done stays in the store.
  if (pipeline_) pipeline_->Stop();
  if (delivery_) delivery_->Stop();
  // The EMPI finishes the message in hand; the rest is resolved at the next start.
  if (empi_) empi_->Stop();
  // Reads answered so far have their access events; later ones are refused.
  // A retranslation stops after its page (every page is committed on its own).
  if (retranslator_) retranslator_->Stop();
  if (access_) access_->Stop();
  if (records_) records_->Close();
  // 3a. Check the codes of what was committed (reads the store, so before it closes).
  if (terminology_) terminology_->StopAudit();
  // The register's last counts, before the store closes.
  if (terminology_) terminology_->StopPersist();
  // Retention stops between two of its steps.
  if (retention_) retention_->Stop();
  // 3. Flush the writer: every queued commit finishes and releases its answer.
  if (store_) store_->Close();
  // 4. Give the event loop a moment to write the last answers, then stop it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  io_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  HIE_LOG_INFO("已停止 (stopped)");
}

}  // namespace hie
