-- 0002: the redo log's high-water mark. Each batch of the durable mode sets
-- seq in the transaction that holds its writes, so after a crash the redo
-- records with a larger seq are the ones to replay (store/sqlite/redo_log.h).
CREATE TABLE redo_state (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT INTO redo_state (id, seq) VALUES (1, 0);
