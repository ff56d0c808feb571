"""Several hub nodes on one PostgreSQL store (issue 7): a burst through both
nodes' MLLP ports is delivered once per message in per-patient order; kill -9
of one node mid-burst loses nothing, the other node finishes its work once
the dead node's claims expire; dedupe holds across nodes. The EMPI on two
nodes: one resolver resolves every node's messages to one EMPI id, PIX answers
on either node, kill -9 of the resolver hands the role to the other node.

Runs when HIE_TEST_PG_URI names a PostgreSQL server (tools/test starts one);
each test gets its own database, created and dropped with psql."""

import os
import shutil
import sys
import threading
import urllib.parse
import unittest

import hub as H
import test_empi as E

PG_URI = os.environ.get("HIE_TEST_PG_URI", "")


def first_occurrences(ids):
    seen, out = set(), []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


@unittest.skipUnless(PG_URI and shutil.which("psql"), "需要 PostgreSQL (HIE_TEST_PG_URI 未设置)")
class TwoNodesTest(unittest.TestCase):
    def setUp(self):
        H.require_hie()
        self.db, self.uri = H.create_pg_database()
        self.addCleanup(H.drop_pg_database, self.db)

    def node(self, dest, lease="5s"):
        h = H.Hub(destinations=[H.http_destination("sink", dest, max_attempts=1000, concurrency=4,
                                                   timeout="2s")],
                  routes=[H.route("all", ["sink"], message_type="ADT^*")],
                  hub={"store": self.uri, "claim_lease": lease})
        self.addCleanup(h.close)
        return h

    def burst(self, nodes, n_conn, per_conn, first_patient, stop_after=None, killed=None):
        """n_conn connections spread over `nodes`; connection k alone sends the
        patients first_patient+2k and +2k+1, so its ACK order is their order.
        Returns per connection the (control id, patient) of every AA."""
        acked = [[] for _ in range(n_conn)]
        errors = []

        def sender(k):
            node = nodes[k % len(nodes)]
            try:
                c = node.mllp(timeout=30)
            except OSError as e:
                errors.append(e)
                return
            try:
                for i in range(per_conn):
                    p = H.Patient(first_patient + 2 * k + i % 2)
                    m, ctl = H.adt("A08", patient=p)
                    try:
                        a = c.request(m)
                    except (OSError, ConnectionError):
                        return
                    if a.msa_code == "AA" and a.control_id == ctl:
                        acked[k].append((ctl, p.n))
                    elif not (killed and killed.is_set()):
                        errors.append(a)
            finally:
                c.close()

        ts = [threading.Thread(target=sender, args=(k,)) for k in range(n_conn)]
        for t in ts:
            t.start()
        if stop_after:
            H.wait_until(lambda: sum(map(len, acked)) >= stop_after[0], interval=0.005,
                         what=f"{stop_after[0]} ACKs")
            stop_after[1]()
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        return acked

    def assert_order(self, acked, delivered_ids):
        delivered = first_occurrences(delivered_ids)
        pos = {c: i for i, c in enumerate(delivered)}
        by_patient = {}
        for lst in acked:
            for ctl, p in lst:
                by_patient.setdefault(p, []).append(ctl)
        for p, ctls in by_patient.items():
            self.assertEqual(sorted(ctls, key=pos.__getitem__), ctls,
                             f"patient {p}: deliveries out of order")

    def test_two_nodes_deliver_each_message_once_in_patient_order(self):
        dest = H.FakeHttpDestination()
        self.addCleanup(dest.close)
        a = self.node(dest).start()
        b = self.node(dest).start()
        acked = self.burst([a, b], n_conn=6, per_conn=60, first_patient=800)
        all_acked = [c for lst in acked for c, _ in lst]
        self.assertEqual(len(all_acked), 360)
        H.wait_until(lambda: set(all_acked) <= set(dest.delivered_ids()), timeout=120,
                     what="every message delivered")
        ids = dest.delivered_ids()
        twice = [c for c in set(ids) if ids.count(c) > 1]
        self.assertEqual(twice, [], "a message was delivered twice")
        self.assert_order(acked, ids)
        # Either node answers for any message, and both saw work.
        some = all_acked[0]
        self.assertEqual(a.message_id(some), b.message_id(some))
        b.wait_status(b.message_id(all_acked[-1]), "SENT")

    def test_a_repeat_sent_to_the_other_node_is_answered_the_same(self):
        dest = H.FakeHttpDestination()
        self.addCleanup(dest.close)
        a = self.node(dest).start()
        b = self.node(dest).start()
        m, ctl = H.adt("A04", patient=H.Patient(900))
        first = a.send(m)
        self.assertEqual(first.msa_code, "AA")
        again = b.send(m)
        self.assertEqual(again.raw, first.raw)
        H.wait_until(lambda: ctl in dest.delivered_ids(), what="delivered")
        a.wait_status(a.message_id(ctl), "SENT")
        self.assertEqual(dest.delivered_ids().count(ctl), 1)

    def test_kill_9_of_one_node_the_other_finishes(self):
        dest = H.FakeHttpDestination(delay=0.05)
        self.addCleanup(dest.close)
        a = self.node(dest).start()
        b = self.node(dest).start()
        killed = threading.Event()

        def kill_a():
            killed.set()
            a.kill()

        # Everything goes to node A, which dies mid-burst; B must finish it.
        acked = self.burst([a], n_conn=4, per_conn=80, first_patient=1000,
                           stop_after=(150, kill_a), killed=killed)
        all_acked = [c for lst in acked for c, _ in lst]
        self.assertGreaterEqual(len(all_acked), 150)
        pending = set(all_acked) - set(dest.delivered_ids())
        print(f"\n  kill -9 of node A after {len(all_acked)} AAs; {len(pending)} left for node B",
              file=sys.stderr)
        dest.delay = 0.0
        H.wait_until(lambda: set(all_acked) <= set(dest.delivered_ids()), timeout=150,
                     what="node B delivers everything node A acknowledged")
        self.assert_order(acked, dest.delivered_ids())
        for ctl in all_acked[:: max(1, len(all_acked) // 15)]:
            b.wait_status(b.message_id(ctl), "SENT")


@unittest.skipUnless(PG_URI and shutil.which("psql"), "需要 PostgreSQL (HIE_TEST_PG_URI 未设置)")
class EmpiTwoNodesTest(unittest.TestCase):
    def setUp(self):
        H.require_hie()
        self.db, self.uri = H.create_pg_database()
        self.addCleanup(H.drop_pg_database, self.db)

    def node(self):
        h = H.Hub(facilities=E.FACILITIES, hub={"store": self.uri})
        self.addCleanup(h.close)
        return h.start()

    def send(self, node, text):
        ack = node.send(text)
        self.assertEqual(ack.msa_code, "AA", ack)
        return ack

    def pix(self, node, authority, value):
        q = urllib.parse.quote(f"{authority}|{value}")
        return node.api("GET", f"/api/v1/patients?identifier={q}")

    def empi_of(self, node, authority, value):
        def found():
            r = self.pix(node, authority, value)
            return r.json()["patients"] if r.status == 200 else None
        pats = H.wait_until(found, timeout=15, what=f"PIX {authority}|... resolved")
        self.assertEqual(len(pats), 1, pats)
        return pats[0]["empi_id"]

    def errors(self, node):
        r = node.api("GET", "/metrics")
        for line in r.body.decode().splitlines():
            if line.startswith("hie_empi_errors_total"):
                return float(line.split()[-1])
        return 0.0

    def empi_trace(self, node, ctl):
        mid = node.message_id(ctl)
        return [e for e in node.message(mid)["trace"] if e.get("step") == "empi"]

    def test_one_resolver_one_empi_id_and_takeover_after_kill_9(self):
        a = self.node()  # started first: the resolver
        b = self.node()
        addr = "桃洪镇东湖村3组"
        m1, c1 = E.adt("A04", "CWS001", E.pid("V001", "CWS001", "曾秀瑛", "19560308", "F", "",
                                                addr, "13907391234"))
        m2, c2 = E.adt("A04", "WSY01", E.pid("T001", "WSY01", "曾秀英", "19560308", "2",
                                               E.typo(E.CARD), "桃洪镇东湖村", "139-0739-1234"))
        m3, c3 = E.adt("A01", "XQRMYY", E.pid("C001", "XQRMYY", "曾^秀英", "19560308", "F", E.CARD,
                                                "湖南省邵阳市隆回县桃洪镇东湖村3组", "13907391234"))
        self.send(b, m1)
        v = self.empi_of(a, "CWS001", "V001")
        self.send(a, m2)
        self.send(b, m3)
        # PIX on either node, by MR number or ID card: one EMPI id.
        for node in (a, b):
            self.assertEqual(self.empi_of(node, "WSY01", "T001"), v)
            self.assertEqual(self.empi_of(node, "XQRMYY", "C001"), v)
            self.assertEqual(self.empi_of(node, "NI", E.CARD), v)
        p = b.api("GET", f"/api/v1/patients/{v}")
        self.assertEqual(p.status, 200, p)
        self.assertEqual(len(p.json()["sources"]), 3)
        self.assertEqual((self.errors(a), self.errors(b)), (0.0, 0.0))
        # Node B left its messages to the resolver, and says so.
        outcomes = [e["outcome"] for e in self.empi_trace(b, c3)]
        self.assertEqual(outcomes[0], "deferred", outcomes)
        self.assertTrue(any("auto-link" in o for o in outcomes[1:]), outcomes)
        # PDQ needs the index: the resolver answers, the other node points to it.
        pdq = "/api/v1/patients?" + urllib.parse.urlencode({"name": "曾秀英",
                                                              "birth_date": "1956-03-08"})
        self.assertEqual(a.api("GET", pdq).status, 200)
        self.assertEqual(b.api("GET", pdq).status, 503)

        # kill -9 of the resolver: node B takes the role over, reloads the
        # index and resolves what is left (a new source links to the person).
        a.kill()
        m4, c4 = E.adt("A04", "WSY01", E.pid("T002", "WSY01", "曾秀英", "19560308", "F", E.CARD,
                                               addr, "13907391234"))
        self.send(b, m4)
        self.assertEqual(self.empi_of(b, "WSY01", "T002"), v)
        H.wait_until(lambda: b.api("GET", pdq).status == 200, timeout=10, what="PDQ on node B")
        self.assertEqual(self.errors(b), 0.0)
        p = b.api("GET", f"/api/v1/patients/{v}")
        self.assertEqual(len(p.json()["sources"]), 4)

    def test_kill_9_of_the_resolver_mid_burst_the_other_resolves_the_rest(self):
        a = self.node()  # the resolver
        b = self.node()
        c = a.mllp(timeout=30)
        mrs = []
        try:
            for n in range(40):
                card = H.id_card(region="430523", birth="19700101", seq=100 + n, sex="M")
                m, _ = E.adt("A04", "XQRMYY", E.pid(f"K{n:03d}", "XQRMYY", f"李{'一二三四五六七八九十'[n % 10]}{n}",
                                                     "19700101", "M", card))
                self.assertEqual(c.request(m).msa_code, "AA")
                mrs.append(f"K{n:03d}")
        finally:
            c.close()
        a.kill()  # right after the last ACK: what it had not resolved is left
        ids = {mr: self.empi_of(b, "XQRMYY", mr) for mr in mrs}
        self.assertEqual(len(set(ids.values())), 40, "each patient its own EMPI id")
        by_b = sum(float(l.split()[-1]) for l in b.api("GET", "/metrics").body.decode().splitlines()
                   if l.startswith("hie_empi_resolved_total"))
        print(f"\n  kill -9 of the EMPI resolver after 40 ACKs; node B resolved {by_b:.0f} of them",
              file=sys.stderr)
        self.assertEqual(self.errors(b), 0.0)


if __name__ == "__main__":
    unittest.main()
