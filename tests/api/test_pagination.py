"""GET /events: a JSON array in creation order, a page at a time, with Link rel="next"."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.api.asserts import assert_problem, create, next_link, send_json


def seed(client: TestClient, count: int) -> list[str]:
    """``count`` events created through the API; their ids in creation order."""
    return [create(client, id=f"ev-{n:03d}", title=f"Event {n}")["id"] for n in range(count)]


def walk(client: TestClient, first_url: str) -> list[list[str]]:
    """The ids on each page, following next links from ``first_url``."""
    pages: list[list[str]] = []
    url: str | None = first_url
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.text
        pages.append([e["id"] for e in response.json()])
        url = next_link(response)
        assert len(pages) < 100, "the next links do not end"
    return pages


def test_the_default_page_is_50_events_and_links_to_the_rest(client: TestClient) -> None:
    ids = seed(client, 51)

    first = client.get("/events")

    assert first.status_code == 200
    assert [e["id"] for e in first.json()] == ids[:50]
    link = next_link(first)
    assert link is not None
    rest = client.get(link)
    assert [e["id"] for e in rest.json()] == ids[50:]
    assert next_link(rest) is None


def test_exactly_one_full_page_has_no_next_link(client: TestClient) -> None:
    seed(client, 50)

    response = client.get("/events")

    assert len(response.json()) == 50
    assert "link" not in response.headers


@pytest.mark.parametrize("limit", [1, 7, 50, 500])
def test_following_next_links_visits_every_event_exactly_once(
    client: TestClient, limit: int
) -> None:
    ids = seed(client, 23)

    pages = walk(client, f"/events?limit={limit}")

    assert [i for page in pages for i in page] == ids
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages) == -(-23 // limit)


def test_the_next_link_keeps_the_limit_and_carries_an_opaque_cursor(client: TestClient) -> None:
    seed(client, 3)

    link = next_link(client.get("/events?limit=2"))

    assert link is not None
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert parts.path == "/events"
    assert query["limit"] == ["2"]
    assert len(query["cursor"]) == 1
    assert "ev-" not in query["cursor"][0]


def test_a_replaced_event_keeps_its_place_in_the_list(client: TestClient) -> None:
    ids = seed(client, 3)
    send_json(client, "PUT", f"/events/{ids[0]}", {"title": "Replaced"})
    send_json(client, "PATCH", f"/events/{ids[1]}", {"title": "Patched"})

    events = client.get("/events").json()

    assert [(e["id"], e["title"]) for e in events] == [
        (ids[0], "Replaced"),
        (ids[1], "Patched"),
        (ids[2], "Event 2"),
    ]


def test_limit_500_is_allowed(client: TestClient) -> None:
    ids = seed(client, 3)

    response = client.get("/events?limit=500")

    assert response.status_code == 200
    assert [e["id"] for e in response.json()] == ids


@pytest.mark.parametrize(
    "limit", ["501", "0", "-1", "abc", "1.5", "", "1e2", " 5", "\u0665", "9" * 5000]
)
def test_a_limit_out_of_range_or_not_a_whole_number_is_400_naming_limit(
    client: TestClient, limit: str
) -> None:
    problem = assert_problem(client.get("/events", params={"limit": limit}), 400)

    assert problem["parameter"] == "limit"


def test_a_tampered_cursor_is_400_naming_cursor(client: TestClient) -> None:
    seed(client, 3)
    link = next_link(client.get("/events?limit=1"))
    assert link is not None
    cursor = parse_qs(urlsplit(link).query)["cursor"][0]
    tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")

    for bad in (tampered, "bogus", cursor + "x"):
        problem = assert_problem(client.get("/events", params={"cursor": bad}), 400)
        assert problem["parameter"] == "cursor"


def test_a_cursor_from_another_database_is_400(
    client: TestClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from eventsapi.app import create_app
    from eventsapi.settings import Settings
    from eventsapi.storage.memory import MemoryStore

    seed(client, 3)
    other_dir = tmp_path_factory.mktemp("other")
    other = create_app(Settings(database=str(other_dir / "x.db")), store=MemoryStore())
    with TestClient(other) as other_client:
        seed(other_client, 3)
        foreign = next_link(other_client.get("/events?limit=1"))
    assert foreign is not None

    problem = assert_problem(client.get(foreign), 400)

    assert problem["parameter"] == "cursor"


@pytest.mark.parametrize("query", ["sort=colour", "page=2", "Limit=5", "offset=10"])
def test_unknown_query_parameters_are_400_naming_them(client: TestClient, query: str) -> None:
    problem = assert_problem(client.get(f"/events?{query}"), 400)

    assert problem["parameter"] == query.split("=")[0]
