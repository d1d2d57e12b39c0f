"""Idempotency keys on POST and PATCH (Stripe's semantics), in process.

Races between processes are in ``tests/api/test_races.py``.
"""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.api.asserts import (
    MERGE_PATCH_HEADERS,
    all_events,
    assert_problem,
    create,
    get,
    send_json,
)
from tests.support import FakeClock


def post(client: TestClient, document: object, key: str, path: str = "/events") -> httpx2.Response:
    return send_json(
        client, "POST", path, document, {"Content-Type": "application/json", "Idempotency-Key": key}
    )


def test_a_retried_post_replays_the_first_response_byte_for_byte(client: TestClient) -> None:
    first = post(client, {"title": "Launch"}, "key-1")
    retries = [post(client, {"title": "Launch"}, "key-1") for _ in range(3)]

    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    for retry in retries:
        assert retry.status_code == 201
        assert retry.content == first.content
        assert retry.headers["idempotent-replayed"] == "true"
        for name in ("content-type", "location", "etag", "content-length"):
            assert retry.headers[name] == first.headers[name]
    assert len(all_events(client)) == 1


def test_a_replay_is_the_first_response_even_after_the_event_changed(client: TestClient) -> None:
    first = post(client, {"title": "Launch"}, "key-1")
    send_json(client, "PATCH", first.headers["location"], {"title": "Changed"})

    retry = post(client, {"title": "Launch"}, "key-1")

    assert retry.content == first.content
    assert get(client, first.json()["id"])["title"] == "Changed"


def test_the_same_key_with_another_body_is_422_and_changes_nothing(client: TestClient) -> None:
    post(client, {"title": "Launch"}, "key-1")

    other_body = post(client, {"title": "Another"}, "key-1")
    other_route = post(client, {"title": "Launch"}, "key-1", path="/event")

    for response in (other_body, other_route):
        assert assert_problem(response, 422)["type"] == "/problems/idempotency-key-reused"
    assert [e["title"] for e in all_events(client)] == ["Launch"]


def test_keys_are_independent(client: TestClient) -> None:
    post(client, {"title": "Launch"}, "key-1")
    post(client, {"title": "Launch"}, "key-2")

    assert len(all_events(client)) == 2


def test_a_failed_request_is_not_saved_so_its_retry_runs_again(client: TestClient) -> None:
    invalid = post(client, {"title": ""}, "key-1")
    valid = post(client, {"title": "Fixed"}, "key-1")

    assert_problem(invalid, 422)
    assert valid.status_code == 201
    assert "idempotent-replayed" not in valid.headers


def test_a_retried_patch_is_applied_once(client: TestClient) -> None:
    create(client, id="e1", tags=["a"])
    headers = {**MERGE_PATCH_HEADERS, "Idempotency-Key": "p-1"}

    first = send_json(client, "PATCH", "/events/e1", {"tags": ["a", "b"]}, headers)
    send_json(client, "PATCH", "/events/e1", {"title": "Someone else"})
    retry = send_json(client, "PATCH", "/events/e1", {"tags": ["a", "b"]}, headers)

    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert get(client, "e1")["version"] == 3


def test_a_post_with_a_client_id_replays_instead_of_409(client: TestClient) -> None:
    first = post(client, {"id": "mine", "title": "Launch"}, "key-1")
    retry = post(client, {"id": "mine", "title": "Launch"}, "key-1")
    unkeyed = send_json(client, "POST", "/events", {"id": "mine", "title": "Launch"})

    assert (first.status_code, retry.status_code) == (201, 201)
    assert_problem(unkeyed, 409)


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_key_is_400(client: TestClient, key: str) -> None:
    response = client.post(
        "/events",
        content=b'{"title": "Launch"}',
        headers=[(b"content-type", b"application/json"), (b"idempotency-key", key.encode())],
    )

    assert_problem(response, 400)
    assert all_events(client) == []


def test_a_key_of_255_characters_is_accepted(client: TestClient) -> None:
    assert post(client, {"title": "Launch"}, "k" * 255).status_code == 201


def test_keys_expire_after_the_retention_and_are_pruned(
    client: TestClient, clock: FakeClock, store: Backend
) -> None:
    first = post(client, {"title": "Launch"}, "key-1")
    clock.advance(timedelta(hours=23, minutes=59).total_seconds())
    within = post(client, {"title": "Launch"}, "key-1")
    clock.advance(120)
    after = post(client, {"title": "Launch"}, "key-1")

    assert within.content == first.content
    assert after.json()["id"] != first.json()["id"], "an expired key is a new request"
    assert len(all_events(client)) == 2


@pytest.mark.anyio
async def test_prune_forgets_only_expired_keys(store: Backend, clock: FakeClock) -> None:
    from eventsapi.domain.events import Event
    from eventsapi.storage.events import with_counts
    from eventsapi.storage.idempotency import IdempotencyKey

    await store.open()
    try:
        now = clock.now()

        for name, lifetime in (("old", 1), ("new", 48)):
            once = IdempotencyKey("", name, b"f", now, now + timedelta(hours=lifetime))
            await store.create(
                Event(id=name, title="t", created_at=now, updated_at=now, version=1), once=once
            )

        later = now + timedelta(hours=2)
        assert await store.prune_keys(later) == 1
        assert await store.saved_key("", "old", later) is None
        saved = await store.saved_key("", "new", later)
        assert saved is not None
        found = await store.get_json("new")
        assert found is not None
        served = with_counts(found[0], *found[2:])
        assert saved.document == served, "the key keeps the event it wrote, as served"
    finally:
        await store.close()


def test_the_service_prunes_expired_keys_when_it_starts(
    settings: Settings, store: Backend, clock: FakeClock
) -> None:
    with TestClient(create_app(settings, store=store, clock=clock.now)) as first:
        post(first, {"title": "Launch"}, "key-1")
    clock.advance(timedelta(hours=25).total_seconds())

    with TestClient(create_app(settings, store=store, clock=clock.now)) as again:
        again.get("/readyz")
        pruned_again = again.portal.call(store.prune_keys, clock.now())  # type: ignore[union-attr]

    assert pruned_again == 0, "the start-up pruning already removed the expired key"
