"""Item 9 of issue 13: one client's expensive listings must not stall everyone else.

Four addresses loop the dearest listing a client can ask for (a search that matches every
event, two tags that seldom meet, sorted by title, counted exactly, 500 a page) on 100,000
events, while a fifth address reads one event about 15 times a second. On the service as
it was, the listings ran on the event loop and the one-event read waited behind them
(hundreds of milliseconds). Now the probe must stay fast, and each listing either answers
or ends with the 503 ``query-too-expensive`` problem, never another 5xx; and
``count=exact`` stops at its ceiling instead of counting 100,000 matches. (On PostgreSQL
the listings never ran on the event loop: there the count ceiling, the time budget and
``max_listings`` are what bound them.)
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.security.public import request_from
from tests.security.support_queries import EXPENSIVE_LISTING, WORD, attack, server_with_events

pytestmark = pytest.mark.slow

EVENTS = 100_000
PROBE_P99_BOUND = 0.1
"""Seconds: generous for a read that takes well under a millisecond on an idle server, as
other tests load the machine's two cores meanwhile (the probe alone: 11 to 23 ms p99 at a
load average of 12); behind the listings on the event loop it waited hundreds of ms."""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_expensive_listings_do_not_stall_a_one_event_read(tmp_path: Path, backend: str) -> None:
    began = time.monotonic()
    with server_with_events(tmp_path, EVENTS, backend=backend) as server:
        built = time.monotonic() - began
        status, _, body = request_from("127.0.0.9", server.port, "GET", "/events/ev00000001")
        assert status == 200, body
        # Counting every match is what made the listing dear: the count stops at its ceiling.
        status, fields, body = request_from(
            "127.0.0.8", server.port, "GET", f"/events?q={WORD}&count=exact&limit=1"
        )
        assert status == 200, body
        assert fields.get("x-total-count-above") == "10000", fields
        assert "x-total-count" not in fields
        attacked, probed = attack(
            server.port,
            attackers=[f"127.0.0.{n}" for n in range(2, 6)],
            probe_source="127.0.0.9",
            probe_path="/events/ev00000001",
            seconds=10,
            probe_pause=0.06,
        )
        log = server.log()

    summary = (
        f"{backend}: built in {built:.0f} s; probe {len(probed.latencies)} requests, "
        f"p50 {probed.quantile(0.5) * 1000:.1f} ms, p99 {probed.quantile(0.99) * 1000:.1f} ms;"
        f" listings {attacked.statuses}, p50 {attacked.quantile(0.5) * 1000:.0f} ms"
    )
    print(summary)
    assert len(attacked.latencies) >= 4, summary
    assert set(attacked.statuses) <= {200, 503}, summary
    for problem in map(json.loads, attacked.bodies):
        assert problem["type"] == "/problems/query-too-expensive", problem
    assert "Traceback" not in log
    assert probed.statuses == {200: len(probed.latencies)}, summary
    assert len(probed.latencies) >= 50, summary
    assert probed.quantile(0.99) < PROBE_P99_BOUND, summary


def test_one_address_may_run_only_a_few_listings_at_once(tmp_path: Path) -> None:
    with server_with_events(tmp_path, 20_000) as server:
        attacked, _ = attack(
            server.port,
            attackers=["127.0.0.2"] * 6,
            probe_source="127.0.0.9",
            probe_path="/healthz",
            seconds=3,
        )
        status, _, _ = request_from("127.0.0.3", server.port, "GET", EXPENSIVE_LISTING)

    assert attacked.statuses.get(429, 0) > 0, attacked.statuses
    assert set(attacked.statuses) <= {200, 429, 503}, attacked.statuses
    assert status in (200, 503)
