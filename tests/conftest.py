"""Fixtures shared by every test suite.

- ``clock``: a :class:`tests.support.FakeClock` the test moves by hand.
- ``settings``: default :class:`Settings` with the database in ``tmp_path``.
- ``store``: an *unopened* store, parametrized over the memory, SQLite and PostgreSQL
  backends, so a test that uses it (directly or through ``app``/``client``) runs once per
  backend. PostgreSQL's is in a schema of its own, dropped after the test; a server that
  cannot be reached fails the test (``tests.support.postgres_admin``).
- ``app``: ``create_app(settings, store=store, clock=clock)``.
- ``client``: a Starlette ``TestClient`` entered as a context manager, so the lifespan
  (store open, migrations, close) runs around the test.
- ``anyio_backend``: ``"asyncio"`` (the service runs on asyncio only), for ``@pytest.mark.anyio``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.support import BACKENDS, FakeClock, make_store, postgres_schema


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database=str(tmp_path / "events.db"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Backend]:
    if backend == "postgres":
        with postgres_schema() as url:
            yield make_store(backend, tmp_path, postgres_url=url)
    else:
        yield make_store(backend, tmp_path)


@pytest.fixture
def app(settings: Settings, store: Backend, clock: FakeClock) -> Starlette:
    return create_app(settings, store=store, clock=clock.now)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
