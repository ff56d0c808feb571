-- 0002: monthly partitions (UTC months, epoch-ms bounds) and retention by
-- dropping whole partitions: no row-by-row DELETE, no bloat, no long locks
-- on live tables. The store calls hie_ensure_partitions at open and every
-- hour; retention calls hie_apply_retention (see docs in the functions).

-- The partitioned tables and their time column.
CREATE TABLE hie_partitioned (
  table_name text PRIMARY KEY,
  time_col   text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('content', 'metadata'))
);
INSERT INTO hie_partitioned VALUES
  ('messages', 'received_at', 'metadata'),
  ('message_bodies', 'received_at', 'content'),
  ('message_trace', 'at', 'metadata'),
  ('deliveries', 'created_at', 'metadata'),
  ('delivery_attempts', 'at', 'metadata'),
  ('rejected', 'received_at', 'content');

-- Epoch ms of the start of the UTC month `months` after the one holding ms.
CREATE FUNCTION hie_month_start_ms(ms bigint, months integer) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT (extract(epoch FROM ((date_trunc('month', to_timestamp(ms / 1000.0) AT TIME ZONE 'UTC')
          + make_interval(months => months)) AT TIME ZONE 'UTC')) * 1000)::bigint
$$;

-- Creates the monthly partitions <table>_pYYYYMM of every partitioned table
-- from the month of from_ms through `months_ahead` months later, where
-- missing. A month whose rows already sit in the DEFAULT partition is left
-- there (creating it would fail). Returns how many were created. Several
-- nodes may call it at once: one does the work, the others return 0. A
-- table busy for longer than lock_timeout is skipped until the next call.
CREATE FUNCTION hie_ensure_partitions(from_ms bigint, months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  lo bigint;
  hi bigint;
  part text;
  busy boolean;
  created integer := 0;
BEGIN
  -- One caller per schema at a time (a database may hold several hubs'
  -- schemas; the tests use one schema each).
  IF NOT pg_try_advisory_xact_lock(hashtext(current_schema() || '/hie_ensure_partitions')) THEN
    RETURN 0;
  END IF;
  PERFORM set_config('lock_timeout', '2s', true);
  FOR p IN SELECT table_name, time_col FROM hie_partitioned ORDER BY table_name LOOP
    FOR i IN 0..months_ahead LOOP
      lo := hie_month_start_ms(from_ms, i);
      hi := hie_month_start_ms(from_ms, i + 1);
      part := p.table_name || '_p'
              || to_char(to_timestamp(lo / 1000.0) AT TIME ZONE 'UTC', 'YYYYMM');
      CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= $1 AND %I < $2)',
                     p.table_name || '_default', p.time_col, p.time_col)
        INTO busy USING lo, hi;
      CONTINUE WHEN busy;
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                     part, p.table_name, lo, hi);
      created := created + 1;
    END LOOP;
  END LOOP;
  RETURN created;
END
$$;

-- Retention: drops every monthly partition that ends at or before the
-- cutoff of its kind ('content': raw bodies and rejected inputs; 'metadata':
-- messages, traces, deliveries, attempts), and forgets the dedupe keys of
-- the messages dropped. 0 for a cutoff keeps that kind. A deliveries
-- partition still holding QUEUED rows is kept. Rows in DEFAULT partitions
-- are never touched. Returns the names of the partitions dropped.
CREATE FUNCTION hie_apply_retention(content_before_ms bigint, metadata_before_ms bigint)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  c record;
  cutoff bigint;
  upper_ms bigint;
  queued boolean;
BEGIN
  PERFORM set_config('lock_timeout', '5s', true);
  FOR p IN SELECT table_name, kind FROM hie_partitioned ORDER BY table_name LOOP
    cutoff := CASE p.kind WHEN 'content' THEN content_before_ms ELSE metadata_before_ms END;
    CONTINUE WHEN cutoff IS NULL OR cutoff <= 0;
    FOR c IN
      SELECT k.relname, pg_get_expr(k.relpartbound, k.oid) AS bound
        FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
       WHERE i.inhparent = to_regclass(quote_ident(p.table_name))
         AND k.relname ~ '_p[0-9]{6}$'
       ORDER BY k.relname
    LOOP
      upper_ms := substring(c.bound FROM 'TO \(''?(-?[0-9]+)''?\)')::bigint;
      CONTINUE WHEN upper_ms IS NULL OR upper_ms > cutoff;
      IF p.table_name = 'deliveries' THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE state = ''QUEUED'')', c.relname)
          INTO queued;
        CONTINUE WHEN queued;
      END IF;
      EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', p.table_name, c.relname);
      EXECUTE format('DROP TABLE %I', c.relname);
      RETURN NEXT c.relname;
    END LOOP;
  END LOOP;
  IF metadata_before_ms IS NOT NULL AND metadata_before_ms > 0 THEN
    -- Keys of messages no longer kept (in monthly partitions): a resend of
    -- such an old message is a new message.
    DELETE FROM message_keys k
     WHERE k.received_at < metadata_before_ms
       AND NOT EXISTS (SELECT 1 FROM messages m
                        WHERE m.id = k.message_id AND m.received_at = k.received_at);
  END IF;
END
$$;
