"""Assertions and small helpers shared by the API tests."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import msgspec
from starlette.testclient import TestClient

PROBLEM_JSON = "application/problem+json"
JSON_HEADERS = {"Content-Type": "application/json"}
MERGE_PATCH_HEADERS = {"Content-Type": "application/merge-patch+json"}

_LINK_VALUE = re.compile(r'<(/[^>]*)>; rel="(next|prev)"')
_INTERNALS = ("Traceback", 'File "', "site-packages", "eventsapi/", ".py", "Error(")


def assert_problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status``; returns its members."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    for member in ("type", "title", "status", "detail"):
        assert isinstance(problem.get(member), str if member != "status" else int), member
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    for marker in _INTERNALS:
        assert marker not in response.text, f"{marker!r} leaks internals: {response.text}"
    return problem


def send_json(
    client: TestClient,
    method: str,
    url: str,
    document: Any,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """``document`` as the body of a request, as ``curl -d`` would send it."""
    return client.request(
        method, url, content=msgspec.json.encode(document), headers=headers or JSON_HEADERS
    )


def create(client: TestClient, **members: Any) -> dict[str, Any]:
    """POST /events with a valid title unless given; returns the created event."""
    document: dict[str, Any] = {"title": "Launch"}
    document.update(members)
    response = send_json(client, "POST", "/events", document)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def get(client: TestClient, event_id: str) -> dict[str, Any]:
    response = client.get(f"/events/{event_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def all_events(client: TestClient) -> list[dict[str, Any]]:
    """Every event, following ``Link: rel="next"`` from the first page."""
    events: list[dict[str, Any]] = []
    url: str | None = "/events?limit=500"
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.text
        events += response.json()
        url = next_link(response)
    return events


def page_links(response: httpx2.Response) -> dict[str, str]:
    """The ``Link`` header's URLs by relation (RFC 8288), checking its syntax."""
    link = response.headers.get("link")
    if link is None:
        return {}
    found: dict[str, str] = {}
    for value in link.split(", "):
        match = _LINK_VALUE.fullmatch(value)
        assert match is not None, f"not an RFC 8288 link: {value!r} in {link!r}"
        assert match[2] not in found, f"relation {match[2]!r} twice in {link!r}"
        found[match[2]] = match[1]
    return found


def next_link(response: httpx2.Response) -> str | None:
    """The URL of the ``rel="next"`` link, or ``None`` if there is none."""
    return page_links(response).get("next")
