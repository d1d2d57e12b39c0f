"""schemathesis against a server that needs accounts: authenticated, every check, 0 failures.

The same run as ``test_schemathesis.py`` with anonymous writes off (as on any address
beyond loopback) and an admin's API token sent with every request
(``-H "Authorization: Bearer …"``). ``--checks=all`` includes ``ignored_auth``: every
operation whose OpenAPI ``security`` requires credentials is also tried without them and
with made-up ones, and must refuse both.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.schemathesis.test_schemathesis import (
    BACKENDS,
    READY_TIMEOUT,
    RUN_TIMEOUT,
    _environment,
    check_schemathesis_against_a_server,
)
from tests.security.public import database_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(READY_TIMEOUT + RUN_TIMEOUT + 120),
]

PASSWORD = "plum orchard violin seventeen"  # noqa: S105 - a test account's passphrase
SETTINGS = {
    "EVENTSAPI_ANONYMOUS_WRITES": "off",
    # schemathesis sends thousands of requests from one address in a few minutes; the
    # limits are tested on their own (tests/api/test_rate_limits.py).
    "EVENTSAPI_RATE_LIMITS": "",
}


def _post(port: int, path: str, document: object, token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(document).encode(), headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status in (200, 201), body
    answer: dict[str, Any] = json.loads(body)
    return answer


def _token(port: int) -> str:
    """An API token of the admin, with every scope (so every operation can succeed)."""
    session = _post(port, "/auth/login", {"username": "admin", "password": PASSWORD})["token"]
    scopes = ["events:read", "events:write", "admin"]
    created = _post(port, "/auth/tokens", {"name": "schemathesis", "scopes": scopes}, session)
    token: str = created["token"]
    return token


@pytest.mark.parametrize("backend", BACKENDS)
def test_schemathesis_authenticated_finds_no_failure(tmp_path: Path, backend: str) -> None:
    env = _environment(**SETTINGS)
    with database_url(backend, tmp_path) as database:
        created = subprocess.run(
            [sys.executable, "-m", "eventsapi", "users", "create", "admin", "--admin",
             "--password-stdin", "--database", database],
            input=PASSWORD, text=True, capture_output=True, env=env, cwd=tmp_path, check=False,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr

        check_schemathesis_against_a_server(
            tmp_path,
            env,
            lambda port: [f"Authorization: Bearer {_token(port)}"],
            database=database,
        )
