-- Service level indicators (issue 5): requests per minute, route template and method,
-- added up by every worker and replica (EventStore.record_sli upserts that add), and the
-- alert transitions they led to.

-- `minute` is whole minutes since 1970-01-01T00:00Z (slo.records.epoch_minute). `within_B`
-- counts the requests answered within B ms: one column per bound of
-- slo.records.LATENCY_BOUNDS_MS, in that order (tests/contract/test_sli_store.py checks it).
CREATE TABLE sli_minutes (
    minute       INTEGER NOT NULL,
    route        TEXT    NOT NULL,
    method       TEXT    NOT NULL,
    total        INTEGER NOT NULL,
    errors       INTEGER NOT NULL,
    within_5     INTEGER NOT NULL,
    within_10    INTEGER NOT NULL,
    within_25    INTEGER NOT NULL,
    within_50    INTEGER NOT NULL,
    within_100   INTEGER NOT NULL,
    within_200   INTEGER NOT NULL,
    within_250   INTEGER NOT NULL,
    within_300   INTEGER NOT NULL,
    within_400   INTEGER NOT NULL,
    within_500   INTEGER NOT NULL,
    within_750   INTEGER NOT NULL,
    within_1000  INTEGER NOT NULL,
    within_2000  INTEGER NOT NULL,
    within_2500  INTEGER NOT NULL,
    within_5000  INTEGER NOT NULL,
    within_10000 INTEGER NOT NULL,
    PRIMARY KEY (minute, route, method)
) STRICT, WITHOUT ROWID;

-- An alert rule of an SLO starting (firing = 1) or stopping to fire, stored once per
-- (slo, rule, at) by whichever replica evaluated that minute first; `at` is an epoch minute.
CREATE TABLE slo_alert_transitions (
    slo             TEXT    NOT NULL,
    rule            TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('page', 'ticket')),
    at              INTEGER NOT NULL,
    firing          INTEGER NOT NULL CHECK (firing IN (0, 1)),
    long_burn_rate  REAL,
    short_burn_rate REAL,
    PRIMARY KEY (slo, rule, at)
) STRICT, WITHOUT ROWID;
CREATE INDEX slo_alert_transitions_by_at ON slo_alert_transitions (at);
