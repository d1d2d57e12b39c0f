-- Failed logins of usernames that have no account (issue 6), counted as `users` counts an
-- account's (`failed_logins`, `last_failed_login_at`): a login for an unknown name then does
-- the same database work as one with a wrong password, and its throttle holds on every
-- replica. Written and read by storage/account_tables.py. A row whose last failure is older
-- than the service forgets (auth/throttle.py: a year) counts as none and is deleted by the
-- next failure of any name.
CREATE TABLE unknown_logins (
    name           TEXT    PRIMARY KEY,
    failures       INTEGER NOT NULL,
    last_failed_at TEXT    NOT NULL
) STRICT;
CREATE INDEX unknown_logins_by_time ON unknown_logins (last_failed_at);
