-- Registrations (issue 16): who comes to an event, confirmed or waitlisted, in the order
-- they joined (`seq`). A waitlist position is not stored: it is counted from `seq`
-- (storage/registrations.py), so it is always 1..n. At most one active (not cancelled)
-- registration per event and e-mail address, compared case-insensitively (`email_key`,
-- the address case-folded by domain/registrations.py). `token_hash` is the SHA-256 of the
-- cancel token of a registrant without an account. No foreign key to events: an event in
-- the trash keeps its registrations, and they come back with it; a purge removes them.
CREATE TABLE registrations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    event_id   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    email_key  TEXT    NOT NULL,
    account    TEXT,
    token_hash TEXT,
    status     TEXT    NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX registrations_active ON registrations (event_id, email_key)
    WHERE status <> 'cancelled';
CREATE INDEX registrations_of_event ON registrations (event_id, status, seq);
CREATE INDEX registrations_of_account ON registrations (account, seq) WHERE account IS NOT NULL;

-- The event's counts, beside its document and not in it: a registration changes neither
-- the document nor the version (an owner's If-Match edit must not fail because someone
-- registered). The write that registers updates them in its transaction.
ALTER TABLE events ADD COLUMN registered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN waitlisted INTEGER NOT NULL DEFAULT 0;
