"""Recovery: kill -9 in the middle of a burst, restart on the same data dir:
every AA'd message is delivered, per-patient order holds. SIGTERM drains and
exits 0; queued work and dedupe survive a restart."""

import socket
import sys
import threading
import time
import unittest

import hub as H


def first_occurrences(ids):
    seen, out = set(), []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


class RecoveryTest(unittest.TestCase):
    def setUp(self):
        H.require_hie()

    def make(self, dest, **kw):
        h = H.Hub(destinations=[H.http_destination("sink", dest, max_attempts=1000, concurrency=4)],
                  routes=[H.route("all", ["sink"], message_type="ADT^*")], **kw)
        self.addCleanup(h.close)
        return h

    def test_kill_9_mid_burst_loses_no_acked_message(self):
        self.kill_9_mid_burst("full")

    def test_kill_9_mid_burst_durability_os(self):
        # `os` answers once the batch's redo record is written (page cache,
        # not synced): a killed process loses nothing either.
        self.kill_9_mid_burst("os")

    def kill_9_mid_burst(self, durability):
        # A slow destination: deliveries are in flight and a backlog exists when the hub dies.
        dest = H.FakeHttpDestination(delay=0.05)
        self.addCleanup(dest.close)
        hub = self.make(dest, hub={"durability": durability}).start()
        n_conn, per_conn = 5, 100
        acked = [[] for _ in range(n_conn)]  # per connection, in ACK order: (ctl, patient)
        killed = threading.Event()
        errors = []

        def sender(k):
            # Patients 500+2k, 501+2k only ever go over connection k, so their ACK order is their order.
            try:
                c = hub.mllp(timeout=30)
            except OSError as e:
                errors.append(e)
                return
            try:
                for i in range(per_conn):
                    p = H.Patient(500 + 2 * k + i % 2)
                    m, ctl = H.adt("A08", patient=p)
                    try:
                        a = c.request(m)
                    except (OSError, ConnectionError):
                        return  # the hub died under us: stop this connection
                    if a.msa_code == "AA" and a.control_id == ctl:
                        acked[k].append((ctl, p.n))
                    elif not killed.is_set():
                        errors.append(a)
            finally:
                c.close()

        ts = [threading.Thread(target=sender, args=(k,)) for k in range(n_conn)]
        for t in ts:
            t.start()
        H.wait_until(lambda: sum(map(len, acked)) >= 250, interval=0.005, what="250 ACKs")
        killed.set()
        hub.kill()
        for t in ts:
            t.join(60)
        self.assertEqual(errors, [])
        total = sum(map(len, acked))
        self.assertGreaterEqual(total, 250)
        all_acked = [ctl for lst in acked for ctl, _ in lst]
        pending = set(all_acked) - set(dest.delivered_ids())
        print(f"\n  kill -9 after {total} AAs; {len(pending)} not yet delivered", file=sys.stderr)
        dest.delay = 0.0

        hub.restart()
        H.wait_until(lambda: set(all_acked) <= set(dest.delivered_ids()), timeout=150,
                     what=f"all {total} AA'd messages delivered after restart")
        delivered = first_occurrences(dest.delivered_ids())
        by_patient = {}
        for lst in acked:
            for ctl, p in lst:
                by_patient.setdefault(p, []).append(ctl)
        pos = {c: i for i, c in enumerate(delivered)}
        for p, ctls in by_patient.items():
            order = sorted(ctls, key=pos.__getitem__)
            self.assertEqual(order, ctls, f"patient {p}: first deliveries out of order")
        # After the restart, every AA'd message ends SENT.
        for ctl in all_acked[:: max(1, total // 20)]:
            hub.wait_status(hub.message_id(ctl), "SENT")
        self.assertEqual(hub.stop(), 0)

    def test_sigterm_drains_exit_0_and_work_resumes(self):
        dest = H.FakeHttpDestination(default_status=503)
        self.addCleanup(dest.close)
        hub = self.make(dest).start()
        msgs = [H.adt("A04", patient=H.Patient(600 + i % 3)) for i in range(12)]
        with hub.mllp() as c:
            first_acks = []
            for m, ctl in msgs:
                a = c.request(m)
                self.assertEqual((a.msa_code, a.control_id), ("AA", ctl))
                first_acks.append(a)
            # An open, idle client connection must not keep the hub from exiting.
            rc = hub.stop()
        self.assertEqual(rc, 0, hub.log_tail())
        self.assertEqual(dest.delivered(), [])
        dest.set_status(200)
        hub.restart()
        H.wait_until(lambda: {c for _, c in msgs} <= set(dest.delivered_ids()), what="queued work resumed")
        ids = dest.delivered_ids()
        for p in range(3):
            ctls = [c for i, (_, c) in enumerate(msgs) if i % 3 == p]
            self.assertEqual([c for c in ids if c in ctls], ctls, f"patient {600 + p} order")
        for _, c in msgs:
            self.assertEqual(ids.count(c), 1, "never re-sent after seen success")
        # dedupe survives the restart: a repeat is answered the same and not delivered again
        again = hub.send(msgs[0][0])
        self.assertEqual(again.raw, first_acks[0].raw)
        hub.wait_status(hub.message_id(msgs[-1][1]), "SENT")
        self.assertEqual(dest.delivered_ids().count(msgs[0][1]), 1)
        self.assertEqual(hub.stop(), 0)

    def test_sigterm_while_busy_exit_0(self):
        dest = H.FakeHttpDestination(delay=0.2)
        self.addCleanup(dest.close)
        hub = self.make(dest).start()
        msgs = [H.adt("A04", patient=H.Patient(700 + i)) for i in range(20)]
        with hub.mllp() as c:
            for m, ctl in msgs:
                self.assertEqual(c.request(m).msa_code, "AA")
        H.wait_until(lambda: dest.all(), what="deliveries in flight")
        self.assertEqual(hub.stop(), 0, hub.log_tail())
        dest.delay = 0
        hub.restart()
        H.wait_until(lambda: {c for _, c in msgs} <= set(dest.delivered_ids()), what="rest delivered after restart")
        self.assertEqual(hub.stop(), 0)


if __name__ == "__main__":
    unittest.main()
