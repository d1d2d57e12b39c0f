-- Webhooks (issue 15): endpoints, the messages queued for each (the durable outbox), and
-- every attempt to deliver one. Written and read by storage/webhooks.py, as on PostgreSQL.
-- Instants are UTC ISO 8601 text (they sort in time order).
--
-- `cursor`: the change-log position up to which changes are queued as messages for the
-- endpoint; it moves in the transaction that queues them, so a crash queues a change twice
-- at worst (never: the unique position per endpoint), and never loses one.
-- `secret` and `previous_secret` are kept to sign with (they must be recoverable); no
-- answer of the service shows them after they are made.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    types           TEXT NOT NULL,
    description     TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    secret          TEXT NOT NULL,
    previous_secret TEXT,
    previous_until  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    cursor          INTEGER NOT NULL,
    disabled_reason TEXT
) STRICT;

-- `lease_owner`/`lease_until`: the worker that claimed the message for an attempt, until
-- when; no other worker claims it before then.
CREATE TABLE webhook_messages (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    position        INTEGER,
    type            TEXT NOT NULL,
    body            BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    step            INTEGER NOT NULL,
    next_attempt_at TEXT,
    lease_owner     TEXT,
    lease_until     TEXT,
    UNIQUE (endpoint_id, position)
) STRICT;
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    id              TEXT PRIMARY KEY,
    message_id      TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    at              TEXT NOT NULL,
    status_code     INTEGER,
    duration_ms     INTEGER NOT NULL,
    error           TEXT,
    next_attempt_at TEXT,
    UNIQUE (message_id, number)
) STRICT;
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
