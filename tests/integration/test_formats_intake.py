"""CDA R2 and FHIR R4 intake over HTTP (CONTRACT §4, issue 3): documents from
../shared/corpus/cda and tests/golden accepted (202 after the commit) and
visible via GET /api/v1/messages/{id} with their HL7 v2 message type and
document type; FHIR Bundles (message, transaction, collection) and single
resources; a repeat answered the same and stored once (content key or
Idempotency-Key); every bad input refused with a clear 4xx naming the XPath
or JSON pointer and kept in the error store; routing by document_type and
by message_type (QUEUED vs FILTERED). Hostile input (XXE, entity bombs,
deep nesting, a 100 MB field, truncation) in HostileInputTest: each refused
quickly, the hub healthy afterwards."""

import base64
import json
import pathlib
import re
import shutil
import tempfile
import time

import hub as H

CORPUS = H.REPO.parent / "shared" / "corpus" / "cda"
GOLDEN = H.REPO / "tests" / "golden"
XML = "application/xml"
FHIR = "application/fhir+json"
KINDS = {  # golden CDA -> (document type, HL7 v2 type)
    "lab-report.glucose.cda.xml": ("C0007", "ORU^R01"),
    "outpatient-record.fever.cda.xml": ("C0002", "ADT^A04"),
    "health-record-basic.li-si.cda.xml": ("B0001", "ADT^A04"),
}
_ID = re.compile(rb"<id\b[^>]*?/?>")


def with_doc_id(xml, ext):
    """The document with its ClinicalDocument/id (the first <id> of the header) given extension ext."""
    m = _ID.search(xml)
    assert m, "no <id> in document"
    root = re.search(rb'root="([^"]*)"', m.group(0))
    new = b'<id root="%s" extension="%s"/>' % (root.group(1) if root else b"2.16.156.10011.1.1", ext.encode())
    return xml[:m.start()] + new + xml[m.end():]


def root_name(xml):
    """Local name of the first element (after the prolog, comments and processing instructions)."""
    text = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", xml, flags=re.S)
    m = re.search(rb"<([A-Za-z_][\w.:-]*)", text)
    return m.group(1).split(b":")[-1].decode() if m else ""


def golden_cda(name, ext=None):
    xml = (GOLDEN / "cda" / name).read_bytes()
    return with_doc_id(xml, ext or H.new_control_id("D"))


def patient_resource(n, rid=None, **extra):
    r = {"resourceType": "Patient",
         "identifier": [
             {"system": "urn:oid:2.16.156.10011.1.3", "value": H.id_card(seq=n)},
             {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
              "system": "urn:hie:local:CWS001", "value": f"MR{n:05d}"}],
         "name": [{"text": "王小明"}], "gender": "male", "birthDate": "1990-03-07"}
    if rid:
        r["id"] = rid
    r.update(extra)
    return r


def observation(ref="urn:uuid:p1"):
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "血糖"}]},
            "subject": {"reference": ref}, "effectiveDateTime": "2026-03-01T09:00:00+08:00",
            "valueQuantity": {"value": 5.60, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                              "code": "mmol/L"}}


def fhir_bundle(kind, n, ident=None):
    entries = [{"fullUrl": "urn:uuid:p1", "resource": patient_resource(n)},
               {"fullUrl": "urn:uuid:o1", "resource": observation()}]
    if kind == "transaction":
        entries = [dict(e, request={"method": "POST", "url": e["resource"]["resourceType"]}) for e in entries]
    if kind == "message":
        entries.insert(0, {"fullUrl": "urn:uuid:mh", "resource": {
            "resourceType": "MessageHeader", "id": "mh-" + (ident or "x"),
            "eventCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0003", "code": "R01"},
            "source": {"endpoint": "urn:hie:local:CWS001"}}})
    b = {"resourceType": "Bundle", "type": kind, "entry": entries}
    if ident:
        b["identifier"] = {"system": "urn:oid:2.16.156.10011.1.99", "value": ident}
    return json.dumps(b, ensure_ascii=False).encode("utf-8")


def has_cjk(s):
    return any("\u4e00" <= c <= "\u9fff" for c in s)


class FormatsIntakeBase(H.HubTestCase):
    def post(self, body, content_type, facility="WSY01", key=None):
        h = {"Content-Type": content_type}
        if facility is not None:
            h["X-Facility-Id"] = facility
        if key is not None:
            h["Idempotency-Key"] = key
        return self.hub.api("POST", "/api/v1/messages", body, h)

    def accepted(self, r):
        self.assertEqual(r.status, 202, r)
        body = r.json()
        self.assertIn(body.get("status"), H.STATUSES, body)
        return body

    def refused(self, r, status, code, where=None, needle=None):
        """A 4xx with {"error":{code,message,where}} in Chinese with the English term, kept raw."""
        self.assertEqual(r.status, status, r)
        err = r.json()["error"]
        for k in ("code", "message", "where"):
            self.assertIn(k, err, r)
        self.assertEqual(err["code"], code, r)
        self.assertTrue(has_cjk(err["message"]) and re.search(r"\([A-Za-z][^)]*\)", err["message"]), err)
        if where is not None:
            if hasattr(where, "search"):
                self.assertRegex(err["where"], where, err)
            else:
                self.assertEqual(err["where"], where, err)
        if needle is not None:
            kept = H.wait_until(lambda: self.hub.find_error(needle), what=f"error store entry with {needle!r}")
            self.assertEqual(kept["error"]["code"], code, kept)
        return err


class FormatsIntakeTest(FormatsIntakeBase):
    @classmethod
    def make_hub(cls):
        cls.outdir = pathlib.Path(tempfile.mkdtemp(prefix="hie-itest-docs-"))
        dests = [{"id": "lab-files", "type": "file", "path": str(cls.outdir), "format": "hl7v2",
                  "retry": {"max_attempts": 2, "initial_backoff": "100ms", "max_backoff": "200ms"}}]
        routes = [H.route("lab-docs", ["lab-files"], document_type="C0007"),
                  H.route("village-registrations", ["lab-files"], message_type="ADT^A04", facility="CWS001")]
        return H.Hub(destinations=dests, routes=routes)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.outdir, ignore_errors=True)

    # ---- CDA accepted and visible
    def test_golden_cda_accepted_and_visible(self):
        for name, (doc_type, msg_type) in KINDS.items():
            with self.subTest(name):
                ext = H.new_control_id("G")
                body = self.accepted(self.post(golden_cda(name, ext), XML, facility="XQRMYY"))
                d = self.hub.message(body["id"])
                self.assertEqual(d["message_type"], msg_type, d)
                self.assertEqual(d["document_type"], doc_type, d)
                self.assertEqual(d["control_id"], ext, d)
                self.assertEqual(d["facility"], "XQRMYY", d)
                self.assertTrue(d["content_type"].startswith("application/xml"), d)
                self.assertEqual(d["trace"][0]["step"], "received", d)
                self.assertIn(doc_type, d["trace"][0]["detail"], d)
                r = self.hub.api("GET", f"/api/v1/messages/{body['id']}?raw=1")
                self.assertIn(ext, r.json().get("raw", ""), "the raw document is kept as sent")

    def test_corpus_cda_documents_accepted_fragments_refused(self):
        """Whole documents are accepted; the corpus's header/section fragments are refused
        with the element the reader found (and kept)."""
        files = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() == ".xml")
        docs = [p for p in files if root_name(p.read_bytes()) == "ClinicalDocument"]
        self.assertGreater(len(docs), 15, "shared CDA corpus present")
        for p in files:
            with self.subTest(p.name):
                raw = p.read_bytes()
                if p not in docs:
                    r = self.post(raw + b"<!-- " + H.new_control_id("FR").encode() + b" -->", "text/xml",
                                  facility="XQRMYY")
                    self.assertEqual(r.status, 400, r)
                    self.assertEqual(r.json()["error"]["code"], "parse_error", r)
                    self.assertTrue(r.json().get("error_id"), r)
                    continue
                ext = H.new_control_id("K")
                body = self.accepted(self.post(with_doc_id(raw, ext), "text/xml", facility="XQRMYY"))
                d = self.hub.message(body["id"])
                self.assertIn(d["message_type"], ("ORU^R01", "ADT^A04", "MDM^T02"), d)
                self.assertEqual(d["control_id"], ext, d)
                self.assertTrue(d.get("document_type"), d)

    # ---- FHIR accepted
    def test_fhir_bundles_and_single_resource(self):
        cases = [("message", "ORU^R01"), ("transaction", "ORU^R01"), ("collection", "ORU^R01")]
        for n, (kind, msg_type) in enumerate(cases):
            with self.subTest(kind):
                ident = H.new_control_id("B")
                body = self.accepted(self.post(fhir_bundle(kind, 100 + n, ident), FHIR, facility="CWS001"))
                d = self.hub.message(body["id"])
                self.assertEqual(d["message_type"], msg_type, d)
                self.assertEqual(d["control_id"], ident, d)
                self.assertEqual(d["dedupe_key"], f"fhir:Bundle:urn:oid:2.16.156.10011.1.99|{ident}", d)
        # golden FHIR (written by the hub itself) names its facility: no header needed
        for f in sorted((GOLDEN / "v2").glob("*.fhir.json")):
            with self.subTest(f.name):
                doc = json.loads(f.read_text(encoding="utf-8"))
                doc["identifier"]["value"] = H.new_control_id("V")
                body = self.accepted(self.post(json.dumps(doc, ensure_ascii=False), "application/json",
                                               facility=None))
                d = self.hub.message(body["id"])
                self.assertEqual(d["facility"], doc["identifier"]["system"].rsplit(":", 1)[-1], d)
                self.assertEqual(d["message_type"], doc["meta"]["tag"][0]["code"], d)
        rid = H.new_control_id("P")
        single = json.dumps(patient_resource(140, rid, meta={"versionId": "1"}), ensure_ascii=False)
        body = self.accepted(self.post(single, FHIR, facility="WSY01"))
        d = self.hub.message(body["id"])
        self.assertEqual(d["message_type"], "ADT^A04", d)
        self.assertEqual(d["control_id"], f"Patient/{rid}", d)
        self.assertEqual(d["dedupe_key"], f"fhir:Patient/{rid}/_history/1", d)
        obs = self.accepted(self.post(json.dumps(observation("Patient/x")), FHIR, facility="WSY01"))
        self.assertEqual(self.hub.message(obs["id"])["message_type"], "ORU^R01")

    # ---- repeats
    def test_cda_repeat_same_answer_stored_once(self):
        ext = H.new_control_id("R")
        xml = golden_cda("lab-report.glucose.cda.xml", ext)
        first = self.accepted(self.post(xml, XML))
        again = self.post(xml, XML)
        self.assertEqual(again.status, 202, again)
        self.assertEqual(again.json()["id"], first["id"])
        self.assertTrue(again.json().get("duplicate"), again)
        listed = [m for m in self.hub.messages(facility="WSY01", limit=1000) if m["control_id"] == ext]
        self.assertEqual(len(listed), 1, listed)
        self.assertEqual(listed[0]["dedupe_key"], f"cda:2.16.156.10011.1.1^{ext}")
        # the same document id from another facility is another message
        other = self.accepted(self.post(xml, XML, facility="XQRMYY"))
        self.assertNotEqual(other["id"], first["id"])

    def test_fhir_repeat_by_content_and_by_key(self):
        ident = H.new_control_id("F")
        b = fhir_bundle("collection", 150, ident)
        r1, r2 = self.post(b, FHIR, facility="CWS001"), self.post(b, FHIR, facility="CWS001")
        self.assertEqual(self.accepted(r1)["id"], self.accepted(r2)["id"])
        # a resource without id/version: the body's hash; same bytes -> same message, changed -> new
        plain = json.dumps(patient_resource(151), ensure_ascii=False)
        a1, a2 = self.post(plain, FHIR, facility="CWS001"), self.post(plain, FHIR, facility="CWS001")
        self.assertEqual(self.accepted(a1)["id"], self.accepted(a2)["id"])
        changed = plain.replace("王小明", "王晓明")
        self.assertNotEqual(self.accepted(self.post(changed, FHIR, facility="CWS001"))["id"], a1.json()["id"])
        # Idempotency-Key wins over the content
        key = H.new_control_id("IK")
        k1 = self.accepted(self.post(fhir_bundle("collection", 152), FHIR, facility="CWS001", key=key))
        k2 = self.accepted(self.post(fhir_bundle("collection", 153), FHIR, facility="CWS001", key=key))
        self.assertEqual(k1["id"], k2["id"])
        self.assertEqual(self.hub.message(k1["id"])["dedupe_key"], key)

    # ---- refused inputs: clear error, kept
    def test_bad_cda_refused_and_kept(self):
        lab = golden_cda("lab-report.glucose.cda.xml", H.new_control_id("BAD"))
        cut = lab[: len(lab) // 2]
        self.refused(self.post(cut, XML), 400, "parse_error", re.compile(r"line \d+"), needle=cut)
        html = b"<html><body>not cda " + H.new_control_id("H").encode() + b"</body></html>"
        self.refused(self.post(html, XML), 400, "parse_error", "/html", needle=html)
        no_patient = re.sub(rb"<recordTarget.*?</recordTarget>", b"", lab, flags=re.S)
        self.refused(self.post(no_patient, XML), 400, "required_missing",
                     re.compile(r"^/ClinicalDocument"), needle=no_patient)
        no_id = _ID.sub(b"", lab, count=1) + b"<!-- " + H.new_control_id("N").encode() + b" -->"
        self.refused(self.post(no_id, XML), 400, "required_missing", "/ClinicalDocument/id", needle=no_id)
        anon = golden_cda("lab-report.glucose.cda.xml")
        self.refused(self.post(anon, XML, facility=None), 400, "required_missing", "X-Facility-Id", needle=anon)
        stranger = golden_cda("lab-report.glucose.cda.xml")
        self.refused(self.post(stranger, XML, facility="NOBODY9"), 403, "unknown_facility", "X-Facility-Id",
                     needle=stranger)

    def test_bad_fhir_refused_and_kept(self):
        tag = H.new_control_id("J")
        bad_json = ('{"resourceType":"Patient","id":"%s",' % tag).encode()
        self.refused(self.post(bad_json, FHIR), 400, "parse_error", "", needle=bad_json)
        searchset = json.dumps({"resourceType": "Bundle", "type": "searchset", "id": tag + "s"}).encode()
        self.refused(self.post(searchset, FHIR), 400, "unsupported_message_type", "/type", needle=searchset)
        no_header = json.dumps({"resourceType": "Bundle", "type": "message", "id": tag + "m",
                                "entry": [{"resource": patient_resource(160)}]}).encode()
        self.refused(self.post(no_header, FHIR), 400, "required_missing", "/entry/0/resource", needle=no_header)
        no_resource = json.dumps({"resourceType": "Bundle", "type": "transaction", "id": tag + "t",
                                  "entry": [{"request": {"method": "POST", "url": "Patient"}}]}).encode()
        self.refused(self.post(no_resource, FHIR), 400, "required_missing", "/entry/0/resource",
                     needle=no_resource)
        no_type = json.dumps({"id": tag + "r", "name": "x"}).encode()
        self.refused(self.post(no_type, FHIR), 400, "required_missing", "/resourceType", needle=no_type)
        golden = json.loads((GOLDEN / "v2" / "oru_r01.fhir.json").read_text(encoding="utf-8"))
        golden["identifier"]["value"] = tag + "x"
        mismatch = json.dumps(golden, ensure_ascii=False).encode()  # names XQRMYY
        self.refused(self.post(mismatch, FHIR, facility="WSY01"), 400, "invalid_argument", "X-Facility-Id",
                     needle=mismatch)
        golden["identifier"] = {"system": "urn:hie:local:NOBODY7", "value": tag + "u"}
        stranger = json.dumps(golden, ensure_ascii=False).encode()  # names an unknown facility
        self.refused(self.post(stranger, FHIR, facility=None), 403, "unknown_facility", "/identifier/system",
                     needle=stranger)
        anon = json.dumps(patient_resource(161, tag + "a")).encode()
        self.refused(self.post(anon, FHIR, facility=None), 400, "required_missing", "X-Facility-Id", needle=anon)
        png = b"\x89PNG " + tag.encode()
        self.refused(self.post(png, "image/png"), 415, "unsupported_media_type", "Content-Type", needle=png)

    # ---- routing by document_type and by message_type
    def test_routing_document_type_and_message_type(self):
        lab = self.accepted(self.post(golden_cda("lab-report.glucose.cda.xml"), XML, facility="XQRMYY"))
        self.assertNotEqual(lab["status"], "FILTERED")
        d = self.hub.message(lab["id"])
        self.assertEqual([x["destination"] for x in H.deliveries_of(d)], ["lab-files"], d)
        routed = [t for t in d["trace"] if t["step"] == "routed"]
        self.assertIn("lab-docs", routed[0]["detail"], d)
        # an outpatient record from the county hospital: no route
        op = self.accepted(self.post(golden_cda("outpatient-record.fever.cda.xml"), XML, facility="XQRMYY"))
        self.assertEqual(op["status"], "FILTERED", op)
        self.assertEqual(H.deliveries_of(self.hub.message(op["id"])), [])
        # the same kind of document from the village clinic: ADT^A04 route
        vop = self.accepted(self.post(golden_cda("outpatient-record.fever.cda.xml"), XML, facility="CWS001"))
        self.assertNotEqual(vop["status"], "FILTERED", vop)
        # FHIR: a Patient from the village clinic matches by message type; an Observation does not
        p = self.accepted(self.post(json.dumps(patient_resource(170), ensure_ascii=False), FHIR, facility="CWS001"))
        self.assertNotEqual(p["status"], "FILTERED", p)
        o = self.accepted(self.post(json.dumps(observation("Patient/q")), FHIR, facility="CWS001"))
        self.assertEqual(o["status"], "FILTERED", o)
        # an HL7 v2 ORU^R01 has no document type: the document_type route does not take it
        msg, _ = H.oru(facility="XQRMYY")
        self.assertEqual(self.accepted(self.hub.post_hl7(msg, "XQRMYY"))["status"], "FILTERED")


class HostileInputTest(FormatsIntakeBase):
    """Each hostile input refused within seconds with a clear error, kept, and the hub healthy."""

    QUICK = 15.0  # seconds: generous; an unbounded expansion or recursion would take far longer

    @classmethod
    def make_hub(cls):
        return H.Hub()

    def timed(self, body, content_type):
        t0 = time.monotonic()
        r = self.post(body, content_type)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, self.QUICK, f"refused in {elapsed:.1f}s")
        return r

    def healthy(self):
        r = self.hub.api("GET", "/api/v1/health")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "ok")
        ok = self.post(golden_cda("lab-report.glucose.cda.xml"), XML)
        self.assertEqual(ok.status, 202, ok)

    def test_external_entity_to_local_file(self):
        secret = self.hub.tmp / "secret.txt"
        marker = H.new_control_id("SECRET")
        secret.write_text(marker, encoding="utf-8")
        xxe = (f'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file://{secret}">]>'
               f'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>').encode()
        r = self.timed(xxe, XML)
        self.assertNotIn(marker, r.text)
        self.refused(r, 400, "parse_error", needle=xxe)
        kept = self.hub.find_error(xxe)
        self.assertNotIn(marker, json.dumps(kept, ensure_ascii=False))
        self.healthy()

    def test_entity_expansion_bomb(self):
        ents = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 10))
        bomb = (f'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [{ents}]>'
                f'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&a9;</title></ClinicalDocument>').encode()
        self.refused(self.timed(bomb, XML), 400, "parse_error", needle=bomb)
        # the same without a DOCTYPE: undeclared entity, still a plain parse error
        self.refused(self.timed(b'<ClinicalDocument xmlns="urn:hl7-org:v3">&a9;</ClinicalDocument>', XML),
                     400, "parse_error")
        self.healthy()

    def test_deep_nesting_xml_and_json(self):
        deep_xml = b'<ClinicalDocument xmlns="urn:hl7-org:v3">' + b"<x>" * 100000 + b"</x>" * 100000 + \
            b"</ClinicalDocument>"
        self.refused(self.timed(deep_xml, XML), 400, "parse_error", needle=b"<x><x><x>")
        deep_json = b'{"resourceType":"Patient","extension":' + b"[" * 100000 + b"]" * 100000 + b"}"
        self.refused(self.timed(deep_json, FHIR), 400, "parse_error", "", needle=b"[[[[[[[[")
        self.healthy()

    def test_hundred_mb_field_413_and_kept(self):
        head, tail = golden_cda("lab-report.glucose.cda.xml").split(b"<title>", 1)
        marker = H.new_control_id("BIG").encode()
        big = head + b"<title>" + marker + b"x" * (100 << 20) + tail
        r = self.timed(big, XML)
        err = self.refused(r, 413, "too_large", needle=marker)
        self.assertIn("max_body_bytes", err["message"])
        kept = self.hub.find_error(marker)
        self.assertEqual(kept.get("size"), len(big), {k: v for k, v in kept.items() if k != "raw_base64"})
        raw = base64.b64decode(kept["raw_base64"])
        self.assertTrue(big.startswith(raw) and len(raw) >= 1 << 20, "a prefix of the input is kept")
        big_json = b'{"resourceType":"Patient","id":"' + marker + b'j","text":"' + b"y" * (100 << 20) + b'"}'
        self.refused(self.timed(big_json, FHIR), 413, "too_large", needle=marker + b"j")
        self.healthy()

    def test_v2_over_http_oversize_names_the_http_limit(self):
        """Regression: an HL7 v2 body over http.max_body_bytes was refused naming the MLLP limit."""
        msg, ctl = H.adt("A04", facility="WSY01")
        big = msg + "NTE|1||" + "z" * (17 << 20) + "\r"
        r = self.hub.post_hl7(big, "WSY01")
        err = self.refused(r, 413, "too_large", "Content-Length", needle=ctl)
        self.assertIn("http.max_body_bytes", err["message"])
        self.assertIn(str(16 << 20), err["message"])
        self.healthy()

    def test_truncated_xml_and_json(self):
        lab = golden_cda("lab-report.glucose.cda.xml")
        for cut in (lab[:40], lab[: len(lab) - 20]):
            self.refused(self.timed(cut, XML), 400, "parse_error", re.compile(r"line \d+"), needle=cut)
        b = fhir_bundle("collection", 190, H.new_control_id("T"))
        for cut in (b[:30], b[:-2]):
            self.refused(self.timed(cut, FHIR), 400, "parse_error", "", needle=cut)
        empty = self.timed(b"", XML)
        self.assertEqual(empty.status, 400, empty)
        self.healthy()


if __name__ == "__main__":
    import unittest
    unittest.main()
