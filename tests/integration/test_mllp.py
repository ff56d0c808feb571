"""HL7 v2 over MLLP (CONTRACT §3): ACKs after commit, back-to-back frames,
many connections, AR with ERR and kept in the error store, size limit,
garbage, resets, slow senders, idle timeout, dedupe."""

import base64
import socket
import threading
import time
import unittest

import hub as H


class MllpTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        cls.dest = H.FakeHttpDestination()
        cls.dests.append(cls.dest)
        return H.Hub(
            destinations=[H.http_destination("sink", cls.dest)],
            routes=[H.route("all-adt", ["sink"], message_type="ADT^*"),
                    H.route("labs", ["sink"], message_type="ORU^R01")],
            mllp={"max_message_bytes": "1MiB", "idle_timeout": "3s"})

    def assertAA(self, ack, control_id):
        self.assertEqual(ack.msa_code, "AA", ack)
        self.assertEqual(ack.control_id, control_id, ack)

    def assertRejected(self, ack):
        self.assertEqual(ack.msa_code, "AR", ack)
        self.assertTrue(ack.err, f"AR without an ERR segment: {ack}")
        text = "|".join(ack.err)
        self.assertGreater(len(text.replace("|", "").replace("^", "")), 10, f"ERR says nothing: {ack}")

    def kept(self, needle):
        return H.wait_until(lambda: self.hub.find_error(needle), what=f"error-store entry containing {needle!r}")

    # ---- basics
    def test_aa_echoes_control_id(self):
        msg, ctl = H.adt("A04")
        with self.hub.mllp() as c:
            ack = c.request(msg)
        self.assertAA(ack, ctl)
        self.assertTrue(ack.segs[0].startswith("MSH|"), ack)
        self.assertTrue(ack.msh9.startswith("ACK"), ack)

    def test_connection_stays_open_for_several_messages(self):
        with self.hub.mllp() as c:
            for _ in range(5):
                msg, ctl = H.oru()
                self.assertAA(c.request(msg), ctl)

    def test_back_to_back_frames_in_one_write_answered_in_order(self):
        msgs = [H.adt("A08", patient=H.Patient(100 + i)) for i in range(8)]
        with self.hub.mllp() as c:
            c.send_raw(b"".join(H.frame(m) for m, _ in msgs))
            acks = [c.read_ack() for _ in msgs]
        self.assertEqual([a.control_id for a in acks], [ctl for _, ctl in msgs])
        self.assertEqual({a.msa_code for a in acks}, {"AA"})

    def test_many_connections(self):
        results, errors = [], []

        def worker(k):
            try:
                with self.hub.mllp() as c:
                    for i in range(10):
                        msg, ctl = H.adt("A04", patient=H.Patient(200 + k))
                        a = c.request(msg)
                        results.append((a.msa_code, a.control_id == ctl))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 80)
        self.assertEqual(set(results), {("AA", True)})

    def test_utf8_chinese_round_trip(self):
        p = H.Patient(300)
        msg, ctl = H.oru(patient=p)
        self.assertAA(self.hub.send(msg), ctl)
        mid = self.hub.message_id(ctl)
        self.hub.wait_status(mid, "SENT")
        got = [r for r in self.dest.delivered() if r.control_id == ctl]
        self.assertEqual(len(got), 1)
        body = got[0].body.decode("utf-8")
        self.assertIn(p.name, body)
        self.assertIn("葡萄糖", body)

    def test_gb18030_stored_and_emitted_as_utf8(self):
        for label in ("GB 18030-2000", "GBK"):
            p = H.Patient(310 + len(label))
            msg, ctl = H.adt("A04", patient=p)
            msg = msg.replace("|UNICODE UTF-8", "|" + label)
            with self.hub.mllp() as c:
                c.send_raw(H.frame(msg.encode("gb18030")))
                self.assertAA(c.read_ack(), ctl)
            self.hub.wait_status(self.hub.message_id(ctl), "SENT")
            body = [r for r in self.dest.delivered() if r.control_id == ctl][0].body.decode("utf-8")
            self.assertIn(p.name, body, label)
            self.assertIn("城关镇东湖村", body, label)

    # ---- rejected input: AR with ERR, kept raw
    def test_unknown_facility_rejected_and_kept(self):
        msg, ctl = H.adt("A04", facility="NOSUCHFAC")
        ack = self.hub.send(msg)
        self.assertRejected(ack)
        self.assertEqual(ack.control_id, ctl)
        self.assertIn("MSH", "|".join(ack.err), "ERR says where (MSH-4)")
        e = self.kept(ctl)
        self.assertEqual(base64.b64decode(e["raw_base64"]), msg.encode("utf-8"))
        # and it is not a message that gets routed
        self.assertIsNone(self.hub.find_message(ctl))

    def test_content_error_answered_ae_and_kept_as_error(self):
        # A lab result without PID: kept (nothing lost), answered AE with ERR naming PID,
        # not routed, and reprocessing it cannot help (409 with the reason).
        ctl = H.new_control_id("AE")
        msg = (H.msh("ORU^R01", "XQRMYY", ctl) + "\r"
               "OBR|1|L1|L1|GLU^葡萄糖^L\rOBX|1|NM|GLU^葡萄糖^L||5.6|mmol/L|||||F\r")
        ack = self.hub.send(msg)
        self.assertEqual(ack.msa_code, "AE", ack)
        self.assertEqual(ack.control_id, ctl)
        self.assertIn("PID", "|".join(ack.err))
        m = self.hub.find_message(ctl)
        self.assertIsNotNone(m, "an AE'd message is kept")
        self.assertEqual(m["status"], "ERROR")
        self.assertEqual(m["error"]["where"], "PID")
        r = self.hub.api("POST", f"/api/v1/messages/{m['id']}/reprocess")
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()["error"]["where"], "PID")
        # a repeat gets the same AE, not a second message
        again = self.hub.send(msg)
        self.assertEqual(again.msa_code, "AE")
        self.assertEqual(len([x for x in self.hub.messages(limit=1000) if x["control_id"] == ctl]), 1)

    def test_unparseable_rejected_and_kept(self):
        junk = "THIS IS NOT HL7 " + H.new_control_id("J")
        ack = self.hub.send(junk)
        self.assertRejected(ack)
        e = self.kept(junk)
        self.assertEqual(base64.b64decode(e["raw_base64"]), junk.encode("utf-8"))

    def test_oversize_rejected_and_kept(self):
        msg, ctl = H.adt("A04")
        big = msg + "NTE|1||" + "x" * (1024 * 1024 + 1000) + "\r"
        with self.hub.mllp() as c:
            c.send(big)
            ack = c.read_ack()
        self.assertRejected(ack)
        e = self.kept(ctl)
        raw, whole = base64.b64decode(e["raw_base64"]), big.encode("utf-8")
        if raw != whole:
            # Kept truncated to the limit: acceptable only as a prefix of at least the limit, with the
            # entry saying how big the input really was (nothing silently lost).
            self.assertTrue(whole.startswith(raw) and len(raw) >= 1024 * 1024, "kept raw is a prefix")
            self.assertIn(len(whole), [v for v in e.values() if isinstance(v, int)],
                          f"a truncated entry states the original size: { {k: v for k, v in e.items() if k != 'raw_base64'} }")
        # the hub still works
        m2, c2 = H.adt("A04")
        self.assertAA(self.hub.send(m2), c2)

    def test_just_under_limit_accepted(self):
        msg, ctl = H.adt("A04")
        msg = msg + "NTE|1||" + "y" * (1024 * 1024 - len(msg) - 100) + "\r"
        self.assertLess(len(msg.encode()), 1024 * 1024)
        self.assertAA(self.hub.send(msg), ctl)

    # ---- robustness
    def test_garbage_between_frames_survived(self):
        m1, c1 = H.adt("A04")
        m2, c2 = H.adt("A04")
        with self.hub.mllp() as c:
            c.send_raw(b"garbage\r\n" + H.frame(m1) + b"\x00\xffnoise" + H.frame(m2))
            seen = {}
            for _ in range(6):  # a hub may also answer the noise; we only need our two AAs
                a = c.read_ack()
                seen[a.control_id] = a.msa_code
                if c1 in seen and c2 in seen:
                    break
        self.assertEqual(seen.get(c1), "AA", seen)
        self.assertEqual(seen.get(c2), "AA", seen)

    def test_reset_mid_frame_then_healthy(self):
        msg, ctl = H.adt("A04")
        data = H.frame(msg)
        c = self.hub.mllp()
        c.send_raw(data[: len(data) // 2])
        time.sleep(0.2)
        c.reset()
        # Another connection that closes politely mid-frame.
        c = self.hub.mllp()
        c.send_raw(data[:10])
        c.close()
        self.assertEqual(self.hub.api("GET", "/api/v1/health").status, 200)
        m2, c2 = H.adt("A04")
        self.assertAA(self.hub.send(m2), c2)
        self.assertIsNone(self.hub.find_message(ctl), "half a frame is not a message")

    def test_slow_sender_byte_by_byte(self):
        msg, ctl = H.adt("A04")
        data = H.frame(msg)
        with self.hub.mllp() as c:
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(data)):
                c.send_raw(data[i:i + 1])
                time.sleep(0.003)
            self.assertAA(c.read_ack(), ctl)

    def test_idle_connection_closed(self):
        with self.hub.mllp(timeout=60) as c:
            msg, ctl = H.adt("A04")
            self.assertAA(c.request(msg), ctl)
            # configured idle_timeout is 3s: the hub closes the connection (EOF or reset)
            try:
                data = c.sock.recv(10)
            except ConnectionResetError:
                data = b""
            self.assertEqual(data, b"")

    # ---- dedupe
    def test_repeat_answered_the_same_and_processed_once(self):
        msg, ctl = H.adt("A04", patient=H.Patient(400))
        first = self.hub.send(msg)
        self.assertAA(first, ctl)
        mid = self.hub.message_id(ctl)
        self.hub.wait_status(mid, "SENT")
        second = self.hub.send(msg)
        with self.hub.mllp() as c:  # and a third time, back to back with a new one
            m2, c2 = H.adt("A04", patient=H.Patient(401))
            c.send_raw(H.frame(msg) + H.frame(m2))
            third, other = c.read_ack(), c.read_ack()
        self.assertEqual(second.raw, first.raw, "a repeat gets the first answer")
        self.assertEqual(third.raw, first.raw)
        self.assertAA(other, c2)
        self.hub.wait_status(self.hub.message_id(c2), "SENT")
        listed = [m for m in self.hub.messages(facility="XQRMYY", limit=1000) if H.get(m, "control_id") == ctl]
        self.assertEqual(len(listed), 1, listed)
        self.assertEqual(self.dest.delivered_ids().count(ctl), 1)

    def test_same_control_id_other_facility_is_not_a_repeat(self):
        ctl = H.new_control_id("X")
        m1, _ = H.adt("A04", facility="XQRMYY", control_id=ctl, patient=H.Patient(410))
        m2, _ = H.adt("A04", facility="WSY01", control_id=ctl, patient=H.Patient(411))
        self.assertAA(self.hub.send(m1), ctl)
        self.assertAA(self.hub.send(m2), ctl)
        H.wait_until(lambda: self.hub.find_message(ctl, "XQRMYY") and self.hub.find_message(ctl, "WSY01"),
                     what="both messages listed")
        H.wait_until(lambda: self.dest.delivered_ids().count(ctl) == 2, what="both delivered")

    def test_rejected_repeat_answered_the_same(self):
        msg, ctl = H.adt("A04", facility="NOSUCHFAC2")
        a1 = self.hub.send(msg)
        a2 = self.hub.send(msg)
        self.assertEqual(a1.msa_code, "AR")
        self.assertEqual(a2.msa_code, "AR")
        self.assertEqual(a2.control_id, a1.control_id)


if __name__ == "__main__":
    unittest.main()
