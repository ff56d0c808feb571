-- 0001: the first schema of the embedded SQLite store.
-- Statuses and delivery states are stored as their words ('RECEIVED',
-- 'QUEUED', ...) so the database reads plainly in the sqlite3 shell.
-- Times are epoch milliseconds (INTEGER). raw and response are BLOBs: the
-- bytes exactly as received/sent (GB18030 stays GB18030).

CREATE TABLE messages (
  id           INTEGER PRIMARY KEY,
  facility_id  TEXT    NOT NULL,
  dedupe_key   TEXT    NOT NULL,
  control_id   TEXT    NOT NULL,
  message_type TEXT    NOT NULL,
  content_type TEXT    NOT NULL,
  source       TEXT    NOT NULL,
  peer         TEXT    NOT NULL,
  charset      TEXT    NOT NULL,
  patient_key  TEXT    NOT NULL,
  received_at  INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  status       TEXT    NOT NULL,
  error_code   TEXT    NOT NULL DEFAULT '',
  error_text   TEXT    NOT NULL DEFAULT '',
  error_where  TEXT    NOT NULL DEFAULT '',
  response     BLOB    NOT NULL DEFAULT x'',
  raw          BLOB    NOT NULL  -- last: list queries never decode it
);
-- Dedupe on (facility, MSH-10 / Idempotency-Key); an empty key never dedupes.
CREATE UNIQUE INDEX messages_dedupe ON messages(facility_id, dedupe_key)
  WHERE dedupe_key <> '';
CREATE INDEX messages_status   ON messages(status, id);
CREATE INDEX messages_facility ON messages(facility_id, id);
CREATE INDEX messages_type     ON messages(message_type, id);
CREATE INDEX messages_received ON messages(received_at);
CREATE INDEX messages_control  ON messages(control_id);

-- The trace: seq is 1, 2, ... per message, in append order.
CREATE TABLE message_trace (
  message_id INTEGER NOT NULL,
  seq        INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  step       TEXT    NOT NULL,
  outcome    TEXT    NOT NULL,
  detail     TEXT    NOT NULL,
  PRIMARY KEY (message_id, seq)
) WITHOUT ROWID;

-- The outbox. `head` is 1 exactly on the oldest QUEUED delivery of each
-- (destination, patient_key): the writer keeps it so when states change, and
-- DueDeliveries then reads heads only, whatever the backlog behind them.
CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY,
  message_id      INTEGER NOT NULL,
  destination_id  TEXT    NOT NULL,
  patient_key     TEXT    NOT NULL,
  state           TEXT    NOT NULL,
  head            INTEGER NOT NULL DEFAULT 0,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_message ON deliveries(message_id, id);
-- Queued deliveries per (destination, patient), oldest first: finds a head.
CREATE INDEX deliveries_queue ON deliveries(destination_id, patient_key, id)
  WHERE state = 'QUEUED';
-- Heads per destination in id order: the DueDeliveries scan.
CREATE INDEX deliveries_heads ON deliveries(destination_id, id)
  WHERE state = 'QUEUED' AND head = 1;

CREATE TABLE delivery_attempts (
  delivery_id INTEGER NOT NULL,
  number      INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  ok          INTEGER NOT NULL,
  outcome     TEXT    NOT NULL,
  response    BLOB    NOT NULL,
  PRIMARY KEY (delivery_id, number)
) WITHOUT ROWID;

-- The error store: every refused input, raw (possibly cut; raw_size is the
-- original size).
CREATE TABLE rejected (
  id           INTEGER PRIMARY KEY,
  received_at  INTEGER NOT NULL,
  source       TEXT    NOT NULL,
  peer         TEXT    NOT NULL,
  facility_id  TEXT    NOT NULL,
  control_id   TEXT    NOT NULL,
  content_type TEXT    NOT NULL,
  error_code   TEXT    NOT NULL,
  error_text   TEXT    NOT NULL,
  error_where  TEXT    NOT NULL,
  raw_size     INTEGER NOT NULL,
  raw          BLOB    NOT NULL
);
CREATE INDEX rejected_received ON rejected(received_at);

CREATE TABLE destination_state (
  destination_id TEXT PRIMARY KEY,
  paused         INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
