-- Querying: an index for every sort order (each ends with the id, the tie-break),
-- tags in their own table, full-text search with FTS5; and idempotency keys.

-- The sort key of starts_at: events with no start sort after every instant ('~'
-- is after every digit), as they do on PostgreSQL (NULLS LAST).
ALTER TABLE events ADD COLUMN starts_key TEXT
    GENERATED ALWAYS AS (coalesce(starts_at, '~')) VIRTUAL;
-- Copies of the members that the tag table and the text index are built from
-- (the text index reads its columns from this table), written with each row.
ALTER TABLE events ADD COLUMN description TEXT;
ALTER TABLE events ADD COLUMN location TEXT;
ALTER TABLE events ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
UPDATE events SET
    description = json_extract(CAST(doc AS TEXT), '$.description'),
    location = json_extract(CAST(doc AS TEXT), '$.location'),
    tags = json_extract(CAST(doc AS TEXT), '$.tags');

CREATE INDEX events_by_starts ON events (starts_key, id);
CREATE INDEX events_by_status_starts ON events (status, starts_key, id);
CREATE INDEX events_by_status ON events (status, seq);
CREATE INDEX events_by_created ON events (created_at, id);
CREATE INDEX events_by_updated ON events (updated_at, id);
CREATE INDEX events_by_title ON events (title, id);

CREATE TABLE event_tags (
    seq INTEGER NOT NULL,
    tag TEXT    NOT NULL,
    PRIMARY KEY (seq, tag)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_tags_by_tag ON event_tags (tag, seq);

-- External content: the index reads title, description and location from events.
CREATE VIRTUAL TABLE events_fts USING fts5(
    title, description, location,
    content = 'events', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The tag table and the text index are kept by the write jobs, in the same
-- transaction as the event (storage/sqlite_rows.py), not by triggers: triggers
-- made each insert several times dearer.

-- Events that exist already.
INSERT INTO event_tags (seq, tag)
    SELECT events.seq, tag.value FROM events, json_each(events.tags) AS tag;
INSERT INTO events_fts (events_fts) VALUES ('rebuild');

-- Idempotency keys: the saved response of each keyed write, stored in the
-- write's own transaction.
CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    status      INTEGER NOT NULL,
    headers     TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
