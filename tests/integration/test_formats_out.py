"""Destination formats (issues 3 and 4): v2 ORU^R01 and ADT^A04 sent over MLLP
to a hub with three `file` destinations — cda, json (FHIR R4) and hl7v2 —
and each delivered file checked: the CDA parses and carries the LOINC
translation of a local code from a concept map under a temp terminology dir,
the FHIR Bundle has both codings, the v2 is UTF-8 even from GB18030 input.
The unmapped register names the facility and a sample message id; a message
with no CDA form (DFT^P03) ends ERROR with the reason; a route that can only
carry such messages to a cda destination is refused at start (exit 2)."""

import json
import pathlib
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import hub as H

HL7 = "{urn:hl7-org:v3}"
LOINC_OID = "2.16.840.1.113883.6.1"
LOCAL_MAP = """\
source_system,source_code,source_display,target_system,target_code,target_display
local:FMT01,HGB,血红蛋白,LOINC,718-7,血红蛋白
local:FMT01,XT,血糖,2.16.840.1.113883.6.1,2345-7,
"""
FACILITIES = [
    {"id": "FMT01", "name": "格式测试卫生院", "kind": "township"},
    {"id": "FMT02", "name": "收费测试卫生室", "kind": "village"},
]


class FormatsOutTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hie-itest-fmt-"))
        cls.term_dir = cls.tmp / "terminology"
        cls.term_dir.mkdir()
        for f in (H.REPO / "terminology" / "data").glob("*.csv"):
            shutil.copy(f, cls.term_dir / f.name)
        (cls.term_dir / "local-FMT01.csv").write_text(LOCAL_MAP, encoding="utf-8")
        cls.out = {k: cls.tmp / k for k in ("cda", "json", "hl7v2")}
        for d in cls.out.values():
            d.mkdir()
        dests = [{"id": f"out-{k}", "type": "file", "path": str(d), "format": k,
                  "retry": {"max_attempts": 2, "initial_backoff": "100ms", "max_backoff": "1s"}}
                 for k, d in cls.out.items()]
        routes = [
            {"id": "clinical", "when": {"message_type": ["ORU^R01", "ADT^A04"]},
             "to": [d["id"] for d in dests]},
            # Everything from FMT02 goes to the CDA destination, charges too.
            {"id": "fmt02-to-cda", "when": {"facility": "FMT02"}, "to": ["out-cda"]},
        ]
        return H.Hub(destinations=dests, routes=routes, facilities=FACILITIES,
                     extra={"terminology": {"dir": str(cls.term_dir)}})

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers
    def delivered(self, kind, message_id):
        """The one file the destination wrote for the message."""
        def find():
            files = [p for p in self.out[kind].iterdir() if f"-{message_id}-" in p.name]
            return files[0] if len(files) == 1 else None
        return H.wait_until(find, what=f"{kind} file of message {message_id}")

    def oru_gb18030(self):
        p = H.Patient(31, "FMT01")
        ctl = H.new_control_id("F")
        segs = [
            H.msh("ORU^R01^ORU_R01", "FMT01", ctl, charset="GB 18030-2000"),
            p.pid("FMT01"),
            "PV1|1|O|检验科",
            f"OBR|1|ORD{ctl}||CBC^血常规^L|||20260301090000||||||||||||||20260301100000||HM|F",
            "OBX|1|NM|HGB^血红蛋白^L||135|g/L|130-175|N|||F",
            "OBX|2|NM|XT^血糖^L||5.6|mmol/L|3.9-6.1|N|||F",
            f"OBX|3|NM|ZZ{ctl}^未映射项目^L||1.0|g/L|||||F",
        ]
        return ("\r".join(segs) + "\r").encode("gb18030"), ctl, p

    def send_bytes(self, data):
        with self.hub.mllp() as c:
            return c.request(data)  # framed as they are, no re-encoding

    # -- tests
    def test_oru_in_gb18030_to_cda_json_and_v2(self):
        raw, ctl, patient = self.oru_gb18030()
        ack = self.send_bytes(raw)
        self.assertEqual(ack.msa_code, "AA", ack)
        mid = self.hub.message_id(ctl, facility="FMT01")
        self.hub.wait_status(mid, "SENT")

        # v2: UTF-8 although the input was GB18030, MSH-18 says so.
        v2 = self.delivered("hl7v2", mid).read_bytes().decode("utf-8")  # strict: fails on GB bytes
        self.assertIn(patient.name, v2)
        self.assertIn("血红蛋白", v2)
        self.assertEqual(H.field(v2, "MSH", 18), "UNICODE UTF-8")

        # FHIR: the original local coding first, the LOINC translation beside it.
        bundle = json.loads(self.delivered("json", mid).read_text(encoding="utf-8"))
        self.assertEqual(bundle["resourceType"], "Bundle")
        obs = {r["code"]["coding"][0]["code"]: r for r in
               (e["resource"] for e in bundle["entry"]) if r["resourceType"] == "Observation"}
        hgb = obs["HGB"]["code"]["coding"]
        self.assertEqual(hgb[0], {"system": "urn:hie:local:FMT01", "code": "HGB", "display": "血红蛋白"})
        self.assertEqual((hgb[1]["system"], hgb[1]["code"]), ("http://loinc.org", "718-7"))
        xt = obs["XT"]["code"]["coding"]  # mapped by OID in the map file
        self.assertEqual((xt[1]["system"], xt[1]["code"]), ("http://loinc.org", "2345-7"))
        unmapped = obs[f"ZZ{ctl}"]["code"]
        self.assertEqual(len(unmapped["coding"]), 1)
        self.assertIn({"url": "urn:hie:unmapped", "valueString": "LOINC"}, unmapped.get("extension", []))
        patients = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
        self.assertEqual(patients[0]["name"][0]["text"], patient.name)

        # CDA: a WS/T 500 lab report (C0007) that parses and carries 718-7 as a translation.
        doc = ET.fromstring(self.delivered("cda", mid).read_bytes())
        self.assertEqual(doc.tag, f"{HL7}ClinicalDocument")
        templates = {t.get("root") for t in doc.iter(f"{HL7}templateId")}
        self.assertIn("2.16.156.10011.2.1.1.27", templates)
        translations = [(t.get("code"), t.get("codeSystem")) for t in doc.iter(f"{HL7}translation")]
        self.assertIn(("718-7", LOINC_OID), translations)
        self.assertIn(("2345-7", LOINC_OID), translations)
        self.assertIn(patient.name, ET.tostring(doc, encoding="unicode"))

        # The register: the unmapped item with its facility and this message as the sample.
        def entry():
            r = self.hub.api("GET", "/api/v1/terminology/unmapped")
            self.assertEqual(r.status, 200, r)
            for e in r.json()["unmapped"]:
                if e["system"] == "local:FMT01" and e["code"] == f"ZZ{ctl}":
                    return e
            return None
        e = H.wait_until(entry, what="unmapped ZZ code listed")
        self.assertEqual(e["facility"], "FMT01")
        self.assertEqual(str(e["sample_message_id"]), str(mid))
        self.assertEqual(e["target_system"], "LOINC")
        self.assertEqual(e["display"], "未映射项目")

    def test_adt_a04_outpatient_record(self):
        msg, ctl = H.adt("A04", facility="FMT01", patient=H.Patient(33, "FMT01"))  # a woman
        self.assertEqual(self.hub.send(msg).msa_code, "AA")
        mid = self.hub.message_id(ctl, facility="FMT01")
        self.hub.wait_status(mid, "SENT")
        doc = ET.fromstring(self.delivered("cda", mid).read_bytes())
        templates = {t.get("root") for t in doc.iter(f"{HL7}templateId")}
        self.assertIn("2.16.156.10011.2.1.1.22", templates)  # 门(急)诊病历 C0002
        gender = next(doc.iter(f"{HL7}administrativeGenderCode"))
        self.assertEqual(gender.get("codeSystem"), "2.16.156.10011.2.3.3.4")  # GB/T 2261.1
        bundle = json.loads(self.delivered("json", mid).read_text(encoding="utf-8"))
        patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        sex = next(x for x in patient["extension"] if x["url"] == "urn:hie:sex")["valueCodeableConcept"]
        self.assertEqual(sex["coding"][0]["code"], "F")  # as received (HL7 0001)
        self.assertEqual(sex["coding"][1]["code"], "2")  # GB/T 2261.1 beside it
        self.assertEqual(sex["coding"][1]["system"], "urn:oid:2.16.156.10011.2.3.3.4")
        self.assertTrue(self.delivered("hl7v2", mid).read_bytes().decode("utf-8").startswith("MSH|"))

    def test_dft_to_cda_ends_error_with_reason(self):
        msg, ctl = H.dft(facility="FMT02", patient=H.Patient(34, "FMT02"))
        self.assertEqual(self.hub.send(msg).msa_code, "AA")
        mid = self.hub.message_id(ctl, facility="FMT02")
        d = self.hub.wait_status(mid, "ERROR")
        text = json.dumps(d, ensure_ascii=False)
        self.assertIn("没有对应的 CDA 文档", text)
        self.assertIn("no CDA form for DFT^P03", text)
        deliveries = H.deliveries_of(d)
        self.assertEqual(len(deliveries), 1)
        self.assertEqual(H.attempts_of(deliveries[0]), 1)  # permanent: not retried

    def test_route_of_charges_to_cda_refused_at_start(self):
        cfg = dict(self.hub.config)
        cfg["routes"] = [{"id": "charges", "when": {"message_type": "DFT^P03"}, "to": ["out-cda"]}]
        path = self.tmp / "bad.yaml"
        path.write_text(H.to_yaml(cfg), encoding="utf-8")
        p = subprocess.run([str(self.hub.bin), "serve", "--config", str(path), "--data-dir",
                            str(self.tmp / "bad-data")], capture_output=True, timeout=60)
        err = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("bad.yaml:", err)
        self.assertIn("no CDA form", err)


if __name__ == "__main__":
    import unittest
    unittest.main()
