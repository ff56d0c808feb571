-- 0006: the unmapped-code register (issue 4, engine/terminology_service.h):
-- every code that arrived and could not be translated, per (source system,
-- code, sending facility, target system), with how often, when first and
-- last seen (epoch milliseconds), the first display text and one sample
-- message id. Written by the hub about once a second from the counts it
-- gathered in memory (additive upserts: count = count + the new occurrences),
-- read back at start. Not partitioned, not subject to retention: at most one
-- row per distinct code (the register is bounded in memory).
CREATE TABLE terminology_unmapped (
  system            TEXT   NOT NULL,         -- source system as received (local:F, HL7 0001)
  code              TEXT   NOT NULL,
  facility          TEXT   NOT NULL,         -- sending facility
  target_system     TEXT   NOT NULL,         -- what the hub tried to translate to ('' none)
  display           TEXT   NOT NULL,         -- first non-empty text seen with the code
  count             BIGINT NOT NULL,
  first_seen        BIGINT NOT NULL,
  last_seen         BIGINT NOT NULL,
  sample_message_id TEXT   NOT NULL,         -- the first message that carried it
  PRIMARY KEY (system, code, facility, target_system)
);
