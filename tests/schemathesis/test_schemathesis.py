"""schemathesis against the running service: every phase, every check, 0 failures.

The server runs as a real process (``python -m eventsapi serve``) on a free port
with a fresh SQLite file, and again with a fresh PostgreSQL schema (whose text cannot
hold NUL, so it is where text that no field can hold would show as a 500);
schemathesis runs as its own process, as a person would run it:

    python -m eventsapi serve --port 8001 --database /tmp/st.db &
    SCHEMATHESIS_HOOKS=tests/schemathesis/hooks.py \\
        schemathesis run http://127.0.0.1:8001/openapi.json <the options in RUN_OPTIONS>

``hooks.py`` holds the only narrowing of the tool, with the reasons. The seed is
fixed so that a failure here can be reproduced; run without ``--seed`` to explore
other cases. On failure the whole schemathesis report is in the assertion message.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest

from tests.security.public import database_url

HOOKS: Final = Path(__file__).with_name("hooks.py")
SEED: Final = 20250301
MIN_TEST_CASES: Final = 500
RUN_OPTIONS: Final = (
    "--phases=examples,coverage,fuzzing,stateful",
    "--checks=all",
    "--max-examples=100",
    f"--seed={SEED}",
    # no example database: each run starts from the seed alone, so it is reproducible
    "--generation-database=none",
    "--request-timeout=10",
    "--no-color",
)
RUN_TIMEOUT: Final = 420.0
RATE_LIMITS: Final = "read=1000000/60,write=1000000/60,auth=1000000/60,other=1000000/60"
READY_TIMEOUT: Final = 30.0
BACKENDS: Final = ["sqlite", "postgres"]

pytestmark = [
    pytest.mark.slow,
    # the run's own budget, with the server's start and stop: past the 300 s default
    pytest.mark.timeout(READY_TIMEOUT + RUN_TIMEOUT + 90),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(**extra: str) -> dict[str, str]:
    """This environment without settings of ours (they would change the server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTSAPI_")}
    env.update(extra)
    return env


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _wait_healthy(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()}")
        if _healthy(port):
            return
        time.sleep(0.1)
    pytest.fail(f"/healthz did not answer 200 within {READY_TIMEOUT} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as a process manager stops it; the exit code (or SIGKILL after 60 s)."""
    server.send_signal(signal.SIGTERM)
    try:
        return server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        raise


def check_schemathesis_against_a_server(
    tmp_path: Path,
    env: dict[str, str],
    headers: Callable[[int], list[str]] = lambda port: [],
    *,
    database: str | None = None,
) -> None:
    """Serve ``database`` (a fresh SQLite file in ``tmp_path`` by default) with the
    settings in ``env``, run schemathesis against it, and fail on any failure it finds,
    too few test cases, an unclean stop or a traceback in the server's log.

    ``headers(port)``: headers (``Name: value``) schemathesis sends with every request,
    made once the server answers; their values are kept out of the report.
    """
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [
                sys.executable,
                *("-m", "eventsapi", "serve"),
                *("--port", str(port), "--database", database or str(tmp_path / "events.db")),
            ],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to clean up after a failure
        )
    try:
        _wait_healthy(server, port, log)
        sent = headers(port)
        run = subprocess.run(
            [
                sys.executable,
                *("-m", "schemathesis.cli", "run"),
                f"http://127.0.0.1:{port}/openapi.json",
                *RUN_OPTIONS,
                *(option for header in sent for option in ("-H", header)),
            ],
            cwd=tmp_path,  # schemathesis keeps its cache in the working directory
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

    report = f"{run.stdout}\n{run.stderr}"
    for header in sent:
        report = report.replace(header.partition(":")[2].strip(), "<secret>")
    found = re.search(r"(\d+) generated", report)
    generated = int(found.group(1)) if found else 0
    server_log = log.read_text(errors="replace")
    print(report)  # shown by pytest -s, and in the report of a failed test

    assert run.returncode == 0, f"schemathesis failed (exit {run.returncode}):\n{report}"
    assert generated >= MIN_TEST_CASES, f"only {generated} test cases generated:\n{report}"
    assert exit_code == 0, f"the server exited with {exit_code} on SIGTERM:\n{server_log}"
    assert "Traceback" not in server_log, f"the server logged an error:\n{server_log}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_schemathesis_finds_no_failure_in_the_running_service(tmp_path: Path, backend: str) -> None:
    # Rate limits on (their fields are in every answer) but far above the run's
    # thousands of requests a minute from one address, logins included.
    with database_url(backend, tmp_path) as database:
        check_schemathesis_against_a_server(
            tmp_path, _environment(EVENTSAPI_RATE_LIMITS=RATE_LIMITS), database=database
        )
