"""A synthetic fault trace replayed through the service: when each alert fires and resolves.

Requests go through the whole app (recorder, drill, store), a fake clock moves one minute at
a time, and the SLO engine is driven as its background loop would: flush the minute's counts,
then evaluate at the minute boundary. Expected times are computed by hand below from the
default policy (SRE Workbook table 5-8) and the 99.9 % availability target (budget 0.1 %).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.domain.sli import AlertTransition
from eventsapi.settings import Settings
from eventsapi.slo.drill import Drill
from eventsapi.slo.service import SLOService
from tests.support import FakeClock, make_store

PER_MINUTE = 100


@pytest.fixture
def client(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(database=str(tmp_path / "events.db"))
    app = create_app(settings, store=make_store("sqlite", tmp_path), clock=clock.now)
    with TestClient(app) as test_client:
        yield test_client


def replay(
    client: TestClient, clock: FakeClock, trace: list[tuple[int, float]]
) -> list[tuple[int, str, str]]:
    """Serve ``PER_MINUTE`` requests a minute with the drill's error ratio of each phase
    (``(minutes, ratio)``); return ``(minute, alert, state)`` for each transition, where
    minute counts from the start of the trace."""
    app = client.app
    slo: SLOService = app.state.slo  # type: ignore[attr-defined]
    now = clock.now()
    start = clock.advance(60 - now.second - now.microsecond / 1e6)  # on a whole minute
    seen: list[tuple[int, str, str]] = []
    minute = 0
    for minutes, ratio in trace:
        app.drill = Drill(ratio, 0.0, 1000) if ratio else None  # type: ignore[attr-defined]
        for _ in range(minutes):
            for _ in range(PER_MINUTE):
                status = client.get("/events/missing").status_code
                assert status in (404, 503)
            clock.advance(60)
            minute += 1
            client.portal.call(slo.flush)  # type: ignore[union-attr]
            transitions: list[AlertTransition] = client.portal.call(  # type: ignore[union-attr]
                slo.evaluate, clock.now()
            )
            for t in transitions:
                if t.slo == "availability":
                    assert t.at == start + timedelta(minutes=minute)
                    seen.append((minute, t.rule, "firing" if t.firing else "resolved"))
    return seen


def test_a_five_percent_outage_pages_and_resolves_as_table_5_8_says(
    client: TestClient, clock: FakeClock
) -> None:
    # 60 clean minutes, 30 minutes at 5 % errors (a burn rate of 50), then 40 clean ones.
    # k = bad minutes so far, t = 60 + k the evaluation minute; every window starts at 0.
    # - ticket-slow (3d & 6h >= 1x, 0.1 %):  5k / 100(60+k) >= 0.001 -> k >= 1.22 -> t = 62
    # - ticket-fast (1d & 2h >= 3x, 0.3 %):  5k >= 0.3(60+k)          -> k >= 3.83 -> t = 64
    # - page-slow (6h & 30m >= 6x, 0.6 %):   5k >= 0.6(60+k)          -> k >= 8.18 -> t = 69
    #   (its 30m window then holds 9 bad minutes of 30: 1.5 %, over too)
    # - page-fast (1h & 5m >= 14.4x, 1.44 %): the 1h window holds k bad minutes of 60:
    #   5k / 6000 >= 0.0144 -> k >= 17.28 -> t = 78 (5m window: 5 %)
    # Resolutions, errors stopping at t = 90 (bad minutes 60..89):
    # - page-fast: its 5m window [t-5, t) must fall under 1.44 %: 5b / 500 < 0.0144 -> b <= 1
    #   -> t - 5 >= 89 -> t = 94
    # - page-slow: its 30m window under 0.6 %: 5b / 3000 < 0.006 -> b <= 3 -> t - 30 >= 87
    #   -> t = 117
    # - ticket alerts: their short windows (2h, 6h) still hold the outage at t = 130.
    transitions = replay(client, clock, [(60, 0.0), (30, 0.05), (40, 0.0)])

    assert transitions == [
        (62, "ticket-slow", "firing"),
        (64, "ticket-fast", "firing"),
        (69, "page-slow", "firing"),
        (78, "page-fast", "firing"),
        (94, "page-fast", "resolved"),
        (117, "page-slow", "resolved"),
    ]
    status = client.get("/slo").json()
    availability = next(s for s in status["slos"] if s["name"] == "availability")
    assert availability["requests"] == {"total": 130 * PER_MINUTE, "bad": 30 * 5}
    firing = {a["name"] for a in availability["alerts"] if a["firing"]}
    assert firing == {"ticket-slow", "ticket-fast"}
    history = [(h["alert"], h["state"]) for h in status["history"]]
    assert history[0] == ("page-slow", "resolved")  # newest first
    assert len(history) == 6


def test_a_burst_at_night_does_not_page_under_the_traffic_guard(
    client: TestClient, clock: FakeClock
) -> None:
    # 50 requests in the hour, 10 % failing: a burn rate of 100, but the 1h window holds
    # fewer than the 100 requests the guard asks for, so nothing fires.
    app = client.app
    slo: SLOService = app.state.slo  # type: ignore[attr-defined]
    app.drill = Drill(0.1, 0.0, 1000)  # type: ignore[attr-defined]
    for _ in range(50):
        client.get("/events/missing")
    clock.advance(60)
    client.portal.call(slo.flush)  # type: ignore[union-attr]
    assert client.portal.call(slo.evaluate, clock.now()) == []  # type: ignore[union-attr]

    # The same ratio with enough traffic does page.
    for _ in range(100):
        client.get("/events/missing")
    clock.advance(60)
    client.portal.call(slo.flush)  # type: ignore[union-attr]
    fired = client.portal.call(slo.evaluate, clock.now())  # type: ignore[union-attr]
    assert {t.rule for t in fired if t.slo == "availability"} == {
        "page-fast", "page-slow", "ticket-fast", "ticket-slow",
    }  # fmt: skip
