"""The web UI's pages, through Starlette's test client (the browser tests are in
tests/browser): one SQLite backend, since the pages call the API's handlers, which
tests/api and tests/contract run on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from tests.support import FakeClock


@pytest.fixture
def ui(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    """The service, without rate limits, on a clock the test moves; anonymous writes off,
    so that what the pages do is done as the signed-in account."""
    settings = Settings(
        database=str(tmp_path / "events.db"), rate_limits=[], anonymous_writes="off"
    )
    with TestClient(create_app(settings, clock=clock.now)) as client:
        yield client
