"""The service the browser tests drive: a real ``eventsapi serve`` on SQLite, its accounts
made by the command line, one of them with two-step verification (turned on through the
API, as a person's authenticator app would)."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp

from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port

PASSWORD = "plum tractor whisper eleven lagoon"  # noqa: S105 - the tests' accounts'
PEOPLE = ("ann", "bob", "cat", "dan")
"""ann has two-step verification; the others sign in with their password alone."""
ENVIRONMENT = {"EVENTSAPI_ANONYMOUS_WRITES": "off"}


@dataclass
class Service:
    server: ServerProcess
    totp_secret: str
    """ann's."""
    tokens: dict[str, str] = field(default_factory=dict)
    """A session of each person who made events through the API (logins are rate-limited)."""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """A JSON request to the API: its status and decoded body (``None`` if empty)."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        status, answer = self.server.request(method, path, data, headers)
        return status, json.loads(answer) if answer else None

    def token(self, name: str, code: str | None = None) -> str:
        body = {"username": name, "password": PASSWORD, **({"totp": code} if code else {})}
        status, answer = self.call("POST", "/auth/login", body)
        assert status == 200, answer
        token: str = answer["token"]
        return token

    def create_event(self, owner: str, **fields: Any) -> str:
        if owner not in self.tokens:
            self.tokens[owner] = self.token(owner)
        status, answer = self.call("POST", "/events", fields, self.tokens[owner])
        assert status == 201, answer
        event_id: str = answer["id"]
        return event_id


def prepare(folder: Path) -> ServerProcess:
    """The server (not started: enter it) of a new database with the accounts of
    ``PEOPLE``."""
    database = folder / "events.db"
    for name in PEOPLE:
        subprocess.run(
            eventsapi_command(
                "users", "create", name, "--password-stdin", "--database", str(database)
            ),
            input=PASSWORD,
            text=True,
            capture_output=True,
            check=True,
            timeout=60,
            cwd=folder,
            env=clean_environment(),
        )
    port = free_port()
    return ServerProcess(
        ["serve", "--port", str(port), "--database", str(database)],
        port=port,
        cwd=folder,
        env=ENVIRONMENT,
    )


def ready(server: ServerProcess) -> Service:
    """The started ``server`` once it answers, with ann's two-step verification on."""
    server.wait_ready()
    service = Service(server, "")
    service.totp_secret = turn_on_totp(service, "ann")
    return service


def turn_on_totp(service: Service, name: str) -> str:
    token = service.token(name)
    status, setup = service.call("POST", "/auth/totp", None, token)
    assert status == 200, setup
    secret: str = setup["secret"]
    code = pyotp.TOTP(secret).at(time.time())
    status, answer = service.call(
        "POST", "/auth/totp/confirm", {"code": code, "password": PASSWORD}, token
    )
    assert status == 200, answer
    return secret


def next_code(secret: str) -> str:
    """A code the server takes once after the one that turned two-step verification on:
    the next step's (it allows one step of clock drift, and only codes of later steps)."""
    return pyotp.TOTP(secret).at(time.time() + 30)
