// The shared record's lab-results query (issue 6 benchmark): one person
// with --person-rows results (over two source records, i.e. two
// facilities) in a store of --rows results in all, queried through the
// RecordStore exactly as GET /patients/{id}/lab-results does (newest first,
// a page of --limit), with and without filters. Prints one JSON line per
// query shape with p50/p99/max in milliseconds (wall), and the p50/p99 of
// the calling thread's CPU time (on SQLite the whole query; on PostgreSQL
// the client's part), which tells a slow query from a busy machine.
//
//   record_query_bench --uri sqlite:/path/hub.db | postgresql://... \
//       [--rows 10000000] [--person-rows 2000] [--queries 2000] [--limit 100]
//
// The rows are bulk-loaded straight into record_lab_results with SQL (a
// prepared INSERT in large transactions on SQLite, INSERT ... SELECT
// generate_series on PostgreSQL), only up to what the table lacks, so a
// second run over the same database measures at once. Filler persons have
// 20 results each; ids, times and keys are ascending as a live store's are.
// Thread rules: single-threaded.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "store/open.h"
#include "store/record_store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string uri;
  int64_t rows = 10'000'000;
  int64_t person_rows = 2000;
  int queries = 2000;
  int limit = 100;
};

constexpr int64_t kFillerPerSource = 20;
constexpr int64_t kBaseMs = 1'600'000'000'000;  // 2020-09
constexpr int kCodes = 40;

// The resource column: a compact Observation like the ones the hub stores.
std::string Resource(int64_t n) {
  return R"({"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"local:TOWN","code":"C)" +
         std::to_string(n % kCodes) +
         R"(","display":"检验项目"},{"system":"LOINC","code":"2345-7","display":"Glucose"}]},"valueQuantity":{"value":5.1,"unit":"mmol/L"},"referenceRange":[{"text":"3.9-6.1"}],"interpretation":[{"coding":[{"system":"HL7 0078","code":"N"}]}],"effectiveDateTime":"2024-03-08T10:00:00+08:00"})";
}

// Row n (1-based) of the load: the person's rows first (sources 1 and 2),
// then the filler.
struct Row {
  int64_t source, effective;
  std::string facility, code, item_key;
};
Row RowAt(const Options& o, int64_t n) {
  Row r;
  if (n <= o.person_rows) {
    r.source = 1 + (n % 2);
    r.effective = kBaseMs + n * 86'400'000LL / 2;  // about five years of results
  } else {
    r.source = 3 + (n - o.person_rows - 1) / kFillerPerSource;
    r.effective = kBaseMs + (n % 100'000) * 1'000'000LL;
  }
  r.facility = r.source % 2 == 0 ? "VILL" : "TOWN";
  r.code = "C" + std::to_string(n % kCodes);
  r.item_key = r.facility + "|R" + std::to_string(n / 10) + "|" + r.code + "|" + std::to_string(n);
  return r;
}

int64_t CountSqlite(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(id), 0) FROM record_lab_results", -1, &st, nullptr);
  int64_t n = 0;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

bool LoadSqlite(const Options& o, const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return false;
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144",
               nullptr, nullptr, nullptr);
  const int64_t have = CountSqlite(db);
  std::fprintf(stderr, "sqlite: %lld rows present, loading to %lld\n", static_cast<long long>(have),
               static_cast<long long>(o.rows));
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(
      db,
      "INSERT INTO record_lab_results (id, message_id, source_id, facility_id, item_key, version, "
      "is_current, superseded_by, status, code_system, code, display, std_code, std_display, "
      "value, value_type, unit, std_unit, reference_range, abnormal_flag, specimen, "
      "performing_facility, verifier, report_id, effective_ms, issued_ms, resource, recorded_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, 1, 1, 0, 'final', ?6, ?7, '检验项目', '2345-7', 'Glucose', "
      "'5.1', 'quantity', 'mmol/L', 'mmol/L', '3.9-6.1', 'N', '血清', ?4, '孙检验', ?8, ?9, ?9, "
      "?10, ?9)",
      -1, &ins, nullptr);
  const auto t0 = Clock::now();
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (int64_t n = have + 1; n <= o.rows; ++n) {
    const Row r = RowAt(o, n);
    const std::string sys = "local:" + r.facility, res = Resource(n),
                      rep = "R" + std::to_string(n / 10);
    sqlite3_bind_int64(ins, 1, n);
    sqlite3_bind_int64(ins, 2, n / 10 + 1);
    sqlite3_bind_int64(ins, 3, r.source);
    sqlite3_bind_text(ins, 4, r.facility.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 5, r.item_key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 6, sys.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 7, r.code.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 8, rep.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 9, r.effective);
    sqlite3_bind_text(ins, 10, res.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(ins) != SQLITE_DONE) {
      std::fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
      return false;
    }
    sqlite3_reset(ins);
    if (n % 200'000 == 0) {
      sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr);
      std::fprintf(stderr, "  %lld rows, %.0f s\n", static_cast<long long>(n),
                   std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_finalize(ins);
  sqlite3_exec(db, "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return true;
}

bool LoadPostgres(const Options& o) {
  try {
    pqxx::connection c(o.uri);
    pqxx::nontransaction n(c);
    const int64_t have =
        n.exec("SELECT COALESCE(MAX(id), 0) FROM record_lab_results")[0][0].as<int64_t>();
    std::fprintf(stderr, "postgresql: %lld rows present, loading to %lld\n",
                 static_cast<long long>(have), static_cast<long long>(o.rows));
    const auto t0 = Clock::now();
    // The same rows as RowAt, computed by the server, in slices.
    const int64_t p = o.person_rows;
    for (int64_t from = have + 1; from <= o.rows; from += 500'000) {
      const int64_t to = std::min(o.rows, from + 499'999);
      const std::string src = "(CASE WHEN g <= " + std::to_string(p) +
                              " THEN 1 + g % 2 ELSE 3 + (g - " + std::to_string(p) + " - 1) / " +
                              std::to_string(kFillerPerSource) + " END)";
      const std::string fac = "(CASE WHEN " + src + " % 2 = 0 THEN 'VILL' ELSE 'TOWN' END)";
      const std::string eff = "(CASE WHEN g <= " + std::to_string(p) + " THEN " +
                              std::to_string(kBaseMs) + " + g * 43200000 ELSE " +
                              std::to_string(kBaseMs) + " + (g % 100000) * 1000000 END)";
      const std::string code = "('C' || (g % " + std::to_string(kCodes) + "))";
      n.exec("SET synchronous_commit = off");
      n.exec(
          "INSERT INTO record_lab_results (id, message_id, source_id, facility_id, item_key, "
          "version, is_current, superseded_by, status, code_system, code, display, std_code, "
          "std_display, value, value_type, unit, std_unit, reference_range, abnormal_flag, "
          "specimen, performing_facility, verifier, report_id, effective_ms, issued_ms, resource, "
          "recorded_at) SELECT g, g / 10 + 1, " +
          src + ", " + fac + ", " + fac + " || '|R' || (g / 10) || '|' || " + code +
          " || '|' || g, 1, 1, 0, 'final', 'local:' || " + fac + ", " + code +
          ", '检验项目', '2345-7', 'Glucose', '5.1', 'quantity', 'mmol/L', 'mmol/L', '3.9-6.1', "
          "'N', '血清', " +
          fac + ", '孙检验', 'R' || (g / 10), " + eff + ", " + eff +
          ", "
          "'{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"code\":{"
          "\"coding\":[{\"system\":\"local:TOWN\",\"code\":\"' || " +
          code +
          " || "
          "'\",\"display\":\"检验项目\"},{\"system\":\"LOINC\",\"code\":\"2345-7\",\"display\":"
          "\"Glucose\"}]},\"valueQuantity\":{\"value\":5.1,\"unit\":\"mmol/"
          "L\"},\"referenceRange\":[{\"text\":\"3.9-6.1\"}],\"interpretation\":[{\"coding\":[{"
          "\"system\":\"HL7 "
          "0078\",\"code\":\"N\"}]}],\"effectiveDateTime\":\"2024-03-08T10:00:00+08:00\"}', " +
          eff + " FROM generate_series(" + std::to_string(from) + "::bigint, " +
          std::to_string(to) + "::bigint) AS g");
      std::fprintf(stderr, "  %lld rows, %.0f s\n", static_cast<long long>(to),
                   std::chrono::duration<double>(Clock::now() - t0).count());
    }
    n.exec(
        "SELECT setval(pg_get_serial_sequence('record_lab_results', 'id'), "
        "(SELECT MAX(id) FROM record_lab_results))");
    n.exec("VACUUM ANALYZE record_lab_results");  // visibility map: index-only scans
  } catch (const std::exception& e) {
    std::fprintf(stderr, "postgresql load: %s\n", e.what());
    return false;
  }
  return true;
}

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--uri")
      o.uri = v;
    else if (k == "--rows")
      o.rows = std::atoll(v.c_str());
    else if (k == "--person-rows")
      o.person_rows = std::atoll(v.c_str());
    else if (k == "--queries")
      o.queries = std::atoi(v.c_str());
    else if (k == "--limit")
      o.limit = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.uri.empty()) {
    std::fprintf(stderr,
                 "usage: record_query_bench --uri sqlite:PATH|postgresql://... [--rows N]\n");
    return 2;
  }
  {
    // Migrations (the record tables come with 0005).
    hie::StoreOptions so;
    so.durable_full = false;
    auto s = hie::OpenStore(o.uri, so);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
      return 1;
    }
    (*s)->Close();
  }
  const bool sqlite = o.uri.rfind("sqlite:", 0) == 0;
  if (!(sqlite ? LoadSqlite(o, o.uri.substr(7)) : LoadPostgres(o))) return 1;

  auto rs = hie::OpenRecordStore(o.uri);
  if (!rs.ok()) {
    std::fprintf(stderr, "%s\n", rs.status().ToString().c_str());
    return 1;
  }
  struct Shape {
    const char* name;
    hie::LabResultFilter f;
  };
  std::vector<Shape> shapes(5);
  for (auto& s : shapes) {
    s.f.source_ids = {1, 2};
    s.f.limit = o.limit;
  }
  shapes[0].name = "newest_page";
  shapes[1].name = "code";
  shapes[1].f.code = "C7";
  shapes[2].name = "facility";
  shapes[2].f.facility_id = "VILL";
  shapes[3].name = "since";
  shapes[3].f.since_ms = kBaseMs + o.person_rows * 43'200'000LL / 2;
  shapes[4].name = "second_page";
  {
    auto first = (*rs)->LabResults(shapes[0].f);
    if (!first.ok() || first->empty()) {
      std::fprintf(stderr, "no rows for the person\n");
      return 1;
    }
    shapes[4].f.before_ms = first->back().effective_ms;
    shapes[4].f.before_id = first->back().id;
  }
  for (const auto& s : shapes) {
    std::vector<double> ms, cpu;  // wall; this thread's CPU (the client's share)
    ms.reserve(static_cast<size_t>(o.queries));
    size_t rows = 0;
    for (int q = 0; q < o.queries + 50; ++q) {
      const double c0 = ThreadCpuMs();
      const auto t0 = Clock::now();
      auto r = (*rs)->LabResults(s.f);
      const double d = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      const double c = ThreadCpuMs() - c0;
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
        return 1;
      }
      rows = r->size();
      if (q >= 50) {  // after a warm-up
        ms.push_back(d);
        cpu.push_back(c);
      }
    }
    std::printf(
        "{\"bench\":\"record_query\",\"backend\":\"%s\",\"rows\":%lld,\"person_rows\":%lld,"
        "\"shape\":\"%s\",\"limit\":%d,\"returned\":%zu,\"queries\":%d,\"p50_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"client_cpu_p50_ms\":%.3f,\"client_cpu_p99_ms\":%.3f}\n",
        sqlite ? "sqlite" : "postgresql", static_cast<long long>(o.rows),
        static_cast<long long>(o.person_rows), s.name, o.limit, rows, o.queries, Pct(ms, 0.5),
        Pct(ms, 0.99), Pct(ms, 1.0), Pct(cpu, 0.5), Pct(cpu, 0.99));
    std::fflush(stdout);
  }
  (*rs)->Close();
  return 0;
}
