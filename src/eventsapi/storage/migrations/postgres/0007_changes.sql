-- The change log (issue 15): one record per change to an event, appended by the write in
-- its own transaction (storage/postgres/changes.py). `document` is the event's JSON as
-- the API serves it after the change (NULL for a delete); `actor` the acting user's id
-- (NULL: the operator or an anonymous client).
--
-- Positions come from change_counter, not from a sequence: a sequence hands out numbers
-- before commit, so a record with a smaller number could become visible after one with a
-- larger number, and a reader that had moved past the larger one would skip it. Each
-- write takes the next number by updating the counter's one row as its last statement;
-- the row stays locked until the write commits or rolls back, so numbers are handed out
-- in commit order, and a rolled-back write gives its number back (no gaps).
CREATE TABLE changes (
    position bigint PRIMARY KEY,
    type     text COLLATE "C" NOT NULL,
    event_id text COLLATE "C" NOT NULL,
    version  bigint NOT NULL,
    at       timestamptz NOT NULL,
    document bytea,
    actor    text COLLATE "C"
);
CREATE INDEX changes_by_time ON changes (at);

-- One row: the greatest position handed out (and committed: the row is updated in the
-- write's transaction).
CREATE TABLE change_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position bigint NOT NULL
);
INSERT INTO change_counter (position) VALUES (0);

-- The greatest position pruned so far: a sync token before it is expired (410), even
-- when every record has been pruned.
INSERT INTO meta (key, value) VALUES ('changes_pruned_through', '0');
