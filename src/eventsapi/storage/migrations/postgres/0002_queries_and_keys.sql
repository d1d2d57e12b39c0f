-- Querying: an index for every sort order (each ends with the id, the tie-break),
-- tags as an array with a GIN index, full-text search with a tsvector and a GIN
-- index; and idempotency keys. (0001 and 0002 were released together, so no
-- database holds events written before these columns: nothing to fill in.)

-- Tags: the `tag` filter asks for events whose tags contain every one given (@>).
ALTER TABLE events ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
-- Full-text search. The application writes it from the words of the title (A),
-- location (B) and description (D) as domain.query.words() finds them (case and
-- accents folded), so that PostgreSQL finds what the other backends find.
ALTER TABLE events ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector;

CREATE INDEX events_by_starts ON events (starts_key, id);
CREATE INDEX events_by_status_starts ON events (status, starts_key, id);
CREATE INDEX events_by_status ON events (status, seq);
CREATE INDEX events_by_created ON events (created_at, id);
CREATE INDEX events_by_updated ON events (updated_at, id);
CREATE INDEX events_by_title ON events (title, id);
CREATE INDEX events_by_tags ON events USING gin (tags);
CREATE INDEX events_by_search ON events USING gin (search);

-- Idempotency keys: the saved response of each keyed write, stored in the
-- write's own transaction.
CREATE TABLE idempotency_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,
    status      integer NOT NULL,
    headers     text NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
