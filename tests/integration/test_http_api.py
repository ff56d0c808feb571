"""REST intake and queries (CONTRACT §4): POST /api/v1/messages, idempotency,
error answers and the error store, listing with filters, one message with
its trace, health and /metrics."""

import base64
import unittest

import hub as H


class HttpApiTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        cls.dest = H.FakeHttpDestination()
        cls.dests.append(cls.dest)
        return H.Hub(destinations=[H.http_destination("sink", cls.dest)],
                     routes=[H.route("adt", ["sink"], message_type="ADT^*")])

    def assertApiError(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"), r.headers)
        err = r.json().get("error")
        self.assertIsInstance(err, dict, r)
        for k in ("code", "message", "where"):
            self.assertIn(k, err, r)
        self.assertTrue(err["code"], r)
        self.assertTrue(err["message"], r)
        return err

    def test_health(self):
        r = self.hub.api("GET", "/api/v1/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ok")

    def test_metrics_prometheus_text(self):
        self.hub.post_hl7(H.adt()[0], "XQRMYY")
        r = self.hub.api("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("content-type", "").startswith("text/plain"), r.headers)
        self.assertIn("# TYPE ", r.text)
        for line in r.text.splitlines():
            if line and not line.startswith("#"):
                name_labels, _, value = line.rpartition(" ")
                self.assertTrue(name_labels, line)
                float(value)  # every sample line ends in a number

    def test_post_accepted_202_and_detail(self):
        msg, ctl = H.adt("A04", facility="WSY01", patient=H.Patient(20))
        r = self.hub.post_hl7(msg, "WSY01")
        self.assertEqual(r.status, 202, r)
        body = r.json()
        self.assertIn("id", body)
        self.assertIn(body["status"], H.STATUSES)
        d = self.hub.wait_status(body["id"], "SENT")
        self.assertEqual(str(d["id"]), str(body["id"]))
        trace = d.get("trace")
        self.assertIsInstance(trace, list)
        self.assertGreaterEqual(len(trace), 2, trace)
        for step in trace:
            self.assertIsNotNone(H.get(step, "at", "time", "at_ms", "timestamp"), step)
            self.assertTrue(step.get("outcome"), step)
        dels = H.deliveries_of(d)
        self.assertEqual(len(dels), 1, d)
        self.assertEqual(H.get(dels[0], "destination", "destination_id"), "sink")
        self.assertGreaterEqual(H.attempts_of(dels[0]), 1)

    def test_repeat_idempotency_key_same_id(self):
        msg, ctl = H.adt("A04", facility="WSY01", patient=H.Patient(21))
        key = H.new_control_id("K")
        r1 = self.hub.post_hl7(msg, "WSY01", key=key)
        r2 = self.hub.post_hl7(msg, "WSY01", key=key)
        self.assertEqual(r1.status, 202, r1)
        self.assertEqual(r2.status, 202, r2)
        self.assertEqual(r2.json()["id"], r1.json()["id"])
        self.hub.wait_status(r1.json()["id"], "SENT")
        r3 = self.hub.post_hl7(msg, "WSY01", key=key)
        self.assertEqual(r3.json()["id"], r1.json()["id"])
        self.assertEqual(len([r for r in self.dest.delivered() if r.control_id in (ctl, key)]), 1)

    def test_repeat_without_key_dedupes_on_msh10(self):
        msg, ctl = H.adt("A04", facility="WSY01", patient=H.Patient(22))
        r1 = self.hub.post_hl7(msg, "WSY01")
        r2 = self.hub.post_hl7(msg, "WSY01")
        self.assertEqual(r1.status, 202, r1)
        self.assertEqual(r2.json()["id"], r1.json()["id"])

    def test_unknown_facility_403_and_kept(self):
        msg, ctl = H.adt("A04", facility="NOPE99")
        r = self.hub.post_hl7(msg, "NOPE99")
        self.assertApiError(r, 403)
        e = H.wait_until(lambda: self.hub.find_error(ctl), what="403 input in the error store")
        self.assertEqual(base64.b64decode(e["raw_base64"]), msg.encode("utf-8"))

    def test_without_facility_header_msh4_names_the_facility(self):
        # CONTRACT §2: "MSH-4 (sending facility) or X-Facility-Id names them".
        msg, ctl = H.adt("A04", facility="WSY01", patient=H.Patient(23))
        r = self.hub.post_hl7(msg, None)
        self.assertEqual(r.status, 202, r)
        unknown, _ = H.adt("A04", facility="NOPE97")
        self.assertApiError(self.hub.post_hl7(unknown, None), 403)

    def test_bad_body_400_with_where(self):
        body = "PID|1||X^^^WSY01^MR\rMSH|^~\\&|oops " + H.new_control_id("B") + "\r"
        r = self.hub.post_hl7(body, "WSY01")
        err = self.assertApiError(r, 400)
        self.assertTrue(err["where"], f"where is empty: {err}")
        e = H.wait_until(lambda: self.hub.find_error(body), what="400 input in the error store")
        # The MSH could not be read: the header names the sender.
        self.assertEqual(e.get("facility"), "WSY01", e)

    def test_unsupported_content_type_415(self):
        msg, ctl = H.adt("A04", facility="WSY01")
        r = self.hub.post_hl7(msg, "WSY01", content_type="application/pdf")
        self.assertApiError(r, 415)
        self.assertIsNone(self.hub.find_message(ctl))

    def test_errors_listed_and_fetched(self):
        msg, ctl = H.adt("A04", facility="NOPE98")
        self.hub.post_hl7(msg, "NOPE98")
        entries = H.wait_until(lambda: self.hub.errors(), what="errors listed")
        self.assertTrue(all("id" in e for e in entries))
        e = H.wait_until(lambda: self.hub.find_error(ctl), what="error entry")
        self.assertIn("raw_base64", e)
        self.assertEqual(self.hub.api("GET", "/api/v1/errors/987654321").status, 404)

    def test_unknown_message_404(self):
        self.assertApiError(self.hub.api("GET", "/api/v1/messages/987654321"), 404)

    def test_list_since_reads_every_form_and_refuses_the_rest(self):
        msg, _ = H.oru(facility="CWS001", patient=H.Patient(40))
        mid = self.hub.post_hl7(msg, "CWS001").json()["id"]
        self.hub.wait_status(mid, "FILTERED")
        for since in ("2000-01-01", "2000-01-01T00:00:00%2B08:00", "946656000000"):
            page = self.hub.api("GET", f"/api/v1/messages?since={since}&limit=1000")
            self.assertEqual(page.status, 200, page)
            self.assertIn(mid, [m["id"] for m in page.json()["messages"]], since)
        future = self.hub.api("GET", "/api/v1/messages?since=2999-01-01").json()["messages"]
        self.assertEqual(future, [])
        for bad in ("yesterday", "12345678901234567890", "2026-13-01"):
            err = self.assertApiError(self.hub.api("GET", f"/api/v1/messages?since={bad}"), 400)
            self.assertEqual(err["where"], "since", err)
            # the answer names every form that is read, as the record's ?since= does
            self.assertIn("epoch ms", err["message"], err)

    def test_list_filters_newest_first(self):
        ids = []
        for i in range(3):
            msg, _ = H.oru(facility="CWS001", patient=H.Patient(30 + i))
            r = self.hub.post_hl7(msg, "CWS001")
            self.assertEqual(r.status, 202, r)
            ids.append(r.json()["id"])
        adt, _ = H.adt("A04", facility="CWS001", patient=H.Patient(33))
        adt_id = self.hub.post_hl7(adt, "CWS001").json()["id"]
        # ORU^R01 has no route here: FILTERED
        for i in ids:
            self.hub.wait_status(i, "FILTERED")
        page = self.hub.messages(facility="CWS001", type="ORU^R01")
        self.assertEqual([m["id"] for m in page][:3], list(reversed(ids)))
        self.assertTrue(all(H.get(m, "message_type", "type") == "ORU^R01" for m in page), page)
        self.assertEqual(len(self.hub.messages(facility="CWS001", type="ORU^R01", limit=2)), 2)
        self.assertNotIn(adt_id, [m["id"] for m in page])
        filtered = self.hub.messages(status="FILTERED", facility="CWS001")
        self.assertTrue(filtered and all(m["status"] == "FILTERED" for m in filtered), filtered)
        self.assertNotIn(adt_id, [m["id"] for m in filtered])
        everyone = self.hub.messages(limit=1000)
        facs = {H.get(m, "facility", "facility_id") for m in everyone}
        self.assertIn("CWS001", facs)
        self.assertTrue(all(H.get(m, "facility", "facility_id") == "CWS001"
                            for m in self.hub.messages(facility="CWS001")))


if __name__ == "__main__":
    unittest.main()
