"""EMPI (issue 5) through MLLP and the REST API (CONTRACT §3, §4): the same
villager registered at a village clinic (no ID card, a homophone name), a
township hospital (a mistyped ID number) and the county hospital (card
reader) becomes one EMPI id; twins stay two persons; PIX and PDQ answer; a
record capped at review is accepted from the review queue; ADT^A40 merges a
source's duplicate record; merge then unmerge restores what was there; a
restart reloads the index and a repeat never makes a second person."""

import unittest
import urllib.parse

import hub as H

FACILITIES = [
    {"id": "XQRMYY", "name": "县人民医院", "kind": "county", "card_reader": True},
    {"id": "WSY01", "name": "桃洪镇卫生院", "kind": "township"},
    {"id": "CWS001", "name": "桃洪镇东湖村卫生室", "kind": "village"},
]

CARD = H.id_card(region="430523", birth="19560308", seq=24, sex="F")


def typo(number):
    """One digit of the sequence part changed: the checksum no longer holds."""
    d = number[15]
    return number[:15] + ("7" if d != "7" else "3") + number[16:]


def pid(mr, facility, name, birth="", sex="", ni="", address="", phone=""):
    ids = f"{mr}^^^{facility}^MR" + (f"~{ni}^^^NI^NI" if ni else "")
    return f"PID|1||{ids}||{name}||{birth}|{sex}|||{address}||{phone}"


def adt(event, facility, pid_segment, extra=()):
    ctl = H.new_control_id("E")
    segs = [H.msh(f"ADT^{event}^ADT_A01", facility, ctl), f"EVN|{event}|{H._ts()}", pid_segment,
            *extra, "PV1|1|O|内科门诊"]
    return "\r".join(segs) + "\r", ctl


class EmpiTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        return H.Hub(facilities=FACILITIES)

    # -- helpers
    def send(self, text):
        ack = self.hub.send(text)
        self.assertEqual(ack.msa_code, "AA", ack)
        return ack

    def pix(self, authority, value, expect=200):
        q = urllib.parse.quote(f"{authority}|{value}")
        r = self.hub.api("GET", f"/api/v1/patients?identifier={q}")
        if expect is not None:
            self.assertEqual(r.status, expect, r)
        return r

    def empi_of(self, authority, value):
        """Waits for the (asynchronous) resolution, returns the one EMPI id."""
        def found():
            r = self.pix(authority, value, expect=None)
            return r.json()["patients"] if r.status == 200 else None
        pats = H.wait_until(found, timeout=20, what=f"PIX {authority}|...")
        self.assertEqual(len(pats), 1, pats)
        return pats[0]["empi_id"]

    def person(self, empi_id):
        r = self.hub.api("GET", f"/api/v1/patients/{empi_id}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def register_villager(self):
        if getattr(type(self), "villager", None):
            return type(self).villager
        addr = "桃洪镇东湖村3组"
        self.send(adt("A04", "CWS001", pid("V001", "CWS001", "曾秀瑛", "19560308", "F", "",
                                           addr, "13907391234"))[0])
        v = self.empi_of("CWS001", "V001")
        self.send(adt("A04", "WSY01", pid("T001", "WSY01", "曾秀英", "19560308", "2", typo(CARD),
                                          "桃洪镇东湖村", "139-0739-1234"))[0])
        t = self.empi_of("WSY01", "T001")
        self.send(adt("A01", "XQRMYY", pid("C001", "XQRMYY", "曾^秀英", "19560308", "F", CARD,
                                           "湖南省邵阳市隆回县桃洪镇东湖村3组", "13907391234"))[0])
        c = self.empi_of("XQRMYY", "C001")
        type(self).villager = (v, t, c)
        return v, t, c

    # -- tests
    def test_1_villager_across_three_facilities_is_one_person(self):
        v, t, c = self.register_villager()
        self.assertEqual(v, t, "township record (mistyped ID) not linked to the village record")
        self.assertEqual(v, c, "county record (card reader) not linked")
        p = self.person(v)
        self.assertEqual(p["state"], "active")
        self.assertEqual(len(p["sources"]), 3, p["sources"])
        g = p["golden"]
        self.assertEqual(g["id_number"], CARD)  # the card reader's number wins
        self.assertTrue(g["id_number_card_reader"])
        self.assertEqual(g["name"], "曾秀英")
        self.assertEqual(g["birth_date"], "1956-03-08")
        self.assertEqual(g["sex"], "F")
        self.assertEqual(g["pinyin"], "zeng xiuying")
        # Every source record is kept as sent.
        raws = sorted(s["raw"].get("name", "") for s in p["sources"])
        self.assertEqual(raws, ["曾秀瑛", "曾秀英", "曾秀英"])
        links = [s["link"] for s in p["sources"]]
        self.assertEqual(sorted(l["how"] for l in links), ["auto", "auto", "new"])
        for l in links:
            if l["how"] == "auto":
                self.assertGreater(l["weight"], 0)
                self.assertIn("name", l["evidence"])
        # PIX by ID card number (and its lower-case x / 15-digit forms would normalize).
        self.assertEqual(self.empi_of("NI", CARD), v)
        ids = {(i["authority"], i["value"]) for i in self.pix("NI", CARD).json()["patients"][0]["identifiers"]}
        self.assertTrue({("CWS001", "V001"), ("WSY01", "T001"), ("XQRMYY", "C001"), ("NI", CARD)} <= ids, ids)
        # The message trace shows the resolution.
        mid = self.hub.messages(facility="CWS001", limit=1000)[-1]["id"]
        steps = [e.get("step") for e in self.hub.message(mid)["trace"]]
        self.assertIn("empi", steps)

    def test_2_pdq_ranks_the_villager_first(self):
        v, _, _ = self.register_villager()
        q = urllib.parse.urlencode({"name": "曾秀英", "birth_date": "1956-03-08", "sex": "F"})
        r = self.hub.api("GET", f"/api/v1/patients?{q}")
        self.assertEqual(r.status, 200, r)
        pats = r.json()["patients"]
        self.assertTrue(pats, r)
        self.assertEqual(pats[0]["empi_id"], v)
        self.assertGreater(pats[0]["score"], 0)
        self.assertEqual(self.hub.api("GET", "/api/v1/patients?name=").status, 400)
        self.pix("NI", H.id_card(birth="19991231", seq=5), expect=404)
        self.pix("NOSUCH", "1", expect=400)

    def test_3_twins_stay_apart(self):
        home, phone = "桃洪镇西村5组", "13812340000"
        self.send(adt("A04", "CWS001", pid("V101", "CWS001", "李明", "20010505", "M", "", home, phone))[0])
        self.send(adt("A04", "CWS001", pid("V102", "CWS001", "李亮", "20010505", "M", "", home, phone))[0])
        a, b = self.empi_of("CWS001", "V101"), self.empi_of("CWS001", "V102")
        self.assertNotEqual(a, b)

    def test_4_review_queue_accept(self):
        v, _, _ = self.register_villager()
        # Name and place alone: at most review, never an auto-link.
        self.send(adt("A04", "WSY01", pid("T777", "WSY01", "曾秀英", "", "", "", "桃洪镇东湖村3组"))[0])
        r_id = self.empi_of("WSY01", "T777")
        self.assertNotEqual(r_id, v)
        r = self.hub.api("GET", "/api/v1/empi/reviews?state=open")
        self.assertEqual(r.status, 200, r)
        items = [i for i in r.json()["items"] if i["record"]["empi_id"] == r_id]
        self.assertEqual(len(items), 1, r.json())
        item = items[0]
        self.assertEqual(item["candidate"]["empi_id"], v)
        self.assertIn(item["evidence"]["name"]["level"], (1, 2))  # exact, or the homophone record
        self.assertEqual(item["evidence"]["birth_date"]["level"], 0)  # no evidence
        a = self.hub.api("POST", f"/api/v1/empi/reviews/{item['id']}/accept", {},
                         {"X-User": "county-it"})
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json()["empi_id"], v)
        self.assertEqual(self.empi_of("WSY01", "T777"), v)
        self.assertEqual(self.person(r_id)["state"], "retired")
        again = self.hub.api("POST", f"/api/v1/empi/reviews/{item['id']}/accept", {})
        self.assertEqual(again.status, 409, again)
        hist = self.person(v)["history"]
        self.assertTrue(any(h["op"] == "review_accept" and h["actor"] == "api:county-it" for h in hist), hist)

    def test_5_a40_merges_a_sources_duplicate(self):
        v, _, _ = self.register_villager()
        self.send(adt("A04", "WSY01", pid("T002", "WSY01", "曾修", "", "", "", "", "13000000001"))[0])
        dup = self.empi_of("WSY01", "T002")
        self.assertNotEqual(dup, v)
        text, _ = adt("A40", "WSY01", pid("T001", "WSY01", "曾秀英", "19560308", "F"),
                      extra=["MRG|T002^^^WSY01^MR"])
        self.send(text)
        H.wait_until(lambda: self.empi_of("WSY01", "T002") == v, timeout=20, what="A40 applied")
        self.assertEqual(self.person(dup)["state"], "merged")
        self.assertEqual(self.person(dup)["merged_into"], v)

    def test_6_merge_then_unmerge_restores(self):
        self.send(adt("A04", "CWS001", pid("V201", "CWS001", "王芳", "19800101", "F", "", "桃洪镇南村", "13700000001"))[0])
        self.send(adt("A04", "WSY01", pid("T201", "WSY01", "赵磊", "19700202", "M", "", "桃洪镇北村", "13700000002"))[0])
        a, b = self.empi_of("CWS001", "V201"), self.empi_of("WSY01", "T201")
        self.assertNotEqual(a, b)
        before_a, before_b = self.person(a), self.person(b)
        m = self.hub.api("POST", f"/api/v1/patients/{a}/merge", {"from": b})
        self.assertEqual(m.status, 200, m)
        merge_id = m.json()["merge_id"]
        self.assertEqual(self.empi_of("WSY01", "T201"), a)
        self.assertEqual(self.person(b)["state"], "merged")
        self.assertEqual(len(self.person(a)["sources"]), 2)
        u = self.hub.api("POST", f"/api/v1/empi/merges/{merge_id}/unmerge", {})
        self.assertEqual(u.status, 200, u)
        after_a, after_b = self.person(a), self.person(b)
        self.assertEqual(after_b["state"], "active")
        self.assertEqual(self.empi_of("WSY01", "T201"), b)
        strip = lambda p: sorted((s["source_id"], s["link"]["how"], s["link"]["weight"]) for s in p["sources"])
        self.assertEqual(strip(after_a), strip(before_a))
        self.assertEqual(strip(after_b), strip(before_b))
        self.assertEqual(after_a["golden"], before_a["golden"])
        self.assertEqual(after_b["golden"], before_b["golden"])
        self.assertEqual(self.hub.api("POST", f"/api/v1/empi/merges/{merge_id}/unmerge", {}).status, 409)
        # Unlink and link back.
        sid = after_b["sources"][0]["source_id"]
        ul = self.hub.api("POST", f"/api/v1/patients/{b}/unlink", {"source_id": sid})
        self.assertEqual(ul.status, 200, ul)
        c = ul.json()["empi_id"]
        self.assertEqual(self.empi_of("WSY01", "T201"), c)
        li = self.hub.api("POST", f"/api/v1/patients/{b}/link", {"source_id": sid})
        self.assertEqual(li.status, 200, li)
        self.assertEqual(self.empi_of("WSY01", "T201"), b)
        ops = [h["op"] for h in self.person(b)["history"]]
        for op in ("new", "merge", "unmerge", "unlink", "link"):
            self.assertIn(op, ops)

    def test_7_repeat_update_and_restart_never_make_a_second_person(self):
        v, _, _ = self.register_villager()
        n_before = len(self.person(v)["sources"])
        # An ORU^R01 and an A08 update of the same village record: same person, same source.
        text, ctl = adt("A08", "CWS001", pid("V001", "CWS001", "曾秀瑛", "19560308", "F", "",
                                             "桃洪镇东湖村4组", "13907391234"))
        self.send(text)
        self.send(text)  # a repeat: answered from the first answer
        H.wait_until(lambda: self.person(v)["golden"].get("address", "").endswith("4组"),
                     timeout=20, what="A08 applied")
        self.assertEqual(len(self.person(v)["sources"]), n_before)
        self.assertEqual(self.hub.stop(), 0)
        self.hub.start()
        self.assertEqual(self.empi_of("CWS001", "V001"), v)
        oru = "\r".join([H.msh("ORU^R01^ORU_R01", "XQRMYY", H.new_control_id("E")),
                         pid("C001", "XQRMYY", "曾秀英", "19560308", "F", CARD),
                         "OBR|1|ORD1||GLU^血糖^L", "OBX|1|NM|GLU^葡萄糖^L||5.6|mmol/L|3.9-6.1|N|||F"]) + "\r"
        self.send(oru)
        mid = H.wait_until(lambda: self.hub.messages(facility="XQRMYY", type="ORU^R01", limit=5), what="ORU listed")[0]["id"]
        H.wait_until(lambda: "empi" in [e.get("step") for e in self.hub.message(mid)["trace"]],
                     timeout=20, what="ORU resolved")
        self.assertEqual(len(self.person(v)["sources"]), n_before)
        self.assertNotIn("曾秀", self.hub.log_tail(200000))  # no names in the log
        self.assertNotIn(CARD, self.hub.log_tail(200000))

    def test_8_cli_finds_and_shows(self):
        import json, subprocess
        v, _, _ = self.register_villager()
        api = self.hub.api_url()
        out = subprocess.run([str(self.hub.bin), "patients", "find", "--api", api,
                              "--identifier", "CWS001|V001"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["patients"][0]["empi_id"], v)
        out = subprocess.run([str(self.hub.bin), "patients", "show", v, "--api", api],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["empi_id"], v)
        out = subprocess.run([str(self.hub.bin), "patients", "show", "E999999", "--api", api],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertIn("HTTP 404", out.stderr)

    def test_9_fhir_and_cda_patients_join_the_v2_person(self):
        import json
        from test_formats_intake import GOLDEN, with_doc_id
        card = "610902199001011235"  # the golden CDA's number with its check digit right
        addr = "陕西省安康市平安县青山镇杨柳村12号"
        self.send(adt("A04", "XQRMYY", pid("C900", "XQRMYY", "张三", "19900101", "M", card, addr,
                                           "13800000000"))[0])
        v = self.empi_of("XQRMYY", "C900")
        patient = {"resourceType": "Patient", "id": H.new_control_id("P"),
                   "identifier": [
                       {"system": "urn:oid:2.16.156.10011.1.3", "value": card},
                       {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                             "code": "MR"}]},
                        "system": "urn:hie:local:CWS001", "value": "F900"}],
                   "name": [{"text": "张三"}], "gender": "male", "birthDate": "1990-01-01",
                   "telecom": [{"system": "phone", "value": "13800000000"}]}
        r = self.hub.api("POST", "/api/v1/messages", json.dumps(patient, ensure_ascii=False).encode(),
                         {"Content-Type": "application/fhir+json", "X-Facility-Id": "CWS001"})
        self.assertEqual(r.status, 202, r)
        fhir_id = r.json()["id"]
        self.assertEqual(self.empi_of("CWS001", "F900"), v)
        xml = (GOLDEN / "cda" / "lab-report.glucose.cda.xml").read_bytes()
        xml = with_doc_id(xml.replace(b"610902199001011235", card.encode()), H.new_control_id("D"))
        r = self.hub.api("POST", "/api/v1/messages", xml,
                         {"Content-Type": "application/cda+xml", "X-Facility-Id": "WSY01"})
        self.assertEqual(r.status, 202, r)
        cda_id = r.json()["id"]

        def resolved(mid):
            steps = [e for e in self.hub.message(mid)["trace"] if e.get("step") == "empi"]
            return steps or None
        for mid in (fhir_id, cda_id):
            steps = H.wait_until(lambda: resolved(mid), timeout=20, what="document resolved")
            self.assertNotEqual(steps[-1]["outcome"], "skipped", steps)
            self.assertIn(v, steps[-1]["detail"], steps)
        # PIX by the ID card: still one person, now with the three sources.
        self.assertEqual(self.empi_of("NI", card), v)
        facilities = sorted(s["facility"] for s in self.person(v)["sources"])
        self.assertEqual(facilities, ["CWS001", "WSY01", "XQRMYY"])

if __name__ == "__main__":
    unittest.main()
