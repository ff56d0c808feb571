-- 0005: the shared clinical record (issue 6, store/record_store.h). Lab
-- results, encounters, diagnoses and documents hang on the EMPI SOURCE
-- record (empi_sources.id) that sent them, so links, merges and unmerges
-- move them with the person without rewriting a row. Each row has an
-- identity item_key; a new version of an item supersedes the current one
-- (is_current = 0, superseded_by = the new row) and the old row stays as
-- history. Ids are assigned by the database. Not partitioned and not
-- subject to retention: the record is kept (it holds the canonical JSON, so
-- it does not depend on the raw message). Times are epoch milliseconds.
-- Read by person: per source (source_id = ? AND is_current = 1) newest
-- first; the lab results' (source_id, is_current, effective_ms, id, ...)
-- index carries the filter columns, so a page's ids are read from the
-- index alone (backwards, a page per source) and only its rows fetched.
CREATE TABLE record_lab_results (
  id                  INTEGER PRIMARY KEY,
  message_id          BIGINT NOT NULL,
  source_id           BIGINT NOT NULL,         -- empi_sources.id
  facility_id         TEXT   NOT NULL,         -- the sending facility
  item_key            TEXT   NOT NULL,         -- facility|report|item code|sequence
  version             BIGINT NOT NULL,
  is_current          BIGINT NOT NULL,         -- 1 current, 0 superseded
  superseded_by       BIGINT NOT NULL DEFAULT 0,
  status              TEXT   NOT NULL,         -- FHIR Observation.status
  code_system         TEXT   NOT NULL,
  code                TEXT   NOT NULL,         -- as received
  display             TEXT   NOT NULL,
  std_code            TEXT   NOT NULL,         -- LOINC, '' unmapped
  std_display         TEXT   NOT NULL,
  value               TEXT   NOT NULL,
  value_type          TEXT   NOT NULL,
  unit                TEXT   NOT NULL,
  std_unit            TEXT   NOT NULL,         -- UCUM, '' unmapped
  reference_range     TEXT   NOT NULL,
  abnormal_flag       TEXT   NOT NULL,
  specimen            TEXT   NOT NULL,
  performing_facility TEXT   NOT NULL,
  verifier            TEXT   NOT NULL,
  report_id           TEXT   NOT NULL,
  effective_ms        BIGINT NOT NULL,
  issued_ms           BIGINT NOT NULL,
  resource            TEXT   NOT NULL,         -- the Observation (FHIR JSON)
  recorded_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX record_lab_results_item ON record_lab_results (item_key, version);
-- Newest first per source, read backwards, covering the filter columns.
CREATE INDEX record_lab_results_person ON record_lab_results
  (source_id, is_current, effective_ms, id, code, std_code, facility_id, performing_facility);

CREATE TABLE record_encounters (
  id              INTEGER PRIMARY KEY,
  message_id      BIGINT NOT NULL,
  source_id       BIGINT NOT NULL,
  facility_id     TEXT   NOT NULL,
  item_key        TEXT   NOT NULL,             -- facility|visit number
  version         BIGINT NOT NULL,
  is_current      BIGINT NOT NULL,
  superseded_by   BIGINT NOT NULL DEFAULT 0,
  visit_number    TEXT   NOT NULL,
  encounter_class TEXT   NOT NULL,             -- AMB | IMP | EMER | PRENC
  status          TEXT   NOT NULL,
  department      TEXT   NOT NULL,
  attending       TEXT   NOT NULL,
  start_ms        BIGINT NOT NULL,
  end_ms          BIGINT NOT NULL,
  resource        TEXT   NOT NULL,             -- the Encounter (FHIR JSON)
  recorded_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX record_encounters_item ON record_encounters (item_key, version);
CREATE INDEX record_encounters_person ON record_encounters (source_id, is_current, start_ms);

CREATE TABLE record_diagnoses (
  id              INTEGER PRIMARY KEY,
  message_id      BIGINT NOT NULL,
  source_id       BIGINT NOT NULL,
  facility_id     TEXT   NOT NULL,
  item_key        TEXT   NOT NULL,             -- facility|visit or message|code
  version         BIGINT NOT NULL,
  is_current      BIGINT NOT NULL,
  superseded_by   BIGINT NOT NULL DEFAULT 0,
  code_system     TEXT   NOT NULL,
  code            TEXT   NOT NULL,
  display         TEXT   NOT NULL,
  std_code        TEXT   NOT NULL,             -- ICD-10, '' unmapped
  std_display     TEXT   NOT NULL,
  clinical_status TEXT   NOT NULL,
  visit_number    TEXT   NOT NULL,
  recorded_ms     BIGINT NOT NULL,
  resource        TEXT   NOT NULL,             -- the Condition (FHIR JSON)
  recorded_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX record_diagnoses_item ON record_diagnoses (item_key, version);
CREATE INDEX record_diagnoses_person ON record_diagnoses (source_id, is_current, recorded_ms);

CREATE TABLE record_documents (
  id              INTEGER PRIMARY KEY,
  message_id      BIGINT NOT NULL,
  source_id       BIGINT NOT NULL,
  facility_id     TEXT   NOT NULL,
  item_key        TEXT   NOT NULL,             -- facility|setId, or facility|type|report/visit
  version         BIGINT NOT NULL,
  is_current      BIGINT NOT NULL,
  superseded_by   BIGINT NOT NULL DEFAULT 0,
  type_code       TEXT   NOT NULL,             -- C0001.., B0001.., '' unknown
  title           TEXT   NOT NULL,
  document_id     TEXT   NOT NULL,
  effective_ms    BIGINT NOT NULL,
  content         TEXT   NOT NULL,             -- CDA as received; '' generated on demand
  canonical       TEXT   NOT NULL,             -- canonical JSON (always)
  recorded_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX record_documents_item ON record_documents (item_key, version);
CREATE INDEX record_documents_person ON record_documents (source_id, is_current, effective_ms);

-- Every read of a person's data (append-only, for the auditors).
CREATE TABLE record_access (
  id          INTEGER PRIMARY KEY,
  at          BIGINT NOT NULL,
  actor       TEXT   NOT NULL,
  facility_id TEXT   NOT NULL,
  person_id   BIGINT NOT NULL,
  what        TEXT   NOT NULL,
  detail      TEXT   NOT NULL                  -- JSON
);
CREATE INDEX record_access_person ON record_access (person_id, id);
