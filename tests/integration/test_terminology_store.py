"""Terminology state that outlives the process (issue 4): the unmapped-code
register is persisted (flushed about once a second off the ACK path, loaded
at start), so GET /api/v1/terminology/unmapped and `hie terminology unmapped
--csv` answer the same after a SIGTERM restart, and a kill -9 loses at most
the last unflushed second. And `hie terminology retranslate --since DATE`:
a result stored while its local code had no map gets its LOINC code once a
map is added, through GET /api/v1/patients/{id}/lab-results, in place and
idempotently. Runs on SQLite, and on PostgreSQL with HIE_TEST_STORE=postgres
(CTest integration_pg.test_terminology_store)."""

import datetime
import os
import pathlib
import shutil
import tempfile
import time
import unittest
import urllib.parse

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
        time.sleep(2.0)  # two flush intervals: both are on disk
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


    # -- retranslate
    def empi_of(self, patient):
        q = urllib.parse.quote(f"TEST|{patient.mr}")

        def found():
            r = self.hub.api("GET", f"/api/v1/patients?identifier={q}")
            return r.json()["patients"] if r.status == 200 and r.json().get("patients") else None
        return H.wait_until(found, timeout=30, what="PIX TEST|MR")[0]["empi_id"]

    def labs(self, empi):
        r = self.hub.api("GET", f"/api/v1/patients/{empi}/lab-results",
                         headers={"X-User": "it-terminology", "X-Facility-Id": "TEST"})
        self.assertEqual(r.status, 200, r)
        return r.json()["lab_results"]

    def retranslate(self, *args):
        p = self.hub.run_cli("terminology", "retranslate", *args, "--api", self.hub.api_url())
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def test_retranslate_gives_a_stored_result_its_late_map(self):
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        code = "RT" + H.new_control_id("")
        patient = H.Patient(977, "TEST")
        msg, ctl = H.oru(facility="TEST", patient=patient)
        msg = msg.replace("OBX|1|NM|GLU^葡萄糖^L|", f"OBX|1|NM|{code}^糖化血红蛋白^L|")
        self.assertEqual(self.hub.send(msg).msa_code, "AA")
        empi = self.empi_of(patient)
        rows = H.wait_until(lambda: [r for r in self.labs(empi) if r["code"]["code"] == code],
                            timeout=30, what="the stored lab result")
        self.assertEqual(len(rows), 1, rows)
        before = rows[0]
        self.assertIsNone(before["standard_code"], "stored while unmapped")

        # Nothing to translate yet: the pass looks and changes nothing.
        rc, out, err = self.retranslate("--since", today)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("已更新 (updated) 0", out)

        # County IT maps the code and reloads; the stored result is brought up to date.
        (self.term_dir / "zz-late.csv").write_text(
            T.HEADER + f"\nlocal:TEST,{code},糖化血红蛋白,LOINC,4548-4,糖化血红蛋白\n", encoding="utf-8")
        self.assertEqual(self.hub.api("POST", "/api/v1/terminology/reload").status, 200)
        rc, out, err = self.retranslate("--since", today)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("完成 (retranslation done)", out)
        self.assertNotIn("已更新 (updated) 0，", out)
        after = [r for r in self.labs(empi) if r["code"]["code"] == code]
        self.assertEqual(len(after), 1, after)
        self.assertEqual(after[0]["standard_code"]["code"], "4548-4", after[0])
        self.assertEqual(after[0]["standard_code"]["system"], "LOINC")
        # A translation beside the original, not a new version.
        for k in ("id", "version", "value", "unit", "code", "current"):
            self.assertEqual(after[0][k], before[k], k)

        # Idempotent: a second pass changes nothing; the API shows the last pass.
        rc, out, err = self.retranslate("--since", today)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("已更新 (updated) 0", out)
        p = self.hub.api("GET", "/api/v1/terminology/retranslate").json()
        self.assertEqual(p["state"], "done", p)
        self.assertGreaterEqual(p["lab_results"]["scanned"], 0)
        self.assertEqual(p["updated"], 0, p)
        # A result older than --since is not looked at.
        rc, out, err = self.retranslate("--since", "2999-01-01")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("已扫描 (scanned) 0", out)

    def test_retranslate_refuses_bad_input(self):
        rc, out, err = self.retranslate("--since", "昨天")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("/since", err)
        self.assertIn("epoch ms", err)
        r = self.hub.api("POST", "/api/v1/terminology/retranslate", {})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["where"], "/since")
        r = self.hub.api("DELETE", "/api/v1/terminology/retranslate")
        self.assertEqual(r.status, 405, r)


@unittest.skipUnless(os.environ.get("HIE_TEST_STORE") == "postgres" and os.environ.get("HIE_TEST_PG_URI"),
                     "两个节点需要 PostgreSQL (HIE_TEST_STORE=postgres)")
class TwoNodesRegisterTest(unittest.TestCase):
    """Two hub nodes on one PostgreSQL: the register's table holds the sum of
    both nodes' counts, and each node's API catches up with the other's
    within its refresh (every 10 flushes, about 10 s)."""

    def test_each_node_shows_both_nodes_counts(self):
        H.require_hie()
        db, uri = H.create_pg_database()
        self.addCleanup(H.drop_pg_database, db)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="hie-itest-term2-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        T.copy_shipped(tmp / "terminology")
        facilities = H.FACILITIES + [{"id": "TEST", "name": "术语测试卫生室", "kind": "village"}]
        nodes = []
        for _ in range(2):
            h = H.Hub(facilities=facilities, hub={"store": uri},
                      extra={"terminology": {"dir": str(tmp / "terminology")}})
            self.addCleanup(h.close)
            h.start()
            nodes.append(h)
        code = "N2" + H.new_control_id("")
        key = ("local:TEST", code)
        for i, (node, n) in enumerate(((nodes[0], 2), (nodes[1], 1))):
            for k in range(n):
                msg, _ = H.oru(facility="TEST", patient=H.Patient(960 + 3 * i + k, "TEST"))
                msg = msg.replace("OBX|1|NM|GLU^葡萄糖^L|", f"OBX|1|NM|{code}^二节点^L|")
                self.assertEqual(node.send(msg).msa_code, "AA")

        def count(node):
            for e in node.api("GET", "/api/v1/terminology/unmapped").json()["unmapped"]:
                if (e["system"], e["code"]) == key:
                    return e["count"]
            return 0
        for node in nodes:
            H.wait_until(lambda: count(node) == 3, timeout=40, what="both nodes' counts on each node")


if __name__ == "__main__":
    unittest.main()
