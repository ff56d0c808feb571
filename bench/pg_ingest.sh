#!/usr/bin/env bash
# MLLP ingest with the ACK after the durable commit, on the PostgreSQL store
# with 1 node and with 2 nodes (same machine, same database), side by side
# with the SQLite store (durability full) in the same run; plus a pgbench
# insert-commit ceiling at the same connection counts: what the database
# itself takes on this machine. Starts its own throwaway PostgreSQL with
# fsync ON (honest durability), stops it at the end.
#
#   bench/pg_ingest.sh                          # N=10000, warmup 1000, 3 reps, 2/8/32 connections
#   bench/pg_ingest.sh --messages 3000 --reps 1 --connections "8"
#
# Options: --messages N  --warmup M  --reps R  --connections "2 8 32" (even:
#          2 nodes get half each)  --type ADT|ORU|mix  --build-dir DIR  --no-build
#          --hub-yaml TEXT (top-level YAML added to every hub's config)
# 2 nodes: two hie-load processes at once, N/2 messages and C/2 connections
# each; msgs/s = N / the slower one's elapsed time, p99 = the larger of the
# two p99s (a bound on the combined p99).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
MESSAGES=10000
WARMUP=1000
REPS=3
CONNS="2 8 32"
TYPE=mix
FACILITY=XQRMYY
DO_BUILD=1
PGBENCH_SECONDS=10
HUB_YAML=""

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --messages) MESSAGES="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --connections) CONNS="$2"; shift 2 ;;
    --type) TYPE="$2"; shift 2 ;;
    --build-dir) BUILD="$(cd "$2" && pwd)"; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --hub-yaml) HUB_YAML="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done

HIE="$BUILD/hie"
LOAD="$BUILD/tools/hie-load"
RESULTS_DIR="$ROOT/bench/results"
STAMP="$(date +%Y%m%d-%H%M%S)"
RESULTS="$RESULTS_DIR/pg_ingest-$STAMP.jsonl"
mkdir -p "$RESULTS_DIR"
WORK="$(mktemp -d /tmp/hie-pgbench.XXXXXX)"
chmod 755 "$WORK"
PIDS=()
FAILED=0
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
PGDATA="$WORK/pg"
RUNAS=()

log() { printf '[pg_ingest] %s\n' "$*" >&2; }

stop_hubs() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  stop_hubs
  if [[ -f "$PGDATA/postmaster.pid" ]]; then
    "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build and PostgreSQL -----------------------------------------------------
if ((DO_BUILD)); then
  if [[ ! -f "$BUILD/build.ninja" && ! -f "$BUILD/Makefile" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  fi
  cmake --build "$BUILD" --target hie hie-load >&2
fi
[[ -x "$LOAD" && -x "$HIE" ]] || { log "missing $HIE or $LOAD"; exit 1; }
[[ -n "$PGBIN" && -x "$PGBIN/initdb" && -x "$PGBIN/pgbench" ]] ||
  { log "PostgreSQL server and pgbench needed (apt-get install postgresql postgresql-contrib)"; exit 1; }

PGPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
if [[ $(id -u) -eq 0 ]]; then chown postgres "$WORK" && RUNAS=(runuser -u postgres --); fi
"${RUNAS[@]}" "$PGBIN/initdb" -D "$PGDATA" -U hie --auth=trust -E UTF8 >"$WORK/initdb.log" 2>&1
# fsync and synchronous_commit stay ON (the defaults): a commit is on disk.
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/pg.log" -w -o \
  "-p $PGPORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on" \
  start >/dev/null
BASE="postgresql://hie@127.0.0.1:$PGPORT"
PSQL=("$PGBIN/psql" -qAt -v ON_ERROR_STOP=1)
log "PostgreSQL $("${PSQL[@]}" "$BASE/postgres" -c 'SHOW server_version') on port $PGPORT, fsync $("${PSQL[@]}" "$BASE/postgres" -c 'SHOW fsync')"

# --- helpers ------------------------------------------------------------------
json_num() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" <<<"$1"; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else print v[int((NR+1)/2)]}'; }

# start_hub DIR STORE: starts a hub, sets HUB_PORT to its MLLP port. Not in
# $(...): the pid must reach PIDS in this shell (a subshell's copy was lost,
# and every hub of a run was left running).
start_hub() {
  local dir="$1" store="$2" port=""
  mkdir -p "$dir/data"
  cat >"$dir/hie.yaml" <<EOF
hub: {name: bench, data_dir: $dir/data, store: "$store", durability: full, log_level: warn}
listen: {mllp: "127.0.0.1:0", http: "127.0.0.1:0"}
facilities: [{id: $FACILITY, name: 县人民医院, kind: county}]
destinations: []
routes: []
$HUB_YAML
EOF
  "$HIE" serve --config "$dir/hie.yaml" --data-dir "$dir/data" >"$dir/hub.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    if [[ -s "$dir/data/ports.json" ]]; then
      port="$(sed -n 's/.*"mllp"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$dir/data/ports.json")"
      [[ -n "$port" ]] && { HUB_PORT="$port"; return 0; }
    fi
    sleep 0.1
  done
  log "hub in $dir did not start:"; tail -n 30 "$dir/hub.log" >&2
  return 1
}

SUMMARY="$WORK/summary.tsv"  # target conns msgs/s p99
: >"$SUMMARY"

record() {  # target conns rate p99 rep
  printf '{"bench":"pg_ingest","stamp":"%s","target":"%s","connections":%d,"rep":%d,"msgs_per_s":%s,"p99_ms":%s}\n' \
    "$STAMP" "$1" "$2" "$5" "$3" "$4" >>"$RESULTS"
  log "$1 connections=$2 rep=$5: $(printf '%.0f' "$3") msgs/s p99 $4 ms"
}

# one_load PORT CONNS MESSAGES WARMUP -> JSON line of hie-load
one_load() {
  "$LOAD" --host 127.0.0.1 --port "$1" --messages "$3" --warmup "$4" --connections "$2" \
    --type "$TYPE" --facility "$FACILITY" --json
}

series() {  # target conns
  local target="$1" c="$2" rep rates=() p99s=() dir port line l1 l2 p1 p2 e1 e2 r
  for rep in $(seq 1 "$REPS"); do
    dir="$WORK/$target-$c-$rep"
    case "$target" in
      sqlite)
        start_hub "$dir" sqlite; port="$HUB_PORT"
        if ! line="$(one_load "$port" "$c" "$MESSAGES" "$WARMUP")"; then FAILED=1; log "FAILED: $line"; fi
        rates+=("$(json_num "$line" msgs_per_s)"); p99s+=("$(json_num "$line" p99_ms)") ;;
      pg-1node)
        "${PSQL[@]}" "$BASE/postgres" -c "CREATE DATABASE b_${c}_${rep}_1"
        start_hub "$dir" "$BASE/b_${c}_${rep}_1"; port="$HUB_PORT"
        if ! line="$(one_load "$port" "$c" "$MESSAGES" "$WARMUP")"; then FAILED=1; log "FAILED: $line"; fi
        rates+=("$(json_num "$line" msgs_per_s)"); p99s+=("$(json_num "$line" p99_ms)") ;;
      pg-2nodes)
        "${PSQL[@]}" "$BASE/postgres" -c "CREATE DATABASE b_${c}_${rep}_2"
        start_hub "$dir/a" "$BASE/b_${c}_${rep}_2"; p1="$HUB_PORT"
        start_hub "$dir/b" "$BASE/b_${c}_${rep}_2"; p2="$HUB_PORT"
        one_load "$p1" $((c / 2)) $((MESSAGES / 2)) $((WARMUP / 2)) >"$dir/l1" &
        local w1=$!
        one_load "$p2" $((c / 2)) $((MESSAGES / 2)) $((WARMUP / 2)) >"$dir/l2" &
        local w2=$!
        wait $w1 || { FAILED=1; log "FAILED: node a"; }
        wait $w2 || { FAILED=1; log "FAILED: node b"; }
        l1="$(cat "$dir/l1")"; l2="$(cat "$dir/l2")"
        e1="$(json_num "$l1" elapsed_s)"; e2="$(json_num "$l2" elapsed_s)"
        r="$(awk -v n="$MESSAGES" -v a="$e1" -v b="$e2" 'BEGIN {m = a > b ? a : b; print (m > 0 ? (n / 2) * 2 / m : 0)}')"
        rates+=("$r")
        p99s+=("$(printf '%s\n%s\n' "$(json_num "$l1" p99_ms)" "$(json_num "$l2" p99_ms)" | sort -g | tail -1)") ;;
    esac
    stop_hubs
    record "$target" "$c" "${rates[-1]}" "${p99s[-1]}" "$rep"
  done
  printf '%s\t%s\t%s\t%s\n' "$target" "$c" "$(printf '%s\n' "${rates[@]}" | median)" \
    "$(printf '%s\n' "${p99s[@]}" | median)" >>"$SUMMARY"
}

# pgbench: one INSERT of a message-sized row per transaction, committed
# (fsync on), with the same client counts.
pgbench_series() {
  local c="$1" rep tps=() p99s=() out db="pgb_$1"
  "${PSQL[@]}" "$BASE/postgres" -c "CREATE DATABASE $db"
  "${PSQL[@]}" "$BASE/$db" -c "CREATE TABLE t (id bigserial PRIMARY KEY, at bigint NOT NULL, body bytea NOT NULL)"
  printf 'INSERT INTO t(at, body) VALUES (:client_id, convert_to(repeat(%s, 12), %s));\n' \
    "'MSH|^~\\&|LIS|XQRMYY|HIE|COUNTY|20261201||ORU^R01|'" "'UTF8'" >"$WORK/insert.sql"
  for rep in $(seq 1 "$REPS"); do
    rm -f "$WORK"/pgbench_log*
    out="$(cd "$WORK" && "$PGBIN/pgbench" -n -c "$c" -j "$(( c < 4 ? c : 4 ))" -T "$PGBENCH_SECONDS" \
      -f "$WORK/insert.sql" -l --log-prefix="$WORK/pgbench_log" "$BASE/$db" 2>&1)" || { FAILED=1; log "pgbench failed: $out"; }
    tps+=("$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)")
    # Per-transaction log: column 3 is the latency in microseconds.
    p99s+=("$(cat "$WORK"/pgbench_log* | awk '{print $3 / 1000}' | sort -g | awk '{v[NR]=$1} END {print v[int(NR*0.99)]}')")
    record pgbench "$c" "${tps[-1]}" "${p99s[-1]}" "$rep"
  done
  printf '%s\t%s\t%s\t%s\n' pgbench "$c" "$(printf '%s\n' "${tps[@]}" | median)" \
    "$(printf '%s\n' "${p99s[@]}" | median)" >>"$SUMMARY"
}

for c in $CONNS; do
  series sqlite "$c"
  series pg-1node "$c"
  series pg-2nodes "$c"
  pgbench_series "$c"
done

# --- report -------------------------------------------------------------------
echo
printf 'MLLP ingest, ACK after durable commit: %d messages (%s), warmup %d, median of %d runs\n' \
  "$MESSAGES" "$TYPE" "$WARMUP" "$REPS"
printf 'pgbench: one INSERT + COMMIT per transaction, %d s, fsync on (the database ceiling)\n' "$PGBENCH_SECONDS"
printf '%-10s %5s %10s %9s %12s\n' target conns msgs/s "p99 ms" "vs sqlite"
awk -F'\t' '
  { rate[$1, $2] = $3; p99[$1, $2] = $4; conns[$2] = 1; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  END {
    for (c in conns) cs[++m] = c + 0
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (cs[j] < cs[i]) { t = cs[i]; cs[i] = cs[j]; cs[j] = t }
    for (i = 1; i <= m; i++) for (k = 1; k <= n; k++) {
      key = order[k] SUBSEP cs[i]
      if (!(key in rate)) continue
      base = rate["sqlite", cs[i]]
      printf "%-10s %5d %10.0f %9.2f %12s\n", order[k], cs[i], rate[key], p99[key],
        (base > 0 && order[k] != "pgbench") ? sprintf("%.2fx", rate[key] / base) : "-"
    }
  }' "$SUMMARY"
echo
[[ -z "$HUB_YAML" ]] || echo "hub config added: $HUB_YAML"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw results: ${RESULTS#"$ROOT"/}"
exit "$FAILED"
