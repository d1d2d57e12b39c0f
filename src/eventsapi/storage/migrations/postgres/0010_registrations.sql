-- Registrations (issue 16): who comes to an event, confirmed or waitlisted, in the order
-- they joined (`seq`). A waitlist position is not stored: it is counted from `seq`
-- (storage/registrations.py), so it is always 1..n. Every write for an event's
-- registrations holds the event's row lock (SELECT ... FOR UPDATE), so `seq`s of one event
-- are taken in the order its registrations commit. At most one active registration per
-- event and e-mail address, compared case-insensitively (`email_key`). No foreign key to
-- events: an event in the trash keeps its registrations; a purge removes them.
CREATE TABLE registrations (
    seq        bigserial PRIMARY KEY,
    id         text COLLATE "C" NOT NULL UNIQUE,
    event_id   text COLLATE "C" NOT NULL,
    name       text NOT NULL,
    email      text NOT NULL,
    email_key  text COLLATE "C" NOT NULL,
    account    text COLLATE "C",
    token_hash text,
    status     text NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    created_at text NOT NULL,
    updated_at text NOT NULL
);
CREATE UNIQUE INDEX registrations_active ON registrations (event_id, email_key)
    WHERE status <> 'cancelled';
CREATE INDEX registrations_of_event ON registrations (event_id, status, seq);
CREATE INDEX registrations_of_account ON registrations (account, seq) WHERE account IS NOT NULL;

-- The event's counts, beside its document and not in it (see the SQLite migration).
ALTER TABLE events ADD COLUMN registered bigint NOT NULL DEFAULT 0,
                   ADD COLUMN waitlisted bigint NOT NULL DEFAULT 0;
