"""A write wakes this worker's deliveries at once; it does not wait for the next poll.

bench/webhook_latency.py measures what it gains (docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from eventsapi.settings import Settings
from tests.webhooks.test_webhook_deliveries import admin_token, create_event, deliver, register


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The endpoints below are on loopback (where nothing answers): only this setting lets
    # them be registered.
    return Settings(database=str(tmp_path / "events.db"), webhook_allow_private=True)


@pytest.mark.parametrize("backend", ["memory"])
def test_a_write_wakes_the_delivery_loop(client: TestClient, app: Starlette) -> None:
    worker = app.state.webhook_worker
    admin = admin_token(client, app)
    assert not worker.woken
    create_event(client, admin)
    assert worker.woken


@pytest.mark.parametrize("backend", ["memory"])
def test_a_refused_write_does_not_wake_it(client: TestClient, app: Starlette) -> None:
    worker = app.state.webhook_worker
    assert client.post("/events", json={"title": ""}).status_code == 422
    assert not worker.woken


@pytest.mark.parametrize("backend", ["memory"])
def test_without_an_endpoint_writes_leave_the_worker_to_its_poll_until_one_is_made(
    client: TestClient, app: Starlette
) -> None:
    worker = app.state.webhook_worker
    admin = admin_token(client, app)
    deliver(client)  # a round that finds no endpoint
    create_event(client, admin)
    assert not worker.woken
    register(client, admin, "http://127.0.0.1:9/in")
    assert worker.woken  # the new endpoint's first round is now
    deliver(client)
    create_event(client, admin)
    assert worker.woken


@pytest.mark.parametrize("backend", ["memory"])
def test_enabling_an_endpoint_again_wakes_the_worker(client: TestClient, app: Starlette) -> None:
    worker = app.state.webhook_worker
    admin = admin_token(client, app)
    endpoint = register(client, admin, "http://127.0.0.1:9/in")
    off = client.patch(f"/webhooks/{endpoint['id']}", json={"enabled": False}, headers=admin)
    assert off.status_code == 200, off.text
    deliver(client)  # a round that finds no enabled endpoint
    create_event(client, admin)
    assert not worker.woken
    on = client.patch(f"/webhooks/{endpoint['id']}", json={"enabled": True}, headers=admin)
    assert on.status_code == 200, on.text
    assert worker.woken
