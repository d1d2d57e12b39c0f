"""Incremental sync: ``GET /events`` hands out a ``Sync-Token``, ``GET /changes`` follows it.

A client that lists the events, keeps the token and applies what ``/changes`` says ends
with the server's state; a token that cannot be continued from (pruned, foreign, altered,
from the future) is 410 ``sync-token-expired``, never an empty success. On every backend.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from anyio.from_thread import BlockingPortal
from starlette.testclient import TestClient

from eventsapi.api.sync_tokens import encode_sync_token
from eventsapi.app import create_app
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.api.asserts import JSON_HEADERS, MERGE_PATCH_HEADERS, assert_problem, create
from tests.api.test_auth_endpoints import add_user, bearer, token_of


def full_listing(client: TestClient) -> tuple[dict[str, dict[str, Any]], str]:
    """Every event by id, and the Sync-Token of the listing's first page."""
    response = client.get("/events", params={"limit": 2})
    token = response.headers["sync-token"]
    events: dict[str, dict[str, Any]] = {}
    while True:
        assert response.status_code == 200
        events.update({e["id"]: e for e in response.json()})
        following = response.links.get("next")
        if following is None:
            return events, token
        response = client.get(following["url"])


def sync(client: TestClient, events: dict[str, dict[str, Any]], token: str, **params: Any) -> str:
    """Apply every change after ``token`` to ``events``; the token to continue from."""
    while True:
        response = client.get("/changes", params={"since": token, **params})
        assert response.status_code == 200, response.text
        page = response.json()
        for change in page["changes"]:
            if change["type"] == "event.deleted":
                del events[change["id"]]
            elif change["type"] == "event.purged":
                events.pop(change["id"], None)  # deleted already (or never seen)
            else:
                events[change["id"]] = change["event"]
        token = page["next"]
        if not page["more"]:
            return token


def test_a_client_that_follows_the_changes_ends_with_the_servers_state(
    client: TestClient,
) -> None:
    first = create(client, title="First")["id"]
    second = create(client, title="Second")["id"]
    create(client, title="Third")
    events, token = full_listing(client)

    client.patch(f"/events/{first}", json={"title": "First, renamed"}, headers=MERGE_PATCH_HEADERS)
    client.delete(f"/events/{second}")
    create(client, title="Fourth")
    client.put("/events/chosen", json={"title": "Put"}, headers=JSON_HEADERS)
    client.delete("/events/chosen")
    assert client.post("/trash/chosen/restore").status_code == 201
    client.delete(f"/events/{first}")
    assert client.delete(f"/trash/{first}").status_code == 204
    token = sync(client, events, token, limit=2)

    assert events == full_listing(client)[0]
    again = client.get("/changes", params={"since": token}).json()
    assert again == {"changes": [], "next": token, "more": False}


def test_each_change_carries_the_event_as_get_answers_it(client: TestClient) -> None:
    token = client.get("/events").headers["sync-token"]
    created = create(client, title="Launch")
    changed = client.patch(
        f"/events/{created['id']}", json={"capacity": 3}, headers=MERGE_PATCH_HEADERS
    )
    served = client.get(f"/events/{created['id']}").content
    client.delete(f"/events/{created['id']}")

    response = client.get("/changes", params={"since": token})

    assert response.headers["cache-control"] == "no-store"
    changes = response.json()["changes"]
    assert [(c["type"], c["id"], c["version"]) for c in changes] == [
        ("event.created", created["id"], 1),
        ("event.updated", created["id"], 2),
        ("event.deleted", created["id"], 2),
    ]
    assert changes[1]["event"] == changed.json()
    assert served in response.content  # the stored document, not re-encoded
    assert changes[2]["event"] is None


def test_a_restore_and_a_purge_are_changes_too(client: TestClient) -> None:
    created = create(client, title="Launch")
    client.delete(f"/events/{created['id']}")
    token = sync(client, {}, client.get("/events").headers["sync-token"])
    restored = client.post(f"/trash/{created['id']}/restore")
    served = client.get(f"/events/{created['id']}").content
    client.delete(f"/events/{created['id']}")
    client.delete(f"/trash/{created['id']}")

    changes = client.get("/changes", params={"since": token}).json()["changes"]

    assert [(c["type"], c["id"], c["version"]) for c in changes] == [
        ("event.restored", created["id"], 2),
        ("event.deleted", created["id"], 2),
        ("event.purged", created["id"], 2),
    ]
    assert changes[0]["event"] == restored.json() == msgspec.json.decode(served)
    assert changes[2]["event"] is None
    for change in changes:
        at = datetime.fromisoformat(change["at"])
        assert at.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - at) < timedelta(minutes=5)


def test_a_page_of_changes_says_when_more_are_waiting(client: TestClient) -> None:
    token = client.get("/events").headers["sync-token"]
    for number in range(5):
        create(client, title=f"Event {number}")

    pages = []
    while True:
        page = client.get("/changes", params={"since": token, "limit": 2}).json()
        pages.append((len(page["changes"]), page["more"]))
        token = page["next"]
        if not page["more"]:
            break

    assert pages == [(2, True), (2, True), (1, False)]


def test_the_sync_token_of_a_listing_is_taken_before_it(client: TestClient) -> None:
    empty = client.get("/events")
    token = empty.headers["sync-token"]
    assert empty.json() == []
    created = create(client)

    changes = client.get("/changes", params={"since": token}).json()["changes"]

    assert [c["id"] for c in changes] == [created["id"]]
    later = client.get("/events", params={"q": "!!!"})  # a listing that searches nothing
    assert later.headers["sync-token"] != token


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "since"),
        ({"limit": "10"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "9" * 5000}, "limit"),
        ({"cursor": "x"}, "cursor"),
    ],
)
def test_bad_parameters_are_a_problem_naming_them(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    if "limit" in params and parameter == "limit":
        params = {**params, "since": client.get("/events").headers["sync-token"]}

    problem = assert_problem(client.get("/changes", params=params), 400)

    assert problem["parameter"] == parameter


def test_since_may_be_given_once(client: TestClient) -> None:
    token = client.get("/events").headers["sync-token"]

    problem = assert_problem(client.get(f"/changes?since={token}&since={token}"), 400)

    assert problem["parameter"] == "since"


def _expired(client: TestClient, since: str) -> dict[str, Any]:
    problem = assert_problem(client.get("/changes", params={"since": since}), 410)
    assert problem["type"] == "/problems/sync-token-expired"
    return problem


def test_an_altered_or_foreign_token_is_gone_and_no_token_at_all_is_a_400(
    client: TestClient,
) -> None:
    create(client)
    token = client.get("/events").headers["sync-token"]
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    foreign = encode_sync_token(secrets.token_bytes(32), 1)

    for since in (altered, foreign, "AAAA", "A" * 64):
        _expired(client, since)
    for malformed in ("", "not a token", "A" * 65, "é", "a+b/c="):
        problem = assert_problem(client.get("/changes", params={"since": malformed}), 400)
        assert problem["parameter"] == "since"


def on_loop(client: TestClient) -> BlockingPortal:
    """The client's event loop, where the app's store lives."""
    assert client.portal is not None
    return client.portal


def test_a_token_ahead_of_the_log_is_gone(client: TestClient, store: Backend) -> None:
    create(client)
    key = on_loop(client).call(store.instance_key)

    assert client.get("/changes", params={"since": encode_sync_token(key, 1)}).status_code == 200
    _expired(client, encode_sync_token(key, 2))


def test_a_token_older_than_the_log_keeps_is_gone(client: TestClient, store: Backend) -> None:
    start = client.get("/events").headers["sync-token"]
    create(client)
    middle = client.get("/events").headers["sync-token"]
    create(client)
    on_loop(client).call(store.prune_changes, datetime.now(UTC) + timedelta(seconds=1))

    problem = _expired(client, start)
    assert "no longer kept" in problem["detail"]
    _expired(client, middle)
    latest = client.get("/events").headers["sync-token"]
    assert client.get("/changes", params={"since": latest}).json()["changes"] == []


def test_a_change_names_its_author_in_the_log(
    tmp_path: Any,
) -> None:
    settings = Settings(database=str(tmp_path / "events.db"), anonymous_writes="off")
    app = create_app(settings)
    with TestClient(app) as client:
        add_user(client, app, "ann")
        headers = bearer(token_of(client, "ann"))
        created = client.post("/events", json={"title": "Hers"}, headers=headers).json()
        client.delete(f"/events/{created['id']}", headers=headers)
        records = on_loop(client).call(app.state.store.changes_after, 0, 10)
        user = client.get("/auth/me", headers=headers).json()

    assert [r.actor for r in records] == [user["id"], user["id"]]
    assert created["owner"] == user["id"]


def test_the_sync_token_is_exposed_to_cross_origin_pages(tmp_path: Any) -> None:
    settings = Settings(database=str(tmp_path / "events.db"), cors_origins=["https://app.example"])
    with TestClient(create_app(settings)) as client:
        response = client.get("/events", headers={"Origin": "https://app.example"})

    exposed = response.headers["access-control-expose-headers"].lower().split(", ")
    assert "sync-token" in exposed


def test_the_document_describes_the_changes_and_the_token(client: TestClient) -> None:
    document = msgspec.json.decode(client.get("/openapi.json").content)

    listing = document["paths"]["/events"]["get"]["responses"]["200"]
    assert "Sync-Token" in listing["headers"]
    changes = document["paths"]["/changes"]["get"]
    assert set(changes["responses"]) >= {"200", "400", "410"}
    assert document["components"]["schemas"]["Change"]["properties"]["type"]["enum"] == [
        "event.created",
        "event.updated",
        "event.deleted",
        "event.restored",
        "event.purged",
        "registration.confirmed",
        "registration.waitlisted",
        "registration.promoted",
        "registration.cancelled",
    ]
