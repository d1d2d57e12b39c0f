-- Events in creation order (seq). `doc` is the event exactly as the API returns
-- it: the bytes msgspec encoded, kept as bytea (jsonb would reorder members, and
-- ETags are a digest of these bytes). The other columns are copies of its
-- members that queries filter and sort on, as the same text SQLite keeps, so a
-- page position means the same on both backends: instants are UTC ISO 8601 text
-- (domain.query.utc_text) and every text compares by code point (COLLATE "C").
CREATE TABLE events (
    seq        bigserial PRIMARY KEY,
    id         text COLLATE "C" NOT NULL UNIQUE,
    version    bigint NOT NULL,
    title      text COLLATE "C" NOT NULL,
    status     text COLLATE "C" NOT NULL,
    -- starts_at as UTC text, or '~' (domain.query.NO_START) when the event has no
    -- start: '~' sorts after every instant.
    starts_key text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    updated_at text COLLATE "C" NOT NULL,
    doc        bytea NOT NULL
);

-- Per-database facts, such as the key that signs pagination cursors, so that
-- every replica and worker on this database agrees on them.
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- 32 random bytes as hex; gen_random_uuid() is built in (PostgreSQL 13+) and
-- draws from the server's strong random source. Each UUID carries 122 random bits.
INSERT INTO meta (key, value)
    VALUES ('instance_key', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
