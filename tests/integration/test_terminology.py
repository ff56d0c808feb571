"""Terminology (CONTRACT §4, §6): translate by short name or OID, the unmapped
register fed by arriving ORU^R01 OBX-3 and PID-8 codes, its CSV export loading
back after filling in a target, reload over REST and SIGHUP (a broken file is
refused with file:line and the old maps stay), `hie terminology ...` and a bad
terminology dir refusing start with exit 2."""

import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import hub as H

LOCAL_TEST = """\
source_system,source_code,source_display,target_system,target_code,target_display
local:TEST,GLU,葡萄糖,LOINC,2345-7,葡萄糖(质量浓度)
local:TEST,WBC,白细胞,LOINC,6690-2,
"""
HEADER = "source_system,source_code,source_display,target_system,target_code,target_display"
FILE_LINE = re.compile(r"[\w.-]+\.csv:\d+")


def copy_shipped(dest):
    dest.mkdir(parents=True, exist_ok=True)
    for f in (H.REPO / "terminology" / "data").glob("*.csv"):
        shutil.copy(f, dest / f.name)
    (dest / "local-TEST.csv").write_text(LOCAL_TEST, encoding="utf-8")


class TerminologyTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        cls.term_tmp = pathlib.Path(tempfile.mkdtemp(prefix="hie-itest-term-"))
        cls.term_dir = cls.term_tmp / "terminology"
        copy_shipped(cls.term_dir)
        facilities = H.FACILITIES + [{"id": "TEST", "name": "术语测试卫生室", "kind": "village"}]
        return H.Hub(facilities=facilities, extra={"terminology": {"dir": str(cls.term_dir)}})

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.term_tmp, ignore_errors=True)

    # -- helpers
    def translate(self, system, code, target):
        r = self.hub.api("POST", "/api/v1/terminology/translate",
                         {"system": system, "code": code, "target": target})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def reload(self):
        return self.hub.api("POST", "/api/v1/terminology/reload")

    def unmapped(self):
        r = self.hub.api("GET", "/api/v1/terminology/unmapped")
        self.assertEqual(r.status, 200, r)
        return r.json()["unmapped"]

    def unmapped_entry(self, system, code):
        for e in self.unmapped():
            if e["system"] == system and e["code"] == code:
                return e
        return None

    def oru_with(self, code, text="尿酸", patient=None):
        msg, ctl = H.oru(facility="TEST", patient=patient or H.Patient(901, "TEST"))
        self.assertIn("OBX|1|NM|GLU^葡萄糖^L|", msg)
        return msg.replace("OBX|1|NM|GLU^葡萄糖^L|", f"OBX|1|NM|{code}^{text}^L|"), ctl

    def cli(self, *args):
        p = self.hub.run_cli(*args)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    # -- translate
    def test_translate_short_names_and_oids(self):
        by_name = self.translate("HL7 0001", "F", "GB/T 2261.1")
        by_oid = self.translate("2.16.840.1.113883.12.1", "F", "2.16.156.10011.2.3.3.4")
        for j in (by_name, by_oid):
            self.assertIs(j["found"], True, j)
            self.assertEqual(j["target_code"], "2", j)
            self.assertEqual(j["target_display"], "女性", j)
            self.assertEqual(j["system"], "HL7 0001", j)
            self.assertEqual(j["target"], "GB/T 2261.1", j)
        # a value that already is a GB/T 2261.1 code translates to itself; padding is normalised
        self.assertEqual(self.translate("GB/T 2261.1", "1", "GB/T 2261.1")["target_code"], "1")
        # the deployment's local map
        j = self.translate("local:TEST", "GLU", "LOINC")
        self.assertEqual((j["found"], j["target_code"]), (True, "2345-7"), j)

    def test_translate_unmapped_and_errors(self):
        j = self.translate("local:TEST", "NOPE", "LOINC")
        self.assertIs(j["found"], False, j)
        self.assertIn("未映射", j["message"])
        # a facility without any map yet: unmapped, not an error
        self.assertIs(self.translate("local:NOMAP", "X", "LOINC")["found"], False)
        r = self.hub.api("POST", "/api/v1/terminology/translate", "{not json",
                         {"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r)
        r = self.hub.api("POST", "/api/v1/terminology/translate", {"code": "M", "target": "GB/T 2261.1"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["where"], "/system")
        r = self.hub.api("POST", "/api/v1/terminology/translate", {"system": "HL7 0001", "code": "M"})
        self.assertEqual((r.status, r.json()["error"]["where"]), (400, "/target"), r)
        r = self.hub.api("POST", "/api/v1/terminology/translate",
                         {"system": "NO-SUCH-SYS", "code": "M", "target": "GB/T 2261.1"})
        self.assertEqual(r.status, 404, r)
        self.assertIn("NO-SUCH-SYS", r.json()["error"]["message"])
        r = self.hub.api("GET", "/api/v1/terminology/translate")
        self.assertEqual(r.status, 405, r)

    def test_systems(self):
        r = self.hub.api("GET", "/api/v1/terminology/systems")
        self.assertEqual(r.status, 200, r)
        systems = {s["name"]: s for s in r.json()["systems"]}
        self.assertEqual(systems["GB/T 2261.1"]["oid"], "2.16.156.10011.2.3.3.4")
        self.assertIn("LOINC", systems)
        self.assertGreater(r.json()["counts"]["concepts"], 100)

    # -- unmapped register, CSV export, reload
    def test_unmapped_obx_counted_exported_filled_and_reloaded(self):
        code = "UA" + H.new_control_id("")
        ids = []
        for _ in range(2):
            msg, ctl = self.oru_with(code, "尿\\T\\酸")
            ack = self.hub.send(msg)
            self.assertEqual(ack.msa_code, "AA", ack)  # an unmapped code never changes the ACK
            ids.append(self.hub.message_id(ctl))
        e = H.wait_until(lambda: (x := self.unmapped_entry("local:TEST", code)) and x["count"] == 2 and x,
                         what="count 2 in /unmapped")
        self.assertEqual(e["facility"], "TEST")
        self.assertEqual(e["display"], "尿&酸")
        self.assertEqual(str(e["sample_message_id"]), str(ids[0]))
        self.assertTrue(e["first_seen"] and e["last_seen"], e)
        # the stored message is untouched
        self.assertIn(f"{code}^尿\\T\\酸^L", self.hub.api("GET", f"/api/v1/messages/{ids[0]}?raw=1").json()["raw"])
        self.assertRegex(self.hub.api("GET", "/metrics").text, r"hie_terminology_unmapped_total [1-9]")

        r = self.hub.api("GET", "/api/v1/terminology/unmapped?format=csv")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers["content-type"].startswith("text/csv"), r.headers)
        lines = r.text.replace("\r\n", "\n").splitlines()
        self.assertIn(HEADER, lines)
        row = [l for l in lines if l.startswith(f"local:TEST,{code},")]
        self.assertEqual(len(row), 1, r.text)
        # county IT fills in one target and drops the whole file back in
        filled = r.text.replace(row[0], f"local:TEST,{code},尿酸,LOINC,3084-1,尿酸")
        (self.term_dir / "unmapped-filled.csv").write_text(filled, encoding="utf-8")
        rr = self.reload()
        self.assertEqual(rr.status, 200, rr)
        for k in ("systems", "concepts", "mappings", "millis"):
            self.assertIn(k, rr.json())
        j = self.translate("local:TEST", code, "LOINC")
        self.assertEqual((j["found"], j["target_code"]), (True, "3084-1"), j)
        self.assertIsNone(self.unmapped_entry("local:TEST", code), "a code that now maps leaves the register")

    def test_unknown_sex_is_unmapped(self):
        p = H.Patient(902, "TEST")
        msg, ctl = H.adt("A04", facility="TEST", patient=p)
        msg = msg.replace(f"|{p.birth}|{p.sex}|", f"|{p.birth}|XQ|")
        self.assertEqual(self.hub.send(msg).msa_code, "AA")
        # A sex value that is no HL7 0001 letter is the sender's own code: the
        # register names it under the facility's local system, ready to be mapped.
        e = H.wait_until(lambda: self.unmapped_entry("local:TEST", "XQ"), what="sex XQ in /unmapped")
        self.assertEqual(e["facility"], "TEST")
        self.assertEqual(e["target_system"], "GB/T 2261.1")

    def test_broken_reload_keeps_old_map_then_sighup_reloads(self):
        broken = self.term_dir / "zz-broken.csv"
        broken.write_text(HEADER + "\nlocal:TEST,\"HGB,血红蛋白\n", encoding="utf-8")
        try:
            r = self.reload()
            self.assertEqual(r.status, 422, r)
            self.assertIn("zz-broken.csv:2", r.json()["error"]["where"])
            self.assertIs(self.translate("local:TEST", "GLU", "LOINC")["found"], True)
            # SIGHUP with the broken file: refused too, the hub keeps running
            self.hub.proc.send_signal(signal.SIGHUP)
            self.assertIs(self.translate("local:TEST", "GLU", "LOINC")["found"], True)
        finally:
            broken.unlink()
        (self.term_dir / "zz-hup.csv").write_text(HEADER + "\nlocal:TEST,HGB,血红蛋白,LOINC,718-7,\n",
                                                  encoding="utf-8")
        self.hub.proc.send_signal(signal.SIGHUP)
        H.wait_until(lambda: self.translate("local:TEST", "HGB", "LOINC")["found"], what="SIGHUP reload")
        self.assertIsNone(self.hub.proc.poll(), "SIGHUP must not stop the hub")
        self.assertEqual(self.hub.api("GET", "/api/v1/health").status, 200)

    # -- CLI
    def test_cli_against_running_hub(self):
        api = ("--api", self.hub.api_url())
        rc, out, err = self.cli("terminology", "translate", "HL7 0001", "M", "GB/T 2261.1", *api)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("男性", out)
        rc, out, err = self.cli("terminology", "translate", "local:TEST", "NOPE", "LOINC", *api)
        self.assertNotEqual(rc, 0)
        self.assertIn("未映射", out + err)
        code = "CLI" + H.new_control_id("")
        msg, ctl = self.oru_with(code)
        self.assertEqual(self.hub.send(msg).msa_code, "AA")
        H.wait_until(lambda: self.unmapped_entry("local:TEST", code), what="code in /unmapped")
        rc, out, err = self.cli("terminology", "unmapped", *api)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("代码", out)
        self.assertIn(code, out)
        rc, out, err = self.cli("terminology", "unmapped", "--csv", *api)
        self.assertEqual(rc, 0, out + err)
        self.assertIn(HEADER, out)
        self.assertIn(f"local:TEST,{code},", out)
        rc, out, err = self.cli("terminology", "reload", *api)
        self.assertEqual(rc, 0, out + err)

    def test_cli_check(self):
        rc, out, err = self.cli("terminology", "check", str(self.term_dir))
        self.assertEqual(rc, 0, out + err)
        bad = self.hub.tmp / "bad-term"
        copy_shipped(bad)
        (bad / "local-TEST.csv").write_text(LOCAL_TEST + "local:TEST,,空代码,LOINC,1-8,\n", encoding="utf-8")
        rc, out, err = self.cli("terminology", "check", str(bad))
        self.assertEqual(rc, 2, out + err)
        self.assertIn("local-TEST.csv:4", out + err)

    def test_bad_dir_refuses_start(self):
        bad = self.hub.tmp / "bad-start"
        copy_shipped(bad)
        (bad / "zz.csv").write_text(HEADER + "\nlocal:TEST,A,a,NO SUCH TARGET,1,x\n", encoding="utf-8")
        h = H.Hub(extra={"terminology": {"dir": str(bad)}})
        try:
            p = subprocess.run([str(h.bin), "serve", "--config", str(h.config_path)], capture_output=True,
                               timeout=120, cwd=h.tmp)
            err = p.stderr.decode("utf-8", "replace") + p.stdout.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 2, err)
            self.assertIn("zz.csv:2", err)
            self.assertRegex(err, FILE_LINE)
        finally:
            shutil.rmtree(h.tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
