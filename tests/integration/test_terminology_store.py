"""Terminology state that outlives the process (issue 4): the unmapped-code
register is persisted (flushed about once a second off the ACK path, loaded
at start), so GET /api/v1/terminology/unmapped and `hie terminology unmapped
--csv` answer the same after a SIGTERM restart, and a kill -9 loses at most
the last unflushed second. Runs on SQLite, and on PostgreSQL with
HIE_TEST_STORE=postgres (CTest integration_pg.test_terminology_store)."""

import pathlib
import shutil
import tempfile
import time
import unittest

import hub as H
import test_terminology as T


class TerminologyStoreTest(unittest.TestCase):
    def setUp(self):
        H.require_hie()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hie-itest-termstore-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.term_dir = self.tmp / "terminology"
        T.copy_shipped(self.term_dir)
        facilities = H.FACILITIES + [{"id": "TEST", "name": "术语测试卫生室", "kind": "village"}]
        self.hub = H.Hub(facilities=facilities, extra={"terminology": {"dir": str(self.term_dir)}})
        self.addCleanup(self.hub.close)
        self.hub.start()

    def unmapped(self):
        r = self.hub.api("GET", "/api/v1/terminology/unmapped")
        self.assertEqual(r.status, 200, r)
        return {(e["system"], e["code"], e["facility"]): e for e in r.json()["unmapped"]}

    def send_code(self, code, text, n=1):
        ids = []
        for i in range(n):
            msg, ctl = H.oru(facility="TEST", patient=H.Patient(950 + i, "TEST"))
            msg = msg.replace("OBX|1|NM|GLU^葡萄糖^L|", f"OBX|1|NM|{code}^{text}^L|")
            self.assertEqual(self.hub.send(msg).msa_code, "AA")
            ids.append(self.hub.message_id(ctl))
        return ids

    def cli_csv(self):
        p = self.hub.run_cli("terminology", "unmapped", "--csv", "--api", self.hub.api_url())
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))
        # The comment line on top carries no time; the rows are what must match.
        return [l for l in p.stdout.decode("utf-8").replace("\r\n", "\n").splitlines()
                if not l.startswith("#")]

    def test_register_survives_sigterm_restart(self):
        a, b = "UA" + H.new_control_id(""), "CR" + H.new_control_id("")
        ids = self.send_code(a, "尿酸", 3)
        self.send_code(b, "肌酐", 1)
        key_a, key_b = ("local:TEST", a, "TEST"), ("local:TEST", b, "TEST")
        H.wait_until(lambda: (u := self.unmapped()).get(key_a, {}).get("count") == 3 and key_b in u,
                     what="both codes in /unmapped")
        before = self.unmapped()
        csv_before = self.cli_csv()
        self.assertEqual(self.hub.stop(), 0)  # SIGTERM: the last counts are flushed
        self.hub.start()
        after = self.unmapped()
        for k in (key_a, key_b):
            self.assertEqual(after[k], before[k], k)
        self.assertEqual(str(after[key_a]["sample_message_id"]), str(ids[0]))
        self.assertEqual(after[key_a]["display"], "尿酸")
        self.assertEqual(self.cli_csv(), csv_before)
        # Counting goes on from the stored totals.
        self.send_code(a, "尿酸", 1)
        H.wait_until(lambda: self.unmapped()[key_a]["count"] == 4, what="count 4 after the restart")

    def test_kill_9_loses_at_most_the_last_second(self):
        code = "K9" + H.new_control_id("")
        key = ("local:TEST", code, "TEST")
        self.send_code(code, "钾", 2)
        H.wait_until(lambda: self.unmapped().get(key, {}).get("count") == 2, what="count 2")
        time.sleep(2.5)  # more than one flush interval: both are on disk
        self.hub.kill()
        self.hub.start()
        self.assertEqual(self.unmapped()[key]["count"], 2)

    def test_a_map_added_while_down_clears_the_stored_code(self):
        code = "MD" + H.new_control_id("")
        key = ("local:TEST", code, "TEST")
        self.send_code(code, "镁", 1)
        H.wait_until(lambda: key in self.unmapped(), what="code in /unmapped")
        self.assertEqual(self.hub.stop(), 0)
        (self.term_dir / "zz-late.csv").write_text(
            T.HEADER + f"\nlocal:TEST,{code},镁,LOINC,19123-9,镁\n", encoding="utf-8")
        self.hub.start()
        self.assertNotIn(key, self.unmapped())
        self.assertEqual(self.hub.stop(), 0)
        self.hub.start()
        self.assertNotIn(key, self.unmapped(), "deleted from the table, not only hidden")


if __name__ == "__main__":
    unittest.main()
