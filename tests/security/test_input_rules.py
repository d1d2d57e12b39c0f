"""Text no field can hold, sent to a public server on each storage backend (issue 13, item 4).

PostgreSQL text cannot hold NUL: a login with ``"a\\u0000b"`` reached the database and got a
500, and was not counted against the client's login throttle. Every such input must get a
4xx problem, the same on every backend, and a refused login must count like a failed one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eventsapi.auth.throttle import ClientBudget
from tests.security.public import ADMIN, ADMIN_PASSWORD, login, public_server, request_from

pytestmark = pytest.mark.slow

JSON = {"Content-Type": "application/json"}
ATTACKER = "127.0.0.7"
BYSTANDER = "127.0.0.8"
CLIENT_BUDGET = ClientBudget().limit  # failed logins an address may make in the window
BACKENDS = ["sqlite", "postgres"]


def _send(
    port: int, source: str, method: str, path: str, document: Any = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    body = None if document is None else json.dumps(document).encode()
    return request_from(source, port, method, path, body=body, headers={**JSON, **headers})


def _assert_problem(answer: tuple[int, dict[str, str], bytes], status: int) -> dict[str, Any]:
    got, fields, body = answer
    assert got == status, body
    assert fields["content-type"] == "application/problem+json", fields
    problem: dict[str, Any] = json.loads(body)
    return problem


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_nul_in_a_login_is_refused_and_counted_against_the_client(
    tmp_path: Path, backend: str
) -> None:
    with public_server(tmp_path, backend=backend) as server:
        refused = [
            {"username": "a\x00b", "password": "x"},
            {"username": ADMIN, "password": ADMIN_PASSWORD, "totp": "\x00"},
            {"username": "admin\x1b[2J", "password": "x"},
            {"username": "a" * 100_000, "password": "x"},
        ]
        for attempt in range(CLIENT_BUDGET):
            answer = _send(server.port, ATTACKER, "POST", "/auth/login", refused[attempt % 4])
            problem = _assert_problem(answer, 422)
            assert problem["errors"][0]["pointer"] in {"#/username", "#/totp"}, problem

        # The budget is spent: even the right password waits now, from that address only.
        right = {"username": ADMIN, "password": ADMIN_PASSWORD}
        waiting = _send(server.port, ATTACKER, "POST", "/auth/login", right)
        _assert_problem(waiting, 429)
        assert int(waiting[1]["retry-after"]) >= 1
        _assert_problem(_send(server.port, ATTACKER, "POST", "/auth/login", refused[0]), 429)
        login(BYSTANDER, server.port, ADMIN, ADMIN_PASSWORD)


@pytest.mark.parametrize("backend", BACKENDS)
def test_control_characters_in_account_fields_get_a_problem_not_a_500(
    tmp_path: Path, backend: str
) -> None:
    with public_server(tmp_path, backend=backend) as server:
        port = server.port
        admin = {"Authorization": f"Bearer {login(BYSTANDER, port, ADMIN, ADMIN_PASSWORD)}"}
        password = "plum orchard violin seventeen"  # noqa: S105 - a test account's
        new_user = {"username": "nul\x00name", "password": password}
        _assert_problem(_send(port, BYSTANDER, "POST", "/users", new_user, **admin), 422)
        token = {"name": "ci\x00", "scopes": ["events:read"]}
        _assert_problem(_send(port, BYSTANDER, "POST", "/auth/tokens", token, **admin), 422)
        change = {"current_password": ADMIN_PASSWORD, "new_password": password, "totp": "\x00"}
        _assert_problem(_send(port, BYSTANDER, "POST", "/auth/password", change, **admin), 422)
        for name in ("a%00b", "a%C2%85b", "a" * 5000):
            unlock = _send(port, BYSTANDER, "POST", f"/users/{name}/unlock", **admin)
            _assert_problem(unlock, 404)
            role = {"role": "admin"}
            _assert_problem(
                _send(port, BYSTANDER, "PUT", f"/users/{name}/role", role, **admin), 404
            )

        # An event's text fields: refused, not stored (nor stored differently per backend).
        for event in (
            {"title": "a\x00b"},
            {"title": "a\x07b"},
            {"title": "ok", "description": "x\x00"},
            {"title": "ok", "location": "x\x9b"},
            {"title": "ok", "tags": ["x\x00"]},
        ):
            problem = _assert_problem(
                _send(port, BYSTANDER, "POST", "/events", event, **admin), 422
            )
            assert problem["errors"], problem
        status, _, body = _send(port, BYSTANDER, "GET", "/events?q=%00&tag=%00", **admin)
        assert status in (200, 400), body

        # A User-Agent is kept with the session as it came, but for control characters.
        right = {"username": ADMIN, "password": ADMIN_PASSWORD}
        status, _, body = request_from(
            BYSTANDER,
            port,
            "POST",
            "/auth/login",
            body=json.dumps(right).encode(),
            headers={**JSON, "User-Agent": "agent\x85\x9f/1.0 \xe9"},
        )
        assert status == 200, body
        session = json.loads(body)["session"]
        assert session["user_agent"] == "agent\ufffd\ufffd/1.0 \xe9"
