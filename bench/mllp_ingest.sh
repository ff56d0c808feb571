#!/usr/bin/env bash
# End-to-end MLLP ingest benchmark: the hub (durability full and os) against
# a reference peer (Medplum's @medplum/hl7 Hl7Server, parse + AA ACK, no
# persistence), at 1, 8 and 64 connections, REPS repetitions each; prints
# the median msgs/s, p50 and p99 ACK latency and the hub/peer ratio, and
# appends every raw hie-load result to bench/results/ as JSON lines.
#
#   bench/mllp_ingest.sh                  # full run (N=50000, warmup 2000, 3 reps)
#   bench/mllp_ingest.sh --messages 5000 --reps 1 --peer-only
#
# Options: --messages N  --warmup M  --reps R  --connections "1 8 64"
#          --window W  --type ADT|ORU|mix  --build-dir DIR
#          --peer-only | --hub-only  --no-build  --hub-yaml "YAML lines added to the hub config" (e.g. "empi: {enabled: false}")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
MESSAGES=50000
WARMUP=2000
REPS=3
CONNS="1 8 64"
WINDOW=1
TYPE=mix
FACILITY=XQRMYY
RUN_HUB=1
RUN_PEER=1
DO_BUILD=1
HUB_YAML=""

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --messages) MESSAGES="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --connections) CONNS="$2"; shift 2 ;;
    --window) WINDOW="$2"; shift 2 ;;
    --type) TYPE="$2"; shift 2 ;;
    --build-dir) BUILD="$(cd "$2" && pwd)"; shift 2 ;;
    --peer-only) RUN_HUB=0; shift ;;
    --hub-only) RUN_PEER=0; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    --hub-yaml) HUB_YAML="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done

HIE="$BUILD/hie"
LOAD="$BUILD/tools/hie-load"
PEERS="$ROOT/bench/peers"
RESULTS_DIR="$ROOT/bench/results"
STAMP="$(date +%Y%m%d-%H%M%S)"
RESULTS="$RESULTS_DIR/mllp_ingest-$STAMP.jsonl"
mkdir -p "$RESULTS_DIR"
WORK="$(mktemp -d /tmp/hie-bench.XXXXXX)"
SERVER_PID=""
FAILED=0

log() { printf '[mllp_ingest] %s\n' "$*" >&2; }

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && { log "server $SERVER_PID did not stop on SIGTERM; killing"; kill -KILL "$SERVER_PID" 2>/dev/null || true; }
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -------------------------------------------------------------------
if ((DO_BUILD)); then
  if [[ ! -f "$BUILD/build.ninja" && ! -f "$BUILD/Makefile" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  fi
  targets=(hie-load)
  ((RUN_HUB)) && targets+=(hie)
  cmake --build "$BUILD" --target "${targets[@]}" >&2
fi
[[ -x "$LOAD" ]] || { log "missing $LOAD (build target hie-load)"; exit 1; }
((RUN_HUB)) && { [[ -x "$HIE" ]] || { log "missing $HIE (build target hie)"; exit 1; }; }

# --- helpers -----------------------------------------------------------------
# json_num LINE KEY: a numeric field of a flat JSON line.
json_num() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" <<<"$1"; }
# median: the middle of the numbers on stdin (lower middle for an even count).
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else print v[int((NR+1)/2)]}'; }

# wait_port FILE-OR-LOG KIND: prints the port once known, fails after 30 s.
wait_hub_port() {
  local ports="$1" port=""
  for _ in $(seq 1 300); do
    if [[ -s "$ports" ]]; then
      port="$(sed -n 's/.*"mllp"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$ports")"
      [[ -n "$port" ]] && { echo "$port"; return 0; }
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
wait_peer_port() {
  local out="$1" port=""
  for _ in $(seq 1 300); do
    port="$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$out")"
    [[ -n "$port" ]] && { echo "$port"; return 0; }
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

SUMMARY="$WORK/summary.tsv"   # target durability conns msgs/s p50 p99
: >"$SUMMARY"

# run_series TARGET DURABILITY PORT CONNS SERVER_LOG: REPS runs of hie-load.
run_series() {
  local target="$1" durability="$2" port="$3" conns="$4" server_log="$5"
  local rates=() p50s=() p99s=() rep line rc
  for rep in $(seq 1 "$REPS"); do
    rc=0
    line="$("$LOAD" --host 127.0.0.1 --port "$port" --messages "$MESSAGES" --warmup "$WARMUP" \
      --connections "$conns" --window "$WINDOW" --type "$TYPE" --facility "$FACILITY" --json)" || rc=$?
    printf '{"bench":"mllp_ingest","stamp":"%s","target":"%s","durability":"%s","rep":%d,"exit":%d,"result":%s}\n' \
      "$STAMP" "$target" "$durability" "$rep" "$rc" "${line:-null}" >>"$RESULTS"
    if ((rc != 0)) || [[ -z "$line" ]]; then
      FAILED=1
      log "FAILED: $target durability=$durability connections=$conns rep=$rep (exit $rc): ${line:-no output}"
      [[ -f "$server_log" ]] && { log "last lines of the server log:"; tail -n 20 "$server_log" >&2; }
    fi
    [[ -n "$line" ]] || continue
    rates+=("$(json_num "$line" msgs_per_s)")
    p50s+=("$(json_num "$line" p50_ms)")
    p99s+=("$(json_num "$line" p99_ms)")
    log "$target durability=$durability connections=$conns rep=$rep: $(printf '%.0f' "${rates[-1]}") msgs/s p50 ${p50s[-1]} ms p99 ${p99s[-1]} ms"
  done
  ((${#rates[@]})) || return 0
  local m_rate m_p50 m_p99
  m_rate="$(printf '%s\n' "${rates[@]}" | median)"
  m_p50="$(printf '%s\n' "${p50s[@]}" | median)"
  m_p99="$(printf '%s\n' "${p99s[@]}" | median)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$durability" "$conns" "$m_rate" "$m_p50" "$m_p99" >>"$SUMMARY"
  printf '{"bench":"mllp_ingest","stamp":"%s","target":"%s","durability":"%s","connections":%d,"messages":%d,"warmup":%d,"window":%d,"reps":%d,"median":{"msgs_per_s":%s,"p50_ms":%s,"p99_ms":%s}}\n' \
    "$STAMP" "$target" "$durability" "$conns" "$MESSAGES" "$WARMUP" "$WINDOW" "${#rates[@]}" "$m_rate" "$m_p50" "$m_p99" >>"$RESULTS"
}

# --- the hub -----------------------------------------------------------------
if ((RUN_HUB)); then
  for durability in full os; do
    for conns in $CONNS; do
      dir="$WORK/hub-$durability-$conns"
      mkdir -p "$dir/data"
      cat >"$dir/hie.yaml" <<EOF
hub: {name: bench, data_dir: $dir/data, store: sqlite, durability: $durability, log_level: warn}
listen: {mllp: "127.0.0.1:0", http: "127.0.0.1:0"}
facilities: [{id: $FACILITY, name: 县人民医院, kind: county}]
destinations: []
routes: []
$HUB_YAML
EOF
      "$HIE" serve --config "$dir/hie.yaml" --data-dir "$dir/data" >"$dir/hub.log" 2>&1 &
      SERVER_PID=$!
      if ! port="$(wait_hub_port "$dir/data/ports.json")"; then
        log "the hub did not report its port in $dir/data/ports.json; its log:"
        tail -n 40 "$dir/hub.log" >&2
        exit 1
      fi
      log "hub durability=$durability on MLLP port $port (pid $SERVER_PID)"
      run_series hub "$durability" "$port" "$conns" "$dir/hub.log"
      stop_server
    done
  done
fi

# --- the peer ----------------------------------------------------------------
if ((RUN_PEER)); then
  command -v node >/dev/null || { log "node is needed for the peer (apt-get install nodejs npm)"; exit 1; }
  if [[ ! -d "$PEERS/node_modules/@medplum/hl7" ]]; then
    log "installing the peer's npm packages"
    (cd "$PEERS" && npm install --no-audit --no-fund >&2)
  fi
  node "$PEERS/medplum_mllp_server.mjs" 0 >"$WORK/peer.out" 2>"$WORK/peer.log" &
  SERVER_PID=$!
  if ! port="$(wait_peer_port "$WORK/peer.out")"; then
    log "the medplum peer did not start:"; cat "$WORK/peer.log" >&2; exit 1
  fi
  log "medplum peer on port $port (pid $SERVER_PID)"
  for conns in $CONNS; do
    run_series medplum - "$port" "$conns" "$WORK/peer.log"
  done
  stop_server
fi

# --- report ------------------------------------------------------------------
echo
printf 'MLLP ingest: %d messages (%s), warmup %d, window %d, median of %d runs\n' \
  "$MESSAGES" "$TYPE" "$WARMUP" "$WINDOW" "$REPS"
printf '%-8s %-10s %5s %10s %9s %9s\n' target durability conns msgs/s "p50 ms" "p99 ms"
awk -F'\t' '{printf "%-8s %-10s %5s %10.0f %9.3f %9.3f\n", $1, $2, $3, $4, $5, $6}' "$SUMMARY"
if ((RUN_HUB && RUN_PEER)); then
  echo
  echo "hub/peer msgs/s"
  awk -F'\t' '
    $1 == "medplum" { peer[$3] = $4 }
    $1 == "hub"     { hub[$2, $3] = $4; conns[$3] = 1 }
    END {
      for (c in conns) {
        line = sprintf("  %3s connections:", c)
        n = split("full os", ds, " ")
        for (i = 1; i <= n; i++) {
          k = ds[i] SUBSEP c
          if ((k in hub) && (c in peer) && peer[c] > 0) line = line sprintf("  %s %.2fx", ds[i], hub[k] / peer[c])
        }
        print line
      }
    }' "$SUMMARY" | sort -n -k1
fi
echo
echo "raw results: ${RESULTS#"$ROOT"/}"
exit "$FAILED"
