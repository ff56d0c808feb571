"""`hie serve --config FILE`: a bad config is refused at load with file, line
and reason (exit 2); the CONTRACT's example config loads; --data-dir wins."""

import json
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

import hub as H

GOOD = """\
hub:
  name: 测试
  store: sqlite
listen:
  mllp: 127.0.0.1:0
  http: 127.0.0.1:0
facilities:
  - id: XQRMYY
    name: 县人民医院
    kind: county
destinations:
  - id: d1
    type: file
    path: {out}
    format: hl7v2
routes:
  - id: r1
    when: {{message_type: "ADT^*"}}
    to: [d1]
"""

# The CONTRACT §2 example, verbatim except the two listen ports (port 0 keeps tests hermetic).
CONTRACT_EXAMPLE = """\
hub:
  name: 示范县医共体平台
  data_dir: ./var/demo
  store: sqlite                     # sqlite (default; a file under data_dir) | postgresql://user:pass@host:port/db
listen:
  mllp: 127.0.0.1:0              # HL7 v2 over MLLP
  http: 127.0.0.1:0              # REST API, /metrics, dashboard
facilities:                         # who may send; MSH-4 (sending facility) or X-Facility-Id names them
  - id: XQRMYY
    name: 县人民医院
    kind: county                    # county | township | village
  - id: CWS001
    name: 城关镇东湖村卫生室
    kind: village
terminology:
  dir: ./terminology/data           # code systems and concept maps loaded at start
destinations:
  - id: county-platform
    type: http                      # http | mllp | file
    url: http://127.0.0.1:9000/ingest
    format: cda                     # cda | hl7v2 | json
    retry: {max_attempts: 8, initial_backoff: 1s, max_backoff: 5m}
routes:
  - id: labs-to-county
    when: {message_type: "ORU^R01"} # also: facility, facility_kind
    to: [county-platform]
"""


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.bin = H.require_hie()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hie-itest-cfg-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        (self.tmp / "out").mkdir()
        self.data = self.tmp / "data"
        self.data.mkdir()

    @staticmethod
    def line_of(text, needle):
        """1-based line number of the first line containing needle."""
        return next(i for i, l in enumerate(text.splitlines(), 1) if needle in l)

    def good(self):
        return GOOD.format(out=self.tmp / "out")

    def serve_expect_refused(self, text, line, *words):
        """Writes text, runs serve; asserts exit 2 and stderr naming the file, the 1-based line and words."""
        path = self.tmp / "bad-config.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            p = subprocess.run([str(self.bin), "serve", "--config", str(path), "--data-dir", str(self.data)],
                               capture_output=True, timeout=60, cwd=self.tmp)
        except subprocess.TimeoutExpired:
            self.fail("hub did not refuse the bad config (still running after 60 s)")
        err = p.stderr.decode("utf-8", "replace") + p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 2, f"exit code; output:\n{err}")
        self.assertIn("bad-config.yaml", err, "the message names the file")
        lines = line if isinstance(line, (list, tuple)) else [line]
        self.assertTrue(any(re.search(rf"(?<![0-9]){n}(?![0-9])", err) for n in lines),
                        f"the message names line {lines}:\n{err}")
        for w in words:  # a word, or a tuple of acceptable words
            alts = w if isinstance(w, tuple) else (w,)
            self.assertTrue(any(a in err for a in alts), f"the message names one of {alts}:\n{err}")
        self.assertFalse((self.data / "ports.json").exists(), "a refused config must not start listening")
        return err

    def test_good_config_is_valid_baseline(self):
        # Proves the mutations below are what the hub refuses, not the baseline.
        path = self.tmp / "good.yaml"
        path.write_text(self.good(), encoding="utf-8")
        proc = subprocess.Popen([str(self.bin), "serve", "--config", str(path), "--data-dir", str(self.data)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.tmp)
        try:
            ports = H.wait_until(lambda: proc.poll() is None and json.loads((self.data / "ports.json").read_text()),
                                 timeout=60, what="ports.json")
            r = H.http_request("GET", f"http://127.0.0.1:{ports['http']}/api/v1/health")
            self.assertEqual(r.status, 200)
        finally:
            proc.terminate()
            rc = proc.wait(60)
        self.assertEqual(rc, 0)

    def test_unknown_key(self):
        text = self.good().replace("  store: sqlite\n", "  store: sqlite\n  colour: blue\n")
        self.assertEqual(self.line_of(text, "colour"), 4)
        self.serve_expect_refused(text, 4, "colour")

    def test_unknown_key_in_destination(self):
        text = self.good().replace("    format: hl7v2\n", "    format: hl7v2\n    retires: 3\n")
        self.serve_expect_refused(text, self.line_of(text, "retires"), "retires")

    def test_bad_facility_kind(self):
        text = self.good().replace("kind: county", "kind: city")
        self.serve_expect_refused(text, self.line_of(text, "city"), ("city", "kind"))

    def test_bad_destination_type(self):
        text = self.good().replace("type: file", "type: ftp")
        self.serve_expect_refused(text, self.line_of(text, "ftp"), ("ftp", "type"))

    def test_bad_size_value(self):
        text = self.good().replace("listen:\n", "mllp:\n  max_message_bytes: lots\nlisten:\n")
        self.serve_expect_refused(text, self.line_of(text, "lots"), ("lots", "max_message_bytes"))

    def test_dangling_route(self):
        text = self.good().replace("to: [d1]", "to: [d1, nowhere]")
        self.serve_expect_refused(text, self.line_of(text, "nowhere"), "nowhere")

    def test_yaml_syntax_error(self):
        # An unclosed flow mapping; parsers may point at it or at the line(s) after.
        text = self.good().replace('when: {message_type: "ADT^*"}', 'when: {message_type: "ADT^*"')
        n = self.line_of(text, "when:")
        self.serve_expect_refused(text, [n, n + 1, n + 2])

    def test_missing_config_file(self):
        p = subprocess.run([str(self.bin), "serve", "--config", str(self.tmp / "nope.yaml"),
                            "--data-dir", str(self.data)], capture_output=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("nope.yaml", (p.stderr + p.stdout).decode("utf-8", "replace"))

    def test_data_dir_option_overrides_config(self):
        cfg_dir = self.tmp / "from-config"
        text = self.good().replace("  store: sqlite\n", f"  store: sqlite\n  data_dir: {cfg_dir}\n")
        path = self.tmp / "good.yaml"
        path.write_text(text, encoding="utf-8")
        proc = subprocess.Popen([str(self.bin), "serve", "--config", str(path), "--data-dir", str(self.data)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.tmp)
        try:
            H.wait_until(lambda: proc.poll() is None and (self.data / "ports.json").exists(), timeout=60,
                         what="ports.json in --data-dir")
            self.assertFalse((cfg_dir / "ports.json").exists())
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(60), 0)

    def test_contract_example_loads(self):
        work = self.tmp / "example"
        (work / "terminology" / "data").mkdir(parents=True)
        path = work / "example.yaml"
        path.write_text(CONTRACT_EXAMPLE, encoding="utf-8")
        proc = subprocess.Popen([str(self.bin), "serve", "--config", str(path), "--data-dir", str(self.data)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work)
        try:
            def ready():
                if proc.poll() is not None:
                    raise AssertionError(f"exited {proc.returncode}: {proc.stderr.read().decode('utf-8', 'replace')}")
                ports = json.loads((self.data / "ports.json").read_text())
                r = H.http_request("GET", f"http://127.0.0.1:{ports['http']}/api/v1/health", timeout=5)
                return r.status == 200 and r.json()["status"] == "ok"
            try:
                H.wait_until(ready, timeout=60, what="the CONTRACT example config to start")
            except AssertionError as e:
                if proc.poll() is not None:
                    self.fail(f"CONTRACT example refused (exit {proc.returncode}):\n"
                              f"{proc.stderr.read().decode('utf-8', 'replace')}")
                raise e
        finally:
            if proc.poll() is None:
                proc.terminate()
            rc = proc.wait(60)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
