"""Parse-throughput peer for bench/parse.sh: Debian's python3-hl7
(hl7.parse) over the same messages the hub's er7_bench measures, single
thread. Run with /usr/bin/python3 (the Debian interpreter the package is for).

Usage: python3 python_hl7_parse.py WORKLOAD_DIR REPS SECONDS
Prints one JSON line per workload ("corpus", "oru"): median msgs/s and MB/s
over REPS timed runs of at least SECONDS each, and how many messages the
parser refused."""

import json
import pathlib
import statistics
import sys
import time

import hl7


def load(d, name):
    if name == "oru":
        return [(d / "oru.hl7").read_text(encoding="utf-8")]
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted((d / "corpus").glob("*.hl7"))]


def main():
    d = pathlib.Path(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    for name in ("corpus", "oru"):
        msgs = load(d, name)
        nbytes = sum(len(m.encode("utf-8")) for m in msgs)
        ok, failed = [], 0
        for m in msgs:
            try:
                hl7.parse(m)
                ok.append(m)
            except Exception:  # noqa: BLE001 - a message the peer cannot parse
                failed += 1
        rates = []
        for _ in range(reps):
            n = 0
            t0 = time.perf_counter()
            while True:
                for m in ok:
                    hl7.parse(m)
                n += 1
                elapsed = time.perf_counter() - t0
                if elapsed >= seconds:
                    break
            rates.append(n * len(ok) / elapsed)
        mps = statistics.median(rates)
        ok_bytes = sum(len(m.encode("utf-8")) for m in ok)
        print(json.dumps({"peer": "python3-hl7", "workload": name, "messages": len(msgs), "bytes": nbytes,
                          "failed": failed, "msgs_per_s": mps,
                          "mb_per_s": mps * ok_bytes / max(len(ok), 1) / 1e6, "reps": reps}))


if __name__ == "__main__":
    main()
