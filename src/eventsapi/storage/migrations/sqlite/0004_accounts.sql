-- Accounts (issue 6): users, their sessions and API tokens, and the audit log.
-- Rows are written and read by storage/account_tables.py. Instants are UTC ISO 8601 text
-- (domain.query.utc_text), which sorts in time order. No secret is kept in the clear but the
-- TOTP secret (see domain/accounts.py): passwords and recovery codes are PHC strings, session
-- and API tokens their SHA-256.

-- `username` is compared as given (BINARY): the application normalizes it before.
-- `recovery_codes` is a JSON array of PHC strings.
CREATE TABLE users (
    id                  TEXT    PRIMARY KEY,
    username            TEXT    NOT NULL UNIQUE,
    role                TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    password_changed_at TEXT    NOT NULL,
    failed_logins       INTEGER NOT NULL,
    last_failed_login_at TEXT,
    locked              INTEGER NOT NULL CHECK (locked IN (0, 1)),
    totp_secret         TEXT,
    totp_enabled        INTEGER NOT NULL CHECK (totp_enabled IN (0, 1)),
    totp_last_step      INTEGER,
    recovery_codes      TEXT    NOT NULL
) STRICT;

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id),
    token_hash     BLOB NOT NULL UNIQUE,
    created_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    client_address TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    revoked_at     TEXT
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

-- `scopes`: the scope names, sorted, separated by spaces.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- Security events, appended and never changed: the triggers below refuse UPDATE and DELETE
-- from any connection. `id` is a ULID (sorts by time): a user's entries are read newest
-- first from the (user_id, id) index. `user_id` is NULL for an event that names no account,
-- and has no foreign key: the log keeps what happened, whatever becomes of the account.
-- `detail` is a JSON object.
CREATE TABLE audit_log (
    id             TEXT PRIMARY KEY,
    at             TEXT NOT NULL,
    kind           TEXT NOT NULL,
    user_id        TEXT,
    client_address TEXT NOT NULL,
    detail         TEXT NOT NULL CHECK (json_valid(detail))
) STRICT;
CREATE INDEX audit_log_by_user ON audit_log (user_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused');
END;
