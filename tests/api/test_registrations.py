"""Registrations over HTTP (issue 16): register, the 409s, who sees and cancels which
registration (the registrant's account or cancel token, the event's owner, admins; anyone
else is answered as for an unknown one), ``GET /me/registrations``, idempotency keys, and
no registrant's e-mail in any public response.
"""

# The people fixtures are test_event_authorization's, imported by name (pytest finds them so).
# ruff: noqa: F811

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from eventsapi.api.sync_tokens import encode_sync_token
from eventsapi.storage import Backend
from tests.api.asserts import assert_problem
from tests.api.test_event_authorization import (  # noqa: F401 - fixtures
    People,
    Person,
    accounts,
    people,
    send,
    settings,
)
from tests.stream.sse import read_in_process
from tests.support import START

SOON = (START + timedelta(days=7)).isoformat()
ANONYMOUS: dict[str, str] = {}


def event(client: TestClient, person: Person, event_id: str = "e1", **members: Any) -> None:
    body = {"id": event_id, "title": "Launch", "starts_at": SOON, **members}
    response = send(client, "POST", "/events", body, headers=person.headers)
    assert response.status_code == 201, response.text


def register(
    client: TestClient,
    headers: dict[str, str],
    email: str,
    event_id: str = "e1",
    **members: Any,
) -> Any:
    body = {"email": email, **members}
    return send(client, "POST", f"/events/{event_id}/registrations", body, headers=headers)


def registered(client: TestClient, headers: dict[str, str], email: str, **kw: Any) -> Any:
    response = register(client, headers, email, **kw)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/events/{response.json()['event_id']}" + (
        f"/registrations/{response.json()['id']}"
    )
    return response.json()


def test_confirmed_up_to_the_capacity_then_waitlisted(client: TestClient, people: People) -> None:
    event(client, people.alice, capacity=1)
    first = registered(client, people.bob.headers, "bob@example.org")
    second = registered(client, people.root.headers, "root@example.org", name="Root")
    assert (first["status"], first["position"]) == ("confirmed", None)
    assert (second["status"], second["position"]) == ("waitlisted", 1)
    assert first["name"] == "bob"  # the account's username by default
    assert second["name"] == "Root"
    assert "cancel_token" not in first  # with an account: no token


def test_the_same_address_twice_is_409_with_the_existing_location(
    client: TestClient, people: People
) -> None:
    event(client, people.alice)
    first = registered(client, people.bob.headers, "Bob@Example.org")
    response = register(client, people.bob.headers, "bob@EXAMPLE.org")
    body = assert_problem(response, 409)
    assert body["type"].endswith("/problems/already-registered")
    where = f"/events/e1/registrations/{first['id']}"
    assert response.headers["location"] == where
    assert body["registration"] == where


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"status": "cancelled"}, "cancelled"),
        ({"starts_at": (START - timedelta(hours=1)).isoformat()}, "past"),
    ],
)
def test_a_closed_event_is_409_with_the_reason(
    client: TestClient, people: People, members: dict[str, Any], reason: str
) -> None:
    event(client, people.alice, **members)
    body = assert_problem(register(client, people.bob.headers, "b@example.org"), 409)
    assert body["type"].endswith("/problems/registration-closed")
    assert body["reason"] == reason
    assert client.get("/events/e1/registrations", headers=people.alice.headers).json() == []


def test_bad_input_is_422_with_pointers_and_changes_nothing(
    client: TestClient, people: People
) -> None:
    event(client, people.alice)
    body = assert_problem(register(client, people.bob.headers, "not an address", name=""), 422)
    assert {e["pointer"] for e in body["errors"]} == {"#/email", "#/name"}
    body = assert_problem(register(client, people.bob.headers, "b@example.org", extra=1), 422)
    assert_problem(
        send(client, "POST", "/events/e1/registrations", raw=b"{nope", headers=people.bob.headers),
        400,
    )
    assert client.get("/events/e1/registrations", headers=people.alice.headers).json() == []


@pytest.mark.parametrize("email", ["a\u0000b@example.org", "a\u001bb@example.org", "a@b\u0085.org"])
def test_an_address_with_a_control_character_is_422(
    client: TestClient, people: People, email: str
) -> None:
    # PostgreSQL text cannot hold NUL, and no address has a use for any control character
    # (an export or a calendar would carry it): refused on every backend alike.
    event(client, people.alice)
    body = assert_problem(register(client, people.bob.headers, email), 422)
    assert [e["pointer"] for e in body["errors"]] == ["#/email"]
    assert client.get("/events/e1/registrations", headers=people.alice.headers).json() == []


def test_unknown_and_trashed_events_are_404(client: TestClient, people: People) -> None:
    assert_problem(register(client, people.bob.headers, "b@example.org", event_id="nope"), 404)
    event(client, people.alice)
    assert client.delete("/events/e1", headers=people.alice.headers).status_code == 204
    assert_problem(register(client, people.bob.headers, "b@example.org"), 404)
    assert_problem(client.get("/events/e1/registrations", headers=people.alice.headers), 404)


def test_my_registrations_leave_the_trash_out_until_the_restore(
    client: TestClient, people: People
) -> None:
    event(client, people.alice, "e1")
    event(client, people.alice, "e2")
    first = registered(client, people.bob.headers, "bob@example.org", event_id="e1")
    second = registered(client, people.bob.headers, "bob@example.org", event_id="e2")

    def mine() -> list[str]:
        return [r["id"] for r in client.get("/me/registrations", headers=people.bob.headers).json()]

    assert client.delete("/events/e1", headers=people.alice.headers).status_code == 204
    assert mine() == [second["id"]]
    restored = client.post("/trash/e1/restore", headers=people.alice.headers)
    assert restored.status_code == 201, restored.text
    assert mine() == [first["id"], second["id"]]


def test_registering_needs_an_account_when_anonymous_writes_are_off(
    client: TestClient, people: People
) -> None:
    event(client, people.alice)
    assert_problem(register(client, ANONYMOUS, "a@example.org"), 401)
    assert_problem(register(client, people.reader, "a@example.org"), 403)


def test_who_sees_and_cancels_what(client: TestClient, people: People) -> None:
    event(client, people.alice, capacity=1)
    bobs = registered(client, people.bob.headers, "bob@example.org")
    roots = registered(client, people.root.headers, "root@example.org")
    url = f"/events/e1/registrations/{bobs['id']}"

    def listed(headers: dict[str, str]) -> list[str]:
        response = client.get("/events/e1/registrations", headers=headers)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()]

    assert listed(people.alice.headers) == [bobs["id"], roots["id"]]  # the owner
    assert listed(people.root.headers) == [bobs["id"], roots["id"]]  # an admin
    assert listed(people.bob.headers) == [bobs["id"]]  # their own
    assert listed(ANONYMOUS) == []

    unknown = client.get("/events/e1/registrations/01JAAAAAAAAAAAAAAAAAAAAAAA")
    for headers in (ANONYMOUS, {"Registration-Token": "guess"}):
        response = client.get(url, headers=headers)
        assert_problem(response, 404)
        assert response.json()["title"] == unknown.json()["title"]
        assert_problem(client.delete(url, headers=headers), 404)
    for headers in (people.bob.headers, people.alice.headers, people.root.headers):
        assert client.get(url, headers=headers).json()["email"] == "bob@example.org"
    assert client.get("/me/registrations", headers=people.bob.headers).json()[0]["id"] == bobs["id"]
    assert_problem(client.get("/me/registrations"), 401)

    # Root (also an admin) cannot be cancelled by Bob; Bob cancels his own.
    roots_url = f"/events/e1/registrations/{roots['id']}"
    assert_problem(client.delete(roots_url, headers=people.bob.headers), 404)
    assert client.delete(url, headers=people.bob.headers).status_code == 204
    assert client.get(url, headers=people.bob.headers).json()["status"] == "cancelled"
    promoted = client.get(roots_url, headers=people.root.headers).json()
    assert (promoted["status"], promoted["position"]) == ("confirmed", None)
    assert_problem(client.delete(url, headers=people.bob.headers), 404)  # once
    assert client.delete(roots_url, headers=people.alice.headers).status_code == 204  # owner


@pytest.mark.parametrize("settings", ["on"], indirect=True)
def test_an_anonymous_registrant_sees_and_cancels_with_the_token_only(
    client: TestClient, people: People
) -> None:
    event(client, people.alice)
    made = registered(client, ANONYMOUS, "anon@example.org", name="Anon")
    token = made["cancel_token"]
    url = f"/events/e1/registrations/{made['id']}"
    assert token not in url
    assert_problem(client.get(url), 404)  # Alice's event: anonymous is not its owner
    assert_problem(client.get(url, headers={"Registration-Token": token + "x"}), 404)
    assert_problem(client.get(url, headers=people.bob.headers), 404)
    seen = client.get(url, headers={"Registration-Token": token})
    assert seen.json()["email"] == "anon@example.org"
    assert "cancel_token" not in seen.json()  # shown once
    assert_problem(client.get(f"{url}?token={token}"), 404)  # never from the URL
    assert client.delete(url, headers={"Registration-Token": token}).status_code == 204
    assert client.get(url, headers=people.alice.headers).json()["status"] == "cancelled"


def test_an_idempotency_key_registers_once(client: TestClient, people: People) -> None:
    event(client, people.alice, capacity=5)
    headers = {**people.bob.headers, "Idempotency-Key": "k-1"}
    first = register(client, headers, "bob@example.org")
    again = register(client, headers, "bob@example.org")
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert_problem(register(client, headers, "other@example.org"), 422)
    other = register(client, {**people.root.headers, "Idempotency-Key": "k-1"}, "r@example.org")
    assert other.status_code == 201  # keys are per account
    assert len(client.get("/events/e1/registrations", headers=people.alice.headers).json()) == 2


@pytest.mark.parametrize("settings", ["on"], indirect=True)
def test_a_replay_shows_the_anonymous_token_again(client: TestClient, people: People) -> None:
    event(client, people.alice)
    headers = {"Idempotency-Key": "anon-1"}
    first = register(client, headers, "anon@example.org", name="Anon")
    again = register(client, headers, "anon@example.org", name="Anon")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["cancel_token"] == first.json()["cancel_token"]


def test_listings_page_with_a_cursor_bound_to_the_reader(
    client: TestClient, people: People
) -> None:
    event(client, people.alice)
    ids = [
        registered(client, people.root.headers, f"p{n}@example.org", name=f"P{n}")["id"]
        for n in range(3)
    ]
    first = client.get("/events/e1/registrations?limit=2", headers=people.alice.headers)
    assert [r["id"] for r in first.json()] == ids[:2]
    following = first.headers["link"].split(";")[0].strip("<>")
    second = client.get(following, headers=people.alice.headers)
    assert [r["id"] for r in second.json()] == ids[2:]
    assert "link" not in second.headers
    assert_problem(client.get(following, headers=people.bob.headers), 400)
    assert_problem(client.get("/events/e1/registrations?limit=0"), 400)


SECRETS = (b"secret.person", b"Secret Person", b"hidden.waiter", b"Hidden Waiter")
REGISTRATION_CHANGES = {
    "registration.confirmed",
    "registration.waitlisted",
    "registration.cancelled",
    "registration.promoted",
}


def assert_no_secret(body: bytes, where: str) -> None:
    for secret in SECRETS:
        assert secret not in body, (where, secret)


def test_no_registrant_email_in_any_public_response(
    client: TestClient, people: People, store: Backend
) -> None:
    # Every kind of registration change: confirmed, waitlisted, cancelled, promoted.
    event(client, people.alice, capacity=1)
    bobs = registered(client, people.bob.headers, "secret.person@example.org", name="Secret Person")
    registered(client, people.root.headers, "hidden.waiter@example.org", name="Hidden Waiter")
    url = f"/events/e1/registrations/{bobs['id']}"
    assert client.delete(url, headers=people.bob.headers).status_code == 204
    assert client.portal is not None
    start = encode_sync_token(client.portal.call(store.instance_key), 0)
    changes = client.get(f"/changes?since={start}").json()["changes"]
    assert {change["type"] for change in changes} >= REGISTRATION_CHANGES
    everyone = (ANONYMOUS, people.bob.headers, people.alice.headers, people.root.headers)

    # Never anyone's, whoever asks: the events, the feed of many, the change log.
    for where in ("/events", "/events/e1", "/events.ics", f"/changes?since={start}"):
        for headers in everyone:
            response = client.get(where, headers=headers)
            assert response.status_code == 200, (where, response.text)
            assert_no_secret(response.content, where)
    # The stream, from the first change to the last.
    for headers in (ANONYMOUS, people.alice.headers):
        status, body = client.portal.call(
            functools.partial(
                read_in_process,
                client.app,
                "/changes/stream",
                query=f"since={start}",
                headers=headers,
                until=lambda received: received.count(b"\nevent: ") >= len(changes),
            )
        )
        assert status == 200
        assert body.count(b"\nevent: registration.") == len(
            [c for c in changes if c["type"].startswith("registration.")]
        )
        assert_no_secret(body, "/changes/stream")
    # Only for the event's owner and admins: its calendar, its registrations.
    for where in ("/events/e1.ics", "/events/e1/registrations"):
        for headers in (ANONYMOUS, people.bob.headers):
            if where.endswith("registrations") and headers is people.bob.headers:
                continue  # Bob sees his own registration there
            response = client.get(where, headers=headers)
            assert response.status_code == 200, (where, response.text)
            assert_no_secret(response.content, where)
    assert_no_secret(client.get("/me/registrations", headers=people.alice.headers).content, "me")
    assert_problem(client.get("/me/registrations"), 401)


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        ({"registration_opens_at": (START + timedelta(hours=1)).isoformat()}, "not-open"),
        ({"registration_closes_at": START.isoformat()}, "closed"),
    ],
)
def test_outside_the_registration_window_is_409_with_the_reason(
    client: TestClient, people: People, window: dict[str, str], reason: str
) -> None:
    event(client, people.alice, **window)
    shown = client.get("/events/e1").json()
    for member, value in window.items():
        assert shown[member] == value.replace("+00:00", "Z")
    body = assert_problem(register(client, people.bob.headers, "b@example.org"), 409)
    assert body["type"].endswith("/problems/registration-closed")
    assert body["reason"] == reason


def test_inside_the_window_registration_is_open(client: TestClient, people: People) -> None:
    event(
        client,
        people.alice,
        registration_opens_at=(START - timedelta(hours=1)).isoformat(),
        registration_closes_at=(START + timedelta(hours=1)).isoformat(),
    )
    assert registered(client, people.bob.headers, "b@example.org")["status"] == "confirmed"


def test_a_window_closing_before_it_opens_is_422_with_a_pointer(
    client: TestClient, people: People
) -> None:
    body = {
        "title": "Launch",
        "registration_opens_at": (START + timedelta(days=2)).isoformat(),
        "registration_closes_at": (START + timedelta(days=1)).isoformat(),
    }
    problem = assert_problem(
        send(client, "POST", "/events", body, headers=people.alice.headers), 422
    )
    assert [e["pointer"] for e in problem["errors"]] == ["#/registration_closes_at"]
    assert client.get("/events").json() == []


def test_an_event_without_a_window_keeps_its_document(client: TestClient, people: People) -> None:
    event(client, people.alice)
    assert "registration_opens_at" not in client.get("/events/e1").json()


@pytest.mark.parametrize("settings", ["on"], indirect=True)
def test_anonymous_is_the_owner_of_an_event_without_one(client: TestClient, people: People) -> None:
    event(client, Person("anonymous", ANONYMOUS), "mine")
    event(client, people.alice, "alices")
    for event_id in ("mine", "alices"):
        registered(client, people.bob.headers, "bob@example.org", event_id=event_id)
    mine = client.get("/events/mine/registrations").json()
    assert [r["email"] for r in mine] == ["bob@example.org"]
    assert client.get("/events/alices/registrations").json() == []
    url = f"/events/mine/registrations/{mine[0]['id']}"
    assert client.delete(url).status_code == 204


def test_my_registrations_leave_out_events_in_the_trash_until_restored(
    client: TestClient, people: People
) -> None:
    """Found by the registrations state machine: ``GET /me/registrations`` listed the
    registrations of an event in the trash, whose own URLs answer 404."""
    event(client, people.alice, "kept")
    event(client, people.alice, "binned")
    kept = registered(client, people.bob.headers, "bob@example.org", event_id="kept")
    binned = registered(client, people.bob.headers, "bob@example.org", event_id="binned")

    def mine() -> list[str]:
        response = client.get("/me/registrations", headers=people.bob.headers)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()]

    assert mine() == [kept["id"], binned["id"]]
    assert client.delete("/events/binned", headers=people.alice.headers).status_code == 204
    assert mine() == [kept["id"]]
    url = f"/events/binned/registrations/{binned['id']}"
    assert_problem(client.get(url, headers=people.bob.headers), 404)
    restored = client.post("/trash/binned/restore", headers=people.alice.headers)
    assert restored.status_code == 201, restored.text
    assert mine() == [kept["id"], binned["id"]]
    assert client.delete("/events/binned", headers=people.alice.headers).status_code == 204
    assert client.delete("/trash/binned", headers=people.alice.headers).status_code == 204
    assert mine() == [kept["id"]]
