-- 0004: the EMPI (master patient index, issue 5). Persons (the EMPI ids),
-- every source record a facility sent (normalized and raw) with its link to
-- a person (score, rule, per-field evidence), the review queue, the
-- append-only history of operations, and which message resolved to which
-- source record (so a reprocessed or recovered message never makes a
-- second person). Ids are assigned by the EMPI service (one resolver per
-- database); times are epoch milliseconds; JSON is stored as text.
CREATE TABLE empi_persons (
  id            BIGINT PRIMARY KEY,
  state         TEXT   NOT NULL,           -- active | merged | retired
  merged_into   BIGINT NOT NULL DEFAULT 0, -- the surviving person when merged
  golden        TEXT   NOT NULL,           -- golden record (JSON)
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);
CREATE TABLE empi_sources (
  id            BIGINT PRIMARY KEY,
  person_id     BIGINT NOT NULL,
  record_key    TEXT   NOT NULL UNIQUE,    -- MR|facility|local id, or MSG|message id
  facility_id   TEXT   NOT NULL,
  local_id      TEXT   NOT NULL,           -- the facility's MR number ('' none)
  id_number     TEXT   NOT NULL,           -- normalized resident ID card ('' none)
  name          TEXT   NOT NULL,           -- normalized name
  birth_date    TEXT   NOT NULL,           -- YYYY[-MM[-DD]] ('' unknown)
  sex           TEXT   NOT NULL,           -- M | F | ''
  phone         TEXT   NOT NULL,
  address       TEXT   NOT NULL,
  raw           TEXT   NOT NULL,           -- the record as received (JSON)
  norm          TEXT   NOT NULL,           -- the normalized record (JSON), loads the index
  card_reader   BIGINT NOT NULL DEFAULT 0, -- 1: ID card read by a card reader
  link_how      TEXT   NOT NULL,           -- new | auto | review | manual | a40
  link_weight   DOUBLE PRECISION NOT NULL DEFAULT 0,
  link_rule     TEXT   NOT NULL,
  link_evidence TEXT   NOT NULL,           -- per-field levels (JSON)
  replaced_by   BIGINT NOT NULL DEFAULT 0, -- A40: this local id was merged into that source
  last_message  BIGINT NOT NULL DEFAULT 0,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);
CREATE INDEX empi_sources_person ON empi_sources (person_id);
CREATE INDEX empi_sources_id_number ON empi_sources (id_number);
CREATE INDEX empi_sources_local ON empi_sources (facility_id, local_id);
CREATE TABLE empi_reviews (
  id            BIGINT PRIMARY KEY,
  kind          TEXT   NOT NULL,           -- link (a source to a person) | merge (two persons)
  source_id     BIGINT NOT NULL,
  person_id     BIGINT NOT NULL,           -- the candidate person
  weight        DOUBLE PRECISION NOT NULL,
  evidence      TEXT   NOT NULL,           -- per-field levels (JSON)
  state         TEXT   NOT NULL,           -- open | accepted | rejected | obsolete
  created_at    BIGINT NOT NULL,
  decided_at    BIGINT NOT NULL DEFAULT 0,
  decided_by    TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX empi_reviews_state ON empi_reviews (state, id);
CREATE INDEX empi_reviews_source ON empi_reviews (source_id);
CREATE TABLE empi_history (
  id            BIGINT PRIMARY KEY,
  at            BIGINT NOT NULL,
  op            TEXT   NOT NULL,           -- new | link | update | unlink | merge | unmerge | a40 | review_accept | review_reject
  person_id     BIGINT NOT NULL,
  other_person  BIGINT NOT NULL DEFAULT 0,
  source_id     BIGINT NOT NULL DEFAULT 0,
  message_id    BIGINT NOT NULL DEFAULT 0,
  actor         TEXT   NOT NULL,
  detail        TEXT   NOT NULL            -- JSON: what changed (a merge keeps what unmerge restores)
);
CREATE INDEX empi_history_person ON empi_history (person_id, id);
CREATE INDEX empi_history_other ON empi_history (other_person, id);
CREATE TABLE empi_messages (
  message_id    BIGINT PRIMARY KEY,
  source_id     BIGINT NOT NULL,
  at            BIGINT NOT NULL
);
