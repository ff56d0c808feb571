"""Self-test of the harness: runs without the hub (framing, ACK parsing, the
fake destinations, the YAML writer, the sample messages)."""

import socket
import threading
import unittest

import hub as H


class FramingTest(unittest.TestCase):
    def test_frame_and_deframe_back_to_back_with_garbage(self):
        r = H.FrameReader()
        data = b"junk" + H.frame("A|1") + b"\r\n" + H.frame("B|2") + H.frame("C|3")[:3]
        for i in range(len(data)):  # byte by byte
            r.feed(data[i:i + 1])
        got = []
        while (f := r.next()) is not None:
            got.append(f)
        self.assertEqual(got, [b"A|1", b"B|2"])
        r.feed(H.frame("C|3")[3:])
        self.assertEqual(r.next(), b"C|3")
        self.assertEqual(r.dropped, 6)

    def test_frame_encodes_utf8(self):
        self.assertEqual(H.frame("王"), b"\x0b" + "王".encode() + b"\x1c\r")


class Hl7Test(unittest.TestCase):
    def test_adt_fields(self):
        p = H.Patient(5)
        text, ctl = H.adt("A04", "WSY01", patient=p)
        self.assertEqual(H.field(text, "MSH", 4), "WSY01")
        self.assertEqual(H.field(text, "MSH", 9), "ADT^A04^ADT_A01")
        self.assertEqual(H.field(text, "MSH", 10), ctl)
        self.assertEqual(H.field(text, "MSH", 18), "UNICODE UTF-8")
        pid3 = H.field(text, "PID", 3).split("~")
        self.assertTrue(pid3[0].endswith("^^^WSY01^MR"))
        self.assertTrue(pid3[1].endswith("^^^NI^NI"))
        self.assertEqual(H.field(text, "PID", 5), p.name)
        self.assertNotIn("\n", text)

    def test_oru_has_chinese(self):
        text, ctl = H.oru()
        self.assertIn("葡萄糖", text)
        self.assertEqual(H.field(text, "MSH", 9), "ORU^R01^ORU_R01")

    def test_id_card_checksum(self):
        # Known valid example from GB 11643 documentation.
        n = H.id_card("110105", "19491231", 2, "F")
        self.assertEqual(n, "11010519491231002X")
        self.assertEqual(len(H.Patient(7).ni), 18)

    def test_control_ids_unique(self):
        self.assertEqual(len({H.new_control_id() for _ in range(1000)}), 1000)

    def test_ack_parse(self):
        a = H.Ack(b"MSH|^~\\&|HIE|X|||20240101||ACK^A04|1|P|2.5\rMSA|AR|C1\rERR||MSH^1^4|204|E|||unknown facility\r")
        self.assertEqual(a.msa_code, "AR")
        self.assertEqual(a.control_id, "C1")
        self.assertEqual(len(a.err), 1)
        self.assertEqual(a.msh9, "ACK^A04")


class YamlTest(unittest.TestCase):
    def test_yaml_shape(self):
        y = H.to_yaml({"hub": {"name": "平台", "n": 3, "on": True},
                       "routes": [{"id": "r", "when": {"message_type": "ADT^*"}, "to": ["a", "b"]}],
                       "empty": []})
        self.assertIn('hub:\n  name: "平台"\n  n: 3\n  on: true\n', y)
        self.assertIn('routes:\n  - id: "r"\n    when:\n      message_type: "ADT^*"\n    to:\n      - "a"\n      - "b"\n', y)
        self.assertIn("empty: []\n", y)


class FakeHttpDestinationTest(unittest.TestCase):
    def setUp(self):
        self.d = H.FakeHttpDestination()
        self.addCleanup(self.d.close)

    def post(self, ctl):
        return H.http_request("POST", self.d.url("/x"), "MSH|", {"X-Source-Control-Id": ctl}, timeout=10)

    def test_records_and_scripts(self):
        self.d.script(503, 400)
        self.assertEqual(self.post("1").status, 503)
        self.assertEqual(self.post("2").status, 400)
        self.assertEqual(self.post("3").status, 200)
        self.assertEqual(self.d.delivered_ids(), ["3"])
        self.assertEqual([r.status for r in self.d.all()], [503, 400, 200])
        self.assertEqual(self.d.all()[0].body, b"MSH|")
        self.d.set_status(429)
        self.assertEqual(self.post("4").status, 429)

    def test_down_and_up_on_same_port(self):
        port = self.d.port
        self.d.go_down()
        with self.assertRaises(OSError):
            self.post("1")
        self.d.come_up()
        self.assertEqual(self.d.port, port)
        self.assertEqual(self.post("2").status, 200)
        self.assertEqual(self.d.delivered_ids(), ["2"])


class FakeMllpDestinationTest(unittest.TestCase):
    def test_acks_each_frame(self):
        d = H.FakeMllpDestination()
        self.addCleanup(d.close)
        m1, c1 = H.adt()
        m2, c2 = H.oru()
        with H.MllpClient("127.0.0.1", d.port, 10) as c:
            c.send_raw(H.frame(m1) + H.frame(m2))
            a1, a2 = c.read_ack(), c.read_ack()
        self.assertEqual((a1.msa_code, a1.control_id), ("AA", c1))
        self.assertEqual((a2.msa_code, a2.control_id), ("AA", c2))
        self.assertEqual(d.control_ids(), [c1, c2])
        d.code = "AE"
        with H.MllpClient("127.0.0.1", d.port, 10) as c:
            a = c.request(m1)
        self.assertEqual(a.msa_code, "AE")
        self.assertEqual(len(a.err), 1)


class PollTest(unittest.TestCase):
    def test_wait_until(self):
        n = []
        self.assertEqual(H.wait_until(lambda: n.append(1) or len(n) >= 3 and "yes", timeout=5, interval=0.01), "yes")
        with self.assertRaises(AssertionError):
            H.wait_until(lambda: False, timeout=0.1, interval=0.01)


if __name__ == "__main__":
    unittest.main()
