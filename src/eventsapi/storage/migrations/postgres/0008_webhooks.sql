-- Webhooks (issue 15): endpoints, the messages queued for each (the durable outbox), and
-- every attempt to deliver one. Written and read by storage/webhooks.py, as on SQLite.
--
-- `cursor`: the change-log position up to which changes are queued as messages for the
-- endpoint; it moves in the transaction that queues them (a compare-and-set, so two
-- replicas never queue one change twice), so a crash never loses one.
-- `secret` and `previous_secret` are kept to sign with (they must be recoverable); no
-- answer of the service shows them after they are made.
CREATE TABLE webhook_endpoints (
    id              text COLLATE "C" PRIMARY KEY,
    url             text NOT NULL,
    types           text NOT NULL,
    description     text NOT NULL,
    enabled         boolean NOT NULL,
    secret          text NOT NULL,
    previous_secret text,
    previous_until  timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    cursor          bigint NOT NULL,
    disabled_reason text
);

-- `lease_owner`/`lease_until`: the worker that claimed the message for an attempt
-- (SELECT ... FOR UPDATE SKIP LOCKED), until when; no other worker claims it before then.
CREATE TABLE webhook_messages (
    id              text COLLATE "C" PRIMARY KEY,
    endpoint_id     text COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    position        bigint,
    type            text NOT NULL,
    body            bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL,
    step            integer NOT NULL,
    next_attempt_at timestamptz,
    lease_owner     text,
    lease_until     timestamptz,
    UNIQUE (endpoint_id, position)
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    id              text COLLATE "C" PRIMARY KEY,
    message_id      text COLLATE "C" NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id     text COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    number          integer NOT NULL,
    at              timestamptz NOT NULL,
    status_code     integer,
    duration_ms     integer NOT NULL,
    error           text,
    next_attempt_at timestamptz,
    UNIQUE (message_id, number)
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
