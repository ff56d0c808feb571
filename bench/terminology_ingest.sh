#!/usr/bin/env bash
# Does the terminology check (issue 4: every committed message read into the
# canonical model and its codes looked up, after the ACK, on a nice-10
# worker) cost ingest rate? The same hub, the same ORU^R01 load, with and
# without `terminology.dir`, alternated run by run so both see the same
# machine; prints the median msgs/s and p50/p99 of each and the ratio.
#
#   bench/terminology_ingest.sh [--messages N] [--reps R] [--connections C]
#                               [--durability os|full] [--build-dir DIR]
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
while (($#)); do
  case "$1" in
    --messages) MESSAGES="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --connections) CONNS="$2"; shift 2 ;;
    --durability) DURABILITY="$2"; shift 2 ;;
    --build-dir) BUILD="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
HIE="$BUILD/hie"
LOAD="$BUILD/tools/hie-load"
[[ -x "$HIE" && -x "$LOAD" ]] || { echo "build hie and hie-load in $BUILD first" >&2; exit 1; }

STAMP="$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$ROOT/bench/results"
RESULTS="$ROOT/bench/results/terminology_ingest-$STAMP.jsonl"
WORK="$(mktemp -d)"
SERVER_PID=""
PORT=""
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

# start_hub NAME WITH_TERMINOLOGY(0|1): starts a fresh hub (SERVER_PID), sets
# PORT to its MLLP port. Not to be called in $(...): the pid must stay here.
start_hub() {
  local dir="$WORK/$1-$RANDOM" term=""
  mkdir -p "$dir/data"
  if (($2)); then
    mkdir -p "$dir/terminology"
    cp "$ROOT"/terminology/data/*.csv "$dir/terminology/"
    cp "$ROOT"/terminology/examples/local-CWS001.csv "$dir/terminology/local-XQRMYY.csv"
    sed -i 's/local:CWS001/local:XQRMYY/' "$dir/terminology/local-XQRMYY.csv"
    term="terminology: {dir: $dir/terminology}"
  fi
  # The EMPI (issue 5) writes to the store after each message too; it is
  # switched off so the comparison sees only the terminology check (a hub
  # that does not know the key yet is started without it).
  local empi="empi: {enabled: false}"
  for attempt in 1 2; do
    cat >"$dir/hie.yaml" <<EOF
hub: {name: bench, data_dir: $dir/data, store: sqlite, durability: $DURABILITY, log_level: warn}
listen: {mllp: "127.0.0.1:0", http: "127.0.0.1:0"}
facilities: [{id: XQRMYY, name: 县人民医院, kind: county}]
$term
$empi
destinations: []
routes: []
EOF
    "$HIE" serve --config "$dir/hie.yaml" --data-dir "$dir/data" >"$dir/hub.log" 2>&1 &
    SERVER_PID=$!
    sleep 0.3
    kill -0 "$SERVER_PID" 2>/dev/null && break
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    empi=""
  done
  wait_ports "$dir/data" "$dir/hub.log"
}

declare -A RATES P50 P99
for rep in $(seq 1 "$REPS"); do
  # Alternate which goes first, so a drift of the machine favours neither.
  order="off on"; ((rep % 2 == 0)) && order="on off"
  for variant in $order; do
    start_hub "$variant" "$([[ $variant == on ]] && echo 1 || echo 0)"
    line="$("$LOAD" --host 127.0.0.1 --port "$PORT" --messages "$MESSAGES" --warmup "$WARMUP" \
      --connections "$CONNS" --type ORU --facility XQRMYY --json)"
    # CPU seconds the hub used for the run (user + system), from /proc.
    cpu="$(awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo nan)"
    stop_server
    printf '{"bench":"terminology_ingest","stamp":"%s","terminology":"%s","rep":%d,"durability":"%s","result":%s}\n' \
      "$STAMP" "$variant" "$rep" "$DURABILITY" "$line" >>"$RESULTS"
    RATES[$variant]+="$(json_num "$line" msgs_per_s) "
    P50[$variant]+="$(json_num "$line" p50_ms) "
    P99[$variant]+="$(json_num "$line" p99_ms) "
    echo "rep $rep terminology=$variant: $(json_num "$line" msgs_per_s) msgs/s, hub CPU ${cpu} s" >&2
  done
done
printf 'terminology\tmsgs/s\tp50_ms\tp99_ms   (median of %d, %d ORU^R01, %d connections, durability %s)\n' \
  "$REPS" "$MESSAGES" "$CONNS" "$DURABILITY"
for v in off on; do
  r="$(median_of "${RATES[$v]}")"
  printf '%s\t%.0f\t%s\t%s\n' "$v" "$r" "$(median_of "${P50[$v]}")" \
    "$(median_of "${P99[$v]}")"
  eval "M_$v=$r"
done
awk -v a="$M_on" -v b="$M_off" 'BEGIN {printf "ratio on/off: %.3f\n", a / b}'
