// The hub's YAML configuration, loaded and validated once at start-up into an
// immutable plan (Config). Everything the engine needs to know about
// facilities, destinations and routes is checked here, so a bad file is
// refused with "<file>:<line>" and a reason before anything starts.
// See config/reference.yaml (every key, annotated) and docs/configuration.md.
//
// Thread rules: LoadConfig/ParseConfig are pure functions (no globals) and may
// run on any thread. A loaded Config is a value; share it as `const Config&`
// (or shared_ptr<const Config>) between threads, never mutate it after start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace hie {

enum class FacilityKind { kCounty, kTownship, kVillage };
std::string_view ToString(FacilityKind k);  // "county" | "township" | "village"

struct FacilityConfig {
  std::string id, name;  // id: MSH-4 / X-Facility-Id; name defaults to id
  FacilityKind kind = FacilityKind::kVillage;
  // Default charset for its messages whose MSH-18 is empty ("" = UTF-8); key
  // `charset`. One of UTF-8, UNICODE UTF-8, GB 18030-2000, GB18030, GBK,
  // GB2312 (case-insensitive), kept as written.
  std::string charset;
  // Its resident ID numbers are read by a card reader (key `card_reader`):
  // the EMPI's golden record takes the ID card from such a source first.
  bool card_reader = false;
};

struct RetryPolicy {
  int max_attempts = 8;  // >= 1; after this many failed attempts: ERROR
  int64_t initial_backoff_ms = 1000;
  int64_t max_backoff_ms = 300000;  // initial_backoff_ms <= max_backoff_ms
};

enum class DestinationType { kHttp, kMllp, kFile };
enum class DestinationFormat { kCda, kHl7v2, kJson };
std::string_view ToString(DestinationType t);    // "http" | "mllp" | "file"
std::string_view ToString(DestinationFormat f);  // "cda" | "hl7v2" | "json"

struct DestinationConfig {
  std::string id;
  DestinationType type = DestinationType::kHttp;
  std::string url;    // http: "http://host:port/path" (https too); mllp: the
                      // `url: mllp://host:port` if written that way, else ""
  std::string host;   // mllp: from `address: host:port` or `url: mllp://host:port`
  uint16_t port = 0;  // mllp: 1..65535
  std::string path;   // file: directory (key `path` or `url: file:///dir`)
  DestinationFormat format = DestinationFormat::kHl7v2;
  RetryPolicy retry;
  int concurrency = 4;  // parallel sends (different patients), 1..64
  int64_t timeout_ms = 30000;
  std::vector<std::pair<std::string, std::string>> headers;  // extra HTTP headers
  bool paused = false;  // queue deliveries but do not send them

  // Where it sends, for logs and the dashboard: the http URL,
  // "mllp://host:port" or "file://<path>".
  std::string Endpoint() const;
};

// Every given key must match; an empty list matches anything. A route without
// `when` therefore takes every message.
struct RouteWhen {
  // "ORU^R01", "ADT^*", "*"; normalized to upper case, and a bare message
  // code "ADT" is stored as "ADT^*".
  std::vector<std::string> message_types;
  std::vector<std::string> facilities;  // facility ids (checked to exist)
  std::vector<FacilityKind> facility_kinds;
  std::vector<std::string> document_types;  // "C0007", "B0001"
};

struct RouteConfig {
  std::string id;
  RouteWhen when;
  std::vector<std::string> to;  // destination ids (checked to exist)
};

struct ListenAddress {
  std::string host;   // "127.0.0.1", "0.0.0.0", "::1" (brackets removed)
  uint16_t port = 0;  // 0 = pick a free port (tests)
  bool enabled = false;
};

// key `retention`: how long the store keeps what it holds. 0 = forever.
// Applied at start and every check_interval (engine/retention.h).
struct RetentionConfig {
  int content_days = 0;                   // raw bodies of messages, rejected inputs
  int metadata_days = 0;                  // messages with trace, deliveries, attempts, dedupe keys
  int64_t check_interval_ms = 3'600'000;  // key check_interval, >= 1s
  bool enabled() const { return content_days > 0 || metadata_days > 0; }
};

// key `empi`: the master patient index (issue 5, engine/empi_service.h).
struct EmpiConfig {
  bool enabled = true;  // key enabled: resolve patients of ADT/ORU messages
  std::string weights;  // key weights: a weights JSON file; "" = the built-in county-v1
  // key record: write each resolved message's lab results, encounters,
  // diagnoses and documents into the shared record (issue 6) with its
  // resolution.
  bool record = true;
};

// key `recognition`: the mutual-recognition catalogue (检查检验结果互认, issue
// 6; parsed in engine/config_recognition.cc, applied per query by
// engine/recognition.h). Items from `items:` and from the CSV `file`.
struct RecognitionQualification {
  std::string facility;  // performing facility id (as stored: OBX-23 id or the sender)
  int eqa_year = 0;      // year of the passed external quality assessment (室间质评)
};
struct RecognitionItem {
  std::string code;       // the standard (LOINC) item code
  std::string name;       // e.g. 血红蛋白 ("" allowed)
  int validity_days = 0;  // 1..3650: days a result stays recognizable
  std::string unit;       // the standard UCUM unit; "" = no unit check (qualitative)
  std::vector<RecognitionQualification> qualified;
  std::string where;  // "<file>:<line>" it was defined at
};
struct RecognitionConfig {
  std::string file;  // key recognition.file: CSV of items ("" none)
  std::vector<RecognitionItem> items;
};

struct Config {
  std::string source_file;  // path it was loaded from
  std::string hub_name;
  std::string data_dir = "./var";
  std::string store = "sqlite";  // "sqlite" | "postgresql://user:pass@host:port/db"
  std::string durability =
      "full";  // "full" (fsync before ACK) | "os" (crash-safe, not power-loss-safe)
  std::string log_level = "info";  // "debug" | "info" | "warn" | "error"
  // key hub.claim_lease: how long a node (PostgreSQL, several nodes) holds a
  // delivery it took; after that another node may take it. > every timeout.
  int64_t claim_lease_ms = 300000;
  ListenAddress mllp, http;
  size_t mllp_max_message_bytes = 16 << 20;  // key mllp.max_message_bytes
  int64_t mllp_idle_timeout_ms = 300000;     // key mllp.idle_timeout
  size_t http_max_body_bytes = 16 << 20;     // key http.max_body_bytes
  int pipeline_workers = 2;                  // key pipeline.workers, 1..64
  std::vector<FacilityConfig> facilities;
  std::string terminology_dir;  // key terminology.dir; "" = none
  std::vector<DestinationConfig> destinations;
  std::vector<RouteConfig> routes;
  RetentionConfig retention;
  EmpiConfig empi;
  RecognitionConfig recognition;

  const FacilityConfig* FindFacility(std::string_view id) const;
  const DestinationConfig* FindDestination(std::string_view id) const;
  // True when `store` names a PostgreSQL database rather than sqlite.
  bool UsesPostgres() const;
};

// True when every message matching `message_type_pattern` (a route's
// when.message_type, e.g. "DFT^P03", "DFT^*", "ADT^A40") certainly has no
// CDA form: a route of it to a cda destination is refused at load.
bool CertainlyNoCdaForm(std::string_view message_type_pattern);

// Loads and validates; every error is
// Status(ErrorCode::kConfigError, "<Chinese> (<English>)", "<file>:<line>").
Result<Config> LoadConfig(const std::string& path);
Result<Config> ParseConfig(std::string_view yaml_text, const std::string& file_name);

// Durations: "250ms", "1s", "5m", "2h", "1d", or a bare number = seconds.
// Sizes: "16MiB", "512KiB", "1GiB" (binary), "1KB", "1MB", "1GB" (decimal),
// "100B", or a bare number = bytes. Errors are kConfigError without where().
Result<int64_t> ParseDurationMillis(std::string_view text);
Result<int64_t> ParseSizeBytes(std::string_view text);

// Parses "host:port" or "[v6addr]:port" (port 0..65535) into a ListenAddress
// with enabled = true. Errors are kConfigError without where().
Result<ListenAddress> ParseHostPort(std::string_view text);

}  // namespace hie
