"""A real server's logs (issue 19): ``log_format = "json"`` read back line by line, and
both formats as systemd's journal takes them (``JOURNAL_STREAM``)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals")

PASSWORD = "violet tractor humming seashell"  # noqa: S105 - a test account's
JSON_BODY = {"Content-Type": "application/json"}


def create_admin(database: Path) -> None:
    subprocess.run(
        eventsapi_command(
            "users", "create", "root", "--admin", "--password-stdin", "--database", str(database)
        ),
        input=PASSWORD.encode(),
        env=clean_environment(),
        check=True,
        capture_output=True,
    )


def log_in(server: ServerProcess) -> dict[str, Any]:
    body = json.dumps({"username": "root", "password": PASSWORD}).encode()
    status, answer = server.request("POST", "/auth/login", body, JSON_BODY)
    assert status == 200, answer
    result: dict[str, Any] = json.loads(answer)
    return result


def served(tmp_path: Path, env: dict[str, str], requests: int = 1) -> tuple[str, dict[str, Any]]:
    """Start a server with ``env`` and the access log, send its requests (one as the
    admin), stop it; its whole output, and the admin's login."""
    database = tmp_path / "events.db"
    create_admin(database)
    port = free_port()
    args = ["--port", str(port), "--database", str(database), "--access-log"]
    with ServerProcess(args, port=port, cwd=tmp_path, env=env) as server:
        server.wait_ready()
        login = log_in(server)
        bearer = {"Authorization": f"Bearer {login['token']}", "X-Request-Id": "req-me"}
        assert server.request("GET", "/auth/me", headers=bearer)[0] == 200
        for n in range(requests):
            server.request("GET", f"/events/nope-{n}?_=1", headers={"X-Request-Id": f"r-{n}"})
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, server.log()
        return server.log(), login


def test_json_logs_are_one_object_per_line_with_the_requests_fields(tmp_path: Path) -> None:
    env = {"EVENTSAPI_LOG_FORMAT": "json", "EVENTSAPI_BOGUS": "1"}

    output, login = served(tmp_path, env, requests=2)

    lines = [json.loads(line) for line in output.splitlines()]  # every line, or it fails
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]), line
    # The settings' warning comes first, in the same format, though it was made before
    # the settings said which format.
    assert lines[0]["level"] == "warning"
    assert lines[0]["logger"] == "eventsapi"
    assert "EVENTSAPI_BOGUS" in lines[0]["message"]
    assert "serving http://127.0.0.1" in lines[1]["message"]

    access = {line["request_id"]: line for line in lines if line["logger"] == "eventsapi.access"}
    me = access["req-me"]
    assert (me["level"], me["method"], me["route"], me["status"]) == (
        "info",
        "GET",
        "/auth/me",
        200,
    )
    assert me["user_id"] == login["user"]["id"]
    assert me["client"] == "127.0.0.1"
    assert isinstance(me["duration_ms"], float)
    assert me["duration_ms"] >= 0
    for n in range(2):
        anonymous = access[f"r-{n}"]
        assert (anonymous["route"], anonymous["status"]) == ("/events/{id}", 404)
        assert anonymous["path"] == f"/events/nope-{n}?_=1"
        assert "user_id" not in anonymous


def test_text_logs_on_the_journal_have_priorities_and_no_time(tmp_path: Path) -> None:
    output_file = tmp_path / "server.log"
    output_file.touch()  # the server's standard error: its device and inode name it
    found = output_file.stat()
    env = {"JOURNAL_STREAM": f"{found.st_dev}:{found.st_ino}", "EVENTSAPI_BOGUS": "1"}

    output, login = served(tmp_path, env)

    lines = output.splitlines()
    assert all(re.match(r"<[2-7]>\S", line) for line in lines), output
    assert not re.search(r"\d\d:\d\d:\d\d", output)
    assert lines[0] == "<4>eventsapi: ignoring EVENTSAPI_BOGUS: eventsapi has no setting 'bogus'"
    assert lines[1].startswith("<6>eventsapi: eventsapi ")
    me = next(line for line in lines if "id=req-me" in line)
    assert me.startswith("<6>eventsapi.access: GET /auth/me 200 ")
    assert me.endswith(f" user={login['user']['id']}")


def test_json_logs_on_the_journal(tmp_path: Path) -> None:
    output_file = tmp_path / "server.log"
    output_file.touch()
    found = output_file.stat()
    env = {
        "JOURNAL_STREAM": f"{found.st_dev}:{found.st_ino}",
        "EVENTSAPI_LOG_FORMAT": "json",
        "EVENTSAPI_BOGUS": "1",
    }

    output, _ = served(tmp_path, env)

    for line in output.splitlines():
        match = re.fullmatch(r"<([2-7])>(\{.*\})", line)
        assert match, line
        document = json.loads(match[2])
        assert "time" not in document
        expected = {"warning": "4", "info": "6", "error": "3"}[document["level"]]
        assert match[1] == expected, line
