-- The change log (issue 15): one record per change to an event, appended by the write in
-- its own transaction (storage/postgres/changes.py). `document` is the event's JSON as
-- the API serves it after the change (NULL for a delete); `actor` the acting user's id
-- (NULL: the operator or an anonymous client).
--
-- A write inserts its record with no position: `id` (a sequence) only says in which order
-- records were inserted. Readers give positions (changes.py, "sequencing"): one at a time,
-- to records already committed, in `id` order, each run's numbers after every earlier
-- run's. A sequence's numbers alone would not do: they are handed out before commit, so a
-- record with a smaller number could become visible after one with a larger number, and a
-- reader that had moved past the larger one would skip it.
--
-- `id` must keep the sequence's default CACHE 1: with a cache, two sessions' numbers
-- would not follow the order they were taken in, and two writes to one event (the second
-- waits for the first's commit) could be sequenced in the wrong order.
CREATE TABLE changes (
    id       bigserial PRIMARY KEY,
    position bigint UNIQUE,
    type     text COLLATE "C" NOT NULL,
    event_id text COLLATE "C" NOT NULL,
    version  bigint NOT NULL,
    at       timestamptz NOT NULL,
    document bytea,
    actor    text COLLATE "C"
);
CREATE INDEX changes_by_time ON changes (at);
-- The records waiting for a position: what the sequencing looks for, in order.
CREATE INDEX changes_unpositioned ON changes (id) WHERE position IS NULL;

-- One row: the greatest position given so far, kept by the sequencing only (so it stays
-- when pruning removes every record).
CREATE TABLE change_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position bigint NOT NULL
);
INSERT INTO change_counter (position) VALUES (0);

-- The greatest position pruned so far: a sync token before it is expired (410), even
-- when every record has been pruned.
INSERT INTO meta (key, value) VALUES ('changes_pruned_through', '0');
