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

    def psql(self, *sqls):
        """Each statement in a transaction of its own (psql -c ... -c ...)."""
        cmd = ["psql", self.uri, "-v", "ON_ERROR_STOP=1", "-qAt"]
        for sql in sqls:
            cmd += ["-c", sql]
        r = subprocess.run(cmd, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(r.stderr.decode("utf-8", "replace"))
        return r.stdout.decode().strip()

    def into_old_month(self, table, at, sql):
        """Runs `sql` (an INSERT into `table`) in one transaction with the
        monthly partition of `at`'s month made first, a table at a time as the
        store does (two parents locked at once deadlock with live writes;
        retention drops empty old partitions every second, so making a
        partition apart from its row would race with it). Again when the
        table was too busy (lock wait > 200 ms)."""
        part = f"to_char(to_timestamp({at} / 1000.0) AT TIME ZONE 'UTC', 'YYYYMM')"
        sql = (f"SELECT hie_ensure_table_partitions('{table}', {at}, 0);"
               f"DO $$ BEGIN IF to_regclass('{table}_p' || {part}) IS NULL THEN "
               "RAISE EXCEPTION 'busy'; END IF; END $$;" + sql)
        for _ in range(100):
            try:
                return self.psql(sql).splitlines()[-1]  # the INSERT's answer
            except AssertionError as e:
                if "busy" not in str(e):
                    raise
                time.sleep(0.05)
        raise AssertionError(f"monthly partition of {table} not created")

    def message(self, at, control_id, raw, delivery_state, destination="sink"):
        """A message received at `at` (epoch ms) with one trace event and one
        delivery (and, when SENT, one attempt); returns its id."""
        queued = delivery_state == "QUEUED"
        if self.pg:
            mid = int(self.psql("SELECT nextval('messages_id_seq')"))
            did = int(self.psql("SELECT nextval('deliveries_id_seq')"))
            delivery = ("deliveries",
                        "INSERT INTO deliveries(id, message_id, destination_id, patient_key, state, "
                        "head, attempts, next_attempt_at, created_at, updated_at) VALUES "
                        f"({did}, {mid}, '{destination}', 'P-OLD-{control_id}', '{delivery_state}', "
                        f"{'true' if queued else 'false'}, 1, {at}, {at}, {at})")
            steps = [delivery] if queued else []  # a QUEUED delivery first: it holds the month
            steps += [
                ("messages",
                 "INSERT INTO messages(id, facility_id, dedupe_key, control_id, message_type, "
                 "content_type, source, peer, charset, patient_key, received_at, updated_at, "
                 f"status) VALUES ({mid}, 'XQRMYY', '{control_id}', '{control_id}', 'ADT^A04', "
                 "'application/hl7-v2', 'mllp', '127.0.0.1:1', 'UTF-8', 'P-OLD', "
                 f"{at}, {at}, '{'QUEUED' if queued else 'SENT'}')"),
                ("message_bodies",
                 f"INSERT INTO message_bodies VALUES ({mid}, {at}, convert_to('{raw}', 'UTF8'))"),
                ("message_trace",
                 f"INSERT INTO message_trace VALUES ({mid}, 1, {at}, 'received', 'ok', '')"),
            ]
            if not queued:
                steps += [delivery, ("delivery_attempts",
                                     f"INSERT INTO delivery_attempts VALUES ({did}, 1, {at}, 5, "
                                     "true, 'sent', ''::bytea)")]
            self.psql(f"INSERT INTO message_keys VALUES ('XQRMYY', '{control_id}', {mid}, {at})")
            for table, sql in steps:
                self.into_old_month(table, at, sql)
            return mid
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
            return int(self.into_old_month(
                "rejected", at,
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
                    latencies.append((t0, time.monotonic() - t0))
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
            # ACK latency counts from here: the rows above were put in by the
            # test itself (making old partitions locks the parent tables).
            set_up = time.monotonic()

            H.wait_until(lambda: h.api("GET", f"/api/v1/messages/{old_sent}").status == 404,
                         timeout=30, what="the old message removed by retention")
            H.wait_until(lambda: h.api("GET", f"/api/v1/errors/{old_rejected}").status == 404,
                         timeout=30, what="the old rejected input removed")
            # Traffic goes on across further retention runs (every second).
            H.wait_until(lambda: sum(1 for t0, _ in latencies if t0 >= set_up) >= 30 and
                         time.monotonic() - set_up > 2.5, timeout=30, what="traffic after set-up")
            n_before_stop = len(acks)
        finally:
            stop.set()
            sender.join(60)
        self.assertEqual(bad, [], "every message during retention answered AA")
        self.assertGreater(len(acks), n_before_stop - 1)
        during = sorted(d for t0, d in latencies if t0 >= set_up)
        self.assertGreater(len(during), 20, "traffic flowed while retention ran")
        p99 = during[int(len(during) * 0.99) - 1]
        print(f"\n  {len(during)} AAs while retention removed the old rows; ACK p99 "
              f"{p99 * 1000:.1f} ms, max {during[-1] * 1000:.1f} ms", file=sys.stderr)
        self.assertLess(during[-1], 5.0, "no ACK waits long for retention")

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
