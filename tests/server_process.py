"""A real ``eventsapi serve`` process, for tests that need the whole program.

The server runs as ``sys.executable -m eventsapi`` in its own session (so in its
own process group: granian's worker processes are in it too, and
:meth:`ServerProcess.kill_group` can SIGKILL them all at once). Its output goes to
a file, so a chatty server can never block on a full pipe.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

READY_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port that nothing uses right now on any IPv4 address.

    Bound on every address, not 127.0.0.1 only: servers of tests/security listen on
    0.0.0.0, and a port that a load test's connections (from 127.0.0.N) left in TIME_WAIT
    is free on 127.0.0.1 yet refused to a listener on 0.0.0.0.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - only to find a port, closed at once
        port: int = sock.getsockname()[1]
        return port


def eventsapi_command(*args: str) -> list[str]:
    """The command line that runs ``eventsapi`` with the Python running the tests."""
    return [sys.executable, "-m", "eventsapi", *args]


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``EVENTSAPI_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTSAPI_")}
    env.update(extra or {})
    return env


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, from ``/proc``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


class ServerProcess:
    """``eventsapi <args>`` as a child process; a context manager that always cleans up."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        port: int,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        log_name: str = "server.log",
    ) -> None:
        self.args = list(args)
        self.port = port
        self.cwd = cwd
        self.env = clean_environment(env)
        self.log_path = cwd / log_name
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill_group()
        if self.proc is not None:
            self.proc.wait(timeout=30)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                eventsapi_command(*self.args),
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once ``GET /readyz`` answers 200; fail with the server's log if it never does."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the server exited with {self.proc.returncode} before it was ready:\n"
                    + self.log()
                )
            try:
                status, _ = self.request("GET", "/readyz", timeout=1.0)
            except OSError:
                time.sleep(0.05)
                continue
            if status == 200:
                return
            time.sleep(0.05)
        raise AssertionError(f"the server was not ready after {timeout} s:\n" + self.log())

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 10.0,
    ) -> tuple[int, bytes]:
        """One request on a new connection: ``(status, body)``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def send_signal(self, sig: signal.Signals) -> None:
        """Signal the main process only, as a process manager does."""
        os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        """The exit status; a failure showing the server's log if it has not exited in time."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the server had not exited {timeout} s after the signal:\n" + self.log()
            ) from None

    def kill_group(self) -> None:
        """SIGKILL the server and every worker process it started, and reap the server."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while group_members(self.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
