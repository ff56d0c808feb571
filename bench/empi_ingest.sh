#!/usr/bin/env bash
# Does the EMPI (issue 5: each ADT/ORU patient resolved after the ACK, one
# synced EMPI transaction per message on its own connection) cost ingest?
# The same hub, the same ADT+ORU load, with `empi.enabled` true and false,
# alternated run by run; prints median msgs/s and ACK p50/p99 of each, the
# ratio, and how long the EMPI still needed after the load to resolve every
# message (its lag behind ingest).
#
#   bench/empi_ingest.sh [--messages N] [--reps R] [--connections C]
#                        [--durability os|full] [--build-dir DIR] [--record]
# --record: the EMPI on in both, `empi.record` false and true (issue 6: the
# shared record's rows written with each resolution); adds the EMPI
# worker's throughput (messages / (load time + lag)).
# Needs build targets hie and hie-load. Results: bench/results/ (JSON lines).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD="$ROOT/build"
MESSAGES=10000
REPS=3
CONNS=8
DURABILITY=os
WARMUP=1000
RECORD=0
while (($#)); do
  case "$1" in
    --messages) MESSAGES="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --connections) CONNS="$2"; shift 2 ;;
    --durability) DURABILITY="$2"; shift 2 ;;
    --build-dir) BUILD="$2"; shift 2 ;;
    --record) RECORD=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
HIE="$BUILD/hie"
LOAD="$BUILD/tools/hie-load"
[[ -x "$HIE" && -x "$LOAD" ]] || { echo "build hie and hie-load in $BUILD first" >&2; exit 1; }

STAMP="$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$ROOT/bench/results"
RESULTS="$ROOT/bench/results/empi_ingest-$STAMP.jsonl"
WORK="$(mktemp -d)"
SERVER_PID=""
PORT=""
HTTP=""
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

# start_hub NAME ENABLED(true|false) [RECORD(true|false)]: a fresh hub
# (SERVER_PID, PORT, HTTP).
# Not to be called in $(...): the pid must stay here.
start_hub() {
  local dir="$WORK/$1-$RANDOM"
  mkdir -p "$dir/data"
  printf '%s\n' \
    "hub: {name: bench, data_dir: $dir/data, store: sqlite, durability: $DURABILITY, log_level: warn}" \
    'listen: {mllp: "127.0.0.1:0", http: "127.0.0.1:0"}' \
    'facilities: [{id: XQRMYY, name: 县人民医院, kind: county, card_reader: true}]' \
    "empi: {enabled: $2, record: ${3:-true}}" 'destinations: []' 'routes: []' >"$dir/hie.yaml"
  "$HIE" serve --config "$dir/hie.yaml" --data-dir "$dir/data" >"$dir/hub.log" 2>&1 &
  SERVER_PID=$!
  wait_ports "$dir/data" "$dir/hub.log"
}

# Seconds until the EMPI has resolved (or skipped) N messages.
empi_lag() {
  python3 -c '
import re, sys, time, urllib.request
port, n = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic()
while time.monotonic() - t0 < 600:
    text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port).read().decode()
    pat = r"^hie_empi_(?:resolved|skipped)_total(?:\{[^}]*\})? (\S+)$"
    if sum(float(v) for v in re.findall(pat, text, re.M)) >= n:
        print("%.2f" % (time.monotonic() - t0))
        sys.exit(0)
    time.sleep(0.2)
print("nan")
' "$HTTP" "$1"
}

declare -A RATES P50 P99 LAGS WORKER
A=off B=on
((RECORD)) && A=norecord B=record
for rep in $(seq 1 "$REPS"); do
  # Alternate which goes first, so a drift of the machine favours neither.
  order="$A $B"; ((rep % 2 == 0)) && order="$B $A"
  for variant in $order; do
    if ((RECORD)); then
      start_hub "$variant" true "$([[ $variant == record ]] && echo true || echo false)"
    else
      start_hub "$variant" "$([[ $variant == on ]] && echo true || echo false)"
    fi
    line="$("$LOAD" --host 127.0.0.1 --port "$PORT" --messages "$MESSAGES" --warmup "$WARMUP" \
      --connections "$CONNS" --type mix --facility XQRMYY --json)"
    lag=0
    [[ $variant != off ]] && lag="$(empi_lag $((MESSAGES + WARMUP)))"
    # The EMPI worker's rate: every message resolved in load time + lag.
    worker="$(awk -v n="$MESSAGES" -v r="$(json_num "$line" msgs_per_s)" -v l="$lag" \
      'BEGIN {printf "%.0f", n / (n / r + l)}')"
    WORKER[$variant]+="$worker "
    # CPU seconds the hub used for the run (user + system), from /proc.
    cpu="$(awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo nan)"
    stop_server
    printf '{"bench":"empi_ingest","stamp":"%s","empi":"%s","rep":%d,"durability":"%s","empi_lag_s":%s,"empi_msgs_per_s":%s,"result":%s}\n' \
      "$STAMP" "$variant" "$rep" "$DURABILITY" "$lag" "$worker" "$line" >>"$RESULTS"
    RATES[$variant]+="$(json_num "$line" msgs_per_s) "
    P50[$variant]+="$(json_num "$line" p50_ms) "
    P99[$variant]+="$(json_num "$line" p99_ms) "
    LAGS[$variant]+="$lag "
    echo "rep $rep empi=$variant: $(json_num "$line" msgs_per_s) msgs/s, hub CPU ${cpu} s, EMPI done ${lag} s after the load" >&2
  done
done
printf 'empi\tmsgs/s\tp50_ms\tp99_ms\tlag_s\tempi_msgs/s   (median of %d, %d ADT+ORU, %d connections, durability %s)\n' \
  "$REPS" "$MESSAGES" "$CONNS" "$DURABILITY"
for v in $A $B; do
  r="$(median_of "${RATES[$v]}")"
  printf '%s\t%.0f\t%s\t%s\t%s\t%s\n' "$v" "$r" "$(median_of "${P50[$v]}")" \
    "$(median_of "${P99[$v]}")" "$(median_of "${LAGS[$v]}")" "$(median_of "${WORKER[$v]}")"
  eval "M_$v=$r"
  eval "W_$v=$(median_of "${WORKER[$v]}")"
done
awk -v a="$(eval echo \$M_$B)" -v b="$(eval echo \$M_$A)" \
  "BEGIN {printf \"ingest ratio $B/$A: %.3f\\n\", a / b}"
if ((RECORD)); then
  awk -v a="$W_record" -v b="$W_norecord" 'BEGIN {printf "EMPI worker ratio record/norecord: %.3f\n", a / b}'
fi
