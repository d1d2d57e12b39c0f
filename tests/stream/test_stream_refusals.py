"""What ``GET /changes/stream`` refuses before any stream starts, on every backend: a sync
token it cannot continue from (410), and the route while the stream is off (404)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eventsapi.api.sync_tokens import encode_sync_token
from eventsapi.app import create_app
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.support import FakeClock

PROBLEM = "application/problem+json"


def _create(client: TestClient, count: int) -> None:
    for n in range(count):
        assert client.post("/events", json={"title": f"event {n}"}).status_code == 201


def _key(client: TestClient, store: Backend) -> bytes:
    assert client.portal is not None
    return client.portal.call(store.instance_key)


def _assert_gone(client: TestClient, **request: object) -> None:
    response = client.get("/changes/stream", **request)  # type: ignore[arg-type]
    assert response.status_code == 410, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/problems/sync-token-expired")


@pytest.mark.parametrize(
    "token",
    ["garbage!", "A" * 65, "é", "a b"],
    ids=["punctuation", "too-long", "not-ascii", "space"],
)
def test_text_that_is_no_token_at_all_is_400_naming_where_it_came(
    client: TestClient, token: str
) -> None:
    for request, parameter in (
        ({"headers": {"Last-Event-ID": token.encode()}}, "Last-Event-ID"),
        ({"params": {"since": token}}, "since"),
        # The header wins over since, but does not hide a malformed one.
        ({"headers": {"Last-Event-ID": "0"}, "params": {"since": token}}, "since"),
    ):
        response = client.get("/changes/stream", **request)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["parameter"] == parameter


def test_a_token_of_another_database_is_410_before_the_stream(client: TestClient) -> None:
    _create(client, 2)
    foreign = encode_sync_token(b"another database", 1)
    _assert_gone(client, headers={"Last-Event-ID": foreign})
    _assert_gone(client, params={"since": foreign})


def test_an_altered_token_is_410(client: TestClient, store: Backend) -> None:
    _create(client, 2)
    token = encode_sync_token(_key(client, store), 1)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    _assert_gone(client, headers={"Last-Event-ID": altered})


def test_a_token_past_the_log_or_before_what_it_keeps_is_410(
    client: TestClient, store: Backend
) -> None:
    _create(client, 3)
    key = _key(client, store)
    _assert_gone(client, params={"since": encode_sync_token(key, 4)})  # no such position yet
    assert client.portal is not None
    client.portal.call(store.prune_changes, datetime.now(UTC) + timedelta(days=1))
    _assert_gone(client, params={"since": encode_sync_token(key, 0)})
    _assert_gone(client, headers={"Last-Event-ID": encode_sync_token(key, 2)})


def test_the_stream_is_not_served_while_stream_limit_is_0(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(database=str(tmp_path / "events.db"), stream_limit=0)
    with TestClient(create_app(settings, clock=clock.now)) as client:
        response = client.get("/changes/stream")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        # The rest of the service is unchanged.
        assert client.post("/events", json={"title": "still served"}).status_code == 201
