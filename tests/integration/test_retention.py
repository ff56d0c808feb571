"""Retention (config `retention:`) under live traffic (issue 7): old rows are
put into the running hub's store directly (SQLite file or PostgreSQL
database, old monthly partitions included) while MLLP traffic flows; the
hub's periodic pass (check_interval 1s) removes them, drops whole partitions
on PostgreSQL, keeps a message that still has a QUEUED delivery, never holds
an ACK up for long, and a removed message's control id is new again.

Runs on SQLite; with HIE_TEST_STORE=postgres (CTest integration_pg.*) on a
database of its own on $HIE_TEST_PG_URI's server."""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

import hub as H

DAY_MS = 24 * 3600 * 1000
RETENTION = {"content_days": 30, "metadata_days": 90, "check_interval": "1s"}


class OldRows:
    """Rows dated in the past, written straight into the hub's store."""

    def __init__(self, hub):
        self.hub = hub
        self.uri = hub.config["hub"]["store"]
        self.pg = self.uri.startswith("postgres")

    def psql(self, sql):
        r = subprocess.run(["psql", self.uri, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(r.stderr.decode("utf-8", "replace"))
        return r.stdout.decode().strip()

    def message(self, at, control_id, raw, delivery_state, destination="sink"):
        """A message received at `at` (epoch ms) with one trace event and one
        delivery (and, when SENT, one attempt); returns its id."""
        if self.pg:
            self.psql(f"SELECT hie_ensure_partitions({at}, 1)")
            return int(self.psql(f"""
              WITH k AS (INSERT INTO message_keys VALUES ('XQRMYY', '{control_id}',
                           nextval('messages_id_seq'), {at}) RETURNING message_id AS id),
              m AS (INSERT INTO messages(id, facility_id, dedupe_key, control_id, message_type,
                      content_type, source, peer, charset, patient_key, received_at, updated_at,
                      status)
                    SELECT id, 'XQRMYY', '{control_id}', '{control_id}', 'ADT^A04',
                      'application/hl7-v2', 'mllp', '127.0.0.1:1', 'UTF-8', 'P-OLD', {at}, {at},
                      '{"SENT" if delivery_state == "SENT" else "QUEUED"}' FROM k RETURNING id),
              b AS (INSERT INTO message_bodies SELECT id, {at}, convert_to('{raw}', 'UTF8') FROM m),
              t AS (INSERT INTO message_trace SELECT id, 1, {at}, 'received', 'ok', '' FROM m),
              d AS (INSERT INTO deliveries(message_id, destination_id, patient_key, state, head,
                      attempts, next_attempt_at, created_at, updated_at)
                    SELECT id, '{destination}', 'P-OLD-{control_id}', '{delivery_state}',
                      {"true" if delivery_state == "QUEUED" else "false"}, 1, {at}, {at}, {at}
                    FROM m RETURNING id),
              a AS (INSERT INTO delivery_attempts SELECT id, 1, {at}, 5, true, 'sent', ''::bytea
                    FROM d WHERE '{delivery_state}' = 'SENT')
              SELECT id FROM m"""))
        db = sqlite3.connect(str(self.hub.data_dir / "hub.db"), timeout=30)
        try:
            with db:
                c = db.execute(
                    "INSERT INTO messages(facility_id, dedupe_key, control_id, message_type, "
                    "content_type, source, peer, charset, patient_key, received_at, updated_at, "
                    "status, raw) VALUES ('XQRMYY', ?, ?, 'ADT^A04', 'application/hl7-v2', 'mllp', "
                    "'127.0.0.1:1', 'UTF-8', 'P-OLD', ?, ?, ?, ?)",
                    (control_id, control_id, at, at,
                     "SENT" if delivery_state == "SENT" else "QUEUED", raw.encode()))
                mid = c.lastrowid
                db.execute("INSERT INTO message_trace VALUES (?, 1, ?, 'received', 'ok', '')",
                           (mid, at))
                c = db.execute(
                    "INSERT INTO deliveries(message_id, destination_id, patient_key, state, head, "
                    "attempts, next_attempt_at, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    (mid, destination, "P-OLD-" + control_id, delivery_state,
                     1 if delivery_state == "QUEUED" else 0, at, at, at))
                if delivery_state == "SENT":
                    db.execute("INSERT INTO delivery_attempts VALUES (?, 1, ?, 5, 1, 'sent', x'')",
                               (c.lastrowid, at))
            return mid
        finally:
            db.close()

    def rejected(self, at):
        if self.pg:
            self.psql(f"SELECT hie_ensure_partitions({at}, 1)")
            return int(self.psql(
                "INSERT INTO rejected(received_at, source, peer, facility_id, control_id, "
                "content_type, error_code, error_text, error_where, raw_size, raw) VALUES "
                f"({at}, 'mllp', '127.0.0.1:1', 'NOPE', 'R1', 'application/hl7-v2', 'x', 'x', "
                "'', 4, 'junk'::bytea) RETURNING id"))
        db = sqlite3.connect(str(self.hub.data_dir / "hub.db"), timeout=30)
        try:
            with db:
                return db.execute(
                    "INSERT INTO rejected(received_at, source, peer, facility_id, control_id, "
                    "content_type, error_code, error_text, error_where, raw_size, raw) VALUES "
                    "(?, 'mllp', '127.0.0.1:1', 'NOPE', 'R1', 'application/hl7-v2', 'x', 'x', "
                    "'', 4, x'6a756e6b')", (at,)).lastrowid
        finally:
            db.close()


def metric(text, name, labels=""):
    m = re.search(r"^" + re.escape(name + labels) + r" (\d+)", text, re.M)
    return int(m.group(1)) if m else None


class RetentionUnderTrafficTest(unittest.TestCase):
    def setUp(self):
        H.require_hie()
        self.dest = H.FakeHttpDestination()
        self.addCleanup(self.dest.close)
        self.hub = H.Hub(destinations=[H.http_destination("sink", self.dest)],
                         routes=[H.route("all", ["sink"], message_type="*")],
                         extra={"retention": RETENTION})
        self.hub.start()
        self.addCleanup(self.hub.close)
        if self.hub.config["hub"]["store"].startswith("postgres") and not shutil.which("psql"):
            self.skipTest("psql missing")

    def test_old_rows_removed_while_traffic_flows(self):
        h = self.hub
        stop = threading.Event()
        acks, bad, latencies = [], [], []

        def traffic():
            with h.mllp(timeout=30) as c:
                i = 0
                while not stop.is_set() or i < 50:
                    m, ctl = H.adt("A04", patient=H.Patient(5000 + i % 40))
                    t0 = time.monotonic()
                    a = c.request(m)
                    latencies.append(time.monotonic() - t0)
                    (acks if a.msa_code == "AA" and a.control_id == ctl else bad).append(ctl)
                    i += 1

        sender = threading.Thread(target=traffic)
        sender.start()
        try:
            H.wait_until(lambda: len(acks) >= 20, timeout=30, what="live traffic")
            now = int(time.time() * 1000)
            rows = OldRows(h)
            raw = H.adt("A04", control_id="RET-OLD-1")[0].replace("'", "")
            old_sent = rows.message(now - 200 * DAY_MS, "RET-OLD-1", raw, "SENT")
            # Still waiting for a destination that is not configured (down for
            # good): held back, raw and all.
            old_queued = rows.message(now - 150 * DAY_MS, "RET-OLD-2", raw, "QUEUED",
                                      destination="parked")
            old_rejected = rows.rejected(now - 200 * DAY_MS)
            # A newer rejected input (SQLite never deletes the newest row of a
            # table: its id would be handed out again).
            self.assertEqual(h.send(H.adt("A04", facility="NOSUCH")[0]).msa_code, "AR")

            H.wait_until(lambda: h.api("GET", f"/api/v1/messages/{old_sent}").status == 404,
                         timeout=30, what="the old message removed by retention")
            H.wait_until(lambda: h.api("GET", f"/api/v1/errors/{old_rejected}").status == 404,
                         timeout=30, what="the old rejected input removed")
            n_before_stop = len(acks)
        finally:
            stop.set()
            sender.join(60)
        self.assertEqual(bad, [], "every message during retention answered AA")
        self.assertGreater(len(acks), n_before_stop - 1)
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"\n  {len(acks)} AAs during retention; ACK p99 {p99 * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms", file=sys.stderr)
        self.assertLess(latencies[-1], 5.0, "no ACK waits long for retention")

        kept = h.api("GET", f"/api/v1/messages/{old_queued}?raw=1")
        self.assertEqual(kept.status, 200, "a message with a QUEUED delivery is never removed")
        self.assertIn("RET-OLD-1", str(kept.json()), "its raw body kept too")
        for ctl in acks[-300::30]:  # the list API pages the newest 1000
            self.assertEqual(h.api("GET", f"/api/v1/messages/{h.message_id(ctl)}").status, 200)

        metrics = h.api("GET", "/metrics").text
        self.assertGreaterEqual(metric(metrics, "hie_retention_runs_total") or 0, 1)
        if OldRows(h).pg:
            self.assertGreaterEqual(metric(metrics, "hie_retention_partitions_dropped_total"), 4,
                                    "the old month's messages, trace, deliveries, attempts, ...")
        else:
            self.assertGreaterEqual(
                metric(metrics, "hie_retention_rows_deleted_total", '{what="messages"}'), 1)
        H.wait_until(lambda: metric(h.api("GET", "/metrics").text, "hie_retention_held_back") == 1,
                     timeout=10, what="held_back gauge = 1")
        self.assertIn("保留期清理 (retention)", h.log_tail(200000))

        # The removed message's control id is new again: a fresh message.
        m, _ = H.adt("A04", control_id="RET-OLD-1")
        with h.mllp(timeout=30) as c:
            self.assertEqual(c.request(m).msa_code, "AA")
        self.assertNotEqual(h.message_id("RET-OLD-1"), old_sent)


class RetentionConfigTest(unittest.TestCase):
    def test_content_longer_than_metadata_refused_with_line(self):
        h = H.Hub(extra={"retention": {"content_days": 100, "metadata_days": 30}})
        r = subprocess.run([str(h.bin), "serve", "--config", str(h.config_path)],
                           capture_output=True, timeout=60)
        h.close()
        shutil.rmtree(h.tmp, ignore_errors=True)
        self.assertEqual(r.returncode, 2)
        err = r.stderr.decode()
        self.assertRegex(err, r"hub\.yaml:\d+")
        self.assertIn("content_days", err)


if __name__ == "__main__":
    unittest.main()
