"""SSRF: without ``webhook_allow_private`` a webhook never calls a private address, whether
the URL names it at registration or its host resolves to one at delivery time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from tests.support import FakeClock
from tests.webhooks.receiver import Receiver, serve_receiver
from tests.webhooks.test_webhook_deliveries import (
    admin,
    admin_token,
    create_event,
    deliver,
    register,
)

__all__ = ["admin"]  # a fixture of the deliveries' tests, used here too


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1/hook",
        "http://192.168.0.10/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
    ],
)
def test_a_private_address_is_refused_at_registration(
    client: TestClient, admin: dict[str, str], url: str
) -> None:
    response = client.post("/webhooks", json={"url": url}, headers=admin)

    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["pointer"] == "#/url"
    assert "webhook_allow_private" in error["detail"]
    assert client.get("/webhooks", headers=admin).json() == []


def test_plain_http_is_refused_in_public_mode(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(database=str(tmp_path / "p.db"), host="0.0.0.0", anonymous_writes="off")  # noqa: S104
    with TestClient(create_app(settings, clock=clock.now)) as client:
        headers = admin_token(client, client.app)  # type: ignore[arg-type]
        refused = client.post("/webhooks", json={"url": "http://93.184.216.34/"}, headers=headers)
        accepted = client.post("/webhooks", json={"url": "https://93.184.216.34/"}, headers=headers)

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "#/url"
    assert "https://" in refused.json()["errors"][0]["detail"]
    assert accepted.status_code == 201


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_at_delivery_once_the_setting_is_off(
    tmp_path: Path, clock: FakeClock, receiver: Receiver, host: str
) -> None:
    database = str(tmp_path / "events.db")
    allowed = Settings(database=database, webhook_allow_private=True)
    with TestClient(create_app(allowed, clock=clock.now)) as client:
        headers = admin_token(client, client.app)  # type: ignore[arg-type]
        hook = register(client, headers, f"http://{host}:{receiver.port}/hook")
    # The operator turns the setting off: the endpoint is registered already.
    with TestClient(create_app(Settings(database=database), clock=clock.now)) as client:
        create_event(client, headers)
        assert deliver(client) == 1
        attempts = client.get(f"/webhooks/{hook['id']}/deliveries", headers=headers).json()

    assert receiver.requests() == []
    assert attempts[0]["status_code"] is None
    assert attempts[0]["error"].startswith("Refused:")
    assert "loopback" in attempts[0]["error"]
    assert attempts[0]["next_attempt_at"] is not None  # retried: the operator may allow it
