"""``eventsapi serve`` says at start who may change events, and what to do on a first run."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals")

JSON = {"Content-Type": "application/json"}
FIRST_RUN = "no accounts yet: create one with `eventsapi users create --admin NAME`"


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    """Start the server, POST an event without an account, stop it: (its log, the status)."""
    port = free_port()
    database = str(tmp_path / "events.db")
    with ServerProcess(
        ["serve", "--port", str(port), "--database", database, *args],
        port=port,
        cwd=tmp_path,
        env=env,
    ) as server:
        server.wait_ready()
        status, _ = server.request("POST", "/events", b'{"title": "x"}', JSON)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, server.log()
        log = server.log()
    server.log_path.unlink()
    return log, status


def lines(log: str, level: str) -> list[str]:
    return [line for line in log.splitlines() if f" {level} eventsapi: " in line]


def test_on_loopback_the_start_line_says_anonymous_writes_are_on(tmp_path: Path) -> None:
    log, status = serve(tmp_path)

    (start,) = lines(log, "INFO")
    assert (
        "; anonymous writes ON (listening on loopback only); requests from this machine are "
        "not rate-limited. Press Ctrl+C" in start
    )
    assert lines(log, "WARNING") == []
    assert status == 201


def test_without_accounts_the_first_run_is_explained_once_and_not_after(tmp_path: Path) -> None:
    env = {"EVENTSAPI_ANONYMOUS_WRITES": "off"}

    log, status = serve(tmp_path, env=env)

    (start,) = lines(log, "INFO")
    assert "; writes need an account. Press Ctrl+C" in start
    (warning,) = lines(log, "WARNING")
    assert FIRST_RUN in warning
    assert status == 401

    subprocess.run(
        eventsapi_command("users", "create", "--admin", "root", "--password-stdin"),
        input=b"violet tractor humming seashell\n",
        cwd=tmp_path,
        env=clean_environment({"EVENTSAPI_DATABASE": str(tmp_path / "events.db")}),
        check=True,
        capture_output=True,
    )
    log, _ = serve(tmp_path, env=env)

    assert lines(log, "WARNING") == []


def test_anonymous_writes_on_any_address_are_a_warning(tmp_path: Path) -> None:
    log, status = serve(tmp_path, "--host", "0.0.0.0", env={"EVENTSAPI_ANONYMOUS_WRITES": "on"})  # noqa: S104

    (start,) = lines(log, "INFO")
    assert "; anonymous writes ON. Press Ctrl+C" in start
    (warning,) = lines(log, "WARNING")
    assert "anyone who can reach the port can create, change and delete events" in warning
    assert status == 201


def test_off_loopback_writes_need_an_account_by_default(tmp_path: Path) -> None:
    log, status = serve(tmp_path, "--host", "0.0.0.0")  # noqa: S104

    assert "; writes need an account. Press Ctrl+C" in lines(log, "INFO")[0]
    assert FIRST_RUN in lines(log, "WARNING")[0]
    assert status == 401
