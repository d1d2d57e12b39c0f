-- The trash (issue 16): a deleted event's row moves here in the delete's transaction
-- (storage/postgres/trash.py), so the events table, its indexes and every listing query
-- stay as they were. `doc` is the event's JSON as it was deleted; `owner` its account
-- (NULL: created anonymously), for the owner's listing; `deleted_at` for the listing's
-- order and retention (trash_retention_days).
CREATE TABLE trash (
    id         text COLLATE "C" PRIMARY KEY,
    owner      text COLLATE "C",
    version    bigint NOT NULL,
    doc        bytea NOT NULL,
    deleted_at timestamptz NOT NULL,
    deleted_by text COLLATE "C"
);
CREATE INDEX trash_by_time ON trash (deleted_at, id);
CREATE INDEX trash_by_owner ON trash (owner, deleted_at, id);
