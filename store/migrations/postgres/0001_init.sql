-- 0001: the first schema of the PostgreSQL store (the production backend,
-- shared by several hub nodes). Same data and words as the SQLite schema:
-- statuses are stored as their words ('RECEIVED', 'QUEUED', ...), times are
-- epoch milliseconds (bigint), raw and response are bytea (the bytes exactly
-- as received/sent: GB18030 stays GB18030).
--
-- Retention: messages, message_bodies, message_trace, deliveries,
-- delivery_attempts and rejected are declaratively partitioned by time from
-- the start; 0002 adds monthly partitions ahead of time and drops whole old
-- ones. Rows outside every monthly partition land in the DEFAULT partition.
-- Because a unique index on a partitioned table must contain the partition
-- key, the cross-node dedupe on (facility, dedupe key) lives in its own plain
-- table, message_keys. No foreign keys between the partitioned tables:
-- dropping a partition never cascades.

CREATE SEQUENCE messages_id_seq AS bigint;
CREATE TABLE messages (
  id           bigint  NOT NULL DEFAULT nextval('messages_id_seq'),
  facility_id  text    NOT NULL,
  dedupe_key   text    NOT NULL,
  control_id   text    NOT NULL,
  message_type text    NOT NULL,
  content_type text    NOT NULL,
  source       text    NOT NULL,
  peer         text    NOT NULL,
  charset      text    NOT NULL,
  patient_key  text    NOT NULL,
  received_at  bigint  NOT NULL,
  updated_at   bigint  NOT NULL,
  status       text    NOT NULL,
  error_code   text    NOT NULL DEFAULT '',
  error_text   text    NOT NULL DEFAULT '',
  error_where  text    NOT NULL DEFAULT '',
  response     bytea   NOT NULL DEFAULT '\x'::bytea,
  PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);
ALTER SEQUENCE messages_id_seq OWNED BY messages.id;
CREATE TABLE messages_default PARTITION OF messages DEFAULT;

-- The raw bytes apart from the metadata, partitioned the same way: content
-- retention (N days) drops these partitions, metadata retention (M days)
-- drops those of messages, and neither rewrites a row. A message whose body
-- was dropped reads back with an empty raw.
CREATE TABLE message_bodies (
  message_id  bigint NOT NULL,
  received_at bigint NOT NULL,
  raw         bytea  NOT NULL,
  PRIMARY KEY (message_id, received_at)
) PARTITION BY RANGE (received_at);
CREATE TABLE message_bodies_default PARTITION OF message_bodies DEFAULT;
CREATE INDEX messages_status   ON messages(status, id);
CREATE INDEX messages_facility ON messages(facility_id, id);
CREATE INDEX messages_type     ON messages(message_type, id);
CREATE INDEX messages_received ON messages(received_at);
CREATE INDEX messages_control  ON messages(control_id);

-- Dedupe on (facility, MSH-10 / Idempotency-Key) across every node: the
-- primary key plus INSERT ... ON CONFLICT DO NOTHING. Empty keys are never
-- entered. Retention deletes rows older than the message content it keeps.
CREATE TABLE message_keys (
  facility_id text   NOT NULL,
  dedupe_key  text   NOT NULL,
  message_id  bigint NOT NULL,
  received_at bigint NOT NULL,
  PRIMARY KEY (facility_id, dedupe_key)
);
CREATE INDEX message_keys_received ON message_keys(received_at);

-- The trace: seq is 1, 2, ... per message, in append order; partitioned by
-- the event time.
CREATE TABLE message_trace (
  message_id bigint NOT NULL,
  seq        integer NOT NULL,
  at         bigint NOT NULL,
  step       text   NOT NULL,
  outcome    text   NOT NULL,
  detail     text   NOT NULL,
  PRIMARY KEY (message_id, seq, at)
) PARTITION BY RANGE (at);
CREATE TABLE message_trace_default PARTITION OF message_trace DEFAULT;

-- The outbox. `head` is true exactly on the oldest QUEUED delivery of each
-- (destination, patient_key); writers keep it so under a transaction
-- advisory lock on that pair, so two nodes never both make a head. A claim
-- (lease_owner, lease_until in the database's clock, epoch ms) marks a head
-- a node is sending; it expires if the node dies.
CREATE SEQUENCE deliveries_id_seq AS bigint;
CREATE TABLE deliveries (
  id              bigint  NOT NULL DEFAULT nextval('deliveries_id_seq'),
  message_id      bigint  NOT NULL,
  destination_id  text    NOT NULL,
  patient_key     text    NOT NULL,
  state           text    NOT NULL,
  head            boolean NOT NULL DEFAULT false,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at bigint  NOT NULL,
  created_at      bigint  NOT NULL,
  updated_at      bigint  NOT NULL,
  last_error      text    NOT NULL DEFAULT '',
  lease_owner     text,
  lease_until     bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE deliveries_id_seq OWNED BY deliveries.id;
CREATE TABLE deliveries_default PARTITION OF deliveries DEFAULT;
CREATE INDEX deliveries_message ON deliveries(message_id, id);
-- Queued deliveries per (destination, patient), oldest first: finds a head.
CREATE INDEX deliveries_queue ON deliveries(destination_id, patient_key, id)
  WHERE state = 'QUEUED';
-- Heads per destination in id order: the claim scan.
CREATE INDEX deliveries_heads ON deliveries(destination_id, id)
  WHERE state = 'QUEUED' AND head;
-- Claims per node: released when a node closes.
CREATE INDEX deliveries_leases ON deliveries(lease_owner) WHERE lease_owner IS NOT NULL;

CREATE TABLE delivery_attempts (
  delivery_id bigint  NOT NULL,
  number      integer NOT NULL,
  at          bigint  NOT NULL,
  duration_ms bigint  NOT NULL,
  ok          boolean NOT NULL,
  outcome     text    NOT NULL,
  response    bytea   NOT NULL,
  PRIMARY KEY (delivery_id, number, at)
) PARTITION BY RANGE (at);
CREATE TABLE delivery_attempts_default PARTITION OF delivery_attempts DEFAULT;

-- The error store: every refused input, raw (possibly cut; raw_size is the
-- original size).
CREATE SEQUENCE rejected_id_seq AS bigint;
CREATE TABLE rejected (
  id           bigint NOT NULL DEFAULT nextval('rejected_id_seq'),
  received_at  bigint NOT NULL,
  source       text   NOT NULL,
  peer         text   NOT NULL,
  facility_id  text   NOT NULL,
  control_id   text   NOT NULL,
  content_type text   NOT NULL,
  error_code   text   NOT NULL,
  error_text   text   NOT NULL,
  error_where  text   NOT NULL,
  raw_size     bigint NOT NULL,
  raw          bytea  NOT NULL,
  PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);
ALTER SEQUENCE rejected_id_seq OWNED BY rejected.id;
CREATE TABLE rejected_default PARTITION OF rejected DEFAULT;
CREATE INDEX rejected_received ON rejected(received_at);

CREATE TABLE destination_state (
  destination_id text    PRIMARY KEY,
  paused         boolean NOT NULL DEFAULT false
);
