# Shell helpers the ingest benches share (sourced, not run): stopping the
# hub under test, reading its ports, and the little statistics they print.
# Callers set SERVER_PID (the hub's pid) and use PORT / HTTP.

# Stops the hub in SERVER_PID: SIGTERM, up to 30 s to drain, then SIGKILL.
stop_server() {
  [[ -n "${SERVER_PID:-}" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# wait_ports DATA_DIR LOG: waits up to 30 s for the hub's ports.json, sets
# PORT (MLLP) and HTTP; 1 (with the log's tail) if the hub never got there.
wait_ports() {
  for _ in $(seq 1 300); do
    if [[ -s "$1/ports.json" ]]; then
      PORT="$(sed -n 's/.*"mllp"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$1/ports.json")"
      HTTP="$(sed -n 's/.*"http"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$1/ports.json")"
      [[ -n "$PORT" ]] && return 0
    fi
    sleep 0.1
  done
  echo "hub did not start: $(tail -5 "$2")" >&2
  return 1
}

# json_num JSON KEY: the number after "KEY": in a one-line JSON object.
json_num() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" <<<"$1"; }
# The median of the numbers on stdin, one a line ("nan" for none).
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else print v[int((NR+1)/2)]}'; }
# median_of "1 2 3": the same for a space-separated list.
median_of() { tr ' ' '\n' <<<"$1" | grep . | median; }
