-- 0003: retention (config `retention:`). How far a finished content pass
-- got: raw bodies of messages received before done_before are blanked
-- already (except those held back for a QUEUED delivery, which keep the
-- mark at or below their time), so the next pass starts there.
CREATE TABLE retention_state (
  kind        TEXT    PRIMARY KEY,
  done_before INTEGER NOT NULL
) WITHOUT ROWID;
