"""A worker whose password hashing queue is full answers 503 at once (issue 13): a problem
document with ``Retry-After``, and nothing counted. ``password_hashing_*`` settings shape
the queue; ``/metrics`` counts the argon2 computations."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from eventsapi.settings import Settings
from tests.api.asserts import assert_problem

PASSWORD = "plum tractor whisper eleven lagoon"  # noqa: S105 - a test account's
LOGIN = json.dumps({"username": "alice", "password": "not the password"})
JSON = {"Content-Type": "application/json"}


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        database=str(tmp_path / "events.db"),
        rate_limits=[],
        password_hashing_threads=1,
        password_hashing_queue=1,
        password_hashing_per_client=1,
    )


def verifications(client: TestClient) -> float:
    text = client.get("/metrics").text
    found = re.search(r'^eventsapi_password_hashes_total\{operation="verify"\} (\S+)$', text, re.M)
    return 0.0 if found is None else float(found.group(1))


def test_a_full_share_of_the_queue_gets_503_with_retry_after_and_counts_nothing(
    tmp_path: Path,
) -> None:
    app = create_app(settings_for(tmp_path))
    accounts: AccountService = app.state.accounts
    with TestClient(app) as client:
        portal = client.portal
        assert portal is not None
        portal.call(lambda: accounts.admin.create_user("alice", PASSWORD, actor=OPERATOR))
        with accounts.hashing.admitted("testclient"):  # this client's one place is taken
            busy = client.post("/auth/login", content=LOGIN, headers=JSON)
        with accounts.hashing.admitted("192.0.2.1"), accounts.hashing.admitted("192.0.2.2"):
            full = client.post("/auth/login", content=LOGIN, headers=JSON)  # the whole queue
        before = verifications(client)
        wrong = client.post("/auth/login", content=LOGIN, headers=JSON)
        after = verifications(client)
        user = portal.call(lambda: app.state.store.user_by_name("alice"))

    for refused in (busy, full):
        problem = assert_problem(refused, 503)
        assert problem["type"] == "/problems/server-busy"
        assert refused.headers["retry-after"] == "1"
    assert "your address" in assert_problem(busy, 503)["detail"]
    # Neither refusal counted a failure: only the wrong password that got in did.
    assert assert_problem(wrong, 401)["type"] == "/problems/authentication-failed"
    assert user is not None
    assert user.failed_logins == 1
    assert after - before == 1


def test_the_queue_is_shaped_by_the_settings(tmp_path: Path) -> None:
    gate = create_app(settings_for(tmp_path)).state.accounts.hashing
    assert (gate.threads, gate.queue, gate.per_client) == (1, 1, 1)
