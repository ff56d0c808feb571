-- 0003: retention as the hub applies it (config `retention:`), step by step.
-- The hub asks hie_retention_candidates which monthly partitions may go and
-- drops each with hie_drop_partition in its own short transaction (DETACH
-- takes the parent table's ACCESS EXCLUSIVE lock; holding several parents'
-- locks in one transaction would stall live traffic), then deletes the
-- dedupe keys of the dropped messages in small batches.
--
-- The horizon: a message with a QUEUED delivery is never removed, raw or
-- metadata. Partitions go whole, so the month of the oldest such message,
-- and every later month (its trace, deliveries and attempts lie there), is
-- kept until the delivery ends. Rejected inputs have no deliveries and
-- follow the content cutoff alone.

-- The earliest time that must be kept for a QUEUED delivery (its message's
-- received_at or its own created_at), or NULL when nothing is queued.
CREATE FUNCTION hie_retention_horizon() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
  SELECT MIN(LEAST(d.created_at, COALESCE(m.received_at, d.created_at)))
    FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id
   WHERE d.state = 'QUEUED'
$$;

-- The monthly partitions that end at or before their cutoff ('content':
-- message_bodies and rejected; 'metadata': messages, message_trace,
-- deliveries, delivery_attempts), the message tables' cutoffs capped by
-- the horizon. 0 or NULL for a cutoff keeps that kind. Oldest first, and
-- within a month the messages table before its dependents (a reader never
-- sees a message whose trace is gone).
CREATE FUNCTION hie_retention_candidates(content_before_ms bigint, metadata_before_ms bigint)
RETURNS TABLE(table_name text, partition_name text, upper_ms bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  p record;
  c record;
  cutoff bigint;
  horizon bigint := hie_retention_horizon();
  up_ms bigint;
BEGIN
  FOR p IN SELECT h.table_name AS t, h.kind FROM hie_partitioned h LOOP
    cutoff := CASE p.kind WHEN 'content' THEN content_before_ms ELSE metadata_before_ms END;
    CONTINUE WHEN cutoff IS NULL OR cutoff <= 0;
    IF p.t <> 'rejected' AND horizon IS NOT NULL THEN
      cutoff := LEAST(cutoff, horizon);
    END IF;
    FOR c IN
      SELECT k.relname, pg_get_expr(k.relpartbound, k.oid) AS bound
        FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
       WHERE i.inhparent = to_regclass(quote_ident(p.t))
         AND k.relname ~ '_p[0-9]{6}$'
    LOOP
      up_ms := substring(c.bound FROM 'TO \(''?(-?[0-9]+)''?\)')::bigint;
      CONTINUE WHEN up_ms IS NULL OR up_ms > cutoff;
      table_name := p.t;
      partition_name := c.relname;
      upper_ms := up_ms;
      RETURN NEXT;
    END LOOP;
  END LOOP;
END
$$;

-- Detaches and drops one monthly partition of a partitioned table of ours.
-- false when it is no longer there (another node dropped it) or when, with
-- the parent locked, the horizon says it may hold what a QUEUED delivery
-- needs: a delivery queued after the candidates were listed (a reprocess
-- of an old message) is seen here.
CREATE FUNCTION hie_drop_partition(parent text, part text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  up_ms bigint;
  horizon bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM hie_partitioned WHERE table_name = parent)
     OR part !~ '_p[0-9]{6}$' THEN
    RAISE EXCEPTION 'not a retention partition: %.%', parent, part;
  END IF;
  SELECT substring(pg_get_expr(k.relpartbound, k.oid) FROM 'TO \(''?(-?[0-9]+)''?\)')::bigint
    INTO up_ms
    FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
   WHERE i.inhparent = to_regclass(quote_ident(parent))
     AND i.inhrelid = to_regclass(quote_ident(part));
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  -- The lock DETACH takes, first: once held, no writer is inside the table
  -- and every delivery committed before is visible to the horizon (a
  -- reprocess locks its message row, so on `messages` it either committed
  -- before or waits and then finds the message gone).
  EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', parent);
  IF parent <> 'rejected' THEN
    -- Planned afresh (EXECUTE): a cached plan would still name partitions
    -- dropped earlier in this transaction (hie_apply_retention).
    EXECUTE 'SELECT hie_retention_horizon()' INTO horizon;
    IF horizon IS NOT NULL AND horizon < up_ms THEN
      RETURN false;  -- held for a QUEUED delivery
    END IF;
  END IF;
  EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
  EXECUTE format('DROP TABLE %I', part);
  RETURN true;
END
$$;

-- The one-call form (for a DBA at the psql prompt): the same candidates and
-- horizon, all in the caller's transaction. The hub does not use it (see
-- above); it returns the names of the partitions dropped.
CREATE OR REPLACE FUNCTION hie_apply_retention(content_before_ms bigint, metadata_before_ms bigint)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  c record;
BEGIN
  PERFORM set_config('lock_timeout', '5s', true);
  FOR c IN SELECT * FROM hie_retention_candidates(content_before_ms, metadata_before_ms)
           ORDER BY upper_ms, (table_name <> 'messages'), table_name LOOP
    IF hie_drop_partition(c.table_name, c.partition_name) THEN
      RETURN NEXT c.partition_name;
    END IF;
  END LOOP;
  IF metadata_before_ms IS NOT NULL AND metadata_before_ms > 0 THEN
    DELETE FROM message_keys k
     WHERE k.received_at < metadata_before_ms
       AND NOT EXISTS (SELECT 1 FROM messages m
                        WHERE m.id = k.message_id AND m.received_at = k.received_at);
  END IF;
END
$$;

-- Monthly partitions of ONE table, in the caller's transaction, waiting at
-- most 200 ms for the parent's lock (CREATE TABLE ... PARTITION OF takes an
-- ACCESS EXCLUSIVE lock; traffic queues behind a waiting one): a busy table
-- is left for the next call (the store calls this hourly and before each
-- retention run, a table per transaction). Returns how many were created.
CREATE FUNCTION hie_ensure_table_partitions(tbl text, from_ms bigint, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  lo bigint;
  hi bigint;
  part text;
  busy boolean;
  created integer := 0;
BEGIN
  SELECT h.table_name AS t, h.time_col AS col INTO p FROM hie_partitioned h WHERE h.table_name = tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'not a partitioned table of the hub: %', tbl;
  END IF;
  PERFORM set_config('lock_timeout', '200ms', true);
  FOR i IN 0..months_ahead LOOP
    lo := hie_month_start_ms(from_ms, i);
    hi := hie_month_start_ms(from_ms, i + 1);
    part := p.t || '_p' || to_char(to_timestamp(lo / 1000.0) AT TIME ZONE 'UTC', 'YYYYMM');
    CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
    BEGIN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= $1 AND %I < $2)',
                     p.t || '_default', p.col, p.col)
        INTO busy USING lo, hi;
      CONTINUE WHEN busy;  -- that month's rows sit in DEFAULT already
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                     part, p.t, lo, hi);
      created := created + 1;
    EXCEPTION
      WHEN lock_not_available THEN RETURN created;  -- busy now; the next call goes on
      WHEN duplicate_table THEN NULL;               -- another node made it meanwhile
    END;
  END LOOP;
  RETURN created;
END
$$;

-- The all-tables form, now over hie_ensure_table_partitions (one
-- transaction: for psql and tests; the store goes table by table).
CREATE OR REPLACE FUNCTION hie_ensure_partitions(from_ms bigint, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  created integer := 0;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext(current_schema() || '/hie_ensure_partitions')) THEN
    RETURN 0;
  END IF;
  FOR p IN SELECT table_name FROM hie_partitioned ORDER BY table_name LOOP
    created := created + hie_ensure_table_partitions(p.table_name, from_ms, months_ahead);
  END LOOP;
  RETURN created;
END
$$;
