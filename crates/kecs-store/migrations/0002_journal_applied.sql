-- The last journal group DuckDB holds: at open, every later group is applied again.
CREATE TABLE journal_applied (seq BIGINT NOT NULL);
INSERT INTO journal_applied VALUES (0);
