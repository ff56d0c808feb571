#!/usr/bin/env bash
# The shared record's benchmark (issue 6): GET /patients/{id}/lab-results as
# the store answers it (RecordStore::LabResults, newest first, a page of
# 100; also with a code / facility / since filter and the second page) for
# a person with 2,000 results in a store of N results, on SQLite and on
# PostgreSQL. Goal: p99 under 10 ms on both.
#
#   bench/record_query.sh [--rows N] [--queries Q] [--backend sqlite|postgres|both]
#                         [--pg-uri URI] [--work DIR] [--build-dir DIR]
#
# N defaults to 10,000,000 (the issue's size; the load takes minutes per
# backend — use e.g. --rows 1000000 while iterating). The rows are bulk
# loaded with SQL by record_query_bench (not through MLLP); a database in
# --work that already holds them is reused, so a rerun only measures.
# Without --pg-uri a throwaway PostgreSQL is started (fsync off, as
# tools/test does) and removed afterwards. Results: bench/results/ (JSON lines).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build"
ROWS=10000000
QUERIES=2000
BACKEND=both
PG_URI=""
WORK=""
while (($#)); do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --queries) QUERIES="$2"; shift 2 ;;
    --backend) BACKEND="$2"; shift 2 ;;
    --pg-uri) PG_URI="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --build-dir) BUILD="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BENCH="$BUILD/bench/record_query_bench"
[[ -x "$BENCH" ]] || { echo "build record_query_bench in $BUILD first" >&2; exit 1; }
KEEP_WORK=1
if [[ -z "$WORK" ]]; then WORK="$(mktemp -d)"; KEEP_WORK=0; fi
mkdir -p "$WORK" "$ROOT/bench/results"
STAMP="$(date -u +%Y%m%d-%H%M%S)"
RESULTS="$ROOT/bench/results/record_query-$STAMP.jsonl"

PGTMP=""
PGBIN=""
cleanup() {
  if [[ -n "$PGTMP" ]]; then
    "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PGTMP"
  fi
  ((KEEP_WORK)) || rm -rf "$WORK"
}
trap cleanup EXIT
RUNAS=()

start_pg() {
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [[ -x "$PGBIN/initdb" ]] || { echo "no PostgreSQL server binaries; pass --pg-uri" >&2; exit 1; }
  PGTMP="$(mktemp -d /tmp/hie-bench-pg.XXXXXX)"
  chmod 755 "$PGTMP"
  local port
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$PGTMP" && RUNAS=(runuser -u postgres --); fi
  "${RUNAS[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -U hie --auth=trust -E UTF8 >"$PGTMP/initdb.log"
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/pg.log" -w \
    -o "-p $port -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=512MB \
-c max_wal_size=4GB" start >/dev/null
  PG_URI="postgresql://hie@127.0.0.1:$port/postgres"
}

run() {
  echo "[record_query] $1: $ROWS rows ..." >&2
  "$BENCH" --uri "$2" --rows "$ROWS" --queries "$QUERIES" | tee -a "$RESULTS"
}

if [[ $BACKEND == sqlite || $BACKEND == both ]]; then
  run sqlite "sqlite:$WORK/record-$ROWS.db"
fi
if [[ $BACKEND == postgres || $BACKEND == both ]]; then
  [[ -n "$PG_URI" ]] || start_pg
  run postgresql "$PG_URI"
fi
echo "[record_query] results: $RESULTS" >&2
