#!/usr/bin/env python3
"""The shared record's read path end to end (issue 6): HTTP GET of a
person's lab results as a clinic gets them — EMPI lookup of the person's
sources, the store query, recognition of every result at query time, and
the access event written (synced) before the answer — for one person with
--results lab results sent through MLLP. Series, each --queries requests:

  health        GET /api/v1/health (the peer: HTTP and the event loop only)
  person        GET /api/v1/patients/E1 (EMPI read + access event)
  labs          GET .../lab-results?limit=100 (1 client)
  labs_code     GET .../lab-results?code=718-7&limit=100 (1 client)
  summary       GET .../summary (1 client)
  labs_conc     .../lab-results?limit=100 from --clients clients at once
                (group commit: the mean access batch is printed)

  bench/record_read.py [--hie build/hie] [--results 2000] [--queries 500]
                       [--clients 8] [--store sqlite|postgresql://...]

Prints p50/p99 per series (ms) and their ratio to the health peer, and
appends one JSON line to bench/results/record_read.jsonl. The store-level
figure for 10 million rows is bench/record_query.sh; this one is small on
purpose (the load goes through MLLP and the EMPI) and measures what the
read path adds on top of the store."""

import argparse
import datetime
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
ITEMS = [("HGB", "血红蛋白", "718-7", "g/L", "135"), ("WBC", "白细胞计数", "6690-2", "10*9/L", "6.1"),
         ("PLT", "血小板计数", "777-3", "10*9/L", "210"), ("GLU", "葡萄糖", "2345-7", "mmol/L", "5.6"),
         ("CR", "肌酐", "2160-0", "umol/L", "80")]


def frame(text):
    return b"\x0b" + text.encode("utf-8") + b"\x1c\x0d"


def read_ack(sock, buf):
    while b"\x1c\x0d" not in buf:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("MLLP connection closed")
        buf += data
    end = buf.index(b"\x1c\x0d")
    return buf[end + 2:], buf[:end]


def oru(n, obx_per_report, t):
    ts = t.strftime("%Y%m%d%H%M%S+0800")
    segs = [f"MSH|^~\\&|LIS|XQRMYY|HIE|C|{ts}||ORU^R01^ORU_R01|B{n:07d}|P|2.5|||||CHN|UNICODE UTF-8",
            "PID|1||C1^^^XQRMYY^MR~610902199001011235^^^NI^NI||张三||19900101|M",
            "PV1|1|O|检验科",
            f"OBR|1|R{n}|R{n}|CBC^血液检查^L|||{ts}|||||||||||||||{ts}||HM|F"]
    for i in range(obx_per_report):
        code, name, loinc, unit, value = ITEMS[i % len(ITEMS)]
        segs.append(f"OBX|{i + 1}|NM|{code}{i // len(ITEMS)}^{name}^L^{loinc}^{name}^LN||{value}|{unit}"
                    f"|||||F|||{ts}")
    return "\r".join(segs) + "\r"


class Client:
    def __init__(self, port, user):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.h = {"X-User": user, "X-Facility-Id": "CWS001"}

    def get(self, path):
        t0 = time.perf_counter()
        self.c.request("GET", path, headers=self.h)
        r = self.c.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            raise RuntimeError(f"{path}: HTTP {r.status} {body[:300]!r}")
        return dt, body


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hie", default=str(ROOT / "build" / "hie"))
    ap.add_argument("--results", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--store", default="sqlite")
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="hie-bench-read-"))
    year = datetime.datetime.now().year
    cfg = {
        "hub": {"name": "bench", "data_dir": str(tmp / "data"), "store": a.store, "durability": "full",
                "log_level": "warn"},
        "listen": {"mllp": "127.0.0.1:0", "http": "127.0.0.1:0"},
        "facilities": [{"id": "XQRMYY", "kind": "county"}, {"id": "CWS001", "kind": "village"}],
        "recognition": {"items": [{"code": l, "name": n, "validity_days": 7, "unit": u,
                                   "qualified": [{"facility": "XQRMYY", "eqa_year": year}]}
                                  for _, n, l, u, _ in ITEMS]},
    }
    (tmp / "hub.yaml").write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    log = open(tmp / "hub.log", "wb")
    proc = subprocess.Popen([a.hie, "serve", "--config", str(tmp / "hub.yaml")], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        ports = None
        for _ in range(300):
            try:
                ports = json.loads((tmp / "data" / "ports.json").read_text())
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        if not ports:
            raise RuntimeError("hub did not start")
        per = 20
        reports = (a.results + per - 1) // per
        base = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
        s = socket.create_connection(("127.0.0.1", ports["mllp"]))
        buf = b""
        t0 = time.time()
        for n in range(reports):
            s.sendall(frame(oru(n, per, base - datetime.timedelta(minutes=reports - n))))
            buf, _ = read_ack(s, buf)
        s.close()
        cl = Client(ports["http"], "bench")
        while True:  # the EMPI worker records after the ACK
            try:
                _, body = cl.get("/api/v1/patients/E1/lab-results?limit=1000")
            except RuntimeError:  # E1 not resolved yet
                cl = Client(ports["http"], "bench")
                time.sleep(0.2)
                continue
            j = json.loads(body)
            got = len(j["lab_results"])
            if j["next_cursor"]:
                _, body2 = cl.get("/api/v1/patients/E1/lab-results?limit=1000&cursor=" + j["next_cursor"])
                got += len(json.loads(body2)["lab_results"])
            if got >= reports * per:
                break
            if time.time() - t0 > 600:
                raise RuntimeError(f"only {got} results recorded")
            time.sleep(0.2)
        print(f"loaded {reports * per} results in {time.time() - t0:.1f} s; store {a.store.split('@')[-1]}")
        series = {}
        paths = {"health": "/api/v1/health", "person": "/api/v1/patients/E1",
                 "labs": "/api/v1/patients/E1/lab-results?limit=100",
                 "labs_code": "/api/v1/patients/E1/lab-results?code=718-7&limit=100",
                 "summary": "/api/v1/patients/E1/summary"}
        for name, path in paths.items():
            for _ in range(20):
                cl.get(path)  # warm-up
            series[name] = [cl.get(path)[0] for _ in range(a.queries)]
        # Concurrent readers: group commit of the access events.
        b_sum, b_cnt = metric(ports["http"], "hie_access_batch_size_sum"), metric(ports["http"], "hie_access_batch_size_count")
        lat, lock = [], threading.Lock()

        def reader(k):
            c = Client(ports["http"], f"bench{k}")
            mine = [c.get(paths["labs"])[0] for _ in range(max(1, a.queries // a.clients))]
            with lock:
                lat.extend(mine)
        t1 = time.perf_counter()
        ths = [threading.Thread(target=reader, args=(k,)) for k in range(a.clients)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        wall = time.perf_counter() - t1
        series["labs_conc"] = lat
        b_sum2, b_cnt2 = metric(ports["http"], "hie_access_batch_size_sum"), metric(ports["http"], "hie_access_batch_size_count")
        batch = (b_sum2 - b_sum) / max(1.0, b_cnt2 - b_cnt)
        commit_ms = 1000 * metric(ports["http"], "hie_access_commit_seconds_sum") / max(
            1.0, metric(ports["http"], "hie_access_commit_seconds_count"))
        peer = statistics.median(series["health"])
        print(f"{'series':<11} {'p50 ms':>8} {'p99 ms':>8} {'p50/health':>11}")
        out = {"at": datetime.datetime.now().isoformat(timespec="seconds"), "store": a.store.split("://")[0],
               "results": reports * per, "queries": a.queries, "clients": a.clients}
        for name, xs in series.items():
            p50, p99 = statistics.median(xs), pct(xs, 99)
            print(f"{name:<11} {p50:8.2f} {p99:8.2f} {p50 / peer:11.1f}")
            out[name] = {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3)}
        print(f"labs_conc: {len(lat) / wall:.0f} req/s with {a.clients} clients, "
              f"mean access batch {batch:.1f} events/commit; mean access commit {commit_ms:.2f} ms "
              f"(whole run)")
        out["labs_conc"]["req_per_s"] = round(len(lat) / wall, 1)
        out["labs_conc"]["mean_access_batch"] = round(batch, 2)
        out["mean_access_commit_ms"] = round(commit_ms, 3)
        res = ROOT / "bench" / "results"
        res.mkdir(exist_ok=True)
        with open(res / "record_read.jsonl", "a") as f:
            f.write(json.dumps(out) + "\n")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
