// Test helpers shared by the store test suites: the backends the contract
// suite runs against, a hermetic PostgreSQL schema per test, and message
// builders. Test-only code (linked into the store test executables).
//
// PostgreSQL cases run when HIE_TEST_PG_URI names a server (tools/test starts
// a throwaway one); each test gets a fresh schema, dropped afterwards.
// Thread rules: PgTestSchema is used by one test thread; the rest are pure.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/message.h"
#include "store/store.h"

namespace hie::store_test {

// A store that a test opens (and may reopen) over the same data: `place`
// is the test's temp dir; the PostgreSQL backend derives its schema from it.
struct Backend {
  std::string name;
  std::function<std::unique_ptr<Store>(const std::string& place)> open;
  // Drops what open() created beyond the temp dir (the PostgreSQL schema).
  std::function<void(const std::string& place)> cleanup;
  // Readies the store for rows dated from `from_ms` on (PostgreSQL: the
  // monthly partitions from that month through now, as a database that has
  // run that long has; SQLite: nothing to do).
  std::function<void(const std::string& place, int64_t from_ms)> cover_history;
  // Non-empty: why this backend cannot run here (the test is skipped).
  std::function<std::string()> unavailable;
};

Backend SqliteBackend();
Backend PostgresBackend();

// HIE_TEST_PG_URI, or empty.
std::string PgBaseUri();
// The schema name a place maps to: lower-case, unique per place.
std::string PgSchemaFor(const std::string& place);
// The base URI with search_path set to `schema` and application_name =
// schema (so a test can find and kill exactly its own connections).
std::string PgUriFor(const std::string& schema);
// CREATE SCHEMA / DROP SCHEMA ... CASCADE on the base URI; false on failure.
bool PgCreateSchema(const std::string& schema);
void PgDropSchema(const std::string& schema);
// Runs SQL on the base URI (outside the schema); the error text or "".
std::string PgExec(const std::string& sql);
// The first field of the first row of `sql`, "" when no row, or
// "ERROR: ..." when it fails.
std::string PgQuery1(const std::string& sql);

// The URI of a fresh database for a parameterized test: "Postgres" -> a new
// schema (its name in *schema, drop it in TearDown), anything else -> SQLite
// at place/hub.db. Empty: PostgreSQL is not configured (skip the test);
// "ERROR: ..." when the schema could not be made.
std::string FreshUri(const std::string& backend, const std::string& place, std::string* schema);

std::string MakeTempDir();
// prefix + decimal n (not "lit" + std::to_string(n): g++ 12 warns falsely).
std::string Key(const char* prefix, int64_t n);
NewMessage Msg(const std::string& facility, const std::string& key, int64_t at = 1000);

}  // namespace hie::store_test
