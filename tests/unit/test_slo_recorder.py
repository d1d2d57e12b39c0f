"""The recorder's counts, the rows it gives the store, and /metrics' exposition of them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from eventsapi.domain.sli import LATENCY_BOUNDS_MS, SLIRow
from eventsapi.slo.drill import Drill
from eventsapi.slo.prometheus import PrometheusExport
from eventsapi.slo.recorder import Recorder, sli_rows

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp()
ERRORS = frozenset(range(500, 600))


def test_rows_add_up_per_minute_route_and_method() -> None:
    now = [T0 + 5]
    recorder = Recorder(wall=lambda: now[0])
    recorder.record("/events/{id}", "GET", 200, 0.004)
    recorder.record("/events/{id}", "GET", 404, 0.3)  # exactly a bound: within it
    recorder.record("/events/{id}", "GET", 503, 0.301)
    recorder.record("/events", "POST", 201, 20.0)  # slower than every bound
    now[0] = T0 + 60  # the next minute
    recorder.record("/events/{id}", "GET", 500, 0.01)

    rows = sli_rows(recorder.drain().items(), ERRORS)

    bound = LATENCY_BOUNDS_MS.index
    minute = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    get, post, later = (
        next(r for r in rows if (r.route, r.minute.minute) == (route, m))
        for route, m in (("/events/{id}", 0), ("/events", 0), ("/events/{id}", 1))
    )
    assert get == SLIRow(
        minute,
        "/events/{id}",
        "GET",
        total=3,
        errors=1,
        within=tuple(
            (1 if b >= 5 else 0) + (1 if b >= 300 else 0) + (1 if b >= 400 else 0)
            for b in LATENCY_BOUNDS_MS
        ),
    )
    assert get.within[bound(250)] == 1
    assert get.within[bound(300)] == 2
    assert post.total == 1
    assert post.errors == 0
    assert post.within == (0,) * len(LATENCY_BOUNDS_MS)
    assert later.total == 1
    assert later.errors == 1
    assert later.within[bound(10)] == 1
    assert len(rows) == 3
    assert recorder.drain() == {}  # drained: starts again from zero


def test_error_statuses_are_the_configured_ones() -> None:
    recorder = Recorder(wall=lambda: T0)
    for status in (200, 429, 500, 503):
        recorder.record("/events", "GET", status, 0.001)
    counted = list(recorder.drain().items())
    assert sli_rows(counted, ERRORS)[0].errors == 2
    assert sli_rows(counted, ERRORS | {429})[0].errors == 3
    assert sli_rows(counted, frozenset({503}))[0].errors == 1


DURATIONS = [0.0001, 0.005, 0.0051, 0.049, 0.3, 0.31, 0.999, 1.0, 7.5, 12.0, 0.25, 0.25]


def test_metrics_exposition_equals_observing_one_by_one() -> None:
    """The batched add (private prometheus_client fields) matches the public observe()."""
    recorder = Recorder(wall=lambda: T0)
    statuses = [200, 200, 404, 500, 201, 200, 200, 503, 200, 200, 200, 200]
    for seconds, status in zip(DURATIONS, statuses, strict=True):
        recorder.record("/events/{id}", "GET", status, seconds)
    export = PrometheusExport()
    export.add(recorder.drain())

    registry = CollectorRegistry()
    requests = Counter(
        "eventsapi_http_requests",
        "HTTP requests answered, by route template, method and status code.",
        ["route", "method", "code"],
        registry=registry,
    )
    duration = Histogram(
        "eventsapi_http_request_duration_seconds",
        "Time from a request's arrival to its response, by route template and method.",
        ["route", "method"],
        buckets=[b / 1000 for b in LATENCY_BOUNDS_MS],
        registry=registry,
    )
    for seconds, status in zip(DURATIONS, statuses, strict=True):
        requests.labels("/events/{id}", "GET", str(status)).inc()
        duration.labels("/events/{id}", "GET").observe(seconds)

    def samples(text: bytes) -> list[str]:
        # _created timestamps differ by construction time; everything else must match.
        # (The password hash counter is not fed by the recorder: it has a test of its own.)
        return [
            line
            for line in text.decode().splitlines()
            if "_created" not in line and "eventsapi_password_hashes" not in line
        ]

    assert samples(export.exposition()) == samples(generate_latest(registry))
    bucket = 'eventsapi_http_request_duration_seconds_bucket{le="0.3",method="GET"'
    assert bucket + ',route="/events/{id}"} 7.0' in export.exposition().decode()


def test_drill_selects_exactly_the_share_asked() -> None:
    drill = Drill(error_ratio=0.05, slow_ratio=0.0, slow_ms=1000)
    chosen = [drill.fails() for _ in range(1000)]
    assert sum(chosen) == 50
    assert chosen.index(True) == 19  # every 20th request, not a random draw
    assert sum(chosen[:200]) == 10
    assert sum(chosen[500:700]) == 10
    assert not any(drill.delays() for _ in range(100))
    assert drill.active


def test_drill_off_changes_nothing() -> None:
    drill = Drill(0.0, 0.0, 1000)
    assert not drill.active
    assert not any(drill.fails() or drill.delays() for _ in range(1000))


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_drill_refuses_ratios_outside_zero_and_one(ratio: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        Drill(ratio, 0.0, 1000)
