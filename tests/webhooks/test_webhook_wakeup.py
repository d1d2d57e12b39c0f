"""A write wakes this worker's deliveries at once; it does not wait for the next poll.

bench/webhook_latency.py measures what it gains (docs/benchmarks.md)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.webhooks.test_webhook_deliveries import admin_token, create_event


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
