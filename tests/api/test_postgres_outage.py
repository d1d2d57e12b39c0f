"""PostgreSQL out of reach, over HTTP: 503 problems with Retry-After, /readyz not ready,
and service back by itself once the database is, with no restart.

The outage is made without stopping the shared server: the app connects as a role
of its own, whose connections are then refused (``CONNECTION LIMIT 0``) and ended,
as a server that went down would refuse and end them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from eventsapi.storage.postgres import PostgresStore
from tests.api.asserts import JSON_HEADERS, assert_problem
from tests.support import FakeClock, postgres_role, postgres_schema, set_connection_limit
from tests.waiting import wait_until

POOL_TIMEOUT = 0.5


@pytest.fixture
def role() -> Iterator[str]:
    with postgres_role() as name:
        yield name


@pytest.fixture
def outage_client(role: str, tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    with postgres_schema(owner=role) as url:
        store = PostgresStore(url, pool_min_size=2, pool_max_size=4, pool_timeout=POOL_TIMEOUT)
        app = create_app(
            Settings(database=str(tmp_path / "unused.db")), store=store, clock=clock.now
        )
        with TestClient(app) as client:
            yield client


def test_requests_get_503_while_the_database_is_down_and_succeed_once_it_is_back(
    outage_client: TestClient, role: str
) -> None:
    client = outage_client
    created = client.post("/events", content=b'{"title": "Kept"}', headers=JSON_HEADERS)
    assert created.status_code == 201, created.text
    location = created.headers["location"]

    set_connection_limit(role, 0)
    for method, url, body in [
        ("GET", location, None),
        ("GET", "/events", None),
        ("POST", "/events", b'{"title": "Lost"}'),
        ("PATCH", location, b'{"title": "Lost"}'),
        ("DELETE", location, None),
        ("GET", "/readyz", None),
    ]:
        response = client.request(method, url, content=body, headers=JSON_HEADERS)
        assert_problem(response, 503)  # answered, not hung (pytest-timeout catches a hang)
        assert response.headers["retry-after"] == "1"

    set_connection_limit(role, -1)
    wait_until(lambda: client.get("/readyz").status_code == 200, "the service to resume by itself")
    found = client.get(location)
    assert found.status_code == 200
    assert found.json()["title"] == "Kept"
    assert (
        client.post("/events", content=b'{"title": "After"}', headers=JSON_HEADERS).status_code
        == 201
    )
    titles = [event["title"] for event in client.get("/events").json()]
    assert titles == ["Kept", "After"]
