"""Conditional requests (RFC 9110 §13): ETag, If-Match, If-None-Match, 304, 412, 428."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.api.asserts import MERGE_PATCH_HEADERS, assert_problem, create, get, send_json
from tests.support import FakeClock


def etag_of(client: TestClient, event_id: str) -> str:
    response = client.get(f"/events/{event_id}")
    assert response.status_code == 200
    tag: str = response.headers["etag"]
    return tag


def patch(client: TestClient, event_id: str, document: object, **headers: str) -> object:
    return send_json(
        client, "PATCH", f"/events/{event_id}", document, {**MERGE_PATCH_HEADERS, **headers}
    )


def test_every_event_response_carries_the_same_strong_etag(client: TestClient) -> None:
    created = send_json(client, "POST", "/events", {"id": "e1", "title": "Launch"})
    fetched = client.get("/events/e1")
    head = client.head("/events/e1")

    tag = created.headers["etag"]
    # strong (no W/): the version, a 64-bit digest of the JSON, then the counts, as
    # docs/http.md shows
    assert re.fullmatch(r'"1-[0-9a-f]{16}\.0\.0"', tag), tag
    assert fetched.headers["etag"] == head.headers["etag"] == tag


def test_the_etag_changes_with_every_change_and_only_then(client: TestClient) -> None:
    create(client, id="e1")
    first = etag_of(client, "e1")

    same = patch(client, "e1", {"title": "Launch"})  # no change: same version
    changed = patch(client, "e1", {"title": "Relaunch"})

    assert same.headers["etag"] == first  # type: ignore[attr-defined]
    assert changed.headers["etag"] != first  # type: ignore[attr-defined]
    assert changed.headers["etag"].startswith('"2-')  # type: ignore[attr-defined]
    assert etag_of(client, "e1") == changed.headers["etag"]  # type: ignore[attr-defined]


def test_a_recreated_event_does_not_reuse_the_old_etag(
    client: TestClient, clock: FakeClock
) -> None:
    create(client, id="e1", title="First")
    old = etag_of(client, "e1")
    assert client.delete("/events/e1").status_code == 204
    assert client.delete("/trash/e1").status_code == 204  # purged: the id is free again
    clock.advance(1)
    create(client, id="e1", title="Second")

    response = client.get("/events/e1", headers={"If-None-Match": old})

    assert response.status_code == 200, "version 1 again, but another event: no 304"
    assert response.json()["title"] == "Second"


def test_if_none_match_on_get_is_304_without_a_body_while_unchanged(client: TestClient) -> None:
    create(client, id="e1")
    tag = etag_of(client, "e1")

    unchanged = client.get("/events/e1", headers={"If-None-Match": tag})
    listed = client.get("/events/e1", headers={"If-None-Match": f'"other", {tag}'})
    weak = client.get("/events/e1", headers={"If-None-Match": f"W/{tag}"})
    star = client.get("/events/e1", headers={"If-None-Match": "*"})
    patch(client, "e1", {"title": "Changed"})
    changed = client.get("/events/e1", headers={"If-None-Match": tag})

    for response in (unchanged, listed, weak, star):
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == tag
    assert changed.status_code == 200
    assert changed.json()["title"] == "Changed"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_match_with_a_stale_etag_is_412_and_changes_nothing(
    client: TestClient, method: str
) -> None:
    create(client, id="e1", title="Original")
    stale = etag_of(client, "e1")
    patch(client, "e1", {"title": "Newer"})
    before = get(client, "e1")

    response = client.request(
        method,
        "/events/e1",
        content=msgspec.json.encode({"title": "Mine"}) if method != "DELETE" else None,
        headers={"If-Match": stale, "Content-Type": "application/json"},
    )

    problem = assert_problem(response, 412)
    assert problem["type"] == "/problems/precondition-failed"
    assert problem["detail"] == (
        "If-Match does not hold: the event has changed since you read it. Nothing was changed."
    )
    assert get(client, "e1") == before


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_match_with_the_current_etag_or_star_goes_ahead(client: TestClient, method: str) -> None:
    for index, condition in enumerate(("current", "*")):
        event_id = f"e{index}"
        create(client, id=event_id)
        # "*" stands alone (RFC 9110 §13.1.1); a list may hold other tags.
        tag = f'"nope", {etag_of(client, event_id)}' if condition == "current" else "*"
        response = client.request(
            method,
            f"/events/{event_id}",
            content=msgspec.json.encode({"title": "Mine"}) if method != "DELETE" else None,
            headers={"If-Match": tag, "Content-Type": "application/json"},
        )
        assert response.status_code == (204 if method == "DELETE" else 200), response.text


def test_if_match_compares_strongly_so_a_weak_tag_never_matches(client: TestClient) -> None:
    create(client, id="e1")
    tag = etag_of(client, "e1")

    response = patch(client, "e1", {"title": "x"}, **{"If-Match": f"W/{tag}"})

    assert_problem(response, 412)  # type: ignore[arg-type]


def test_put_with_if_none_match_star_only_creates(client: TestClient) -> None:
    first = send_json(client, "PUT", "/events/e1", {"title": "A"}, {"If-None-Match": "*"})
    second = send_json(client, "PUT", "/events/e1", {"title": "B"}, {"If-None-Match": "*"})

    assert first.status_code == 201
    assert_problem(second, 412)
    assert get(client, "e1")["title"] == "A"


def test_put_with_if_match_on_a_missing_event_is_412_and_creates_nothing(
    client: TestClient,
) -> None:
    response = send_json(client, "PUT", "/events/ghost", {"title": "A"}, {"If-Match": "*"})

    assert assert_problem(response, 412)["detail"] == (
        "If-Match does not hold: there is no such event. Nothing was changed."
    )
    assert client.get("/events/ghost").status_code == 404


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("weak", [False, True])
def test_if_none_match_on_a_write_compares_weakly_and_fails_on_the_current_version(
    client: TestClient, method: str, weak: bool
) -> None:
    """RFC 9110 §13.1.2: If-None-Match uses the weak comparison, on writes too."""
    create(client, id="e1")
    before = get(client, "e1")
    tag = etag_of(client, "e1")

    for value, detail in [
        (f"W/{tag}" if weak else tag, "the event exists in that version."),
        ("*", "the event exists."),
    ]:
        response = client.request(
            method,
            "/events/e1",
            content=msgspec.json.encode({"title": "Mine"}) if method != "DELETE" else None,
            headers={"If-None-Match": value, "Content-Type": "application/json"},
        )
        assert assert_problem(response, 412)["detail"] == (
            f"If-None-Match does not hold: {detail} Nothing was changed."
        )
        assert get(client, "e1") == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_missing_event_is_404_whatever_the_preconditions(client: TestClient, method: str) -> None:
    # RFC 9110 §13.2.1: preconditions are ignored when the answer would be 404 anyway.
    response = client.request(
        method, "/events/ghost", content=b"{}", headers={"If-Match": '"1-abc"'}
    )

    assert_problem(response, 404)


MALFORMED = (
    '{} must be "*" or a list of entity tags such as "3-1a2b", as the ETag header gives them.'
)


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("1-abc", MALFORMED),
        ('"unterminated', MALFORMED),
        ('"a" "b"', MALFORMED),
        ('W/"a",,', MALFORMED),
        ("", "{} is empty."),
        ('"a", nope', MALFORMED),
    ],
)
@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
def test_a_malformed_precondition_is_400(
    client: TestClient, value: str, detail: str, header: str
) -> None:
    create(client, id="e1")

    response = patch(client, "e1", {"title": "x"}, **{header: value})

    problem = assert_problem(response, 400)  # type: ignore[arg-type]
    assert problem["detail"] == detail.format(header)
    assert get(client, "e1")["title"] == "Launch"


@pytest.fixture
def strict_client(tmp_path: Path, store: Backend, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(database=str(tmp_path / "events.db"), require_preconditions=True)
    with TestClient(create_app(settings, store=store, clock=clock.now)) as test_client:
        yield test_client


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_with_required_preconditions_an_unconditional_write_is_428(
    strict_client: TestClient, method: str
) -> None:
    create(strict_client, id="e1")

    response = strict_client.request(
        method,
        "/events/e1",
        content=b'{"title": "x"}',
        headers={"Content-Type": "application/json"},
    )

    problem = assert_problem(response, 428)
    assert problem["type"] == "/problems/precondition-required"
    assert problem["detail"] == (
        "This service requires If-Match on every PUT, PATCH and DELETE "
        "(or If-None-Match: * to create with PUT). GET the event for its ETag."
    )
    assert get(strict_client, "e1")["title"] == "Launch"


def test_with_required_preconditions_conditional_writes_and_creates_work(
    strict_client: TestClient,
) -> None:
    created = send_json(strict_client, "PUT", "/events/e1", {"title": "A"}, {"If-None-Match": "*"})
    posted = send_json(strict_client, "POST", "/events", {"title": "Posts need none"})
    updated = send_json(
        strict_client, "PATCH", "/events/e1", {"title": "B"}, {"If-Match": created.headers["etag"]}
    )
    deleted = strict_client.delete("/events/e1", headers={"If-Match": updated.headers["etag"]})

    assert (created.status_code, posted.status_code) == (201, 201)
    assert (updated.status_code, deleted.status_code) == (200, 204)
