"""The shared record's read side (issue 6) through MLLP and HTTP: one person
(the same ID card) at the county hospital and a township hospital; their ORU
results visible under the EMPI id with standard (LOINC) codes; mutual
recognition decided at query time — true, and false for each reason
(expired window, unqualified facility, preliminary result, non-standard
unit, unmapped code, item not in the catalogue) with a g/dL result
converted to g/L; a corrected result (OBX-11 C) superseding the first with
history; merge and unmerge moving results; a received CDA returned byte for
byte and an ORU's generated C0007 valid XML; the summary; every read
leaving an access event (and a read refused when none can be written is
covered by engine/access_log_test); the CLI tables; paging and errors."""

import datetime
import json
import pathlib
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import hub as H
from test_formats_intake import GOLDEN, with_doc_id

HL7 = "{urn:hl7-org:v3}"
CN = datetime.timezone(datetime.timedelta(hours=8))
YEAR = datetime.datetime.now(CN).year

FACILITIES = [
    {"id": "XQRMYY", "name": "县人民医院", "kind": "county", "card_reader": True},
    {"id": "WSY01", "name": "桃洪镇卫生院", "kind": "township"},
    {"id": "CWS001", "name": "东湖村卫生室", "kind": "village"},
]
LOCAL_MAPS = {
    "XQRMYY": [("HGB", "血红蛋白", "718-7"), ("WBC", "白细胞计数", "6690-2"),
               ("GLU", "葡萄糖", "2345-7"), ("CR", "肌酐", "2160-0")],
    # The township calls the same items by other local codes.
    "WSY01": [("XHB", "血红蛋白", "718-7"), ("BXB", "白细胞", "6690-2"), ("XT", "血糖", "2345-7")],
}
CATALOGUE = {"items": [
    {"code": "718-7", "name": "血红蛋白", "validity_days": 7, "unit": "g/L",
     "qualified": [{"facility": "XQRMYY", "eqa_year": YEAR}, {"facility": "WSY01", "eqa_year": YEAR - 1}]},
    {"code": "6690-2", "name": "白细胞计数", "validity_days": 3, "unit": "10*9/L",
     "qualified": [{"facility": "XQRMYY", "eqa_year": YEAR}]},  # the township did not pass
    {"code": "2345-7", "name": "葡萄糖", "validity_days": 1, "unit": "mmol/L",
     "qualified": [{"facility": "XQRMYY", "eqa_year": YEAR}, {"facility": "WSY01", "eqa_year": YEAR}]},
]}

CARD = "610902199001011235"  # the golden CDA's patient, check digit right
ADDR = "陕西省安康市平安县青山镇杨柳村12号"
OTHER_CARD = H.id_card(region="430523", birth="19720606", seq=33, sex="F")


def ts(delta_hours=0.0):
    t = datetime.datetime.now(CN) + datetime.timedelta(hours=delta_hours)
    return t.strftime("%Y%m%d%H%M%S+0800")


def pid(facility, mr, name="张三", birth="19900101", sex="M", card=CARD, addr=ADDR):
    return f"PID|1||{mr}^^^{facility}^MR~{card}^^^NI^NI||{name}||{birth}|{sex}|||{addr}||13800000000"


def oru(facility, patient_pid, order, report_hours, obx, result_status="F"):
    """ORU^R01: one OBR (placer and filler `order`, reported `report_hours` from now), OBX rows
    given as (code^text^L, value, unit, range, flag, status)."""
    ctl = H.new_control_id("R")
    segs = [H.msh("ORU^R01^ORU_R01", facility, ctl), patient_pid, "PV1|1|O|检验科",
            f"OBR|1|{order}|{order}|CBC^血液检查^L|||{ts(report_hours - 1)}|||||||||||||||"
            f"{ts(report_hours)}||HM|{result_status}"]
    for i, (code, value, unit, rng, flag, status) in enumerate(obx, 1):
        segs.append(f"OBX|{i}|NM|{code}||{value}|{unit}|{rng}|{flag}|||{status}|||{ts(report_hours - 1)}"
                    f"||李检验")
    return "\r".join(segs) + "\r", ctl


class RecordTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hie-itest-record-"))
        term = cls.tmp / "terminology"
        term.mkdir()
        for f in (H.REPO / "terminology" / "data").glob("*.csv"):
            shutil.copy(f, term / f.name)
        for fac, rows in LOCAL_MAPS.items():
            lines = ["source_system,source_code,source_display,target_system,target_code,target_display"]
            lines += [f"local:{fac},{c},{d},LOINC,{l}," for c, d, l in rows]
            (term / f"local-{fac}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return H.Hub(facilities=FACILITIES,
                     extra={"terminology": {"dir": str(term)}, "recognition": CATALOGUE})

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers
    def send(self, text):
        ack = self.hub.send(text)
        self.assertEqual(ack.msa_code, "AA", ack)
        return ack

    def get(self, path, user="test-reader", facility="CWS001", expect=200):
        r = self.hub.api("GET", path, headers={"X-User": user, "X-Facility-Id": facility})
        if expect is not None:
            self.assertEqual(r.status, expect, r)
        return r

    def empi_of(self, authority, value):
        q = urllib.parse.quote(f"{authority}|{value}")

        def found():
            r = self.hub.api("GET", f"/api/v1/patients?identifier={q}")
            return r.json()["patients"] if r.status == 200 else None
        pats = H.wait_until(found, timeout=20, what=f"PIX {authority}")
        self.assertEqual(len(pats), 1, pats)
        return pats[0]["empi_id"]

    def labs(self, empi, query=""):
        return self.get(f"/api/v1/patients/{empi}/lab-results{query}").json()

    def wait_labs(self, empi, n, query=""):
        def enough():
            j = self.labs(empi, query)
            return j if len(j["lab_results"]) >= n else None
        return H.wait_until(enough, timeout=30, what=f"{n} lab results of {empi}")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ready = False

    def setUp(self):
        if not type(self).ready:
            self.load()
            type(self).ready = True

    def load(self):
        """Both facilities send results of 张三; everything below reads them."""
        c = type(self)
        self.send(oru("XQRMYY", pid("XQRMYY", "C100"), "ORDA", -1, [
            ("HGB^血红蛋白^L", "135", "g/L", "130-175", "N", "F"),
            ("WBC^白细胞计数^L", "6.1", "10*9/L", "3.5-9.5", "N", "F"),
            ("CR^肌酐^L", "80", "umol/L", "57-111", "N", "F"),
            ("ZZX^未映射项目^L", "1.0", "g/L", "", "", "F"),
            ("GLU^葡萄糖^L", "5.6", "mmol/L", "3.9-6.1", "N", "P"),
        ])[0])
        c.empi = self.empi_of("XQRMYY", "C100")
        # The township: one report a month old, one today.
        self.send(oru("WSY01", pid("WSY01", "T100"), "ORDB", -24 * 30, [
            ("XHB^血红蛋白^L", "130", "g/L", "130-175", "N", "F")])[0])
        self.send(oru("WSY01", pid("WSY01", "T100"), "ORDC", -2, [
            ("BXB^白细胞^L", "7.0", "10E9/L", "3.5-9.5", "N", "F"),  # spelled otherwise: same unit
            ("XHB^血红蛋白^L", "12.9", "g/dL", "13.0-17.5", "L", "F"),
            ("XT^血糖^L", "99", "mg/dL", "70-110", "N", "F"),
        ])[0])
        self.assertEqual(self.empi_of("WSY01", "T100"), c.empi, "same ID card: one person")
        c.first = self.wait_labs(c.empi, 9)
        # An outpatient visit with a diagnosis at the county hospital.
        ctl = H.new_control_id("V")
        c.visit = f"V{ctl}"
        self.send("\r".join([
            H.msh("ADT^A04^ADT_A01", "XQRMYY", ctl), f"EVN|A04|{ts(-5)}", pid("XQRMYY", "C100"),
            "|".join(["PV1", "1", "O", "内科门诊^^^XQRMYY", "", "", "", "D01^王医生"] + [""] * 11
                     + [c.visit] + [""] * 24 + [ts(-5)]),  # PV1-19 visit number, PV1-44 admit
            f"DG1|1||J06.900^急性上呼吸道感染^ICD10||{ts(-5)}|F"]) + "\r")

    def by_code(self, results):
        out = {}
        for r in results:
            out.setdefault((r["facility"], r["code"]["code"]), []).append(r)
        return out

    def reasons(self, r):
        return sorted(x["code"] for x in r["recognition"]["reasons"])

    # -- tests
    def test_1_results_of_both_facilities_with_standard_codes(self):
        res = self.first["lab_results"]
        self.assertEqual(self.first["empi_id"], self.empi)
        self.assertEqual(len(res), 9, json.dumps(res, ensure_ascii=False)[:2000])
        self.assertEqual({r["facility"] for r in res}, {"XQRMYY", "WSY01"})
        got = self.by_code(res)
        hgb = got[("XQRMYY", "HGB")][0]
        self.assertEqual(hgb["standard_code"]["code"], "718-7")
        self.assertEqual(hgb["code"]["system"], "local:XQRMYY")
        self.assertEqual((hgb["value"], hgb["unit"], hgb["reference_range"], hgb["abnormal_flag"]),
                         ("135", "g/L", "130-175", "N"))
        self.assertEqual(hgb["performing_facility"], "XQRMYY")
        self.assertEqual(hgb["facility_name"], "县人民医院")
        self.assertTrue(hgb["issued_time"] and hgb["effective_time"], hgb)
        self.assertEqual(hgb["status"], "final")
        # The township's own codes reach the same standard codes.
        self.assertEqual(got[("WSY01", "XHB")][0]["standard_code"]["code"], "718-7")
        self.assertEqual(got[("WSY01", "BXB")][0]["standard_code"]["code"], "6690-2")
        self.assertIsNone(got[("XQRMYY", "ZZX")][0]["standard_code"])
        # Newest first by observation time.
        times = [r["effective_time"] for r in res]
        self.assertEqual(times, sorted(times, reverse=True))
        # Filters: code (original or standard), facility, since.
        both_hgb = self.labs(self.empi, "?code=718-7")["lab_results"]
        self.assertEqual(sorted(r["code"]["code"] for r in both_hgb), ["HGB", "XHB", "XHB"])
        self.assertEqual(len(self.labs(self.empi, "?code=XHB")["lab_results"]), 2)
        self.assertEqual({r["facility"] for r in self.labs(self.empi, "?facility=WSY01")["lab_results"]},
                         {"WSY01"})
        week_ago = (datetime.datetime.now(CN) - datetime.timedelta(days=7)).strftime("%Y-%m-%d")
        recent = self.labs(self.empi, f"?since={week_ago}")["lab_results"]
        self.assertEqual(len(recent), 8)  # the month-old report is left out

    def test_2_recognition_true_and_each_reason(self):
        got = self.by_code(self.labs(self.empi)["lab_results"])
        rec = lambda k: got[k][0]["recognition"]
        self.assertTrue(rec(("XQRMYY", "HGB"))["recognized"], rec(("XQRMYY", "HGB")))
        self.assertEqual(rec(("XQRMYY", "HGB"))["reasons"], [])
        self.assertTrue(rec(("XQRMYY", "WBC"))["recognized"])
        self.assertEqual(self.reasons(got[("XQRMYY", "CR")][0]), ["not_in_catalogue"])
        self.assertEqual(self.reasons(got[("XQRMYY", "ZZX")][0]), ["unmapped_code"])
        self.assertEqual(self.reasons(got[("XQRMYY", "GLU")][0]), ["not_final"])
        self.assertEqual(self.reasons(got[("WSY01", "BXB")][0]), ["facility_not_qualified"])
        self.assertEqual(self.reasons(got[("WSY01", "XT")][0]), ["non_standard_unit"])
        xhb = {r["value"]: r for r in got[("WSY01", "XHB")]}
        self.assertEqual(self.reasons(xhb["130"]), ["expired"])
        # g/dL is converted to the standard g/L and recognized (the township passed last year).
        self.assertTrue(xhb["12.9"]["recognition"]["recognized"], xhb["12.9"]["recognition"])
        self.assertEqual(xhb["12.9"]["recognition"]["converted"], {"value": "129", "unit": "g/L"})
        # Each reason in Chinese with the English term.
        for r in self.labs(self.empi)["lab_results"]:
            for x in r["recognition"]["reasons"]:
                self.assertRegex(x["message"], r"[\u4e00-\u9fff].*\([a-zA-Z]", x)
        self.assertEqual(rec(("XQRMYY", "HGB"))["item"]["validity_days"], 7)

    def test_3_correction_supersedes_and_keeps_history(self):
        self.send(oru("XQRMYY", pid("XQRMYY", "C100"), "ORDA", -0.5, [
            ("HGB^血红蛋白^L", "140", "g/L", "130-175", "N", "C")], result_status="C")[0])

        def corrected():
            r = self.labs(self.empi, "?code=HGB")["lab_results"]
            return r if r and r[0]["value"] == "140" else None
        cur = H.wait_until(corrected, timeout=30, what="corrected HGB")
        self.assertEqual(len(cur), 1, cur)  # the list holds current versions only
        self.assertEqual(cur[0]["version"], 2)
        self.assertEqual(cur[0]["status"], "corrected")
        self.assertTrue(cur[0]["recognition"]["recognized"], cur[0]["recognition"])
        hist = self.get(cur[0]["history"]).json()["versions"]
        self.assertEqual([(v["value"], v["version"], v["current"]) for v in hist],
                         [("135", 1, False), ("140", 2, True)])
        self.assertEqual(hist[0]["superseded_by"], cur[0]["id"])
        self.assertIn("superseded", self.reasons(hist[0]))
        both = self.labs(self.empi, "?code=HGB&history=1")["lab_results"]
        self.assertEqual(sorted(r["value"] for r in both), ["135", "140"])

    def test_4_merge_and_unmerge_move_results(self):
        other_pid = pid("CWS001", "V500", name="李秀兰", birth="19720606", sex="F", card=OTHER_CARD,
                        addr="湖南省隆回县东湖村5组")
        self.send(oru("CWS001", other_pid, "ORDD", -3, [
            ("HGB^血红蛋白^L^718-7^血红蛋白^LN", "118", "g/L", "115-150", "N", "F")])[0])
        other = self.empi_of("CWS001", "V500")
        self.assertNotEqual(other, self.empi)
        mine = self.wait_labs(other, 1)["lab_results"]
        self.assertEqual(mine[0]["standard_code"]["code"], "718-7")  # the sender's own LOINC
        self.assertEqual(self.reasons(mine[0]), ["facility_not_qualified"])
        before = len(self.labs(self.empi)["lab_results"])
        m = self.hub.api("POST", f"/api/v1/patients/{self.empi}/merge", {"from": other})
        self.assertEqual(m.status, 200, m)
        merged = self.labs(self.empi)["lab_results"]
        self.assertEqual(len(merged), before + 1)
        self.assertIn("CWS001", {r["facility"] for r in merged})
        # The merged person's id answers with the survivor's record, saying so.
        via_old = self.labs(other)
        self.assertEqual(via_old["empi_id"], self.empi)
        self.assertEqual(via_old["requested_empi_id"], other)
        self.assertEqual(len(via_old["lab_results"]), before + 1)
        u = self.hub.api("POST", f"/api/v1/empi/merges/{m.json()['merge_id']}/unmerge", {})
        self.assertEqual(u.status, 200, u)
        self.assertEqual(len(self.labs(self.empi)["lab_results"]), before)
        back = self.labs(other)
        self.assertEqual(back["empi_id"], other)
        self.assertNotIn("requested_empi_id", back)
        self.assertEqual([r["facility"] for r in back["lab_results"]], ["CWS001"])

    def test_5_documents_received_and_generated(self):
        xml = (GOLDEN / "cda" / "lab-report.glucose.cda.xml").read_bytes()
        xml = with_doc_id(xml.replace(b"610902199001011235", CARD.encode()), H.new_control_id("D"))
        r = self.hub.api("POST", "/api/v1/messages", xml,
                         {"Content-Type": "application/cda+xml", "X-Facility-Id": "WSY01"})
        self.assertEqual(r.status, 202, r)
        mid = r.json()["id"]

        def listed():
            docs = self.get(f"/api/v1/patients/{self.empi}/documents").json()["documents"]
            return docs if any(d["message_id"] == mid for d in docs) else None
        docs = H.wait_until(listed, timeout=30, what="received CDA in the index")
        received = next(d for d in docs if d["message_id"] == mid)
        self.assertEqual(received["type_code"], "C0007")
        self.assertEqual(received["facility"], "WSY01")
        got = self.get(received["href"])
        self.assertEqual(got.headers.get("content-type"),
                         "application/xml; charset=utf-8")
        self.assertEqual(got.body, xml, "a received CDA comes back byte for byte")
        # The county ORU has no CDA of its own: a C0007 is written from its canonical record.
        gen = [d for d in docs if d["facility"] == "XQRMYY" and d["type_code"] == "C0007"]
        self.assertTrue(gen, docs)
        g = self.get(gen[0]["href"])
        self.assertEqual(g.headers.get("x-document-source"),
                         "generated")
        doc = ET.fromstring(g.body)
        self.assertEqual(doc.tag, f"{HL7}ClinicalDocument")
        self.assertIn("2.16.156.10011.2.1.1.27", {t.get("root") for t in doc.iter(f"{HL7}templateId")})
        self.assertIn("718-7", {t.get("code") for t in doc.iter(f"{HL7}translation")})
        self.assertIn("张三", g.body.decode("utf-8"))
        self.get("/api/v1/documents/99999999", expect=404)
        self.get("/api/v1/documents/abc", expect=400)

    def test_6_summary_on_one_screen(self):
        s = self.get(f"/api/v1/patients/{self.empi}/summary").json()
        self.assertEqual(s["empi_id"], self.empi)
        self.assertEqual(s["golden"]["name"], "张三")
        self.assertEqual(s["golden"]["id_number"], CARD)
        latest = {r["standard_code"]["code"] if r["standard_code"] else r["code"]["code"]: r
                  for r in s["latest_results"]}
        # One line per item, the newest: HGB from the county today, not the township's.
        self.assertEqual(len([r for r in s["latest_results"]
                              if (r["standard_code"] or {}).get("code") == "718-7"]), 1)
        self.assertEqual(latest["718-7"]["facility"], "XQRMYY")
        self.assertIn("recognition", latest["718-7"])
        self.assertIn("6690-2", latest)
        visits = [e for e in s["recent_encounters"] if e["visit_number"] == self.visit]
        self.assertEqual(len(visits), 1, s["recent_encounters"])
        self.assertEqual((visits[0]["facility"], visits[0]["class"]), ("XQRMYY", "AMB"))
        self.assertIn("J06.900", [p["code"]["code"] for p in s["active_problems"]], s["active_problems"])
        # The visit's outpatient record C0002, written on demand.
        c0002 = [d for d in s["documents"] if d["type_code"] == "C0002" and d["facility"] == "XQRMYY"]
        self.assertEqual(len(c0002), 1, s["documents"])
        g = self.get(c0002[0]["href"])
        self.assertEqual(g.headers.get("x-document-source"), "generated")
        doc = ET.fromstring(g.body)
        self.assertIn("2.16.156.10011.2.1.1.22", {t.get("root") for t in doc.iter(f"{HL7}templateId")})
        self.assertIn("急性上呼吸道感染", g.body.decode("utf-8"))

    def test_7_every_read_leaves_an_access_event(self):
        user = H.new_control_id("auditor")
        reads = [f"/api/v1/patients/{self.empi}", f"/api/v1/patients/{self.empi}/lab-results?code=718-7",
                 f"/api/v1/patients/{self.empi}/documents", f"/api/v1/patients/{self.empi}/summary"]
        for p in reads:
            self.get(p, user=user, facility="WSY01")
        doc = self.get(f"/api/v1/patients/{self.empi}/documents").json()["documents"][0]
        self.get(doc["href"], user=user, facility="WSY01")
        # PIX answers the golden record too.
        self.get(f"/api/v1/patients?identifier={urllib.parse.quote('NI|' + CARD)}", user=user,
                 facility="WSY01")
        ev = self.get(f"/api/v1/patients/{self.empi}/access?limit=1000", user="auditor").json()["access"]
        mine = [e for e in ev if e["actor"] == user]
        self.assertEqual(sorted(e["what"] for e in mine),
                         sorted(["person", "lab-results", "documents", "summary", f"document:{doc['id']}",
                                 "pix"]))
        pix = next(e for e in mine if e["what"] == "pix")
        self.assertEqual(pix["detail"], {"authority": "NI"})  # never the number searched for
        self.assertNotIn(CARD, json.dumps(ev))
        for e in mine:
            self.assertEqual(e["facility"], "WSY01")
            self.assertEqual(e["empi_id"], self.empi)
            self.assertTrue(e["at"])
        labs_ev = next(e for e in mine if e["what"] == "lab-results")
        self.assertEqual(labs_ev["detail"]["code"], "718-7")
        # Failed reads (unknown person) answer without data and without an event.
        self.get("/api/v1/patients/E99999999/lab-results", expect=404)
        self.get("/api/v1/patients/X1/summary", expect=400)
        m = self.hub.api("GET", "/metrics").text
        self.assertIn("hie_access_events_total", m)

    def test_8_paging(self):
        page1 = self.labs(self.empi, "?limit=4")
        self.assertEqual(len(page1["lab_results"]), 4)
        self.assertTrue(page1["next_cursor"])
        seen = [r["id"] for r in page1["lab_results"]]
        cursor = page1["next_cursor"]
        while cursor:
            page = self.labs(self.empi, f"?limit=4&cursor={urllib.parse.quote(cursor)}")
            seen += [r["id"] for r in page["lab_results"]]
            cursor = page["next_cursor"]
        all_ids = [r["id"] for r in self.labs(self.empi, "?limit=1000")["lab_results"]]
        self.assertEqual(seen, all_ids)
        self.get(f"/api/v1/patients/{self.empi}/lab-results?cursor=nonsense", expect=400)
        self.get(f"/api/v1/patients/{self.empi}/lab-results?limit=0", expect=400)
        err = self.get(f"/api/v1/patients/{self.empi}/lab-results?since=yesterday",
                       expect=400).json()["error"]
        self.assertEqual(err["where"], "since", err)
        self.assertIn("epoch ms", err["message"], err)

    def test_9_cli_tables(self):
        api = self.hub.api_url()
        out = subprocess.run([str(self.hub.bin), "patient", "labs", self.empi, "--api", api,
                              "--user", "cli-test", "--reader", "CWS001"],
                             capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode("utf-8", "replace"))
        text = out.stdout.decode("utf-8")
        self.assertIn("检验结果", text)
        self.assertIn("血红蛋白", text)
        self.assertIn("✔ 可互认", text)
        self.assertIn("✘ 不可互认", text)
        self.assertIn("[facility_not_qualified]", text)
        self.assertIn("[unmapped_code]", text)
        out = subprocess.run([str(self.hub.bin), "patient", "show", self.empi, "--api", api,
                              "--user", "cli-test"], capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode("utf-8", "replace"))
        text = out.stdout.decode("utf-8")
        self.assertIn("张三", text)
        self.assertIn("最近检验结果", text)
        ev = self.get(f"/api/v1/patients/{self.empi}/access?limit=1000").json()["access"]
        self.assertTrue(any(e["actor"] == "cli:cli-test" and e["what"] == "summary" for e in ev))
        bad = subprocess.run([str(self.hub.bin), "patient", "labs", "E99999999", "--api", api],
                             capture_output=True, timeout=60)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("404", bad.stderr.decode("utf-8", "replace"))


if __name__ == "__main__":
    unittest.main()
