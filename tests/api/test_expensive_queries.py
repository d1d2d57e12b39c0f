"""``GET /events`` bounds what one listing and one client may cost (issue 13, item 9).

``count=exact`` counts up to ``max_exact_count`` and says when there are more; a listing
past ``query_timeout_ms`` is a 503 ``query-too-expensive``; and a client may have only
``max_listings_per_client`` listings running at once. Each runs on every backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.domain.query import EventQuery
from eventsapi.errors import QueryTooExpensive
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from eventsapi.storage.events import Page
from tests.api.asserts import assert_problem, create
from tests.support import FakeClock


@pytest.fixture
def counting(settings: Settings, store: Backend, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(
        msgspec.structs.replace(settings, max_exact_count=3), store=store, clock=clock.now
    )
    with TestClient(app) as client:
        for n in range(5):
            create(client, title=f"Go night {n}", tags=["go"] if n < 3 else ["rust"])
        yield client


@pytest.mark.parametrize(
    ("query", "total"),
    [("tag=go", "3"), ("tag=rust", "2"), ("q=night&tag=rust", "2"), ("tag=kids", "0")],
)
def test_a_count_up_to_the_ceiling_is_exact(counting: TestClient, query: str, total: str) -> None:
    response = counting.get(f"/events?{query}&count=exact&limit=1")

    assert response.status_code == 200
    assert response.headers["x-total-count"] == total
    assert "x-total-count-above" not in response.headers


@pytest.mark.parametrize("query", ["", "q=night", "q=go&sort=title"])
def test_a_count_past_the_ceiling_says_more_than_the_ceiling(
    counting: TestClient, query: str
) -> None:
    response = counting.get(f"/events?{query}&count=exact&limit=2")

    assert response.status_code == 200
    assert response.headers["x-total-count-above"] == "3"
    assert "x-total-count" not in response.headers
    assert len(response.json()) == 2


class _Stalled:
    """A store whose listings wait until released, or fail as over their budget."""

    def __init__(self, store: Backend, *, fail: bool = False) -> None:
        self.store = store
        self.fail = fail
        self.release = asyncio.Event()
        self.running = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def list_page(self, query: EventQuery) -> Page:
        if self.fail:
            raise QueryTooExpensive("This query took longer than its time budget (10 ms).")
        self.running += 1
        try:
            await self.release.wait()
            return await self.store.list_page(query)
        finally:
            self.running -= 1


def test_a_listing_over_its_budget_is_a_503_that_says_so(
    settings: Settings, store: Backend, clock: FakeClock
) -> None:
    stalled: Any = _Stalled(store, fail=True)
    with TestClient(create_app(settings, store=stalled, clock=clock.now)) as client:
        response = client.get("/events?q=night&count=exact")

    problem = assert_problem(response, 503)
    assert problem["type"] == "/problems/query-too-expensive"
    assert response.headers["retry-after"] == "1"
    assert "budget" in problem["detail"]


def test_a_client_may_run_only_so_many_listings_at_once(
    settings: Settings, store: Backend, clock: FakeClock
) -> None:
    stalled: Any = _Stalled(store)
    app = create_app(
        msgspec.structs.replace(settings, max_listings_per_client=2), store=stalled, clock=clock.now
    )
    with TestClient(app) as client:
        portal = client.portal
        assert portal is not None
        running = [portal.start_task_soon(_get, app, "/events", "203.0.113.7") for _ in range(2)]
        while portal.call(lambda: _running(stalled)) < 2:
            pass
        refused = portal.call(_get, app, "/events", "203.0.113.7")
        other = portal.start_task_soon(_get, app, "/events", "203.0.113.8")
        while portal.call(lambda: _running(stalled)) < 3:
            pass
        portal.call(lambda: _release(stalled))
        answered = [future.result(timeout=10) for future in [*running, other]]
        after = portal.call(_get, app, "/events", "203.0.113.7")

    assert refused[0] == 429
    assert refused[1]["type"] == "/problems/too-many-requests"
    assert refused[2][b"retry-after"] == b"1"
    assert [status for status, _, _ in answered] == [200, 200, 200]
    assert after[0] == 200
    assert len(app.state.events_api.listings) == 0


async def _running(stalled: _Stalled) -> int:
    return stalled.running


async def _release(stalled: _Stalled) -> None:
    stalled.release.set()


async def _get(app: Any, path: str, client: str) -> tuple[int, Any, dict[bytes, bytes]]:
    """``GET path`` through the ASGI app from the address ``client``."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": (client, 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], msgspec.json.decode(body), dict(start["headers"])
