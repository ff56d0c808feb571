"""The `hie` CLI: `hie send --to HOST:PORT FILE...` (one or many messages a
file, CR/LF/CRLF) prints each ACK; `hie messages`, `hie message ID`,
`hie reprocess ID` talk to a running hub with --api."""

import re
import unittest

import hub as H


class CliTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        cls.dest = H.FakeHttpDestination()
        cls.bad = H.FakeHttpDestination(default_status=400)
        cls.dests += [cls.dest, cls.bad]
        facilities = H.FACILITIES + [{"id": "TBAD", "name": "拒收测试", "kind": "village"}]
        return H.Hub(facilities=facilities,
                     destinations=[H.http_destination("sink", cls.dest), H.http_destination("bad", cls.bad)],
                     routes=[H.route("bad", ["bad"], facility="TBAD"),
                             H.route("adt", ["sink"], message_type="ADT^*", facility="XQRMYY")])

    def cli(self, *args):
        p = self.hub.run_cli(*args)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        return p.returncode, out, err

    @staticmethod
    def acks_printed(out):
        """(code, control id) of each printed ACK: a whole MSA segment or a line naming code and id."""
        found = []
        for line in out.replace("\r", "\n").splitlines():
            tokens = re.split(r"[|\t ,;]+", line.strip())
            codes = [t for t in tokens if t in ("AA", "AE", "AR")]
            if codes:
                found.append((codes[0], tokens))
        return found

    def assertAckPrinted(self, out, ctl, code="AA"):
        self.assertTrue(any(c == code and ctl in toks for c, toks in self.acks_printed(out)),
                        f"no {code} ACK for {ctl} printed:\n{out}")

    def api(self):
        return ("--api", self.hub.api_url())

    def write(self, name, msgs, eol):
        path = self.hub.tmp / name
        path.write_bytes("".join(m.replace("\r", eol) for m in msgs).encode("utf-8"))
        return path

    def test_send_files_with_cr_lf_crlf(self):
        groups = {eol: [H.adt("A04", patient=H.Patient(800 + i)) for i in range(3)]
                  for eol in ("\r", "\n", "\r\n")}
        files = [self.write(f"m{i}.hl7", [m for m, _ in g], eol) for i, (eol, g) in enumerate(groups.items())]
        rc, out, err = self.cli("send", "--to", f"127.0.0.1:{self.hub.mllp_port}", *map(str, files))
        self.assertEqual(rc, 0, out + err)
        for g in groups.values():
            for _, ctl in g:
                self.assertAckPrinted(out, ctl)
                self.hub.message_id(ctl)
        self.assertEqual(len(self.acks_printed(out)), 9, out)

    def test_send_single_file_single_message_and_bad_target(self):
        m, ctl = H.oru(patient=H.Patient(810))
        path = self.write("one.hl7", [m], "\n")
        rc, out, err = self.cli("send", "--to", f"127.0.0.1:{self.hub.mllp_port}", str(path))
        self.assertEqual(rc, 0, out + err)
        self.assertAckPrinted(out, ctl)
        # nothing listens on port 1: a clear failure, not a hang or a 0
        rc, out, err = self.cli("send", "--to", "127.0.0.1:1", str(path))
        self.assertNotEqual(rc, 0)

    def test_send_rejected_message_prints_ar(self):
        m, ctl = H.adt("A04", facility="NOSUCH", patient=H.Patient(811))
        path = self.write("rej.hl7", [m], "\r\n")
        rc, out, err = self.cli("send", "--to", f"127.0.0.1:{self.hub.mllp_port}", str(path))
        self.assertAckPrinted(out + err, ctl, "AR")

    def test_messages_and_message(self):
        m, ctl = H.adt("A04", patient=H.Patient(820))
        self.assertEqual(self.hub.send(m).msa_code, "AA")
        mid = self.hub.message_id(ctl)
        self.hub.wait_status(mid, "SENT")
        rc, out, err = self.cli("messages", *self.api())
        self.assertEqual(rc, 0, out + err)
        self.assertIn(str(mid), out)
        self.assertIn("XQRMYY", out)
        rc, out, err = self.cli("message", str(mid), *self.api())
        self.assertEqual(rc, 0, out + err)
        self.assertIn(ctl, out)
        self.assertIn("SENT", out)
        rc, out, err = self.cli("message", "987654321", *self.api())
        self.assertNotEqual(rc, 0, "an unknown id is a failure")

    def test_reprocess(self):
        m, ctl = H.adt("A04", facility="TBAD", patient=H.Patient(830))
        self.assertEqual(self.hub.send(m).msa_code, "AA")
        mid = self.hub.message_id(ctl)
        self.hub.wait_status(mid, "ERROR")
        self.bad.set_status(200)
        rc, out, err = self.cli("reprocess", str(mid), *self.api())
        self.assertEqual(rc, 0, out + err)
        self.hub.wait_status(mid, "SENT")
        self.assertEqual(self.bad.delivered_ids(), [ctl])

    def test_api_down_is_a_clear_failure(self):
        rc, out, err = self.cli("messages", "--api", "http://127.0.0.1:1")
        self.assertNotEqual(rc, 0)
        self.assertTrue((out + err).strip())


if __name__ == "__main__":
    unittest.main()
