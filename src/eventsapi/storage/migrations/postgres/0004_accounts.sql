-- Accounts (issue 6): users, their sessions and API tokens, and the audit log.
-- Rows are written and read by storage/account_tables.py, as on SQLite. Texts that identify
-- or order compare by code point (COLLATE "C"), as on SQLite. No secret is kept in the clear
-- but the TOTP secret (see domain/accounts.py): passwords and recovery codes are PHC strings,
-- session and API tokens their SHA-256.

-- `username` is compared as given: the application normalizes it before.
-- `recovery_codes` is a JSON array of PHC strings (text, as on SQLite).
CREATE TABLE users (
    id                  text COLLATE "C" PRIMARY KEY,
    username            text COLLATE "C" NOT NULL UNIQUE,
    role                text NOT NULL,
    password_hash       text NOT NULL,
    created_at          timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL,
    failed_logins       integer NOT NULL,
    last_failed_login_at timestamptz,
    locked              boolean NOT NULL,
    totp_secret         text,
    totp_enabled        boolean NOT NULL,
    totp_last_step      bigint,
    recovery_codes      text NOT NULL
);

CREATE TABLE sessions (
    id             text COLLATE "C" PRIMARY KEY,
    user_id        text COLLATE "C" NOT NULL REFERENCES users (id),
    token_hash     bytea NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    client_address text NOT NULL,
    user_agent     text NOT NULL,
    revoked_at     timestamptz
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- `scopes`: the scope names, sorted, separated by spaces.
CREATE TABLE api_tokens (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES users (id),
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    scopes       text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- Security events, appended and never changed: the trigger below refuses UPDATE, DELETE and
-- TRUNCATE from any connection. `id` is a ULID (sorts by time): a user's entries are read
-- newest first from the (user_id, id) index. `user_id` is NULL for an event that names no
-- account, and has no foreign key: the log keeps what happened, whatever becomes of the
-- account.
CREATE TABLE audit_log (
    id             text COLLATE "C" PRIMARY KEY,
    at             timestamptz NOT NULL,
    kind           text NOT NULL,
    user_id        text COLLATE "C",
    client_address text NOT NULL,
    detail         jsonb NOT NULL
);
CREATE INDEX audit_log_by_user ON audit_log (user_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
END
$$;

-- Per statement, so that even a statement that would change no row is refused.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
