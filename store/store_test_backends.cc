#include "store/store_test_backends.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>

#include "store/open.h"

namespace hie::store_test {

std::string PgBaseUri() {
  const char* v = std::getenv("HIE_TEST_PG_URI");
  return v != nullptr ? std::string(v) : std::string();
}

std::string PgSchemaFor(const std::string& place) {
  // The mkdtemp suffix (mixed case) hex-encoded: unique and lower-case.
  std::string base = std::filesystem::path(place).filename().string();
  std::string out = "hie_t_";
  static const char* kHex = "0123456789abcdef";
  for (unsigned char ch : base.substr(base.size() > 6 ? base.size() - 6 : 0)) {
    out += kHex[ch >> 4];
    out += kHex[ch & 15];
  }
  return out;
}

std::string FreshUri(const std::string& backend, const std::string& place, std::string* schema) {
  if (backend != "Postgres") return "sqlite:" + place + "/hub.db";
  if (PgBaseUri().empty()) return "";
  *schema = PgSchemaFor(place);
  if (!PgCreateSchema(*schema)) return "ERROR: CREATE SCHEMA " + *schema + " failed";
  return PgUriFor(*schema);
}

std::string PgUriFor(const std::string& schema) {
  std::string uri = PgBaseUri();
  uri += uri.find('?') == std::string::npos ? '?' : '&';
  uri += "options=-csearch_path%3D" + schema + "&application_name=" + schema;
  return uri;
}

std::string PgExec(const std::string& sql) {
  try {
    pqxx::connection c(PgBaseUri());
    pqxx::nontransaction n(c);
    n.exec(sql);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string PgQuery1(const std::string& sql) {
  try {
    pqxx::connection c(PgBaseUri());
    pqxx::nontransaction n(c);
    pqxx::result r = n.exec(sql);
    if (r.empty() || r[0].empty() || r[0][0].is_null()) return "";
    return r[0][0].c_str();
  } catch (const std::exception& e) {
    return std::string("ERROR: ") + e.what();
  }
}

bool PgCreateSchema(const std::string& schema) {
  std::string err = PgExec("CREATE SCHEMA IF NOT EXISTS " + schema);
  EXPECT_EQ(err, "");
  return err.empty();
}

void PgDropSchema(const std::string& schema) {
  (void)PgExec("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
}

Backend SqliteBackend() {
  Backend b;
  b.name = "Sqlite";
  b.open = [](const std::string& dir) -> std::unique_ptr<Store> {
    StoreOptions o;
    o.durable_full = false;  // tests do not need fsync
    auto s = OpenStore("sqlite:" + dir + "/hub.db", o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  };
  b.cleanup = [](const std::string&) {};
  b.cover_history = [](const std::string&, int64_t) {};
  b.unavailable = [] { return std::string(); };
  return b;
}

Backend PostgresBackend() {
  Backend b;
  b.name = "Postgres";
  b.open = [](const std::string& dir) -> std::unique_ptr<Store> {
    const std::string schema = PgSchemaFor(dir);
    if (!PgCreateSchema(schema)) return nullptr;
    StoreOptions o;
    o.durable_full = false;
    auto s = OpenStore(PgUriFor(schema), o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  };
  b.cleanup = [](const std::string& dir) { PgDropSchema(PgSchemaFor(dir)); };
  b.cover_history = [](const std::string& dir, int64_t from_ms) {
    const int64_t months = (Env::Default().NowMillis() - from_ms) / (28LL * 24 * 3600 * 1000) + 1;
    std::string r =
        PgQuery1("SET search_path = " + PgSchemaFor(dir) + "; SELECT hie_ensure_partitions(" +
                 std::to_string(from_ms) + ", " + std::to_string(months) + ")");
    EXPECT_EQ(r.rfind("ERROR", 0), std::string::npos) << r;
  };
  b.unavailable = [] {
    return PgBaseUri().empty()
               ? std::string(
                     "HIE_TEST_PG_URI 未设置，跳过 PostgreSQL 用例 (not set: PostgreSQL "
                     "cases skipped; tools/test starts a server and sets it)")
               : std::string();
  };
  return b;
}

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hie_store_XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  EXPECT_NE(p, nullptr);
  return tmpl;
}

std::string Key(const char* prefix, int64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

NewMessage Msg(const std::string& facility, const std::string& key, int64_t at) {
  NewMessage m;
  m.facility_id = facility;
  m.dedupe_key = key;
  m.control_id = key;
  m.message_type = "ADT^A04";
  m.content_type = "application/hl7-v2";
  m.source = "mllp";
  m.peer = "10.0.0.1:5000";
  m.charset = "UTF-8";
  m.patient_key = "P1";
  m.raw = "MSH|^~\\&|...";
  m.response = "MSA|AA|" + key;
  m.received_at_ms = at;
  return m;
}

}  // namespace hie::store_test
