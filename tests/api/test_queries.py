"""``GET /events`` querying over HTTP: filters, sort, search, links, cursors, counts.

The order and filter rules themselves are the storage contract
(``tests/contract/test_event_queries.py``); this checks the HTTP surface.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.asserts import assert_problem, create, page_links

EVENTS = [
    {"id": "a", "title": "Go meetup", "starts_at": "2030-03-04T18:00:00Z", "tags": ["go"]},
    {"id": "b", "title": "Rust night", "starts_at": "2030-03-02T18:00:00+01:00", "tags": ["rust"]},
    {
        "id": "c",
        "title": "Go conference",
        "starts_at": "2030-03-03T09:00:00Z",
        "tags": ["go", "conf"],
        "status": "cancelled",
        "description": "Talks about the router",
    },
    {"id": "d", "title": "Open idea", "tags": ["go", "conf"], "location": "Café Rouge"},
]


@pytest.fixture
def calendar(client: TestClient) -> TestClient:
    for event in EVENTS:
        create(client, **event)
    return client


def ids(client: TestClient, query: str) -> list[str]:
    response = client.get(f"/events?{query}")
    assert response.status_code == 200, response.text
    return [event["id"] for event in response.json()]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["a", "b", "c", "d"]),
        ("sort=starts_at", ["b", "c", "a", "d"]),
        ("sort=-starts_at", ["d", "a", "c", "b"]),
        ("sort=title", ["c", "a", "d", "b"]),
        ("status=cancelled", ["c"]),
        ("tag=go", ["a", "c", "d"]),
        ("tag=go&tag=conf", ["c", "d"]),
        ("starts_after=2030-03-03T09:00:00Z", ["a", "c"]),
        ("starts_before=2030-03-03T09:00:00Z", ["b"]),
        ("starts_after=2030-03-03T00:00:00%2B02:00&starts_before=2030-03-05T00:00:00Z", ["a", "c"]),
        ("q=router", ["c"]),
        ("q=CAFE", ["d"]),
        ("q=go", ["a", "c"]),
        ("q=go&status=scheduled", ["a"]),
        ("tag=go&sort=-starts_at&status=scheduled", ["d", "a"]),
    ],
)
def test_filters_and_sorts(calendar: TestClient, query: str, expected: list[str]) -> None:
    found = ids(calendar, query)

    if query.startswith("q=go"):
        assert sorted(found) == expected  # ranked: order depends on the backend's scores
    else:
        assert found == expected


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("starts_after=tomorrow", "starts_after"),
        ("starts_after=2030-03-03T09:00:00", "starts_after"),  # no offset
        ("starts_before=2030-13-03T09:00:00Z", "starts_before"),
        ("status=postponed", "status"),
        ("sort=price", "sort"),
        ("sort=starts_at&sort=title", "sort"),
        ("q=", "q"),
        ("q=" + "x" * 201, "q"),
        ("tag=", "tag"),
        ("tag=%20padded", "tag"),
        ("tag=" + "t" * 65, "tag"),
        ("&".join(["tag=same"] * 21), "tag"),
        ("count=estimate", "count"),
        ("limit=0", "limit"),
        ("limit=5&limit=6", "limit"),
        ("colour=red", "colour"),
    ],
)
def test_an_invalid_parameter_is_a_400_naming_it(
    calendar: TestClient, query: str, parameter: str
) -> None:
    problem = assert_problem(calendar.get(f"/events?{query}"), 400)

    assert problem["parameter"] == parameter


def test_a_search_without_a_word_finds_nothing(calendar: TestClient) -> None:
    response = calendar.get("/events?q=%21%21%21&count=exact")

    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["x-total-count"] == "0"


def test_count_exact_gives_x_total_count(calendar: TestClient) -> None:
    counted = calendar.get("/events?tag=go&limit=1&count=exact")
    plain = calendar.get("/events?tag=go&limit=1")

    assert counted.headers["x-total-count"] == "3"
    assert len(counted.json()) == 1
    assert "x-total-count" not in plain.headers


def walk(client: TestClient, url: str) -> tuple[list[list[str]], list[list[str]]]:
    """Follow ``next`` links to the end, then ``prev`` links back to the start."""
    forward: list[list[str]] = []
    response: Any = None
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        forward.append([e["id"] for e in response.json()])
        next_url = page_links(response).get("next")
    backward = [forward[-1]]
    prev_url = page_links(response).get("prev")
    while prev_url is not None:
        response = client.get(prev_url)
        backward.insert(0, [e["id"] for e in response.json()])
        prev_url = page_links(response).get("prev")
    return forward, backward


@pytest.mark.parametrize(
    "query", ["limit=1", "limit=2&sort=starts_at", "limit=1&tag=go&sort=-starts_at", "limit=1&q=go"]
)
def test_next_and_prev_links_keep_the_query_and_cover_every_event(
    calendar: TestClient, query: str
) -> None:
    everything = ids(calendar, query.replace("limit=1", "limit=50").replace("limit=2", "limit=50"))

    forward, backward = walk(calendar, f"/events?{query}")

    assert [i for page in forward for i in page] == everything
    assert backward == forward
    first = calendar.get(f"/events?{query}")
    assert "prev" not in page_links(first), "the first page has no previous page"


def test_a_cursor_reused_with_other_filters_or_sort_is_400(calendar: TestClient) -> None:
    first = calendar.get("/events?limit=1&tag=go")
    cursor = page_links(first)["next"].split("cursor=")[1]

    for other in ("tag=rust", "tag=go&status=scheduled", "tag=go&sort=title", ""):
        response = calendar.get(f"/events?limit=1&{other}&cursor={cursor}")
        assert assert_problem(response, 400)["parameter"] == "cursor"
    same_with_another_limit = calendar.get(f"/events?limit=3&tag=go&cursor={cursor}")
    assert same_with_another_limit.status_code == 200


def test_a_tampered_cursor_is_400(calendar: TestClient) -> None:
    cursor = page_links(calendar.get("/events?limit=1"))["next"].split("cursor=")[1]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")

    assert (
        assert_problem(calendar.get(f"/events?limit=1&cursor={tampered}"), 400)["parameter"]
        == "cursor"
    )
