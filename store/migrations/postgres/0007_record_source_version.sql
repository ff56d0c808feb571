-- 0007: the sender's version of a shared-record row (issue 6,
-- store/record_store.h): a received CDA's versionNumber, on every row the
-- document adds; 0 when the message has none (arrival order decides). A row
-- whose source_version is below its item's current row's (an older CDA
-- version arriving after a newer one) is kept as history, not current.
ALTER TABLE record_lab_results ADD COLUMN source_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE record_encounters ADD COLUMN source_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE record_diagnoses ADD COLUMN source_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE record_documents ADD COLUMN source_version BIGINT NOT NULL DEFAULT 0;
