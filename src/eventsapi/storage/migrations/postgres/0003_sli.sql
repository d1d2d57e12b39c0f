-- Service level indicators (issue 5): requests per minute, route template and method,
-- added up by every worker and replica (EventStore.record_sli upserts that add), and the
-- alert transitions they led to. Texts compare by code point (COLLATE "C"), as on SQLite.

-- `minute` is whole minutes since 1970-01-01T00:00Z (slo.records.epoch_minute). `within_B`
-- counts the requests answered within B ms: one column per bound of
-- slo.records.LATENCY_BOUNDS_MS, in that order (tests/contract/test_sli_store.py checks it).
CREATE TABLE sli_minutes (
    minute       integer NOT NULL,
    route        text COLLATE "C" NOT NULL,
    method       text COLLATE "C" NOT NULL,
    total        bigint NOT NULL,
    errors       bigint NOT NULL,
    within_5     bigint NOT NULL,
    within_10    bigint NOT NULL,
    within_25    bigint NOT NULL,
    within_50    bigint NOT NULL,
    within_100   bigint NOT NULL,
    within_200   bigint NOT NULL,
    within_250   bigint NOT NULL,
    within_300   bigint NOT NULL,
    within_400   bigint NOT NULL,
    within_500   bigint NOT NULL,
    within_750   bigint NOT NULL,
    within_1000  bigint NOT NULL,
    within_2000  bigint NOT NULL,
    within_2500  bigint NOT NULL,
    within_5000  bigint NOT NULL,
    within_10000 bigint NOT NULL,
    PRIMARY KEY (minute, route, method)
);

-- An alert rule of an SLO starting (firing) or stopping to fire, stored once per
-- (slo, rule, at) by whichever replica evaluated that minute first; `at` is an epoch minute.
-- Burn rates are double precision, as SQLite's REAL: they read back as they were written.
CREATE TABLE slo_alert_transitions (
    slo             text COLLATE "C" NOT NULL,
    rule            text COLLATE "C" NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('page', 'ticket')),
    at              integer NOT NULL,
    firing          boolean NOT NULL,
    long_burn_rate  double precision,
    short_burn_rate double precision,
    PRIMARY KEY (slo, rule, at)
);
CREATE INDEX slo_alert_transitions_by_at ON slo_alert_transitions (at);
