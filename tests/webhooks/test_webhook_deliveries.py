"""Webhooks end to end on every backend: an admin registers a receiver on 127.0.0.1, events
change through the API, the worker delivers, and the receiver checks every signature with
the ``standardwebhooks`` library. Time is the test's clock; the worker runs a round when
the test says (``deliver``), as a background worker would on each tick."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from eventsapi.domain.accounts import Role
from eventsapi.settings import Settings
from tests.api.test_auth_endpoints import add_user, bearer, token_of
from tests.support import FakeClock
from tests.webhooks.receiver import Receiver, serve_receiver


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The receiver listens on loopback: only the setting lets a webhook call it.
    return Settings(database=str(tmp_path / "events.db"), webhook_allow_private=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def admin(client: TestClient, app: Starlette) -> dict[str, str]:
    return admin_token(client, app)


def admin_token(client: TestClient, app: Starlette) -> dict[str, str]:
    """An admin's API token (it does not idle out while the test's clock moves on)."""
    add_user(client, app, "root", role=Role.ADMIN)
    session = bearer(token_of(client, "root"))
    body = {"name": "hooks", "scopes": ["admin", "events:write", "events:read"]}
    response = client.post("/auth/tokens", json=body, headers=session)
    assert response.status_code == 201, response.text
    return bearer(response.json()["token"])


def register(client: TestClient, admin: dict[str, str], url: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/webhooks", json={"url": url, **extra}, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliver(client: TestClient) -> int:
    """One round of the worker: the attempts it made."""
    worker = client.app.state.webhook_worker  # type: ignore[attr-defined]
    made: int = client.portal.call(worker.run_once)  # type: ignore[union-attr]
    return made


def create_event(client: TestClient, admin: dict[str, str], title: str = "Standup") -> str:
    response = client.post("/events", json={"title": title}, headers=admin)
    assert response.status_code == 201, response.text
    event_id: str = response.json()["id"]
    return event_id


def test_every_change_is_delivered_signed_as_get_changes_shows_it(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    hook = register(client, admin, receiver.url, types=["event.*"], description="CRM")
    secret = hook["secret"]
    event_id = create_event(client, admin)
    patched = client.patch(f"/events/{event_id}", json={"title": "Retro"}, headers=admin)
    assert patched.status_code == 200, patched.text
    assert client.delete(f"/events/{event_id}", headers=admin).status_code == 204

    assert deliver(client) == 3

    # Messages are sent concurrently, so they may arrive in any order (docs say so).
    order = ["event.created", "event.updated", "event.deleted"]
    requests = sorted(receiver.requests(), key=lambda r: order.index(r.document["type"]))
    assert [r.document["type"] for r in requests] == order
    for request in requests:
        assert request.signed_by(secret)
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("eventsapi/")
        assert request.headers["webhook-id"].startswith("msg_")
        document = request.document
        assert set(document) == {"type", "id", "version", "at", "event"}
        assert document["id"] == event_id
    assert [r.document["version"] for r in requests] == [1, 2, 2]
    assert requests[1].document["event"]["title"] == "Retro"
    assert requests[2].document["event"] is None
    assert len({r.id for r in requests}) == 3
    assert deliver(client) == 0  # delivered: never again


def test_every_event_whatever_its_visibility_is_delivered_as_an_admin_sees_it(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    # Only admins register endpoints, and admins see every event (docs/visibility.md): a
    # private event's changes reach them, a change of visibility as the update it is.
    register(client, admin, receiver.url, types=["event.*"])
    made = client.post("/events", json={"title": "Board", "visibility": "private"}, headers=admin)
    assert made.status_code == 201, made.text
    event_id = made.json()["id"]
    shown = client.patch(f"/events/{event_id}", json={"visibility": "members"}, headers=admin)
    assert shown.status_code == 200, shown.text

    assert deliver(client) == 2

    documents = sorted((r.document for r in receiver.requests()), key=lambda d: d["version"])
    assert [d["type"] for d in documents] == ["event.created", "event.updated"]
    assert [d["event"]["visibility"] for d in documents] == ["private", "members"]


def test_only_the_types_subscribed_to_are_delivered(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    register(client, admin, receiver.url, types=["event.deleted"])
    event_id = create_event(client, admin)
    client.delete(f"/events/{event_id}", headers=admin)

    deliver(client)

    assert [r.document["type"] for r in receiver.requests()] == ["event.deleted"]


def test_restores_and_purges_are_delivered_to_event_star(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    register(client, admin, receiver.url, types=["event.*"])
    event_id = create_event(client, admin)
    client.delete(f"/events/{event_id}", headers=admin)
    restored = client.post(f"/trash/{event_id}/restore", headers=admin)
    client.delete(f"/events/{event_id}", headers=admin)
    client.delete(f"/trash/{event_id}", headers=admin)

    deliver(client)

    # Sent concurrently, so in any order: the versions and the types give theirs back.
    rank = {"event.created": 0, "event.restored": 0, "event.deleted": 1, "event.purged": 2}
    requests = sorted(
        receiver.requests(), key=lambda r: (r.document["version"], rank[r.document["type"]])
    )
    assert [(r.document["type"], r.document["version"]) for r in requests] == [
        ("event.created", 1),
        ("event.deleted", 1),
        ("event.restored", 2),
        ("event.deleted", 2),
        ("event.purged", 2),
    ]
    assert requests[2].document["event"] == restored.json()
    assert requests[4].document["event"] is None


def test_a_new_endpoint_gets_the_changes_made_after_it_was_registered(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    create_event(client, admin, "before")
    register(client, admin, receiver.url)
    create_event(client, admin, "after")

    deliver(client)

    assert [r.document["event"]["title"] for r in receiver.requests()] == ["after"]


def test_a_failed_delivery_is_retried_on_schedule_with_the_same_webhook_id(
    client: TestClient, admin: dict[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    hook = register(client, admin, receiver.url)
    receiver.answer(500, 500)
    create_event(client, admin)

    assert deliver(client) == 1  # at once: 500
    clock.advance(4.9)
    assert deliver(client) == 0  # the second attempt is due 5 s later
    clock.advance(0.7)  # 5.6 s: past the 5 s and its jitter (at most 10 %)
    assert deliver(client) == 1  # 500 again
    clock.advance(299)
    assert deliver(client) == 0  # the third is due 5 minutes later
    clock.advance(31)
    assert deliver(client) == 1  # 200

    requests = receiver.requests()
    assert len(requests) == 3
    assert len({r.id for r in requests}) == 1
    assert all(r.signed_by(hook["secret"]) for r in requests)
    listing = client.get(f"/webhooks/{hook['id']}/deliveries", headers=admin)
    assert listing.status_code == 200
    attempts = listing.json()
    assert [a["status_code"] for a in attempts] == [200, 500, 500]
    assert [a["attempt"] for a in attempts] == [3, 2, 1]
    assert attempts[0]["next_attempt_at"] is None
    assert attempts[2]["error"] == "The receiver answered 500."
    assert attempts[2]["next_attempt_at"] is not None
    assert {a["message_id"] for a in attempts} == {requests[0].id}
    assert deliver(client) == 0


def test_retry_after_of_a_429_is_honoured(
    client: TestClient, admin: dict[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    register(client, admin, receiver.url)
    receiver.answer((429, {"Retry-After": "120"}))
    create_event(client, admin)

    assert deliver(client) == 1
    clock.advance(60)
    assert deliver(client) == 0  # the schedule's 5 s have passed; the receiver's 120 s not
    clock.advance(61)
    assert deliver(client) == 1
    assert len(receiver.requests()) == 2


def test_a_redirect_is_a_failure_and_is_not_followed(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    for elsewhere in serve_receiver():
        hook = register(client, admin, receiver.url)
        receiver.answer((307, {"Location": elsewhere.url}))
        create_event(client, admin)

        deliver(client)

        assert len(receiver.requests()) == 1
        assert elsewhere.requests() == []
        attempts = client.get(f"/webhooks/{hook['id']}/deliveries", headers=admin).json()
        assert attempts[0]["status_code"] == 307
        assert "redirect" in attempts[0]["error"]
        assert attempts[0]["next_attempt_at"] is not None


def test_a_410_turns_the_endpoint_off(
    client: TestClient, admin: dict[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    hook = register(client, admin, receiver.url)
    receiver.answer(410)
    create_event(client, admin)

    deliver(client)
    create_event(client, admin, "not sent")
    clock.advance(3600)
    deliver(client)

    assert len(receiver.requests()) == 1
    shown = client.get(f"/webhooks/{hook['id']}", headers=admin).json()
    assert shown["enabled"] is False
    assert "410" in shown["disabled_reason"]
    turned_on = client.patch(f"/webhooks/{hook['id']}", json={"enabled": True}, headers=admin)
    assert turned_on.json()["disabled_reason"] is None
    deliver(client)
    assert [r.document["event"]["title"] for r in receiver.requests()[1:]] == ["not sent"]


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new(
    client: TestClient, admin: dict[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    hook = register(client, admin, receiver.url)
    old = hook["secret"]
    rotated = client.post(f"/webhooks/{hook['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old

    create_event(client, admin, "during")
    deliver(client)
    clock.advance(23 * 3600)
    create_event(client, admin, "still during")
    deliver(client)
    clock.advance(3601)
    create_event(client, admin, "after")
    deliver(client)

    during, still, after = receiver.requests()
    for request in (during, still):
        assert request.signed_by(new)
        assert request.signed_by(old)
        assert request.headers["webhook-signature"].count("v1,") == 2
    assert after.signed_by(new)
    assert not after.signed_by(old)
    assert after.headers["webhook-signature"].count("v1,") == 1


def test_the_test_route_sends_now_and_answers_the_attempt(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    hook = register(client, admin, receiver.url)
    receiver.answer(503)

    failed = client.post(f"/webhooks/{hook['id']}/test", headers=admin)
    sent = client.post(f"/webhooks/{hook['id']}/test", headers=admin)

    assert failed.status_code == 200
    assert failed.json()["status_code"] == 503
    assert failed.json()["next_attempt_at"] is None  # a test is not retried
    assert sent.json()["status_code"] == 200
    assert sent.json()["type"] == "webhook.test"
    first, second = receiver.requests()
    assert first.document["type"] == "webhook.test"
    assert first.document["id"] == hook["id"]
    assert first.signed_by(hook["secret"])
    assert second.signed_by(hook["secret"])
    assert deliver(client) == 0


def test_a_failed_message_can_be_sent_again(
    client: TestClient, admin: dict[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    hook = register(client, admin, receiver.url)
    receiver.answer(*([500] * 10))
    create_event(client, admin)
    for _ in range(10):  # the schedule's 10 attempts, the last 24 h (+ 10 %) after the 9th
        assert deliver(client) == 1
        clock.advance(27 * 3600)
    attempts = client.get(f"/webhooks/{hook['id']}/deliveries?limit=4", headers=admin)
    assert len(attempts.json()) == 4
    assert attempts.json()[0]["next_attempt_at"] is None  # failed for good
    assert 'rel="next"' in attempts.headers["link"]
    message_id = attempts.json()[0]["message_id"]
    assert deliver(client) == 0

    retried = client.post(f"/webhooks/{hook['id']}/deliveries/{message_id}/retry", headers=admin)

    assert retried.status_code == 202
    assert retried.json()["status"] == "pending"
    assert deliver(client) == 1
    assert len({r.id for r in receiver.requests()}) == 1
    assert len(receiver.requests()) == 11
    unknown = f"/webhooks/{hook['id']}/deliveries/msg_01JD7X3Q9M5T8V2W4Y6Z8A0B1C/retry"
    assert client.post(unknown, headers=admin).status_code == 404


def test_the_secret_is_shown_once_and_never_logged(
    client: TestClient,
    admin: dict[str, str],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = register(client, admin, receiver.url)
    receiver.answer(500)
    create_event(client, admin)
    deliver(client)
    rotated = client.post(f"/webhooks/{hook['id']}/rotate-secret", headers=admin).json()

    answers = [
        client.get("/webhooks", headers=admin),
        client.get(f"/webhooks/{hook['id']}", headers=admin),
        client.patch(f"/webhooks/{hook['id']}", json={"description": "x"}, headers=admin),
        client.get(f"/webhooks/{hook['id']}/deliveries", headers=admin),
        client.post(f"/webhooks/{hook['id']}/test", headers=admin),
    ]
    for secret in (hook["secret"], rotated["secret"]):
        key = secret.removeprefix("whsec_")
        for answer in answers:
            assert answer.headers["cache-control"] == "no-store"
            assert key not in answer.text
            assert "secret" not in answer.json() if isinstance(answer.json(), dict) else True
        assert key not in caplog.text
    assert answers[1].json()["previous_secret_until"] is not None


def test_a_changed_endpoint_and_a_removed_one(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    hook = register(client, admin, receiver.url)
    path = f"/webhooks/{hook['id']}"
    off = client.patch(
        path,
        content=b'{"enabled": false, "types": ["event.created"]}',
        headers={**admin, "Content-Type": "application/merge-patch+json"},
    )
    assert off.status_code == 200, off.text
    assert off.json()["types"] == ["event.created"]
    create_event(client, admin)
    assert deliver(client) == 0

    assert client.delete(path, headers=admin).status_code == 204
    assert client.get(path, headers=admin).status_code == 404
    assert client.delete(path, headers=admin).status_code == 404
    assert client.get("/webhooks", headers=admin).json() == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"url": "RECEIVER", "types": ["event.create"]}, "#/types/0"),
        ({"url": "RECEIVER", "types": ["event.*", "*.*"]}, "#/types/1"),
        ({"url": "RECEIVER", "types": []}, "#/types"),
        ({"url": "RECEIVER", "colour": "red"}, "#/colour"),
        ({"url": "RECEIVER", "description": "two\nlines"}, "#/description"),
        ({"url": "gopher://127.0.0.1/"}, "#/url"),
        ({"url": "http://u:p@127.0.0.1/"}, "#/url"),
        ({"types": ["*"]}, "#/url"),
    ],
)
def test_invalid_bodies_are_refused_with_a_pointer_and_change_nothing(
    client: TestClient,
    admin: dict[str, str],
    receiver: Receiver,
    body: dict[str, Any],
    pointer: str,
) -> None:
    if body.get("url") == "RECEIVER":
        body = {**body, "url": receiver.url}

    response = client.post("/webhooks", json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in [error["pointer"] for error in response.json()["errors"]]
    assert client.get("/webhooks", headers=admin).json() == []


def test_the_host_is_pinned_to_the_address_checked(
    client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    url = f"http://localhost:{receiver.port}/hook"
    register(client, admin, url)
    create_event(client, admin)

    deliver(client)

    (request,) = receiver.requests()
    assert request.headers["host"] == f"localhost:{receiver.port}"
    assert request.path == "/hook"
