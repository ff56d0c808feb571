#!/usr/bin/env bash
# `hie terminology retranslate` (issue 4) end to end: a hub takes --messages
# ORU^R01 (hie-load: 10 OBX each, local codes of XQRMYY with no map yet),
# the EMPI records their lab results without LOINC; then a local map for
# the 10 codes is added and reloaded, and the pass is timed (rows/s), then
# timed again (nothing left to change: the scan alone). Last, ingest beside a
# pass: --live ORU^R01 through MLLP while a pass runs over the same rows
# (the rows are made untranslated again by a reload without the map and a
# fresh batch), against the same load with no pass, alternated --reps times;
# prints msgs/s and p50/p99 of each and the ratios. The pass time is the
# CLI's wall time (it polls every 0.5 s: rows/s is a lower bound).
#
#   bench/retranslate.sh [--messages N] [--live N] [--reps R] [--build-dir DIR]
# Needs build targets hie and hie-load. Results: bench/results/ (JSON lines).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD="$ROOT/build"
MESSAGES=5000
LIVE=3000
REPS=3
while (($#)); do
  case "$1" in
    --messages) MESSAGES="$2"; shift 2 ;;
    --live) LIVE="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --build-dir) BUILD="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
HIE="$BUILD/hie"
LOAD="$BUILD/tools/hie-load"
[[ -x "$HIE" && -x "$LOAD" ]] || { echo "build hie and hie-load in $BUILD first" >&2; exit 1; }

STAMP="$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$ROOT/bench/results"
RESULTS="$ROOT/bench/results/retranslate-$STAMP.jsonl"
WORK="$(mktemp -d)"
SERVER_PID=""
trap 'stop_server; rm -rf "$WORK"' EXIT

TERM_DIR="$WORK/terminology"
mkdir -p "$TERM_DIR"
cp "$ROOT"/terminology/data/*.csv "$TERM_DIR/"
MAP="source_system,source_code,source_display,target_system,target_code,target_display
local:XQRMYY,WBC,白细胞计数,LOINC,6690-2,
local:XQRMYY,RBC,红细胞计数,LOINC,789-8,
local:XQRMYY,HGB,血红蛋白,LOINC,718-7,
local:XQRMYY,HCT,红细胞压积,LOINC,4544-3,
local:XQRMYY,PLT,血小板计数,LOINC,777-3,
local:XQRMYY,MCV,平均红细胞体积,LOINC,787-2,
local:XQRMYY,MCH,平均红细胞血红蛋白含量,LOINC,785-6,
local:XQRMYY,MCHC,平均红细胞血红蛋白浓度,LOINC,786-4,
local:XQRMYY,NEUT%,中性粒细胞百分比,LOINC,770-8,
local:XQRMYY,LYMPH%,淋巴细胞百分比,LOINC,736-9,"

cat >"$WORK/hub.yaml" <<EOF
hub:
  name: 重新翻译基准
  data_dir: $WORK/data
  store: sqlite
  durability: os
  log_level: warn
listen:
  mllp: 127.0.0.1:0
  http: 127.0.0.1:0
facilities:
  - {id: XQRMYY, name: 县人民医院, kind: county}
terminology:
  dir: $TERM_DIR
EOF
"$HIE" serve --config "$WORK/hub.yaml" >"$WORK/hub.log" 2>&1 &
SERVER_PID=$!
wait_ports "$WORK/data" "$WORK/hub.log"
API="http://127.0.0.1:$HTTP"

lab_rows() {
  curl -s "$API/metrics" | sed -n 's/^hie_record_rows_total{kind="lab_result"} \([0-9]*\).*/\1/p'
}
# Waits until the EMPI has recorded N lab rows (or 120 s).
wait_rows() {
  for _ in $(seq 1 1200); do
    [[ "$(lab_rows)" -ge "$1" ]] 2>/dev/null && return 0
    sleep 0.1
  done
  echo "only $(lab_rows) of $1 lab rows recorded" >&2
  return 1
}
reload() { curl -s -X POST "$API/api/v1/terminology/reload" >/dev/null; }
# One pass; prints "seconds scanned updated".
pass() {
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$("$HIE" terminology retranslate --since 2000-01-01 --api "$API" 2>/dev/null)
  t1=$(date +%s.%N)
  local scanned updated
  scanned=$(echo "$out" | sed -n 's/.*已扫描 (scanned) \([0-9]*\).*/\1/p')
  updated=$(echo "$out" | sed -n 's/.*已更新 (updated) \([0-9]*\).*/\1/p')
  echo "$(echo "$t1 - $t0" | bc -l) $scanned $updated"
}
load_run() {  # N -> the hie-load JSON line
  "$LOAD" --host 127.0.0.1 --port "$PORT" --messages "$1" --connections 4 --warmup 0 \
    --type ORU --json 2>/dev/null | tail -1
}

echo "[retranslate] $MESSAGES ORU^R01 x 10 OBX, unmapped local codes ..."
load_run "$MESSAGES" >/dev/null
ROWS=$((MESSAGES * 10))
wait_rows "$ROWS"
printf '%s\n' "$MAP" >"$TERM_DIR/local-XQRMYY.csv"
reload
read -r SECS SCANNED UPDATED < <(pass)
RATE=$(echo "$UPDATED / $SECS" | bc -l)
read -r SECS2 SCANNED2 UPDATED2 < <(pass)
printf '[retranslate] first pass: %d rows looked at, %d updated in %.2f s (%.0f rows/s)\n' \
  "$SCANNED" "$UPDATED" "$SECS" "$RATE"
printf '[retranslate] second pass: %d looked at, %d updated in %.2f s\n' "$SCANNED2" "$UPDATED2" "$SECS2"
echo "{\"run\":\"$STAMP\",\"series\":\"pass\",\"rows\":$ROWS,\"scanned\":$SCANNED,\"updated\":$UPDATED,\"seconds\":$SECS,\"second_scanned\":$SCANNED2,\"second_updated\":$UPDATED2,\"second_seconds\":$SECS2}" >>"$RESULTS"

# Ingest beside a pass vs alone, alternated.
declare -a ALONE_RATE ALONE_P99 BESIDE_RATE BESIDE_P99 BESIDE_P50 ALONE_P50
for rep in $(seq 1 "$REPS"); do
  # Untranslated rows for the pass to work on: drop the map, send a batch.
  rm -f "$TERM_DIR/local-XQRMYY.csv"
  reload
  before=$(lab_rows)
  load_run "$MESSAGES" >/dev/null
  wait_rows $((before + MESSAGES * 10))
  printf '%s\n' "$MAP" >"$TERM_DIR/local-XQRMYY.csv"
  reload
  sleep 3  # the after-ACK check and the EMPI catch up
  alone() {
    local j
    j=$(load_run "$LIVE")
    ALONE_RATE+=("$(json_num "$j" msgs_per_s)"); ALONE_P50+=("$(json_num "$j" p50_ms)")
    ALONE_P99+=("$(json_num "$j" p99_ms)")
    sleep 3
  }
  beside() {
    local j
    "$HIE" terminology retranslate --since 2000-01-01 --api "$API" >/dev/null 2>&1 &
    RT=$!
    sleep 0.2
    j=$(load_run "$LIVE")
    wait "$RT" || true
    BESIDE_RATE+=("$(json_num "$j" msgs_per_s)"); BESIDE_P50+=("$(json_num "$j" p50_ms)")
    BESIDE_P99+=("$(json_num "$j" p99_ms)")
    sleep 3
  }
  # Alternate which goes first, so neither always meets a warmer hub.
  if ((rep % 2)); then alone; beside; else beside; alone; fi
  wait_rows $((before + MESSAGES * 10 + 2 * LIVE * 10))
done
echo "[retranslate] per run, alone msgs/s: ${ALONE_RATE[*]}; p99 ms: ${ALONE_P99[*]}"
echo "[retranslate] per run, beside msgs/s: ${BESIDE_RATE[*]}; p99 ms: ${BESIDE_P99[*]}"
a=$(median_of "${ALONE_RATE[*]}"); b=$(median_of "${BESIDE_RATE[*]}")
a99=$(median_of "${ALONE_P99[*]}"); b99=$(median_of "${BESIDE_P99[*]}")
a50=$(median_of "${ALONE_P50[*]}"); b50=$(median_of "${BESIDE_P50[*]}")
printf '[retranslate] ingest alone %s msgs/s (p50 %s / p99 %s ms), beside a pass %s msgs/s (p50 %s / p99 %s ms): rate ratio %.2f, p99 ratio %.2f\n' \
  "$a" "$a50" "$a99" "$b" "$b50" "$b99" "$(echo "$b / $a" | bc -l)" "$(echo "$b99 / $a99" | bc -l)"
echo "{\"run\":\"$STAMP\",\"series\":\"beside\",\"alone_msgs_per_s\":$a,\"alone_p99_ms\":$a99,\"beside_msgs_per_s\":$b,\"beside_p99_ms\":$b99}" >>"$RESULTS"
