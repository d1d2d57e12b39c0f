-- The trash (issue 16): a deleted event's row moves here in the delete's transaction
-- (storage/sqlite/trash.py), so the events table, its indexes and every listing query stay
-- as they were. `doc` is the event's JSON as it was deleted; `owner` its account (NULL:
-- created anonymously), for the owner's listing; `deleted_at` UTC ISO 8601 text, for the
-- listing's order and retention (trash_retention_days).
CREATE TABLE trash (
    id         TEXT    PRIMARY KEY,
    owner      TEXT,
    version    INTEGER NOT NULL,
    doc        BLOB    NOT NULL,
    deleted_at TEXT    NOT NULL,
    deleted_by TEXT
) STRICT;
CREATE INDEX trash_by_time ON trash (deleted_at, id);
CREATE INDEX trash_by_owner ON trash (owner, deleted_at, id);
