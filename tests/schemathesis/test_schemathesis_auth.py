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
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.schemathesis.test_schemathesis import (
    HOOKS,
    MIN_TEST_CASES,
    READY_TIMEOUT,
    RUN_OPTIONS,
    RUN_TIMEOUT,
    _environment,
    _free_port,
    _stop,
    _wait_healthy,
)

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


def test_schemathesis_authenticated_finds_no_failure(tmp_path: Path) -> None:
    port = _free_port()
    database = str(tmp_path / "events.db")
    env = _environment(**SETTINGS)
    created = subprocess.run(
        [sys.executable, "-m", "eventsapi", "users", "create", "admin", "--admin",
         "--password-stdin", "--database", database],
        input=PASSWORD, text=True, capture_output=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "eventsapi", "serve", "--port", str(port),
             "--database", database],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_healthy(server, port, log)
        token = _token(port)
        run = subprocess.run(
            [
                sys.executable,
                *("-m", "schemathesis.cli", "run"),
                f"http://127.0.0.1:{port}/openapi.json",
                *RUN_OPTIONS,
                "-H",
                f"Authorization: Bearer {token}",
            ],
            cwd=tmp_path,
            env=_environment(SCHEMATHESIS_HOOKS=str(HOOKS)),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        exit_code = _stop(server)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)

    report = f"{run.stdout}\n{run.stderr}".replace(token, "<token>")
    found = re.search(r"(\d+) generated", report)
    generated = int(found.group(1)) if found else 0
    server_log = log.read_text(errors="replace")
    print(report)

    assert run.returncode == 0, f"schemathesis failed (exit {run.returncode}):\n{report}"
    assert generated >= MIN_TEST_CASES, f"only {generated} test cases generated:\n{report}"
    assert exit_code == 0, f"the server exited with {exit_code} on SIGTERM:\n{server_log}"
    assert "Traceback" not in server_log, f"the server logged an error:\n{server_log}"
