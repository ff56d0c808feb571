"""Black-box harness for the hub's integration tests (standard library only).

It knows the hub only from the outside (CONTRACT.md and issue 2): it writes a
temporary YAML config with port 0 everywhere, starts `hie serve`, waits for
DATA_DIR/ports.json and /api/v1/health, talks MLLP and HTTP to it, plays fake
destinations (HTTP and MLLP) and stops the hub with SIGTERM or kill -9.

Timing rule: tests never assert on how fast something happens; they poll
until a condition holds, with a generous timeout (HIE_TEST_TIMEOUT, default
90 s), and fail with the last value seen.
"""

import base64
import datetime
import http.server
import itertools
import json
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
TIMEOUT = float(os.environ.get("HIE_TEST_TIMEOUT", "90"))
STATUSES = {"RECEIVED", "FILTERED", "TRANSFORMED", "QUEUED", "SENT", "ERROR"}


# ---------------------------------------------------------------- binary


def hie_bin():
    """Path of the hub executable: $HIE_BIN, else argv's --hie-bin, else build/hie."""
    if os.environ.get("HIE_BIN"):
        return pathlib.Path(os.environ["HIE_BIN"])
    for i, a in enumerate(sys.argv):
        if a == "--hie-bin" and i + 1 < len(sys.argv):
            return pathlib.Path(sys.argv[i + 1])
    return REPO / "build" / "hie"


def require_hie(testcase_cls=None):
    """Skips when the default binary is absent; fails when HIE_BIN names a missing file
    (under CTest HIE_BIN is always set, so a missing hub is a failure, never a skip)."""
    b = hie_bin()
    if b.is_file() and os.access(b, os.X_OK):
        return b
    if os.environ.get("HIE_BIN"):
        raise AssertionError(f"HIE_BIN={b} does not exist or is not executable")
    raise unittest.SkipTest(f"{b} not built yet")


# ---------------------------------------------------------------- polling


def wait_until(fn, timeout=None, interval=0.1, what="condition"):
    """Calls fn until it returns a truthy value, which is returned. Exceptions
    from fn count as 'not yet'. Fails with the last value/exception seen."""
    deadline = time.monotonic() + (timeout or TIMEOUT)
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except Exception as e:  # noqa: BLE001 - poll until it works
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {last!r}"[:4000])
        time.sleep(interval)


# ---------------------------------------------------------------- YAML


def _yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (enough for hub configs)."""
    pad = " " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict) and v:
                out.append(f"{pad}{k}:\n{to_yaml(v, indent + 2)}")
            elif isinstance(v, list) and v:
                out.append(f"{pad}{k}:\n{to_yaml(v, indent + 2)}")
            elif isinstance(v, dict):
                out.append(f"{pad}{k}: {{}}\n")
            elif isinstance(v, list):
                out.append(f"{pad}{k}: []\n")
            else:
                out.append(f"{pad}{k}: {_yaml_scalar(v)}\n")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 2)
                out.append(pad + "- " + body[indent + 2:])
            else:
                out.append(f"{pad}- {_yaml_scalar(item) if not isinstance(item, (dict, list)) else ('{}' if isinstance(item, dict) else '[]')}\n")
    else:
        out.append(f"{pad}{_yaml_scalar(obj)}\n")
    return "".join(out)


# ---------------------------------------------------------------- HL7 v2

FACILITIES = [
    {"id": "XQRMYY", "name": "县人民医院", "kind": "county"},
    {"id": "WSY01", "name": "城关镇卫生院", "kind": "township"},
    {"id": "CWS001", "name": "城关镇东湖村卫生室", "kind": "village"},
]

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_card(region="110101", birth="19900307", seq=1, sex="M"):
    """A valid 18-digit resident ID card number (GB 11643 checksum)."""
    s = seq % 1000
    # 17th digit odd for men, even for women.
    if (s % 2 == 1) != (sex == "M"):
        s = (s + 1) % 1000
    body = f"{region}{birth}{s:03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS))
    return body + "10X98765432"[total % 11]


_NAMES = ["张三", "李娜", "王小明", "刘伟", "陈静", "杨洋", "赵敏", "黄磊", "周杰", "吴芳",
          "徐丽", "孙强", "马超", "朱琳", "胡军", "郭靖"]


class Patient:
    """A synthetic patient with an MR number at a facility and an ID card number."""

    def __init__(self, n, facility="XQRMYY"):
        self.n = n
        self.facility = facility
        self.mr = f"MR{n:06d}"
        self.sex = "M" if n % 2 == 0 else "F"
        year = 1950 + (n * 7) % 60
        self.birth = f"{year}{1 + n % 12:02d}{1 + n % 28:02d}"
        self.ni = id_card(birth=self.birth, seq=n, sex=self.sex)
        self.name = _NAMES[n % len(_NAMES)] + ("" if n < len(_NAMES) else str(n))

    def pid(self, facility=None):
        return (f"PID|1||{self.mr}^^^{facility or self.facility}^MR~{self.ni}^^^NI^NI||{self.name}||"
                f"{self.birth}|{self.sex}|||城关镇东湖村1号^^某县^某省^^^H||13800138000")


_ctl = itertools.count(1)
_RUN = f"{os.getpid() % 10000:04d}{int(time.time()) % 100000:05d}"


def new_control_id(prefix="C"):
    """Unique MSH-10 across the whole test run (so dedupe never bites by accident)."""
    return f"{prefix}{_RUN}{next(_ctl):06d}"


def _ts():
    return datetime.datetime.now().strftime("%Y%m%d%H%M%S")


def msh(msg_type, facility, control_id, charset="UNICODE UTF-8", version="2.5"):
    return (f"MSH|^~\\&|HIS|{facility}|HIE|COUNTY|{_ts()}||{msg_type}|{control_id}|P|{version}"
            f"|||||CHN|{charset}")


def adt(event="A04", facility="XQRMYY", control_id=None, patient=None, structure=True):
    """ADT^Axx (register/update). Returns (text, control_id); segments end in CR."""
    control_id = control_id or new_control_id()
    patient = patient or Patient(1, facility)
    t = f"ADT^{event}^ADT_A01" if structure else f"ADT^{event}"
    segs = [msh(t, facility, control_id), f"EVN|{event}|{_ts()}", patient.pid(facility), "PV1|1|O|内科门诊"]
    return "\r".join(segs) + "\r", control_id


def oru(facility="XQRMYY", control_id=None, patient=None, value="5.6"):
    """ORU^R01 lab result with Chinese text. Returns (text, control_id)."""
    control_id = control_id or new_control_id()
    patient = patient or Patient(2, facility)
    segs = [
        msh("ORU^R01^ORU_R01", facility, control_id),
        patient.pid(facility),
        "PV1|1|O|检验科",
        f"OBR|1|ORD{control_id}||GLU^血糖^L|||{_ts()}",
        f"OBX|1|NM|GLU^葡萄糖^L||{value}|mmol/L|3.9-6.1|N|||F",
    ]
    return "\r".join(segs) + "\r", control_id


def dft(facility="WSY01", control_id=None, patient=None):
    """DFT^P03 charges. Returns (text, control_id)."""
    control_id = control_id or new_control_id()
    patient = patient or Patient(3, facility)
    segs = [msh("DFT^P03", facility, control_id), f"EVN|P03|{_ts()}", patient.pid(facility),
            f"FT1|1|||{_ts()}||CG|F001^挂号费^L|||1|10.00"]
    return "\r".join(segs) + "\r", control_id


def segments(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s]


def field(text, seg, n):
    """Field n (HL7 numbering; for MSH, MSH-1 is the separator) of the first segment seg."""
    for s in segments(text):
        f = s.split("|")
        if f[0] == seg:
            idx = n - 1 if seg == "MSH" else n
            return f[idx] if idx < len(f) else ""
    return None


class Ack:
    """A parsed ACK: msa_code (AA/AE/AR), control_id (MSA-2), err (ERR segments)."""

    def __init__(self, raw):
        self.raw = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        self.text = self.raw.decode("utf-8", "replace")
        self.segs = segments(self.text)
        self.msa_code = field(self.text, "MSA", 1)
        self.control_id = field(self.text, "MSA", 2)
        self.msh9 = field(self.text, "MSH", 9)
        self.err = [s for s in self.segs if s.startswith("ERR|")]

    def __repr__(self):
        return f"Ack({self.text!r})"


# ---------------------------------------------------------------- MLLP

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def frame(msg):
    if isinstance(msg, str):
        msg = msg.encode("utf-8")
    return VT + msg + FS + CR


class FrameReader:
    """Incremental MLLP deframer: feed bytes, take complete frames. Bytes
    outside VT..FS CR are dropped (and counted)."""

    def __init__(self):
        self.buf = b""
        self.dropped = 0

    def feed(self, data):
        self.buf += data

    def next(self):
        start = self.buf.find(VT)
        if start < 0:
            self.dropped += len(self.buf)
            self.buf = b""
            return None
        if start > 0:
            self.dropped += start
            self.buf = self.buf[start:]
        end = self.buf.find(FS + CR)
        if end < 0:
            return None
        msg = self.buf[1:end]
        self.buf = self.buf[end + 2:]
        return msg


class MllpClient:
    def __init__(self, host, port, timeout=None):
        self.sock = socket.create_connection((host, port), timeout=timeout or TIMEOUT)
        self.sock.settimeout(timeout or TIMEOUT)
        self.reader = FrameReader()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, msg):
        self.sock.sendall(frame(msg))

    def read_frame(self, timeout=None):
        """The next frame's bytes; raises socket.timeout / ConnectionError."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while True:
            f = self.reader.next()
            if f is not None:
                return f
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed by peer")
            self.reader.feed(data)

    def read_ack(self, timeout=None):
        return Ack(self.read_frame(timeout))

    def request(self, msg, timeout=None):
        self.send(msg)
        return self.read_ack(timeout)

    def reset(self):
        """Closes with RST (SO_LINGER 0) instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# ---------------------------------------------------------------- HTTP


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"Response({self.status}, {self.body[:500]!r})"


def http_request(method, url, body=None, headers=None, timeout=None):
    """One HTTP request; 4xx/5xx are returned, not raised."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode("utf-8")
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if method == "POST" and body is None:
        req.data = b""
    try:
        with urllib.request.urlopen(req, timeout=timeout or TIMEOUT) as r:
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def items_of(doc, *keys):
    """The list inside a JSON page: the document itself or its first list-valued key."""
    if isinstance(doc, list):
        return doc
    for k in keys + ("items", "data", "results"):
        if isinstance(doc.get(k), list):
            return doc[k]
    raise AssertionError(f"no list in {doc!r}"[:2000])


def get(d, *names, default=None):
    """First present key among names (the contract fixes meaning, not every key name)."""
    for n in names:
        if isinstance(d, dict) and n in d:
            return d[n]
    return default


# ---------------------------------------------------------------- fake HTTP destination


class Recorded:
    def __init__(self, method, path, headers, body, status):
        self.method, self.path, self.headers, self.body, self.status = method, path, headers, body, status
        self.at = time.monotonic()

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def control_id(self):
        return self.headers.get("x-source-control-id")

    def __repr__(self):
        return f"<{self.method} {self.path} {self.status} ctl={self.control_id}>"


class FakeHttpDestination:
    """An HTTP receiver in a thread on 127.0.0.1:0 that records every request.

    default_status: answer given when no scripted answer is pending.
    script(codes...): answers for the next requests, in order.
    go_down()/come_up(): close the port (and drop open connections) / listen again on the same port.
    """

    def __init__(self, default_status=200, delay=0.0):
        self.lock = threading.Lock()
        self.requests = []
        self.default_status = default_status
        self.delay = delay
        self._script = []
        self.down = False
        self.port = 0
        self.server = None
        self._start_server()

    # -- control
    def set_status(self, code):
        with self.lock:
            self.default_status = code

    def script(self, *codes):
        with self.lock:
            self._script.extend(codes)

    def go_down(self):
        with self.lock:
            self.down = True
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def come_up(self):
        with self.lock:
            self.down = False
        if self.server is None:
            self._start_server()

    def close(self):
        self.go_down()

    # -- queries
    def all(self):
        with self.lock:
            return list(self.requests)

    def delivered(self):
        return [r for r in self.all() if r.ok]

    def delivered_ids(self):
        return [r.control_id for r in self.delivered()]

    def url(self, path="/ingest"):
        return f"http://127.0.0.1:{self.port}{path}"

    # -- server
    def _answer(self):
        with self.lock:
            if self.down:
                return None
            if self._script:
                return self._script.pop(0)
            return self.default_status

    def _start_server(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        n = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if n == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(n)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _handle(self):
                body = self._body()
                if owner.delay:
                    time.sleep(owner.delay)
                status = owner._answer()
                if status is None:  # down: drop the connection without an answer
                    self.close_connection = True
                    try:
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.connection.close()
                    except OSError:
                        pass
                    return
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                with owner.lock:
                    owner.requests.append(Recorded(self.command, self.path, hdrs, body, status))
                payload = b'{"ok":true}' if 200 <= status < 300 else b'{"error":"fake"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = _handle

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# ---------------------------------------------------------------- fake MLLP destination


def make_ack(msg, code="AA", text=""):
    ctl = field(msg, "MSH", 10) or ""
    segs = [f"MSH|^~\\&|FAKE|DEST|HIE|COUNTY|{_ts()}||ACK|A{ctl}|P|2.5", f"MSA|{code}|{ctl}"]
    if code != "AA":
        segs.append(f"ERR|||207|E|||{text or 'fake rejection'}")
    return "\r".join(segs) + "\r"


class FakeMllpDestination:
    """An MLLP receiver on 127.0.0.1:0 answering each frame with an ACK (code settable)."""

    def __init__(self, code="AA"):
        self.code = code
        self.lock = threading.Lock()
        self.messages = []  # decoded text of every frame received
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        r = FrameReader()
        with c:
            while True:
                try:
                    data = c.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                r.feed(data)
                while (f := r.next()) is not None:
                    text = f.decode("utf-8", "replace")
                    with self.lock:
                        self.messages.append(text)
                        code = self.code
                    try:
                        c.sendall(frame(make_ack(text, code)))
                    except OSError:
                        return

    def control_ids(self):
        with self.lock:
            return [field(m, "MSH", 10) for m in self.messages]

    def close(self):
        self.closed = True
        self.sock.close()


# ---------------------------------------------------------------- the hub


def http_destination(id, dest, format="hl7v2", max_attempts=50, initial="100ms", max_backoff="400ms", **extra):
    d = {"id": id, "type": "http", "url": dest.url(f"/{id}"), "format": format,
         "retry": {"max_attempts": max_attempts, "initial_backoff": initial, "max_backoff": max_backoff}}
    d.update(extra)
    return d


def route(id, to, **when):
    return {"id": id, "when": when, "to": list(to)}


def _pg_admin(sql):
    subprocess.run(["psql", os.environ["HIE_TEST_PG_URI"], "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)


def create_pg_database():
    """A fresh database on $HIE_TEST_PG_URI's server: (name, URI)."""
    base = os.environ.get("HIE_TEST_PG_URI")
    if not base:
        raise AssertionError("HIE_TEST_STORE=postgres needs HIE_TEST_PG_URI")
    name = "hie_it_" + os.urandom(5).hex()
    _pg_admin(f"CREATE DATABASE {name}")
    u = urllib.parse.urlsplit(base)
    return name, urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


def drop_pg_database(name):
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Hub:
    """One hub process with its own temp dir, config and data dir."""

    def __init__(self, destinations=(), routes=(), facilities=None, mllp=None, hub=None, extra=None,
                 data_dir=None):
        self.bin = require_hie()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hie-itest-"))
        self.data_dir = pathlib.Path(data_dir) if data_dir else self.tmp / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cfg = {
            "hub": {"name": "集成测试平台", "data_dir": str(self.data_dir), "store": "sqlite",
                    "durability": "full", "log_level": "info"},
            "listen": {"mllp": "127.0.0.1:0", "http": "127.0.0.1:0"},
        }
        cfg["hub"].update(hub or {})
        self.pg_db = None
        if os.environ.get("HIE_TEST_STORE") == "postgres" and not (hub or {}).get("store"):
            # The same tests on the PostgreSQL store: a database of its own per hub.
            self.pg_db, cfg["hub"]["store"] = create_pg_database()
        if mllp:
            cfg["mllp"] = mllp
        cfg["facilities"] = facilities if facilities is not None else FACILITIES
        cfg["destinations"] = list(destinations)
        cfg["routes"] = list(routes)
        cfg.update(extra or {})
        self.config = cfg
        self.config_path = self.tmp / "hub.yaml"
        self.config_path.write_text(to_yaml(cfg), encoding="utf-8")
        self.proc = None
        self.ports = None
        self.runs = 0

    # -- life cycle
    def start(self, timeout=None):
        ports_file = self.data_dir / "ports.json"
        if ports_file.exists():
            ports_file.unlink()  # stale from a previous run
        self.runs += 1
        self.log_path = self.tmp / f"hub-{self.runs}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(self.bin), "serve", "--config", str(self.config_path), "--data-dir", str(self.data_dir)],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.tmp)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with {self.proc.returncode}:\n{self.log_tail()}")
            p = json.loads(ports_file.read_text())
            if not (isinstance(p.get("mllp"), int) and isinstance(p.get("http"), int)):
                return None
            self.ports = p
            r = http_request("GET", self.api_url("/api/v1/health"), timeout=5)
            return r.status == 200 and r.json().get("status") == "ok"

        try:
            wait_until(ready, timeout=timeout or 60, interval=0.05, what="ports.json and /api/v1/health")
        except AssertionError as e:
            if self.proc.poll() is not None:
                raise AssertionError(f"hub exited with {self.proc.returncode}:\n{self.log_tail()}") from None
            raise AssertionError(f"{e}\nhub log:\n{self.log_tail()}") from None
        return self

    def stop(self, timeout=60):
        """SIGTERM, wait for exit; returns the exit code (None if it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self._log.close()
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._log.close()

    def restart(self):
        return self.start()

    def close(self):
        """Cleanup: SIGTERM; the caller asserts the code if it cares. Keeps the temp dir
        when HIE_KEEP_TMP is set or the hub did not exit 0."""
        rc = self.stop()
        if self.pg_db:
            drop_pg_database(self.pg_db)
            self.pg_db = None
        if rc == 0 and not os.environ.get("HIE_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        return rc

    def log_tail(self, n=4000):
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    # -- endpoints
    @property
    def mllp_port(self):
        return self.ports["mllp"]

    @property
    def http_port(self):
        return self.ports["http"]

    def api_url(self, path=""):
        return f"http://127.0.0.1:{self.ports['http']}{path}"

    def mllp(self, timeout=None):
        return MllpClient("127.0.0.1", self.mllp_port, timeout)

    def send(self, msg):
        """One message over a fresh MLLP connection; returns the Ack."""
        with self.mllp() as c:
            return c.request(msg)

    def api(self, method, path, body=None, headers=None):
        return http_request(method, self.api_url(path), body, headers)

    def post_hl7(self, text, facility, key=None, content_type="application/hl7-v2"):
        h = {"Content-Type": content_type}
        if facility is not None:
            h["X-Facility-Id"] = facility
        if key is not None:
            h["Idempotency-Key"] = key
        return self.api("POST", "/api/v1/messages", text, h)

    # -- JSON views
    def messages(self, **filters):
        q = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        r = self.api("GET", "/api/v1/messages" + ("?" + q if q else ""))
        assert r.status == 200, r
        return items_of(r.json(), "messages")

    def message(self, id):
        r = self.api("GET", f"/api/v1/messages/{id}")
        assert r.status == 200, r
        return r.json()

    def find_message(self, control_id, facility=None):
        """The message record whose control id is control_id (None if not listed)."""
        for m in self.messages(facility=facility, limit=1000):
            if get(m, "control_id", "msh10", "dedupe_key") == control_id:
                return m
        return None

    def message_id(self, control_id, facility=None):
        m = wait_until(lambda: self.find_message(control_id, facility), what=f"message {control_id} listed")
        return m["id"]

    def status(self, id):
        return self.message(id).get("status")

    def wait_status(self, id, *wanted):
        seen = {}

        def check():
            d = self.message(id)
            seen["last"] = d
            return d.get("status") in wanted and d

        try:
            return wait_until(check, what=f"message {id} status in {wanted}")
        except AssertionError as e:
            raise AssertionError(f"{e}\nlast detail: {json.dumps(seen.get('last'), ensure_ascii=False)[:3000]}") from None

    def errors(self):
        r = self.api("GET", "/api/v1/errors")
        assert r.status == 200, r
        return items_of(r.json(), "errors")

    def error(self, id):
        r = self.api("GET", f"/api/v1/errors/{id}")
        assert r.status == 200, r
        return r.json()

    def find_error(self, needle):
        """The error-store entry whose raw bytes contain needle (bytes or str), or None."""
        if isinstance(needle, str):
            needle = needle.encode("utf-8")
        for e in self.errors()[:200]:
            raw = e.get("raw_base64")
            if raw is None:
                raw = self.error(e["id"]).get("raw_base64", "")
            if needle in base64.b64decode(raw or ""):
                return self.error(e["id"])
        return None

    def destinations(self):
        r = self.api("GET", "/api/v1/destinations")
        assert r.status == 200, r
        return items_of(r.json(), "destinations")

    def destination(self, id):
        for d in self.destinations():
            if d.get("id") == id:
                return d
        raise AssertionError(f"destination {id} not listed")

    def run_cli(self, *args, timeout=120):
        return subprocess.run([str(self.bin), *args], capture_output=True, timeout=timeout)


def attempts_of(delivery):
    a = get(delivery, "attempts", "attempt_list")
    if isinstance(a, list):
        return len(a)
    return int(a or 0)


def deliveries_of(detail):
    return get(detail, "deliveries", default=[]) or []


class HubTestCase(unittest.TestCase):
    """Base class: cls.hub is built by cls.make_hub() in setUpClass and must exit 0 on SIGTERM."""

    hub = None

    @classmethod
    def make_hub(cls):
        return None

    @classmethod
    def setUpClass(cls):
        require_hie()
        cls.dests = []
        cls.hub = cls.make_hub()
        if cls.hub is not None:
            cls.hub.start()

    @classmethod
    def tearDownClass(cls):
        for d in getattr(cls, "dests", []):
            d.close()
        if cls.hub is not None:
            rc = cls.hub.close()
            if rc != 0:
                raise AssertionError(f"hub did not exit 0 on SIGTERM (rc={rc}); log:\n{cls.hub.log_tail()}")
