"""``eventsapi serve`` as a real process: start, the start line, signals, workers, errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_process import (
    ServerProcess,
    clean_environment,
    eventsapi_command,
    free_port,
    group_members,
)
from tests.support import postgres_schema
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals")


def start_line(log: str, port: int) -> str:
    lines = [line for line in log.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one start line, got:\n{log}"
    assert f"http://127.0.0.1:{port}" in lines[0]
    return lines[0]


def unread_by_server(port: int, client_port: int) -> int | None:
    """Bytes the server on ``port`` has not yet read from the connection of the client on
    ``client_port`` (its socket's receive queue, from /proc/net/tcp), or ``None``."""
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for row in table.read_text().splitlines()[1:]:
            local, remote, _, queues = row.split()[1:5]
            if (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16)) == (
                port,
                client_port,
            ):
                return int(queues.split(":")[1], 16)
    return None


def test_no_command_means_serve(tmp_path: Path) -> None:
    """``eventsapi`` alone serves, on the defaults: ./eventsapi.db in the working directory."""
    port = free_port()
    with ServerProcess([], port=port, cwd=tmp_path, env={"EVENTSAPI_PORT": str(port)}) as server:
        server.wait_ready()
        status, body = server.request("GET", "/")
        assert status == 200
        assert json.loads(body)["service"] == "eventsapi"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, server.log()
    assert (tmp_path / "eventsapi.db").exists()


def test_no_command_with_options_means_serve(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "chosen.db"
    with ServerProcess(
        ["--port", str(port), "--database", str(database)], port=port, cwd=tmp_path
    ) as server:
        server.wait_ready()
        status, _ = server.request(
            "POST", "/events", b'{"title": "x"}', {"Content-Type": "application/json"}
        )
        assert status == 201
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, server.log()
    assert database.exists()
    assert not (tmp_path / "eventsapi.db").exists()


def test_one_readable_start_line_with_the_url(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "events.db"
    with ServerProcess(
        ["serve", "--port", str(port), "--database", str(database)], port=port, cwd=tmp_path
    ) as server:
        server.wait_ready()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, server.log()
        # read once the process is gone: anything it logged late is in the log too
        line = start_line(server.log(), port)
        assert re.search(r"\beventsapi \d+\.\d+\.\d+\b", line), line
        assert str(database.resolve()) in line
        assert "1 worker" in line
        assert "Ctrl+C" in line
        # Stopping adds nothing alarming: no traceback, no error.
        assert "Traceback" not in server.log()
        assert "ERROR" not in server.log()


def test_command_line_beats_environment_in_a_real_server(tmp_path: Path) -> None:
    port, other = free_port(), free_port()
    with ServerProcess(
        ["serve", "--port", str(port), "--database", "cli.db"],
        port=port,
        cwd=tmp_path,
        env={"EVENTSAPI_PORT": str(other), "EVENTSAPI_DATABASE": "env.db"},
    ) as server:
        server.wait_ready()
        start_line(server.log(), port)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", other), timeout=2).close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    assert (tmp_path / "cli.db").exists()
    assert not (tmp_path / "env.db").exists()


def read_response(sock: socket.socket) -> tuple[bytes, bytes, bytes]:
    """One HTTP/1.1 response with a Content-Length: (status line, header lines, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, _, header_lines = head.partition(b"\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)\s*$", header_lines)
    assert length, head
    while len(body) < int(length[1]):
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-body: {data!r}"
        body += chunk
    return status_line, header_lines + b"\r\n", body


def connection_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    # A connection that reached the listener's queue as it closed is reset, not accepted.
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    return False


@pytest.mark.parametrize(
    ("sig", "target", "workers"),
    [
        (signal.SIGTERM, "process", 1),
        (signal.SIGINT, "process", 1),
        (signal.SIGINT, "group", 1),  # Ctrl+C in a terminal signals the whole group
        (signal.SIGTERM, "process", 2),
    ],
    ids=["SIGTERM", "SIGINT", "ctrl-c", "SIGTERM-2-workers"],
)
def test_signal_stops_accepting_finishes_the_request_in_flight_and_exits_0(
    tmp_path: Path, sig: signal.Signals, target: str, workers: int
) -> None:
    port = free_port()
    database = tmp_path / "events.db"
    body = json.dumps({"title": "in flight", "description": "x" * 4000}).encode()
    head = (
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    args = ["serve", "--port", str(port), "--database", str(database), "--workers", str(workers)]
    # The wait for the listener to close may be long on a loaded machine: the body must not
    # meet request_body_timeout meanwhile (this test is about the signal, not slow bodies).
    env = clean_environment({"EVENTSAPI_REQUEST_BODY_TIMEOUT": "600"})
    with ServerProcess(args, port=port, cwd=tmp_path, env=env) as server:
        server.wait_ready()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as upload:
            # A first request makes sure a worker serves this connection.
            upload.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            assert read_response(upload)[0] == b"HTTP/1.1 200 OK"
            # Then a slow upload: the request has started, its body has not all arrived.
            upload.sendall(head + body[:100])
            wait_until(
                lambda: unread_by_server(port, upload.getsockname()[1]) == 0,
                "the server to read the request's head",
            )
            if target == "group":
                os.killpg(server.pid, sig)
            else:
                server.send_signal(sig)
            wait_until(lambda: connection_refused(port), "no more connections accepted")
            assert server.proc is not None
            assert server.proc.poll() is None, "exited with a request in flight"
            upload.sendall(body[100:])
            status_line, head_lines, answer = read_response(upload)
        assert status_line == b"HTTP/1.1 201 Created", answer[:300]
        location = re.search(rb"(?im)^location: (/events/\S+)\r$", head_lines)
        assert location, head_lines
        assert json.loads(answer)["title"] == "in flight"
        assert server.wait(timeout=60) == 0, server.log()
        assert "Traceback" not in server.log()
    # The request that was in flight committed before the process exited.
    event_id = location[1].decode().removeprefix("/events/")
    conn = sqlite3.connect(database)
    try:
        row = conn.execute("SELECT title FROM events WHERE id = ?", (event_id,)).fetchone()
    finally:
        conn.close()
    assert row == ("in flight",)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_while_the_workers_start_stops_them_once_started(
    tmp_path: Path, workers: int
) -> None:
    """A stop soon after a start (a deploy rolled back, ``systemctl restart`` twice) reaches
    the workers that are still starting: each stops once it is up, none has to be killed."""
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "e.db")]
    # A worker that missed the signal would be killed only after this, long past the wait.
    env = {"EVENTSAPI_SHUTDOWN_TIMEOUT": "600"}
    with ServerProcess([*args, "--workers", str(workers)], port=port, cwd=tmp_path, env=env) as s:
        if workers == 1:
            # One worker runs in serve's own process (cli/footprint.py): the signal comes
            # as it imports granian and builds the application, after the start line.
            wait_until(lambda: "serving http" in s.log(), "the start line")
        else:
            wait_until(lambda: len(group_members(s.pid)) == 1 + workers, "the worker processes")
        # Now, as they import and build the application (far longer than a poll), they
        # have no handler of their own for SIGTERM yet: the main process sends them one.
        s.send_signal(signal.SIGTERM)
        assert s.wait(timeout=120) == 0, s.log()
        assert "Traceback" not in s.log()
    assert group_members(s.pid) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_a_request_that_outlives_shutdown_timeout_is_dropped_and_serve_exits_0(
    tmp_path: Path, workers: int
) -> None:
    """With one worker in serve's own process as with forked workers: past
    ``shutdown_timeout`` the request in flight loses its connection (no answer made up for
    it) and serve exits 0."""
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "e.db")]
    # Every API request is held for a minute (the drill): only the timeout ends it sooner.
    env = clean_environment(
        {
            "EVENTSAPI_SHUTDOWN_TIMEOUT": "1",
            "EVENTSAPI_DRILL_SLOW_RATIO": "1",
            "EVENTSAPI_DRILL_SLOW_MS": "60000",
        }
    )
    with ServerProcess([*args, "--workers", str(workers)], port=port, cwd=tmp_path, env=env) as s:
        s.wait_ready()
        with socket.create_connection(("127.0.0.1", port), timeout=120) as held:
            held.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            wait_until(
                lambda: unread_by_server(port, held.getsockname()[1]) == 0,
                "the server to read the request",
            )
            s.send_signal(signal.SIGTERM)
            assert s.wait(timeout=120) == 0, s.log()
            assert held.recv(65536) == b"", "an answer to the request cut off"
        assert "Traceback" not in s.log()
    assert group_members(s.pid) == []


def test_two_workers_serve_and_share_the_database(tmp_path: Path) -> None:
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "e.db"), "--workers", "2"]
    with ServerProcess(args, port=port, cwd=tmp_path) as server:
        server.wait_ready()
        line = start_line(server.log(), port)
        assert "2 workers" in line
        members = group_members(server.pid)
        assert len([pid for pid in members if pid != server.pid]) == 2, members
        ids = set()
        for n in range(40):
            status, body = server.request(
                "POST",
                "/events",
                json.dumps({"title": f"t{n}"}).encode(),
                {"Content-Type": "application/json"},
            )
            assert status == 201, body
            ids.add(json.loads(body)["id"])
        for event_id in ids:  # every worker sees what any worker wrote
            status, _ = server.request("GET", f"/events/{event_id}")
            assert status == 200
        status, body = server.request("GET", "/events?limit=500")
        assert {event["id"] for event in json.loads(body)} == ids
        # Whichever worker answers, /metrics adds up both workers' counts (each worker
        # hands its counts over every second).
        expected = [
            'code="201",method="POST",route="/events"} 40.0',
            'code="200",method="GET",route="/events/{id}"} 40.0',
        ]

        def both_counted() -> bool:
            status, metrics = server.request("GET", "/metrics")
            assert status == 200
            return all(line in metrics.decode() for line in expected)

        wait_until(both_counted, "both workers' counts in /metrics")
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, server.log()
    assert group_members(server.pid) == []
    # A clean stop writes every count to the database: 40 creates, 40 reads, 1 list.
    with sqlite3.connect(tmp_path / "e.db") as db:
        assert db.execute("SELECT sum(total), sum(errors) FROM sli_minutes").fetchone() == (81, 0)


def run_eventsapi(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        eventsapi_command(*args),
        cwd=cwd,
        env=clean_environment(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["--port", "0"], {}, 2, "port"),
        (["--workers", "0"], {}, 2, "workers"),
        (["--config", "missing.toml"], {}, 2, "Cannot read the settings file missing.toml"),
        (["--config", "."], {}, 2, "is a directory"),
        (["--config", "broken.toml"], {}, 2, "is not valid TOML"),
        (["--database", "no-such-folder/events.db"], {}, 1, "folder for the database"),
        ([], {"EVENTSAPI_DATABASE": "no-such-folder/events.db"}, 1, "folder for the database"),
        ([], {"EVENTSAPI_WORKERS": "many"}, 2, "workers"),
        (["--database", "memory:", "--workers", "2"], {}, 2, "memory database"),
        # Port 1: nothing listens there, so the connection is refused at once.
        (
            ["--database", "postgresql://postgres@127.0.0.1:1/test"],
            {},
            1,
            "Cannot connect to the PostgreSQL database test on 127.0.0.1:1 as postgres: ",
        ),
        # 192.0.2.1 is reserved for documentation: no machine has it (bind sends nothing).
        (["--host", "192.0.2.1"], {}, 1, "Cannot listen on http://192.0.2.1:"),
        (["--port", "{busy}"], {}, 1, "Address already in use"),
    ],
    ids=[
        "port-0",
        "workers-0",
        "missing-config",
        "config-is-a-folder",
        "broken-config",
        "missing-database-folder",
        "missing-database-folder-env",
        "env-not-a-number",
        "memory-with-workers",
        "postgresql-unreachable",
        "address-not-on-this-machine",
        "port-in-use",
    ],
)
def test_bad_settings_give_one_error_line_and_no_traceback(
    tmp_path: Path,
    busy_port: int,
    args: list[str],
    env: dict[str, str],
    code: int,
    message: str,
) -> None:
    (tmp_path / "broken.toml").write_text("port = [\n", encoding="utf-8")
    args = [arg.replace("{busy}", str(busy_port)) for arg in args]
    if "--port" not in args:
        args = [*args, "--port", str(free_port())]
    result = run_eventsapi(["serve", *args], tmp_path, env)
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    assert message in errors[0], output
    assert output.splitlines()[-1] == errors[0]
    assert "serving" not in output


def test_serves_a_postgresql_database_with_several_workers(tmp_path: Path) -> None:
    port = free_port()
    with (
        postgres_schema() as url,
        ServerProcess(
            ["serve", "--port", str(port), "--database", url, "--workers", "2"],
            port=port,
            cwd=tmp_path,
        ) as server,
    ):
        server.wait_ready()
        line = start_line(server.log(), port)
        assert "PostgreSQL database test on 127.0.0.1:5432 as postgres" in line
        assert "2 workers" in line
        created = []
        for n in range(6):  # new connections: the workers share them out
            status, body = server.request(
                "POST", "/events", b'{"title": "T%d"}' % n, {"Content-Type": "application/json"}
            )
            assert status == 201, body
            created.append(json.loads(body))
        for event in created:
            status, body = server.request("GET", f"/events/{event['id']}")
            assert (status, json.loads(body)) == (200, event)
        status, body = server.request("GET", "/events?sort=title")
        assert [e["title"] for e in json.loads(body)] == [f"T{n}" for n in range(6)]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, server.log()
        assert "Traceback" not in server.log()
