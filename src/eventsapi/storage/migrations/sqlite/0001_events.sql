-- Events in creation order. `doc` is the event as the API returns it (JSON);
-- the other columns are copies of its members that queries filter and sort on.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    version    INTEGER NOT NULL,
    title      TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    starts_at  TEXT,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    doc        BLOB    NOT NULL
) STRICT;

-- Per-database facts, such as the key that signs pagination cursors, so that
-- every replica and worker on this database agrees on them.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

INSERT INTO meta (key, value) VALUES ('instance_key', lower(hex(randomblob(32))));
