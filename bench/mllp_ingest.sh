#!/usr/bin/env bash
# End-to-end MLLP ingest benchmark: the hub (durability full and os) against
# a reference peer (Medplum's @medplum/hl7 Hl7Server, parse + AA ACK, no
# persistence), at 1, 8 and 64 connections, REPS repetitions each. The
# three servers of a connection count run side by side and take turns in
# each repetition, so every hub/peer ratio compares runs of the same minute.
# Prints the median msgs/s, p50 and p99 ACK latency and the median of the
# per-repetition hub/peer ratios, and appends every raw hie-load result to
# bench/results/ as JSON lines.
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
RATIOS="$WORK/ratios.tsv"     # durability conns rep hub/peer
: >"$SUMMARY"
: >"$RATIOS"

# The servers of the current connection count, by key ("full", "os",
# "peer"): all run at once and take turns being measured.
declare -A PIDS=() PORTS=() LOGS=()

stop_all() {
  local k
  for k in "${!PIDS[@]}"; do
    SERVER_PID="${PIDS[$k]}"
    stop_server
  done
  PIDS=() PORTS=() LOGS=()
}
cleanup() { stop_all; stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

start_hub() {  # DURABILITY CONNS
  local durability="$1" conns="$2" dir port
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
  PIDS[$durability]=$SERVER_PID PORTS[$durability]=$port LOGS[$durability]="$dir/hub.log"
  SERVER_PID=""
}

start_peer() {
  local port
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
  PIDS[peer]=$SERVER_PID PORTS[peer]=$port LOGS[peer]="$WORK/peer.log"
  SERVER_PID=""
}

# run_one KEY CONNS REP: one hie-load run against target KEY; appends the
# raw result and prints "msgs/s p50 p99" (nothing when it failed).
run_one() {
  local key="$1" conns="$2" rep="$3" target durability line rc=0
  if [[ "$key" == peer ]]; then target=medplum durability=-; else target=hub durability="$key"; fi
  line="$("$LOAD" --host 127.0.0.1 --port "${PORTS[$key]}" --messages "$MESSAGES" --warmup "$WARMUP" \
    --connections "$conns" --window "$WINDOW" --type "$TYPE" --facility "$FACILITY" --json)" || rc=$?
  printf '{"bench":"mllp_ingest","stamp":"%s","target":"%s","durability":"%s","connections":%d,"rep":%d,"exit":%d,"result":%s}\n' \
    "$STAMP" "$target" "$durability" "$conns" "$rep" "$rc" "${line:-null}" >>"$RESULTS"
  if ((rc != 0)) || [[ -z "$line" ]]; then
    FAILED=1
    log "FAILED: $target durability=$durability connections=$conns rep=$rep (exit $rc): ${line:-no output}"
    log "last lines of the server log:"; tail -n 20 "${LOGS[$key]}" >&2
    return 0
  fi
  local rate p50 p99
  rate="$(json_num "$line" msgs_per_s)" p50="$(json_num "$line" p50_ms)" p99="$(json_num "$line" p99_ms)"
  log "$target durability=$durability connections=$conns rep=$rep: $(printf '%.0f' "$rate") msgs/s p50 $p50 ms p99 $p99 ms"
  echo "$rate $p50 $p99"
}

# --- the runs ----------------------------------------------------------------
# Per connection count the targets run side by side and take turns within
# each repetition (the order rotating), so that each hub/peer ratio compares
# runs made in the same minute: this machine's speed drifts by tens of
# percent over minutes, more than the differences measured.
KEYS=()
((RUN_HUB)) && KEYS+=(full os)
((RUN_PEER)) && KEYS+=(peer)
for conns in $CONNS; do
  ((RUN_HUB)) && { start_hub full "$conns"; start_hub os "$conns"; }
  ((RUN_PEER)) && start_peer
  declare -A RATES=() P50S=() P99S=()
  for rep in $(seq 1 "$REPS"); do
    declare -A THIS=()
    n=${#KEYS[@]}
    for ((i = 0; i < n; i++)); do
      key="${KEYS[$(((i + rep - 1) % n))]}"
      out="$(run_one "$key" "$conns" "$rep")"
      [[ -n "$out" ]] || continue
      read -r rate p50 p99 <<<"$out"
      THIS[$key]=$rate
      RATES[$key]+="$rate " P50S[$key]+="$p50 " P99S[$key]+="$p99 "
    done
    if [[ -n "${THIS[peer]:-}" ]]; then
      for d in full os; do
        [[ -n "${THIS[$d]:-}" ]] || continue
        printf '%s\t%s\t%s\t%s\n' "$d" "$conns" "$rep" \
          "$(awk -v h="${THIS[$d]}" -v p="${THIS[peer]}" 'BEGIN { printf "%.3f", h / p }')" >>"$RATIOS"
      done
    fi
    unset THIS
  done
  for key in "${KEYS[@]}"; do
    [[ -n "${RATES[$key]:-}" ]] || continue
    if [[ "$key" == peer ]]; then target=medplum durability=-; else target=hub durability="$key"; fi
    m_rate="$(printf '%s\n' ${RATES[$key]} | median)"
    m_p50="$(printf '%s\n' ${P50S[$key]} | median)"
    m_p99="$(printf '%s\n' ${P99S[$key]} | median)"
    runs=$(wc -w <<<"${RATES[$key]}")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$durability" "$conns" "$m_rate" "$m_p50" "$m_p99" >>"$SUMMARY"
    printf '{"bench":"mllp_ingest","stamp":"%s","target":"%s","durability":"%s","connections":%d,"messages":%d,"warmup":%d,"window":%d,"reps":%d,"median":{"msgs_per_s":%s,"p50_ms":%s,"p99_ms":%s}}\n' \
      "$STAMP" "$target" "$durability" "$conns" "$MESSAGES" "$WARMUP" "$WINDOW" "$runs" "$m_rate" "$m_p50" "$m_p99" >>"$RESULTS"
  done
  unset RATES P50S P99S
  stop_all
done

# --- report ------------------------------------------------------------------
echo
printf 'MLLP ingest: %d messages (%s), warmup %d, window %d, median of %d runs\n' \
  "$MESSAGES" "$TYPE" "$WARMUP" "$WINDOW" "$REPS"
printf '%-8s %-10s %5s %10s %9s %9s\n' target durability conns msgs/s "p50 ms" "p99 ms"
awk -F'\t' '{printf "%-8s %-10s %5s %10.0f %9.3f %9.3f\n", $1, $2, $3, $4, $5, $6}' "$SUMMARY"
if ((RUN_HUB && RUN_PEER)); then
  echo
  echo "hub/peer msgs/s: median of the per-repetition ratios, each pair run in the same minute [lowest-highest]"
  for conns in $CONNS; do
    line="$(printf '  %3s connections:' "$conns")"
    for d in full os; do
      r="$(awk -F'\t' -v d="$d" -v c="$conns" '$1 == d && $2 == c { print $4 }' "$RATIOS")"
      [[ -n "$r" ]] || continue
      m="$(median <<<"$r")"
      lo="$(sort -g <<<"$r" | head -1)" hi="$(sort -g <<<"$r" | tail -1)"
      line+="$(printf '  %s %.2fx [%.2f-%.2f]' "$d" "$m" "$lo" "$hi")"
      printf '{"bench":"mllp_ingest","stamp":"%s","ratio":"%s/peer","connections":%d,"median":%s,"min":%s,"max":%s}\n' \
        "$STAMP" "$d" "$conns" "$m" "$lo" "$hi" >>"$RESULTS"
    done
    echo "$line"
  done
fi
echo
echo "raw results: ${RESULTS#"$ROOT"/}"
exit "$FAILED"
