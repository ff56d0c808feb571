#include "engine/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace hie {
namespace {

// The example of CONTRACT.md §2, verbatim.
constexpr const char* kContractExample = R"(hub:
  name: 示范县医共体平台
  data_dir: ./var/demo
  store: sqlite                     # sqlite (default; a file under data_dir) | postgresql://user:pass@host:port/db
listen:
  mllp: 127.0.0.1:2575              # HL7 v2 over MLLP
  http: 127.0.0.1:8080              # REST API, /metrics, dashboard
facilities:                         # who may send; MSH-4 (sending facility) or X-Facility-Id names them
  - id: XQRMYY
    name: 县人民医院
    kind: county                    # county | township | village
  - id: CWS001
    name: 城关镇东湖村卫生室
    kind: village
terminology:
  dir: ./terminology/data           # code systems and concept maps loaded at start
destinations:
  - id: county-platform
    type: http                      # http | mllp | file
    url: http://127.0.0.1:9000/ingest
    format: cda                     # cda | hl7v2 | json
    retry: {max_attempts: 8, initial_backoff: 1s, max_backoff: 5m}
routes:
  - id: labs-to-county
    when: {message_type: "ORU^R01"} # also: facility, facility_kind
    to: [county-platform]
)";

// A small valid base; error tests append or edit lines of it. Line numbers
// in the tests below count from this text's first line.
constexpr const char* kBase = R"(hub:
  name: t
listen:
  http: 127.0.0.1:0
facilities:
  - id: A
    kind: county
  - id: B
    kind: village
destinations:
  - id: d1
    type: http
    url: http://127.0.0.1:9/x
routes:
  - id: r1
    when: {message_type: "ORU^R01"}
    to: [d1]
)";

Status ParseError(const std::string& text) {
  auto r = ParseConfig(text, "t.yaml");
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << text;
  return r.ok() ? Status::Ok() : r.status();
}

void ExpectError(const std::string& text, const std::string& where,
                 std::initializer_list<std::string> fragments) {
  Status s = ParseError(text);
  EXPECT_EQ(s.code(), ErrorCode::kConfigError);
  EXPECT_EQ(s.where(), where) << s.message();
  for (const auto& f : fragments) {
    EXPECT_NE(s.message().find(f), std::string::npos)
        << "message lacks \"" << f << "\": " << s.message();
  }
}

TEST(ConfigTest, ContractExampleLoads) {
  auto r = ParseConfig(kContractExample, "contract.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.source_file, "contract.yaml");
  EXPECT_EQ(c.hub_name, "示范县医共体平台");
  EXPECT_EQ(c.data_dir, "./var/demo");
  EXPECT_EQ(c.store, "sqlite");
  EXPECT_FALSE(c.UsesPostgres());
  EXPECT_EQ(c.durability, "full");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.mllp.enabled);
  EXPECT_EQ(c.mllp.host, "127.0.0.1");
  EXPECT_EQ(c.mllp.port, 2575);
  EXPECT_TRUE(c.http.enabled);
  EXPECT_EQ(c.http.port, 8080);
  ASSERT_EQ(c.facilities.size(), 2u);
  EXPECT_EQ(c.facilities[0].id, "XQRMYY");
  EXPECT_EQ(c.facilities[0].name, "县人民医院");
  EXPECT_EQ(c.facilities[0].kind, FacilityKind::kCounty);
  EXPECT_EQ(c.facilities[1].kind, FacilityKind::kVillage);
  EXPECT_EQ(c.facilities[1].charset, "");
  EXPECT_EQ(c.terminology_dir, "./terminology/data");
  ASSERT_EQ(c.destinations.size(), 1u);
  const DestinationConfig* d = c.FindDestination("county-platform");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type, DestinationType::kHttp);
  EXPECT_EQ(d->url, "http://127.0.0.1:9000/ingest");
  EXPECT_EQ(d->Endpoint(), "http://127.0.0.1:9000/ingest");
  EXPECT_EQ(d->format, DestinationFormat::kCda);
  EXPECT_EQ(d->retry.max_attempts, 8);
  EXPECT_EQ(d->retry.initial_backoff_ms, 1000);
  EXPECT_EQ(d->retry.max_backoff_ms, 300000);
  EXPECT_EQ(d->concurrency, 4);
  EXPECT_EQ(d->timeout_ms, 30000);
  EXPECT_FALSE(d->paused);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].id, "labs-to-county");
  EXPECT_EQ(c.routes[0].when.message_types, std::vector<std::string>{"ORU^R01"});
  EXPECT_TRUE(c.routes[0].when.facilities.empty());
  EXPECT_EQ(c.routes[0].to, std::vector<std::string>{"county-platform"});
  EXPECT_EQ(c.FindFacility("CWS001"), &c.facilities[1]);
  EXPECT_EQ(c.FindFacility("nobody"), nullptr);
  EXPECT_EQ(c.FindDestination("nowhere"), nullptr);
  // Defaults of keys the example leaves out.
  EXPECT_EQ(c.mllp_max_message_bytes, size_t{16} << 20);
  EXPECT_EQ(c.mllp_idle_timeout_ms, 300000);
  EXPECT_EQ(c.http_max_body_bytes, size_t{16} << 20);
  EXPECT_EQ(c.pipeline_workers, 2);
}

TEST(ConfigTest, ReferenceConfigLoads) {
  auto r = LoadConfig(std::string(HIE_SOURCE_DIR) + "/config/reference.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.destinations.size(), 3u);
  const DestinationConfig* mllp = c.FindDestination("township-emr");
  ASSERT_NE(mllp, nullptr);
  EXPECT_EQ(mllp->type, DestinationType::kMllp);
  EXPECT_EQ(mllp->host, "127.0.0.1");
  EXPECT_EQ(mllp->port, 2576);
  EXPECT_EQ(mllp->Endpoint(), "mllp://127.0.0.1:2576");
  const DestinationConfig* http = c.FindDestination("county-platform");
  ASSERT_NE(http, nullptr);
  ASSERT_EQ(http->headers.size(), 1u);
  EXPECT_EQ(http->headers[0].first, "Authorization");
  EXPECT_EQ(c.FindFacility("CWS001")->charset, "GBK");
  ASSERT_EQ(c.routes.size(), 4u);
  EXPECT_EQ(c.routes[0].when.facility_kinds,
            (std::vector<FacilityKind>{FacilityKind::kCounty, FacilityKind::kTownship}));
  EXPECT_TRUE(c.routes[0].when.document_types.empty());
  EXPECT_EQ(c.routes[1].when.document_types, (std::vector<std::string>{"C0007", "C0006"}));
  EXPECT_EQ(c.routes[2].when.message_types.size(), 6u);
  EXPECT_EQ(c.routes[2].to, std::vector<std::string>{"county-platform"});
}

TEST(ConfigTest, DemoConfigLoads) {
  auto r = LoadConfig(std::string(HIE_SOURCE_DIR) + "/config/demo.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.hub_name, "示范县医共体平台");
  EXPECT_EQ(c.data_dir, "./var/demo");
  EXPECT_EQ(c.facilities.size(), 7u);
  int county = 0, township = 0, village = 0, gbk = 0;
  for (const auto& f : c.facilities) {
    county += f.kind == FacilityKind::kCounty;
    township += f.kind == FacilityKind::kTownship;
    village += f.kind == FacilityKind::kVillage;
    gbk += f.charset == "GBK";
  }
  EXPECT_EQ(county, 1);
  EXPECT_EQ(township, 2);
  EXPECT_EQ(village, 4);
  EXPECT_EQ(gbk, 1);
  const DestinationConfig* archive = c.FindDestination("archive");
  ASSERT_NE(archive, nullptr);
  EXPECT_EQ(archive->type, DestinationType::kFile);
  EXPECT_EQ(archive->path, "./var/demo/outbox");
  EXPECT_EQ(archive->format, DestinationFormat::kHl7v2);
  EXPECT_EQ(c.FindDestination("county-platform")->format, DestinationFormat::kJson);
  ASSERT_EQ(c.routes.size(), 3u);
  EXPECT_EQ(c.routes[0].to, (std::vector<std::string>{"county-platform", "archive"}));
  EXPECT_EQ(c.routes[1].when.message_types, std::vector<std::string>{"ADT^*"});
  EXPECT_EQ(c.routes[2].when.message_types, std::vector<std::string>{"DFT^P03"});
}

TEST(ConfigTest, BaseIsValid) {
  auto r = ParseConfig(kBase, "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->mllp.enabled);
  EXPECT_TRUE(r->http.enabled);
  EXPECT_EQ(r->http.port, 0);
}

TEST(ConfigTest, MissingFile) {
  auto r = LoadConfig("/nonexistent/hie.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kConfigError);
  EXPECT_EQ(r.status().where(), "/nonexistent/hie.yaml");
}

TEST(ConfigTest, LoadConfigReportsFileAndLine) {
  auto dir = std::filesystem::temp_directory_path() / "hie_config_test";
  std::filesystem::create_directories(dir);
  auto file = (dir / "bad.yaml").string();
  std::ofstream(file) << "hub:\n  name: x\n  nmae: y\n";
  auto r = LoadConfig(file);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().where(), file + ":3");
}

TEST(ConfigTest, UnknownKeyWithSuggestion) {
  std::string text = std::string(kBase) + "destinatons: []\n";
  ExpectError(
      text, "t.yaml:18",
      {"未知的配置项 \"destinatons\" (unknown key)", "是否想写 \"destinations\"", "hub, listen"});
  // Nested: a typo inside a destination's retry block.
  ExpectError(R"(destinations:
  - id: d
    type: http
    url: http://h/x
    retry:
      max_atempts: 3
)",
              "t.yaml:6",
              {"destinations[0].retry", "\"max_atempts\"", "是否想写 \"max_attempts\""});
  // Far from every allowed key: no suggestion, but the list.
  Status s = ParseError("hub:\n  zzzzzzzzzz: 1\n");
  EXPECT_EQ(s.message().find("did you mean"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("name, data_dir, store"), std::string::npos) << s.message();
}

TEST(ConfigTest, DuplicateKey) {
  ExpectError("hub:\n  name: a\n  name: b\n", "t.yaml:3", {"重复 (duplicate key)", "line 2"});
}

TEST(ConfigTest, WrongType) {
  ExpectError("hub:\n  name: [a, b]\n", "t.yaml:2", {"hub.name", "expected a string"});
  ExpectError("facilities:\n  id: A\n", "t.yaml:2", {"expected a list"});
  ExpectError("hub: 3\n", "t.yaml:1", {"expected a map"});
  ExpectError("pipeline:\n  workers: many\n", "t.yaml:2", {"expected an integer"});
  ExpectError("pipeline:\n  workers: 0\n", "t.yaml:2", {"out of range"});
  ExpectError("- a\n- b\n", "t.yaml:1", {"expected a map"});
}

TEST(ConfigTest, BadFacilityKind) {
  std::string text = kBase;
  text.replace(text.find("kind: village"), 13, "kind: vilage");
  ExpectError(text, "t.yaml:9",
              {"facilities[1].kind", "invalid facility kind", "是否想写 \"village\"",
               "county, township, village"});
}

TEST(ConfigTest, DocumentTypeAcceptedAndChecked) {
  std::string text = kBase;
  text.replace(text.find("when: {message_type: \"ORU^R01\"}"), 31,
               "when: {document_type: [C0007, B0001], facility_kind: county}");
  auto r = ParseConfig(text, "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->routes[0].when.document_types, (std::vector<std::string>{"C0007", "B0001"}));
  EXPECT_TRUE(r->routes[0].when.message_types.empty());
  ExpectError(
      std::string(kBase) + "  - id: r2\n    when: {document_type: \"C0007^x\"}\n    to: d1\n",
      "t.yaml:19", {"document_type", "invalid document type"});
  ExpectError(std::string(kBase) + "  - id: r2\n    when: {document_typ: C0007}\n    to: d1\n",
              "t.yaml:19", {"document_typ"});
}

TEST(ConfigTest, MissingRequired) {
  ExpectError("facilities:\n  - name: x\n", "t.yaml:2", {"\"id\"", "required key missing"});
  ExpectError("destinations:\n  - id: d\n    url: http://h/\n", "t.yaml:2",
              {"\"type\"", "required key missing"});
  ExpectError("destinations:\n  - id: d\n    type: http\n", "t.yaml:2", {"\"url\""});
  ExpectError("destinations:\n  - id: d\n    type: mllp\n", "t.yaml:2", {"address"});
  ExpectError("destinations:\n  - id: d\n    type: file\n", "t.yaml:2", {"path"});
  ExpectError(std::string(kBase) + "  - id: r2\n", "t.yaml:18", {"\"to\"", "required"});
  ExpectError(std::string(kBase) + "  - to: d1\n", "t.yaml:18", {"\"id\"", "required"});
}

TEST(ConfigTest, DuplicateIds) {
  ExpectError(std::string(kBase) + "  - id: r1\n    to: d1\n", "t.yaml:18",
              {"路由 (route) id \"r1\" 重复 (duplicate id)", "line 15"});
  std::string text = kBase;
  text.replace(text.find("id: B"), 5, "id: A");
  ExpectError(text, "t.yaml:8", {"duplicate id", "\"A\""});
  text = kBase;
  text.replace(text.find("routes:"), 0, "  - id: d1\n    type: file\n    path: /tmp/x\n");
  ExpectError(text, "t.yaml:14", {"destination", "duplicate id"});
}

TEST(ConfigTest, DanglingReferences) {
  std::string text = kBase;
  text.replace(text.find("to: [d1]"), 8, "to: [d1, d2]");
  ExpectError(text, "t.yaml:17", {"未定义的目的地 \"d2\" (unknown destination)", "d1"});
  text = kBase;
  text.replace(text.find("{message_type: \"ORU^R01\"}"), 25, "{facility: [A, C]}");
  ExpectError(text, "t.yaml:16", {"未登记的机构 \"C\" (unknown facility)", "A, B"});
}

TEST(ConfigTest, BadValues) {
  const std::string dest = "destinations:\n  - id: d\n";
  ExpectError(dest + "    type: ftp\n    url: x\n", "t.yaml:3",
              {"invalid destination type", "http, mllp, file"});
  ExpectError(dest + "    type: http\n    url: http://h/\n    format: xml\n", "t.yaml:5",
              {"invalid format", "cda, hl7v2, json"});
  ExpectError(dest + "    type: http\n    url: ftp://h/\n", "t.yaml:4", {"http://"});
  ExpectError(dest + "    type: mllp\n    url: mllp://h:99999\n", "t.yaml:4", {"invalid address"});
  ExpectError(dest + "    type: mllp\n    address: h:1\n    headers: {A: b}\n", "t.yaml:5",
              {"only for type http"});
  ExpectError(dest + "    type: http\n    url: http://h/\n    retry: {max_attempts: 0}\n",
              "t.yaml:5", {"max_attempts", "out of range"});
  ExpectError(dest +
                  "    type: http\n    url: http://h/\n"
                  "    retry:\n      initial_backoff: 10m\n      max_backoff: 1m\n",
              "t.yaml:6", {"initial_backoff must not exceed max_backoff"});
  ExpectError(dest + "    type: http\n    url: http://h/\n    concurrency: 65\n", "t.yaml:5",
              {"concurrency", "1–64"});
  ExpectError("hub:\n  store: mysql://x\n", "t.yaml:2", {"invalid store", "postgresql://"});
  ExpectError("hub:\n  durability: fast\n", "t.yaml:2", {"full, os"});
  ExpectError("hub:\n  log_level: verbose\n", "t.yaml:2", {"debug, info, warn, error"});
  ExpectError("facilities:\n  - id: X\n    charset: latin1\n", "t.yaml:3",
              {"unsupported charset", "GBK"});
  ExpectError("facilities:\n  - id: NI\n", "t.yaml:2", {"reserved"});
  ExpectError("facilities:\n  - id: \"A B\"\n", "t.yaml:2", {"invalid character"});
  ExpectError("routes:\n  - id: r\n    when: {message_type: ORU-R01}\n    to: x\n", "t.yaml:3",
              {"invalid message type"});
  ExpectError("routes:\n  - id: r\n    when: {facility_kind: city}\n    to: x\n", "t.yaml:3",
              {"invalid facility kind"});
}

TEST(ConfigTest, BadDuration) {
  ExpectError("mllp:\n  idle_timeout: 5 minutes\n", "t.yaml:2",
              {"mllp.idle_timeout", "invalid duration", "250ms"});
  ExpectError(
      std::string(kBase).replace(std::string(kBase).find("    url:"), 0, "    timeout: soon\n"),
      "t.yaml:13", {"destinations[0].timeout", "invalid duration"});
}

TEST(ConfigTest, BadSize) {
  ExpectError("http:\n  max_body_bytes: 16 MiBs\n", "t.yaml:2", {"invalid size", "16MiB"});
  ExpectError("mllp:\n  max_message_bytes: 10\n", "t.yaml:2", {"too small"});
}

TEST(ConfigTest, BadListenAddress) {
  ExpectError("listen:\n  mllp: 2575\n", "t.yaml:2", {"listen.mllp", "invalid address"});
  ExpectError("listen:\n  http: localhost:70000\n", "t.yaml:2", {"listen.http", "0–65535"});
  ExpectError("listen:\n  http: :80\n", "t.yaml:2", {"host missing"});
  ExpectError("listen:\n  http: ::1:80\n", "t.yaml:2", {"[::1]"});
  ExpectError("listen:\n  mllp: 127.0.0.1:2575\n  http: 127.0.0.1:2575\n", "t.yaml:3",
              {"listen.mllp"});
}

TEST(ConfigTest, SyntaxError) {
  ExpectError("hub:\n  name: x\n  data_dir: [unclosed\nlisten:\n", "t.yaml:4",
              {"YAML 语法错误 (syntax error)"});
  ExpectError("hub:\n  name: x\n bad: y\n", "t.yaml:3", {"syntax error"});
  ExpectError("hub:\n  name: x\n\tdata_dir: y\n", "t.yaml:3", {"Tab"});
  ExpectError("hub: {}\n---\nhub: {}\n", "t.yaml:3", {"more than one YAML document"});
}

TEST(ConfigTest, EmptyFileIsAnError) {
  ExpectError("", "t.yaml", {"empty config"});
  ExpectError("# only a comment\n", "t.yaml", {"empty config"});
}

TEST(ConfigTest, OptionalListenersAndNulls) {
  auto r = ParseConfig("listen:\n  mllp: 0.0.0.0:0\n  http:\nhub:\n  name:\n", "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->mllp.enabled);
  EXPECT_EQ(r->mllp.host, "0.0.0.0");
  EXPECT_FALSE(r->http.enabled);
  EXPECT_EQ(r->hub_name, "");
  auto v6 = ParseConfig("listen:\n  http: \"[::1]:8080\"\n", "t.yaml");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->http.host, "::1");
  EXPECT_EQ(v6->http.port, 8080);
}

TEST(ConfigTest, DestinationVariants) {
  auto r = ParseConfig(R"(facilities:
  - {id: A, kind: township}
destinations:
  - id: m
    type: mllp
    url: mllp://10.0.0.5:2575/
    paused: true
    timeout: 250ms
    concurrency: 1
  - id: f
    type: file
    url: file:///srv/out
    format: json
  - id: h
    type: http
    url: https://platform.example/api
    headers: {X-Token: abc, X-Empty: }
routes:
  - id: all
    to: [m, f, h]
  - id: adt
    when: {message_type: [adt, "ADT^A04"], facility: A, facility_kind: township}
    to: h
)",
                       "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  const auto* m = c.FindDestination("m");
  EXPECT_EQ(m->host, "10.0.0.5");
  EXPECT_EQ(m->port, 2575);
  EXPECT_TRUE(m->paused);
  EXPECT_EQ(m->timeout_ms, 250);
  EXPECT_EQ(m->concurrency, 1);
  const auto* f = c.FindDestination("f");
  EXPECT_EQ(f->path, "/srv/out");
  EXPECT_EQ(f->Endpoint(), "file:///srv/out");
  EXPECT_EQ(f->format, DestinationFormat::kJson);
  const auto* h = c.FindDestination("h");
  ASSERT_EQ(h->headers.size(), 2u);
  EXPECT_EQ(h->headers[1], (std::pair<std::string, std::string>{"X-Empty", ""}));
  EXPECT_TRUE(c.routes[0].when.message_types.empty());  // no `when`: everything
  EXPECT_EQ(c.routes[1].when.message_types, (std::vector<std::string>{"ADT^*", "ADT^A04"}));
  EXPECT_EQ(c.routes[1].when.facilities, std::vector<std::string>{"A"});
  EXPECT_EQ(c.routes[1].when.facility_kinds, std::vector<FacilityKind>{FacilityKind::kTownship});
}

TEST(ConfigTest, PostgresStore) {
  auto r = ParseConfig("hub:\n  store: postgresql://hie:pw@127.0.0.1:5432/hie\n  durability: os\n",
                       "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->UsesPostgres());
  EXPECT_EQ(r->durability, "os");
  EXPECT_TRUE(ParseConfig("hub:\n  store: postgres://h/db\n", "t.yaml").ok());
}

TEST(ConfigTest, EnumNames) {
  EXPECT_EQ(ToString(FacilityKind::kTownship), "township");
  EXPECT_EQ(ToString(DestinationType::kMllp), "mllp");
  EXPECT_EQ(ToString(DestinationFormat::kHl7v2), "hl7v2");
  EXPECT_EQ(ToString(DestinationFormat::kCda), "cda");
}

TEST(ParseDurationTest, Units) {
  EXPECT_EQ(*ParseDurationMillis("250ms"), 250);
  EXPECT_EQ(*ParseDurationMillis("1s"), 1000);
  EXPECT_EQ(*ParseDurationMillis("5m"), 300000);
  EXPECT_EQ(*ParseDurationMillis("2h"), 7200000);
  EXPECT_EQ(*ParseDurationMillis("1d"), 86400000);
  EXPECT_EQ(*ParseDurationMillis("30"), 30000);
  EXPECT_EQ(*ParseDurationMillis("1.5s"), 1500);
  EXPECT_EQ(*ParseDurationMillis(" 10 s "), 10000);
  EXPECT_EQ(*ParseDurationMillis("0"), 0);
  for (const char* bad : {"", "s", "-1s", "1y", "1S", "1.s", "abc", "1e3", "99999999999d"}) {
    auto r = ParseDurationMillis(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kConfigError);
    }
  }
}

TEST(ParseSizeTest, Units) {
  EXPECT_EQ(*ParseSizeBytes("16MiB"), 16 << 20);
  EXPECT_EQ(*ParseSizeBytes("512KiB"), 512 << 10);
  EXPECT_EQ(*ParseSizeBytes("1GB"), 1000000000);
  EXPECT_EQ(*ParseSizeBytes("1GiB"), int64_t{1} << 30);
  EXPECT_EQ(*ParseSizeBytes("2kb"), 2000);
  EXPECT_EQ(*ParseSizeBytes("4096"), 4096);
  EXPECT_EQ(*ParseSizeBytes("100B"), 100);
  EXPECT_EQ(*ParseSizeBytes("1.5MiB"), 1572864);
  for (const char* bad : {"", "MiB", "-1", "16 MiBs", "1TB", "x1"}) {
    EXPECT_FALSE(ParseSizeBytes(bad).ok()) << bad;
  }
}

TEST(ParseHostPortTest, Forms) {
  auto a = ParseHostPort("127.0.0.1:2575");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 2575);
  EXPECT_TRUE(a->enabled);
  EXPECT_EQ(ParseHostPort("localhost:65535")->port, 65535);
  EXPECT_EQ(ParseHostPort("[::]:0")->host, "::");
  for (const char* bad :
       {"", "host", ":1", "h:", "h:65536", "h:-1", "h:12a", "::1:2", "[::1]", "a b:1"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace hie
