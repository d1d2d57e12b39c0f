"""The cache buster (issue 19): jQuery (``cache: false``), proxies and monitoring tools add
``_=<timestamp>`` to a GET. Every route that refuses unknown query parameters accepts
``_`` (once or more) and ignores it, and still refuses any other unknown name.
"""

# The people fixtures are test_event_authorization's, imported by name (pytest finds them so).
# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from tests.api.asserts import assert_problem, next_link
from tests.api.test_event_authorization import (  # noqa: F401 - fixtures
    People,
    accounts,
    people,
    send,
    settings,
)
from tests.support import START

# Each route that checks its query parameters, with one it knows.
CHECKED = [
    "/events?limit=5",
    "/events.ics?status=scheduled",
    "/changes?since={since}",
    "/sla?period=2025-01",
    "/trash?limit=5",
    "/auth/audit?limit=5",
    "/me/registrations?limit=5",
    "/events/e1/registrations?limit=5",
]


@pytest.fixture
def backend() -> str:
    return "memory"  # query parsing is the API's, the same on every backend


@pytest.fixture
def with_event(client: TestClient, people: People) -> People:
    body = {"id": "e1", "title": "Launch", "starts_at": (START + timedelta(days=7)).isoformat()}
    response = send(client, "POST", "/events", body, headers=people.root.headers)
    assert response.status_code == 201, response.text
    return people


@pytest.mark.parametrize("url", CHECKED)
def test_underscore_is_accepted_and_ignored_where_unknown_names_are_refused(
    client: TestClient, with_event: People, url: str
) -> None:
    headers = with_event.root.headers
    url = url.format(since=client.get("/events", headers=headers).headers["sync-token"])
    plain = client.get(url, headers=headers)
    assert plain.status_code == 200, plain.text

    busted = client.get(f"{url}&_=1714000000000", headers=headers)
    twice = client.get(f"{url}&_=1&_=2", headers=headers)
    empty = client.get(f"{url}&_", headers=headers)
    unknown = client.get(f"{url}&__=1", headers=headers)

    for response in (busted, twice, empty):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == plain.headers["content-type"]
    assert assert_problem(unknown, 400)["parameter"] == "__"


def test_a_listings_links_do_not_repeat_the_cache_buster(
    client: TestClient, with_event: People
) -> None:
    headers = with_event.root.headers
    for n in range(3):
        body = {"id": f"more-{n}", "title": "More"}
        assert send(client, "POST", "/events", body, headers=headers).status_code == 201

    link = next_link(client.get("/events?limit=2&_=111", headers=headers))

    assert link is not None
    assert "_=" not in link
    assert "limit=2" in link
    assert client.get(f"{link}&_=222", headers=headers).status_code == 200
