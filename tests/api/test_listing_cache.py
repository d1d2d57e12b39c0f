"""``GET /events`` keeps its answers while the SQLite database does not change
(``api/listing_cache.py``): a listing after any commit, whoever made it, shows it; each
reader and each query string gets its own answer.

Every listing test of tests/api runs on SQLite too (test_visibility's readers one after the
other, test_pagination's pages, ...); these are the cases a cache could get wrong.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from eventsapi.api.listing_cache import MAX_ANSWERS, Answer, ListingCache
from eventsapi.domain.events import Event
from eventsapi.domain.visibility import ANONYMOUS, EVERYTHING
from eventsapi.settings import Settings
from eventsapi.storage.sqlite.store import SQLiteStore
from tests.api.asserts import send_json
from tests.support import START

SOON = (START + timedelta(days=7)).isoformat()


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the only backend with a snapshot (PostgreSQL and memory keep nothing)


def listed(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/events{query}")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


def titles(client: TestClient, query: str = "") -> list[str]:
    return [event["title"] for event in listed(client, query)]


def create(client: TestClient, event_id: str, **members: Any) -> None:
    body = {"id": event_id, "title": f"Event {event_id}", "starts_at": SOON, **members}
    response = send_json(client, "POST", "/events", body)
    assert response.status_code == 201, response.text


def test_every_write_shows_in_the_next_listing(client: TestClient) -> None:
    assert listed(client) == []
    create(client, "e1", capacity=1)
    assert titles(client) == ["Event e1"]
    assert titles(client) == ["Event e1"]  # kept, the same

    response = send_json(client, "PATCH", "/events/e1", {"title": "Renamed"})
    assert response.status_code == 200, response.text
    assert titles(client) == ["Renamed"]

    applicant = {"name": "Ada", "email": "ada@example.org"}
    response = send_json(client, "POST", "/events/e1/registrations", applicant)
    assert response.status_code == 201, response.text
    [event] = listed(client)
    assert (event["registered"], event["spots_left"]) == (1, 0)

    assert client.delete("/events/e1").status_code == 204
    assert listed(client) == []


def test_a_write_by_another_worker_shows_in_the_next_listing(
    client: TestClient, settings: Settings
) -> None:
    create(client, "e1")
    assert titles(client) == ["Event e1"]

    async def write_elsewhere() -> None:
        # Another worker's store on the same file: this process's writer never sees it.
        other = SQLiteStore(settings.database)
        await other.open()
        try:
            event = Event(
                id="e2", title="From elsewhere", created_at=START, updated_at=START, version=1
            )
            await other.create(event)
        finally:
            await other.close()

    asyncio.run(write_elsewhere())
    assert titles(client) == ["Event e1", "From elsewhere"]


def test_each_query_string_gets_its_own_answer(client: TestClient) -> None:
    for n in range(3):
        create(client, f"e{n}")
    assert len(listed(client, "?limit=1")) == 1
    assert len(listed(client, "?limit=2")) == 2
    assert len(listed(client)) == 3
    first = client.get("/events?limit=1")
    assert 'rel="next"' in first.headers["link"]
    assert first.headers["link"] == client.get("/events?limit=1").headers["link"]


def test_a_new_snapshot_forgets_every_answer() -> None:
    cache = ListingCache()
    answer = Answer(b"[]", ((b"sync-token", b"t"),))
    assert cache.get(1, (ANONYMOUS, b"")) is None
    cache.keep(1, (ANONYMOUS, b""), answer)
    assert cache.get(1, (ANONYMOUS, b"")) is answer
    assert cache.get(1, (EVERYTHING, b"")) is None
    assert cache.get(1, (ANONYMOUS, b"limit=5")) is None
    assert cache.get(2, (ANONYMOUS, b"")) is None
    assert cache.get(2, (ANONYMOUS, b"")) is None  # and snapshot 1's is gone
    assert cache.get(1, (ANONYMOUS, b"")) is None


def test_an_answer_made_before_a_newer_snapshot_is_not_kept() -> None:
    cache = ListingCache()
    cache.get(1, (ANONYMOUS, b""))
    cache.get(2, (ANONYMOUS, b"q=x"))  # another request saw a commit meanwhile
    cache.keep(1, (ANONYMOUS, b""), Answer(b"[]", ()))
    assert cache.get(2, (ANONYMOUS, b"")) is None


def test_the_cache_is_bounded() -> None:
    cache = ListingCache()
    cache.get(1, (ANONYMOUS, b""))
    for n in range(MAX_ANSWERS + 1):
        cache.keep(1, (ANONYMOUS, b"%d" % n), Answer(b"[]", ()))
    assert cache.get(1, (ANONYMOUS, b"0")) is None  # the oldest made room
    assert cache.get(1, (ANONYMOUS, b"%d" % MAX_ANSWERS)) is not None
    cache.keep(1, (ANONYMOUS, b"big"), Answer(b" " * (64 * 1024 + 1), ()))
    assert cache.get(1, (ANONYMOUS, b"big")) is None
