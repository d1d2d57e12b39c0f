-- The change log (issue 15): one record per change to an event, appended by the write in
-- its own transaction (storage/sqlite/changes.py). SQLite has one writer at a time, and a
-- write holds the lock from its first statement to its commit, so positions are handed
-- out in commit order; AUTOINCREMENT never hands out a position again, even after the
-- records before it are pruned (sqlite_sequence keeps the greatest one given).
-- `document` is the event's JSON as the API serves it after the change (NULL for a
-- delete); `at` is UTC ISO 8601 text; `actor` the acting user's id (NULL: the operator
-- or an anonymous client).
CREATE TABLE changes (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    type     TEXT    NOT NULL,
    event_id TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    at       TEXT    NOT NULL,
    document BLOB,
    actor    TEXT
) STRICT;
CREATE INDEX changes_by_time ON changes (at);

-- The greatest position pruned so far: a sync token before it is expired (410), even
-- when every record has been pruned.
INSERT INTO meta (key, value) VALUES ('changes_pruned_through', '0');
