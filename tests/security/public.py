"""A real ``eventsapi serve`` process in public mode, attacked from several loopback addresses.

Public mode is what an operator gets with ``--host 0.0.0.0`` and the defaults: anonymous
writes off, rate limits and throttles on. The tests of ``tests/security`` reproduce an
outsider's attack against such a process; Linux routes all of 127.0.0.0/8 to loopback, so a
client socket bound to ``127.0.0.N`` is a different client address for the server.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port
from tests.support import postgres_schema

ADMIN = "admin"
ADMIN_PASSWORD = "correct horse battery staple 42"  # noqa: S105 - a test account's


@contextlib.contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    """A fresh database of ``backend`` (``sqlite`` or ``postgres``) for one server."""
    if backend == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        yield str(folder / "events.db")


def create_user(database: str, name: str, password: str, *, admin: bool = False) -> None:
    """``eventsapi users create`` with the password on standard input."""
    args = ["users", "create", name, "--password-stdin", "--database", database]
    if admin:
        args.append("--admin")
    subprocess.run(
        eventsapi_command(*args),
        input=password.encode(),
        env=clean_environment(),
        check=True,
        capture_output=True,
        timeout=60,
    )


@contextlib.contextmanager
def public_server(
    folder: Path,
    *,
    backend: str = "sqlite",
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    users: Sequence[tuple[str, str, bool]] = ((ADMIN, ADMIN_PASSWORD, True),),
) -> Iterator[ServerProcess]:
    """A server on ``0.0.0.0`` with the default settings (plus ``env``), ready, with
    ``users`` (name, password, admin?) created first; killed at the end."""
    with database_url(backend, folder) as database:
        for name, password, admin in users:
            create_user(database, name, password, admin=admin)
        port = free_port()
        # Public mode is the point: listening beyond loopback.
        everywhere = "0.0.0.0"  # noqa: S104
        command = ["serve", "--host", everywhere, "--port", str(port), "--database", database]
        server = ServerProcess([*command, *args], port=port, cwd=folder, env=env)
        with server:
            server.wait_ready()
            yield server


@dataclass(frozen=True)
class Answer:
    status: int
    fields: list[tuple[str, str]]
    """Every response field, in order, names in lower case."""
    body: bytes

    def all(self, name: str) -> list[str]:
        return [value for field, value in self.fields if field == name]

    def get(self, name: str, default: str = "") -> str:
        """The one value of field ``name``; ``default`` when it is absent."""
        values = self.all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else default

    def json(self) -> object:
        return json.loads(self.body)


def exchange(
    source: str,
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Answer:
    """One request on a new connection from the loopback address ``source``."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
    )
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        fields = [(name.lower(), value) for name, value in response.getheaders()]
        return Answer(response.status, fields, response.read())
    finally:
        conn.close()


def request_from(
    source: str,
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection from the loopback address ``source`` (``127.0.0.N``):
    ``(status, headers with lower-case names, body)``."""
    answer = exchange(source, port, method, path, body=body, headers=headers, timeout=timeout)
    return answer.status, dict(answer.fields), answer.body


def login(source: str, port: int, username: str, password: str) -> str:
    """A session token for ``username``, logged in from ``source``."""
    status, _, body = request_from(
        source,
        port,
        "POST",
        "/auth/login",
        body=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, body
    document: dict[str, Any] = json.loads(body)
    token: str = document["token"]
    return token
