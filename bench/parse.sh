#!/usr/bin/env bash
# Parse throughput, one core: the hub's HL7 v2 ER7 parser against Debian's
# python3-hl7 (hl7.parse) and the npm package @medplum/hl7 (its parser,
# Hl7Message.parse of @medplum/core), on the same bytes in the same run:
# every message of ../shared/corpus/hl7v2 (split, CR-terminated) and a
# realistic ORU^R01 with 10 OBX. Also the hub's parse + map to the canonical
# model, and CDA writing (documents/s) and reading. Prints medians of REPS
# repetitions and the hub/peer ratios; appends the figures to
# bench/results/parse-<time>.jsonl.
#
#   bench/parse.sh                      # 5 repetitions of >= 1 s each
#   bench/parse.sh --reps 3 --seconds 0.5 --no-build
#
# Options: --reps R  --seconds S  --build-dir DIR  --no-build  --hub-only
# Installs what the peers need if missing: python3-hl7 (apt-get) and the
# npm packages of bench/peers (npm install, as bench/mllp_ingest.sh does).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
REPS=5
SECS=1
DO_BUILD=1
RUN_PEERS=1

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --reps) REPS="$2"; shift 2 ;;
    --seconds) SECS="$2"; shift 2 ;;
    --build-dir) BUILD="$(cd "$2" && pwd)"; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --hub-only) RUN_PEERS=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done

PEERS="$ROOT/bench/peers"
RESULTS_DIR="$ROOT/bench/results"
STAMP="$(date +%Y%m%d-%H%M%S)"
RESULTS="$RESULTS_DIR/parse-$STAMP.jsonl"
mkdir -p "$RESULTS_DIR"
WORK="$(mktemp -d /tmp/hie-parse-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
log() { printf '[parse] %s\n' "$*" >&2; }

# One core: pin every parser to the same CPU when taskset is there.
PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c "$(( $(nproc) - 1 ))"); fi

# --- build -------------------------------------------------------------------
if ((DO_BUILD)); then
  if [[ ! -f "$BUILD/build.ninja" && ! -f "$BUILD/Makefile" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  fi
  log "building er7_bench cda_bench in $BUILD"
  cmake --build "$BUILD" --target er7_bench cda_bench >&2
fi
ER7="$BUILD/mappings/er7_bench"
CDA="$BUILD/mappings/cda_bench"
[[ -x "$ER7" && -x "$CDA" ]] || { log "missing $ER7 or $CDA (build with HIE_BUILD_BENCH=ON)"; exit 1; }

# --- peers -------------------------------------------------------------------
PY=/usr/bin/python3  # the Debian interpreter python3-hl7 belongs to
if ((RUN_PEERS)); then
  if ! "$PY" -c 'import hl7' 2>/dev/null; then
    log "installing python3-hl7"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-hl7 >&2
  fi
  command -v node >/dev/null || { log "node is needed for @medplum/hl7 (apt-get install nodejs npm)"; exit 1; }
  if [[ ! -d "$PEERS/node_modules/@medplum/hl7" || ! -d "$PEERS/node_modules/@medplum/core" ]]; then
    log "installing the peers' npm packages"
    (cd "$PEERS" && npm install --no-audit --no-fund >&2)
  fi
fi

# --- the same input for everyone ---------------------------------------------
N=$("$ER7" --dump-workload "$WORK/workload")
log "workload: $N corpus messages + ORU^R01 (10 OBX); $REPS reps of >= ${SECS}s, pinned: ${PIN[*]:-no}"

# --- runs ----------------------------------------------------------------------
log "hub: er7_bench"
"${PIN[@]}" "$ER7" --benchmark_filter='BM_Parse(Corpus|Oru|AndMapOru)$' \
  --benchmark_repetitions="$REPS" --benchmark_min_time="$SECS" \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$WORK/er7.json"
log "hub: cda_bench"
"${PIN[@]}" "$CDA" --benchmark_repetitions="$REPS" --benchmark_min_time="$SECS" \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$WORK/cda.json"
: >"$WORK/peers.jsonl"
if ((RUN_PEERS)); then
  log "peer: python3-hl7"
  "${PIN[@]}" "$PY" "$PEERS/python_hl7_parse.py" "$WORK/workload" "$REPS" "$SECS" >>"$WORK/peers.jsonl"
  log "peer: @medplum/hl7"
  (cd "$PEERS" && "${PIN[@]}" node medplum_parse.mjs "$WORK/workload" "$REPS" "$SECS") >>"$WORK/peers.jsonl"
fi

# --- summary -------------------------------------------------------------------
"$PY" - "$WORK" "$RESULTS" "$STAMP" <<'EOF'
import json, pathlib, sys
work, results, stamp = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]

def medians(path):
    out = {}
    for b in json.loads(path.read_text())["benchmarks"]:
        if b.get("aggregate_name") == "median":
            out[b["run_name"]] = b
    return out

er7, cda = medians(work / "er7.json"), medians(work / "cda.json")
rows = []
for name, bench, what in (("corpus", "BM_ParseCorpus", "parse"), ("oru", "BM_ParseOru", "parse"),
                          ("oru", "BM_ParseAndMapOru", "parse + map to canonical")):
    b = er7.get(bench)
    if b:
        rows.append({"parser": "hub (mappings/hl7v2)", "workload": name, "what": what,
                     "msgs_per_s": b["items_per_second"], "mb_per_s": b["bytes_per_second"] / 1e6})
peers = [json.loads(l) for l in (work / "peers.jsonl").read_text().splitlines() if l.strip()]
for p in peers:
    rows.append({"parser": p["peer"], "workload": p["workload"], "what": "parse",
                 "msgs_per_s": p["msgs_per_s"], "mb_per_s": p["mb_per_s"], "failed": p["failed"],
                 "messages": p["messages"]})
print(f"{'workload':8} {'parser':22} {'what':26} {'msgs/s':>12} {'MB/s':>9} {'hub/peer':>9}")
for r in rows:
    ratio = ""
    if r["parser"] != "hub (mappings/hl7v2)":
        hub = next((x for x in rows if x["workload"] == r["workload"] and x["what"] == "parse"
                    and x["parser"].startswith("hub")), None)
        if hub:
            r["hub_ratio"] = hub["msgs_per_s"] / r["msgs_per_s"]
            ratio = f"{r['hub_ratio']:.1f}x"
    extra = f"  (refused {r['failed']} of {r['messages']})" if r.get("failed") else ""
    print(f"{r['workload']:8} {r['parser']:22} {r['what']:26} {r['msgs_per_s']:12,.0f} {r['mb_per_s']:9.1f} {ratio:>9}{extra}")
for w in ("corpus", "oru"):
    ps = [r for r in rows if r["workload"] == w and not r["parser"].startswith("hub")]
    hub = next((x for x in rows if x["workload"] == w and x["what"] == "parse" and x["parser"].startswith("hub")), None)
    if ps and hub:
        best = max(ps, key=lambda r: r["msgs_per_s"])
        print(f"{w}: hub = {hub['msgs_per_s'] / best['msgs_per_s']:.1f}x the faster peer ({best['parser']}); "
              f"{hub['mb_per_s']:.0f} MB/s parse only (goals: >= 20x, >= 300 MB/s)")
print()
print(f"{'CDA':40} {'docs/s':>10} {'MB/s':>8}")
for name, b in sorted(cda.items()):
    print(f"{name:40} {b['items_per_second']:10,.0f} {b['bytes_per_second'] / 1e6:8.1f}")
    rows.append({"parser": "hub (mappings/cda)", "workload": name, "what": "cda",
                 "docs_per_s": b["items_per_second"], "mb_per_s": b["bytes_per_second"] / 1e6})
with results.open("a") as f:
    for r in rows:
        f.write(json.dumps(dict(r, run=stamp)) + "\n")
print(f"\nresults: {results}")
EOF
