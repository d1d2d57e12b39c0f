"""The events resource: create, read, replace, patch, delete, versions, and failed writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from eventsapi.domain.ids import new_event_id
from tests.api.asserts import (
    MERGE_PATCH_HEADERS,
    all_events,
    assert_problem,
    create,
    get,
    send_json,
)
from tests.support import START, FakeClock

FULL: dict[str, Any] = {
    "title": "Launch",
    "description": "All hands",
    "starts_at": "2025-06-01T18:00:00+02:00",
    "ends_at": "2025-06-01T20:00:00+02:00",
    "timezone": "Europe/Berlin",
    "location": "Main hall",
    "tags": ["product", "party"],
    "capacity": 120,
    "status": "scheduled",
}
MEMBERS = {
    *FULL,
    "id",
    "created_at",
    "updated_at",
    "version",
    "registered",
    "waitlisted",
    "spots_left",
}


def instant(text: str) -> datetime:
    """An RFC 3339 time from a response, parsed (the digits shown may vary)."""
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None, f"{text!r} has no offset"
    return parsed


def test_post_without_id_gets_a_server_ulid(client: TestClient) -> None:
    response = send_json(client, "POST", "/events", FULL)

    assert response.status_code == 201
    event = response.json()
    assert len(event["id"]) == 26
    assert event["id"][:10] == new_event_id(START)[:10], "the ULID's time part is the clock's"
    assert response.headers["location"] == f"/events/{event['id']}"
    assert get(client, event["id"]) == event


def test_post_returns_every_member_in_snake_case(client: TestClient) -> None:
    event = send_json(client, "POST", "/events", FULL).json()

    assert set(event) == MEMBERS
    assert event["version"] == 1
    assert instant(event["created_at"]) == instant(event["updated_at"]) == START
    for key in FULL.keys() - {"starts_at", "ends_at"}:
        assert event[key] == FULL[key]
    assert event["starts_at"].endswith("+02:00"), "the offset the client gave is kept"
    assert instant(event["starts_at"]) == instant(FULL["starts_at"])
    assert instant(event["ends_at"]) == instant(FULL["ends_at"])


def test_post_fills_optional_members_with_defaults(client: TestClient) -> None:
    event = create(client, id="min")

    assert {k: event[k] for k in MEMBERS - {"created_at", "updated_at"}} == {
        "id": "min",
        "title": "Launch",
        "description": None,
        "starts_at": None,
        "ends_at": None,
        "timezone": None,
        "location": None,
        "tags": [],
        "capacity": None,
        "status": "scheduled",
        "version": 1,
        "registered": 0,
        "waitlisted": 0,
        "spots_left": None,
    }


def test_post_ignores_server_owned_members(client: TestClient) -> None:
    event = create(client, version=99, created_at="1999-01-01T00:00:00Z", updated_at="x")

    assert event["version"] == 1
    assert instant(event["created_at"]) == instant(event["updated_at"]) == START


@pytest.mark.parametrize("path", ["/events", "/event"])
def test_post_with_an_existing_id_is_409_and_changes_nothing(client: TestClient, path: str) -> None:
    original = create(client, id="taken", title="Original")

    response = send_json(client, "POST", path, {"ID": "taken", "Title": "Intruder"})

    assert_problem(response, 409)
    assert all_events(client) == [original]


def test_put_creates_with_201_and_location_then_replaces_with_200(
    client: TestClient, clock: FakeClock
) -> None:
    created = send_json(client, "PUT", "/events/put-1", FULL)
    assert created.status_code == 201
    assert created.headers["location"] == "/events/put-1"
    assert created.json()["version"] == 1

    clock.advance(60)
    replaced = send_json(client, "PUT", "/events/put-1", {"title": "Replaced"})

    assert replaced.status_code == 200
    assert "location" not in replaced.headers
    event = replaced.json()
    assert event["version"] == 2
    assert event["title"] == "Replaced"
    assert event["description"] is None, "PUT replaces: members not sent are cleared"
    assert event["tags"] == []
    assert event["created_at"] == created.json()["created_at"]
    assert instant(event["updated_at"]) == START + timedelta(seconds=60)
    assert get(client, "put-1") == event


def test_put_of_a_fetched_event_as_it_is_changes_nothing(
    client: TestClient, clock: FakeClock
) -> None:
    event = send_json(client, "PUT", "/events/same", FULL).json()
    clock.advance(60)

    again = send_json(client, "PUT", "/events/same", event)

    assert again.status_code == 200
    assert again.json() == event
    assert get(client, "same") == event


def test_put_with_an_id_in_the_body_that_differs_from_the_url_is_422(
    client: TestClient,
) -> None:
    original = create(client, id="mine")

    for body in ({"id": "other", "title": "x"}, {"ID": "other", "title": "x"}):
        problem = assert_problem(send_json(client, "PUT", "/events/mine", body), 422)
        assert [e["pointer"] for e in problem["errors"]] == ["#/id"]
    assert_problem(send_json(client, "PUT", "/events/fresh", {"id": "x", "title": "x"}), 422)

    assert all_events(client) == [original]


def test_put_with_the_same_id_in_the_body_is_fine(client: TestClient) -> None:
    response = send_json(client, "PUT", "/events/mine", {"id": "mine", "title": "x"})

    assert response.status_code == 201


def test_version_goes_up_by_one_per_change(client: TestClient, clock: FakeClock) -> None:
    event = create(client, id="v")
    versions = [event["version"]]
    for n in range(3):
        clock.advance()
        versions.append(send_json(client, "PATCH", "/events/v", {"capacity": n}).json()["version"])
    clock.advance()
    versions.append(send_json(client, "PUT", "/events/v", {"title": "Put"}).json()["version"])

    assert versions == [1, 2, 3, 4, 5]
    assert get(client, "v")["version"] == 5


def test_patch_changes_only_what_it_names(client: TestClient, clock: FakeClock) -> None:
    event = send_json(client, "POST", "/events", FULL).json()
    clock.advance(1)

    response = send_json(
        client, "PATCH", f"/events/{event['id']}", {"location": "Roof"}, MERGE_PATCH_HEADERS
    )

    assert response.status_code == 200
    patched = response.json()
    assert instant(patched["updated_at"]) == START + timedelta(seconds=1)
    assert patched == {
        **event,
        "location": "Roof",
        "version": 2,
        "updated_at": patched["updated_at"],
    }
    assert get(client, event["id"]) == patched


@pytest.mark.parametrize(
    "patch", [{}, {"title": "Launch"}, {"tags": ["product", "party"], "capacity": 120}]
)
def test_a_patch_that_changes_nothing_keeps_the_version(
    client: TestClient, clock: FakeClock, patch: dict[str, Any]
) -> None:
    event = send_json(client, "POST", "/events", FULL).json()
    clock.advance(1)

    response = send_json(client, "PATCH", f"/events/{event['id']}", patch, MERGE_PATCH_HEADERS)

    assert response.status_code == 200
    assert response.json() == event
    assert get(client, event["id"]) == event


def test_patch_null_clears_optional_fields(client: TestClient) -> None:
    event = send_json(client, "POST", "/events", FULL).json()
    cleared = dict.fromkeys(
        ["description", "starts_at", "ends_at", "timezone", "location", "tags", "capacity"]
    )

    response = send_json(client, "PATCH", f"/events/{event['id']}", cleared, MERGE_PATCH_HEADERS)

    assert response.status_code == 200
    result = response.json()
    assert result["tags"] == []
    for key in cleared.keys() - {"tags"}:
        assert result[key] is None, key
    assert result["title"] == "Launch"
    assert result["version"] == 2


@pytest.mark.parametrize("patch", [{"title": None}, {"Title": None}])
def test_patch_null_title_is_422_and_changes_nothing(
    client: TestClient, patch: dict[str, Any]
) -> None:
    event = create(client, id="keep")

    problem = assert_problem(send_json(client, "PATCH", "/events/keep", patch), 422)

    assert [e["pointer"] for e in problem["errors"]] == ["#/title"]
    assert get(client, "keep") == event


@pytest.mark.parametrize(
    "patch",
    [
        {"capacity": -5},
        {"ends_at": "2024-01-01T00:00:00Z", "starts_at": "2025-01-01T00:00:00Z"},
        {"tags": ["x", "x"]},
        {"unknown": 1},
        {"id": "renamed"},
        {"title": "t" * 201, "description": "fine"},
        ["not", "an", "object"],
    ],
)
def test_a_rejected_patch_leaves_the_event_as_it_was(client: TestClient, patch: Any) -> None:
    event = send_json(client, "PUT", "/events/keep", FULL).json()

    response = send_json(client, "PATCH", "/events/keep", patch, MERGE_PATCH_HEADERS)

    assert_problem(response, 422)
    assert get(client, "keep") == event
    assert all_events(client) == [event]


@pytest.mark.parametrize(
    "body", [{"title": ""}, {"title": "x", "capacity": "many"}, {"description": "no title"}]
)
def test_a_rejected_put_leaves_the_event_as_it_was(client: TestClient, body: Any) -> None:
    event = send_json(client, "PUT", "/events/keep", FULL).json()

    assert_problem(send_json(client, "PUT", "/events/keep", body), 422)
    assert_problem(send_json(client, "PUT", "/events/other", body), 422)

    assert all_events(client) == [event]


def test_the_tutorial_keys_work_on_put_and_patch(client: TestClient) -> None:
    created = send_json(client, "PUT", "/events/t", {"Title": "Tutorial", "Description": "Go"})
    patched = send_json(client, "PATCH", "/events/t", {"Description": "Python"})

    assert created.status_code == 201
    assert (created.json()["title"], created.json()["description"]) == ("Tutorial", "Go")
    assert patched.status_code == 200
    assert patched.json()["description"] == "Python"


def test_delete_then_get_is_404_and_the_id_is_reused_once_purged(client: TestClient) -> None:
    create(client, id="gone", title="First life")
    create(client, id="stays")

    assert client.delete("/events/gone").status_code == 204
    assert_problem(client.get("/events/gone"), 404)
    assert_problem(client.patch("/events/gone", json={"title": "x"}), 404)
    assert [e["id"] for e in all_events(client)] == ["stays"]
    # In the trash, the id stays taken, so that a restore cannot collide.
    refused = send_json(client, "POST", "/events", {"id": "gone", "title": "Second life"})
    assert assert_problem(refused, 409)["type"] == "/problems/in-trash"
    assert_problem(send_json(client, "PUT", "/events/gone", {"title": "Second life"}), 409)

    assert client.delete("/trash/gone").status_code == 204
    again = create(client, id="gone", title="Second life")
    assert again["version"] == 1
    assert [e["id"] for e in all_events(client)] == ["stays", "gone"]


def test_times_keep_their_offset_and_instant(client: TestClient) -> None:
    event = create(client, starts_at="2025-06-01T18:00:00.5-05:30", ends_at="2025-06-02T00:00:00Z")
    stored = get(client, event["id"])

    for shown in (event, stored):
        assert instant(shown["starts_at"]) == datetime(2025, 6, 1, 23, 30, 0, 500000, tzinfo=UTC)
        assert instant(shown["starts_at"]).utcoffset() == timedelta(hours=-5, minutes=-30)
        assert instant(shown["ends_at"]) == datetime(2025, 6, 2, tzinfo=UTC)
