"""Deliveries (CONTRACT §5): HTTP headers, retries on 408/429/5xx/network
errors, permanent 4xx, max_attempts then reprocess, per-patient order while
a destination is failing or down, pause/resume with queue depth, file and
MLLP destinations."""

import json
import os
import threading
import time
import unittest

import hub as H

# One facility per scenario; each routes (facility: X) to its own destination.
SCENARIOS = ["HDR", "FLAKY", "DOWN", "CODES", "PERM", "LIMIT", "PAUSE", "FILES", "MLLPOK", "MLLPAE",
             "JSON", "FANOUT", "SLOWPAUSE"]


def fac(s):
    return f"T{s}"


class DeliveryTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        d = {s: H.FakeHttpDestination() for s in ["HDR", "FLAKY", "DOWN", "CODES", "PERM", "LIMIT", "PAUSE",
                                                      "JSON", "FANOUT_A", "FANOUT_B"]}
        cls.d = d
        cls.dests += list(d.values())
        d["FLAKY"].set_status(503)
        d["DOWN"].go_down()
        d["PERM"].set_status(400)
        d["LIMIT"].set_status(503)
        d["FANOUT_A"].set_status(503)
        d["SLOWPAUSE"] = H.FakeHttpDestination(delay=0.2)  # 5 sends/s: a backlog to pause in
        cls.dests.append(d["SLOWPAUSE"])
        cls.mllp_ok, cls.mllp_ae = H.FakeMllpDestination("AA"), H.FakeMllpDestination("AE")
        cls.dests += [cls.mllp_ok, cls.mllp_ae]
        cls.tmpout = None
        dests = [
            H.http_destination("hdr", d["HDR"]),
            H.http_destination("flaky", d["FLAKY"], max_attempts=1000, concurrency=4),
            H.http_destination("down", d["DOWN"], max_attempts=1000),
            H.http_destination("codes", d["CODES"]),
            H.http_destination("perm", d["PERM"]),
            H.http_destination("limit", d["LIMIT"], max_attempts=3),
            H.http_destination("pause", d["PAUSE"]),
            H.http_destination("json", d["JSON"], format="json"),
            H.http_destination("fanout-a", d["FANOUT_A"], max_attempts=1000),
            H.http_destination("fanout-b", d["FANOUT_B"]),
            H.http_destination("slowpause", d["SLOWPAUSE"], concurrency=1),
            {"id": "mllp-ok", "type": "mllp", "address": cls.mllp_ok.address, "format": "hl7v2",
             "retry": {"max_attempts": 5, "initial_backoff": "100ms", "max_backoff": "400ms"}},
            {"id": "mllp-ae", "type": "mllp", "address": cls.mllp_ae.address, "format": "hl7v2",
             "retry": {"max_attempts": 5, "initial_backoff": "100ms", "max_backoff": "400ms"}},
        ]
        facilities = H.FACILITIES + [{"id": fac(s), "name": f"测试机构{s}", "kind": "township"} for s in SCENARIOS]
        h = H.Hub(destinations=dests, facilities=facilities, routes=[])
        # file destination lives in the hub's temp dir
        cls.outdir = h.tmp / "outbox-files"
        cls.outdir.mkdir()
        h.config["destinations"].append({"id": "files", "type": "file", "path": str(cls.outdir), "format": "hl7v2"})
        to = {"HDR": ["hdr"], "FLAKY": ["flaky"], "DOWN": ["down"], "CODES": ["codes"], "PERM": ["perm"],
              "LIMIT": ["limit"], "PAUSE": ["pause"], "FILES": ["files"], "MLLPOK": ["mllp-ok"],
              "MLLPAE": ["mllp-ae"], "JSON": ["json"], "FANOUT": ["fanout-a", "fanout-b"],
              "SLOWPAUSE": ["slowpause"]}
        h.config["routes"] = [H.route(f"r-{s.lower()}", to[s], facility=fac(s)) for s in SCENARIOS]
        h.config_path.write_text(H.to_yaml(h.config), encoding="utf-8")
        return h

    # ---- helpers
    def send_all(self, msgs):
        """Sends (text, ctl) pairs over one MLLP connection, one at a time; all must be AA."""
        with self.hub.mllp() as c:
            for m, ctl in msgs:
                a = c.request(m)
                self.assertEqual((a.msa_code, a.control_id), ("AA", ctl), a)

    def burst(self, facility, n, patients):
        """n ADT messages for `patients` patients interleaved; returns [(text, ctl, patient_no)]."""
        out = []
        for i in range(n):
            p = H.Patient(patients[i % len(patients)], facility)
            m, ctl = H.adt("A08", facility=facility, patient=p)
            out.append((m, ctl, p.n))
        return out

    def assert_once_in_patient_order(self, dest, sent):
        ok = dest.delivered_ids()
        for _, ctl, _ in sent:
            self.assertEqual(ok.count(ctl), 1, f"{ctl} delivered {ok.count(ctl)} times")
        by_patient = {}
        for _, ctl, p in sent:
            by_patient.setdefault(p, []).append(ctl)
        for p, ctls in by_patient.items():
            got = [c for c in ok if c in set(ctls)]
            self.assertEqual(got, ctls, f"patient {p} out of order")

    # ---- tests
    def test_http_headers_and_body(self):
        p = H.Patient(60, fac("HDR"))
        m1, c1 = H.oru(facility=fac("HDR"), patient=p)
        m2, c2 = H.adt("A04", facility=fac("HDR"), patient=p)
        self.send_all([(m1, c1), (m2, c2)])
        H.wait_until(lambda: {c1, c2} <= set(self.d["HDR"].delivered_ids()), what="both delivered")
        reqs = {r.control_id: r for r in self.d["HDR"].delivered()}
        r1, r2 = reqs[c1], reqs[c2]
        self.assertEqual(r1.method, "POST")
        self.assertEqual(r1.headers.get("x-source-facility"), fac("HDR"))
        self.assertTrue(r1.headers.get("idempotency-key"))
        self.assertTrue(r2.headers.get("idempotency-key"))
        self.assertNotEqual(r1.headers["idempotency-key"], r2.headers["idempotency-key"])
        body = r1.body.decode("utf-8")  # hl7v2 format: ER7 text in UTF-8
        self.assertTrue(body.lstrip("\x0b").startswith("MSH|"), body[:80])
        self.assertIn(c1, body)
        self.assertIn(p.name, body)
        self.assertIn("葡萄糖", body)
        # over HTTP with an Idempotency-Key: the control id header is MSH-10 or that key
        m3, c3 = H.adt("A08", facility=fac("HDR"), patient=p)
        key = H.new_control_id("IK")
        self.assertEqual(self.hub.post_hl7(m3, fac("HDR"), key=key).status, 202)
        r3 = H.wait_until(lambda: [r for r in self.d["HDR"].delivered()
                                   if r.control_id in (c3, key)], what="HTTP-received message delivered")
        self.assertEqual(len(r3), 1)
        self.assertEqual(r3[0].headers.get("x-source-facility"), fac("HDR"))

    def test_retry_codes_then_success_same_key(self):
        dest = self.d["CODES"]
        dest.script(429, 408, 503, 500)
        m, ctl = H.adt("A04", facility=fac("CODES"), patient=H.Patient(61))
        self.send_all([(m, ctl)])
        mid = self.hub.message_id(ctl)
        d = self.hub.wait_status(mid, "SENT")
        reqs = [r for r in dest.all() if r.control_id == ctl]
        self.assertEqual([r.status for r in reqs], [429, 408, 503, 500, 200])
        self.assertEqual(len({r.headers.get("idempotency-key") for r in reqs}), 1, "same key on every retry")
        self.assertEqual(H.attempts_of(H.deliveries_of(d)[0]), 5)

    def test_5xx_for_a_while_then_all_delivered_once_in_patient_order(self):
        dest = self.d["FLAKY"]
        sent = self.burst(fac("FLAKY"), 30, [70, 71, 72])
        self.send_all([(m, c) for m, c, _ in sent])
        H.wait_until(lambda: len(dest.all()) >= 10, what="the hub to try the failing destination")
        self.assertEqual(dest.delivered(), [])
        dest.set_status(200)
        H.wait_until(lambda: {c for _, c, _ in sent} <= set(dest.delivered_ids()), what="all 30 delivered")
        for _, c, _ in sent:
            self.hub.wait_status(self.hub.message_id(c, fac("FLAKY")), "SENT")
        self.assert_once_in_patient_order(dest, sent)

    def test_destination_down_then_back(self):
        dest = self.d["DOWN"]
        sent = self.burst(fac("DOWN"), 12, [80, 81])
        self.send_all([(m, c) for m, c, _ in sent])
        first = self.hub.message_id(sent[0][1], fac("DOWN"))
        H.wait_until(lambda: H.attempts_of(H.deliveries_of(self.hub.message(first))[0]) >= 2,
                     what="retries against the down destination")
        self.assertEqual(self.hub.status(first), "QUEUED")
        dest.come_up()
        H.wait_until(lambda: {c for _, c, _ in sent} <= set(dest.delivered_ids()), what="all delivered")
        self.assert_once_in_patient_order(dest, sent)

    def test_permanent_4xx_error_then_reprocess(self):
        dest = self.d["PERM"]
        m, ctl = H.adt("A04", facility=fac("PERM"), patient=H.Patient(90))
        self.send_all([(m, ctl)])
        mid = self.hub.message_id(ctl)
        d = self.hub.wait_status(mid, "ERROR")
        self.assertEqual([r.status for r in dest.all() if r.control_id == ctl], [400], "a 4xx is not retried")
        self.assertEqual(H.attempts_of(H.deliveries_of(d)[0]), 1)
        dest.set_status(200)
        r = self.hub.api("POST", f"/api/v1/messages/{mid}/reprocess")
        self.assertIn(r.status, (200, 202), r)
        self.hub.wait_status(mid, "SENT")
        self.assertEqual(dest.delivered_ids().count(ctl), 1)

    def test_max_attempts_then_error_then_reprocess(self):
        dest = self.d["LIMIT"]
        m, ctl = H.adt("A04", facility=fac("LIMIT"), patient=H.Patient(91))
        self.send_all([(m, ctl)])
        mid = self.hub.message_id(ctl)
        self.hub.wait_status(mid, "ERROR")
        self.assertEqual(len([r for r in dest.all() if r.control_id == ctl]), 3)
        dest.set_status(200)
        self.assertIn(self.hub.api("POST", f"/api/v1/messages/{mid}/reprocess").status, (200, 202))
        self.hub.wait_status(mid, "SENT")
        self.assertEqual(dest.delivered_ids().count(ctl), 1)

    def test_reprocess_unknown_message_404(self):
        self.assertEqual(self.hub.api("POST", "/api/v1/messages/987654321/reprocess").status, 404)

    def test_pause_and_resume(self):
        dest = self.d["PAUSE"]
        r = self.hub.api("POST", "/api/v1/destinations/pause/pause")
        self.assertIn(r.status, (200, 202, 204), r)
        sent = self.burst(fac("PAUSE"), 6, [92, 93])
        self.send_all([(m, c) for m, c, _ in sent])
        H.wait_until(lambda: H.get(self.hub.destination("pause"), "queue_depth", "depth", "queued") == 6,
                     what="queue depth 6 on the paused destination")
        listed = self.hub.destination("pause")
        self.assertTrue(H.get(listed, "paused") is True or str(H.get(listed, "state", "status")).lower() == "paused",
                        listed)
        time.sleep(1.0)  # a paused destination gets nothing, however long we wait
        self.assertEqual(dest.all(), [])
        self.assertEqual(self.hub.status(self.hub.message_id(sent[0][1], fac("PAUSE"))), "QUEUED")
        r = self.hub.api("POST", "/api/v1/destinations/pause/resume")
        self.assertIn(r.status, (200, 202, 204), r)
        H.wait_until(lambda: {c for _, c, _ in sent} <= set(dest.delivered_ids()), what="delivered after resume")
        self.assert_once_in_patient_order(dest, sent)
        H.wait_until(lambda: H.get(self.hub.destination("pause"), "queue_depth", "depth", "queued") == 0,
                     what="queue drained")

    def test_pause_with_a_backlog_stops_sending_at_once(self):
        # 30 patients, so every delivery is the head of its patient's queue
        # and the dispatcher may fetch many ahead of its one worker: a pause
        # must stop those too, not only further fetches.
        dest = self.d["SLOWPAUSE"]
        sent = self.burst(fac("SLOWPAUSE"), 30, list(range(300, 330)))
        self.send_all([(m, c) for m, c, _ in sent])
        # By the third send the dispatcher has fetched the rest ahead.
        H.wait_until(lambda: len(dest.all()) >= 3, what="three sends to the slow destination")
        r = self.hub.api("POST", "/api/v1/destinations/slowpause/pause")
        self.assertIn(r.status, (200, 202, 204), r)
        at_pause = len(dest.all())
        time.sleep(1.5)  # 7 more sends' worth at 0.2 s each
        self.assertLessEqual(len(dest.all()), at_pause + 1, "sends went on after the pause")
        r = self.hub.api("POST", "/api/v1/destinations/slowpause/resume")
        self.assertIn(r.status, (200, 202, 204), r)
        H.wait_until(lambda: {c for _, c, _ in sent} <= set(dest.delivered_ids()), timeout=30,
                     what="all delivered after resume")
        self.assert_once_in_patient_order(dest, sent)

    def test_pause_unknown_destination_404(self):
        self.assertEqual(self.hub.api("POST", "/api/v1/destinations/nope/pause").status, 404)

    def test_destinations_listed(self):
        ids = {d["id"] for d in self.hub.destinations()}
        self.assertTrue({"hdr", "flaky", "files", "mllp-ok"} <= ids, ids)

    def test_file_destination(self):
        sent = self.burst(fac("FILES"), 5, [94])
        self.send_all([(m, c) for m, c, _ in sent])
        for _, c, _ in sent:
            self.hub.wait_status(self.hub.message_id(c, fac("FILES")), "SENT")
        names = sorted(os.listdir(self.outdir))
        self.assertEqual(len(names), 5, names)
        self.assertFalse([n for n in names if n.startswith(".") or n.endswith((".tmp", ".part"))], names)
        contents = [(self.outdir / n).read_text(encoding="utf-8") for n in names]
        for _, c, _ in sent:
            self.assertEqual(len([x for x in contents if c in x]), 1, c)
        self.assertTrue(all("MSH|" in x for x in contents))

    def test_mllp_destination(self):
        m, ctl = H.oru(facility=fac("MLLPOK"), patient=H.Patient(95))
        self.send_all([(m, ctl)])
        self.hub.wait_status(self.hub.message_id(ctl), "SENT")
        self.assertIn(ctl, self.mllp_ok.control_ids(), "the destination sees the original MSH-10")
        got = [x for x in self.mllp_ok.messages if H.field(x, "MSH", 10) == ctl][0]
        self.assertIn("葡萄糖", got)

    def test_mllp_destination_ae_is_error(self):
        m, ctl = H.oru(facility=fac("MLLPAE"), patient=H.Patient(96))
        self.send_all([(m, ctl)])
        self.hub.wait_status(self.hub.message_id(ctl), "ERROR")
        self.assertIn(ctl, self.mllp_ae.control_ids())

    def test_json_format(self):
        p = H.Patient(97, fac("JSON"))
        m, ctl = H.adt("A04", facility=fac("JSON"), patient=p)
        self.send_all([(m, ctl)])
        r = H.wait_until(lambda: [x for x in self.d["JSON"].delivered() if x.control_id == ctl],
                         what="json delivery")[0]
        doc = json.loads(r.body.decode("utf-8"))
        self.assertIsInstance(doc, dict)

    def test_one_failing_destination_does_not_block_another(self):
        a, b = self.d["FANOUT_A"], self.d["FANOUT_B"]
        sent = self.burst(fac("FANOUT"), 4, [98])
        self.send_all([(m, c) for m, c, _ in sent])
        H.wait_until(lambda: {c for _, c, _ in sent} <= set(b.delivered_ids()), what="b gets all while a fails")
        self.assertEqual(a.delivered(), [])
        mid = self.hub.message_id(sent[0][1], fac("FANOUT"))
        self.assertEqual(self.hub.status(mid), "QUEUED")
        a.set_status(200)
        H.wait_until(lambda: {c for _, c, _ in sent} <= set(a.delivered_ids()), what="a gets all once back")
        self.hub.wait_status(mid, "SENT")
        self.assert_once_in_patient_order(a, sent)
        self.assert_once_in_patient_order(b, sent)


if __name__ == "__main__":
    unittest.main()
