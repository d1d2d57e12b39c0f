-- The login attempts of each client address (issue 13): the per-address budget of
-- auth/throttle.py (20 failed logins per 5 minutes), kept in the database so that every
-- worker and replica spends one budget, and reserved before a password is checked.
-- `attempts` is a JSON array of the latest attempts' times (UTC ISO 8601 text, at most the
-- budget); `latest_at` the last of them. Written and read by storage/account_tables.py; a
-- row whose latest attempt left the window is deleted by the next attempt of any client.
CREATE TABLE client_logins (
    client    TEXT PRIMARY KEY,
    attempts  TEXT NOT NULL,
    latest_at TEXT NOT NULL
) STRICT;
CREATE INDEX client_logins_by_time ON client_logins (latest_at);
