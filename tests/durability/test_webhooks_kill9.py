"""kill -9 of the delivering server while 1,000 events are created: every change still
reaches the receiver, at least once, and every duplicate carries the same ``webhook-id``.

The real program: ``eventsapi webhooks add`` registers a receiver on 127.0.0.1 (with
``webhook_allow_private``, which the server announces loudly), ``eventsapi serve`` takes
the writes and delivers, and its whole process group is SIGKILLed while it is delivering.
The receiver verifies every signature with the ``standardwebhooks`` library, timestamp
tolerance included (the clock is the real one here).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port
from tests.waiting import wait_until
from tests.webhooks.receiver import Receiver, serve_receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups"),
]

EVENTS = 1000
KILL_AFTER = 400
"""Acknowledged creates before the kill (and some deliveries)."""
WRITERS = 4
ENV = {"EVENTSAPI_WEBHOOK_ALLOW_PRIVATE": "true", "EVENTSAPI_RATE_LIMITS": ""}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


def _cli(database: Path, *args: str) -> str:
    run = subprocess.run(
        eventsapi_command(*args, "--database", str(database)),
        env=clean_environment(ENV),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return run.stdout


class Writers:
    """Threads creating events until ``EVENTS`` are acknowledged, against whichever server
    is up; a request that fails (the server was killed) is simply not acknowledged."""

    def __init__(self) -> None:
        self.port = 0
        self.acknowledged: set[str] = set()
        self.lock = threading.Lock()

    def run(self) -> None:
        while True:
            with self.lock:
                if len(self.acknowledged) >= EVENTS:
                    return
            body = json.dumps({"title": f"webhook load {time.monotonic_ns()}"})
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("POST", "/events", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
            except OSError:
                time.sleep(0.05)
                continue
            finally:
                conn.close()
            if response.status == 201:
                with self.lock:
                    if len(self.acknowledged) < EVENTS:
                        self.acknowledged.add(json.loads(answer)["id"])


def _server(database: Path, port: int, log: str) -> ServerProcess:
    args = ["serve", "--port", str(port), "--database", str(database)]
    return ServerProcess(args, port=port, cwd=database.parent, env=ENV, log_name=log)


def test_every_change_is_delivered_at_least_once_across_kill_9(
    tmp_path: Path, receiver: Receiver
) -> None:
    database = tmp_path / "events.db"
    _cli(database, "db", "migrate")
    added = _cli(database, "webhooks", "add", receiver.url, "--type", "event.created")
    secret = added.split("verify signatures): ")[1].strip()
    writers = Writers()
    threads = [threading.Thread(target=writers.run) for _ in range(WRITERS)]

    first = _server(database, free_port(), "first.log")
    with first:
        first.wait_ready()
        assert "WEBHOOKS MAY CALL PRIVATE ADDRESSES" in first.log()
        writers.port = first.port
        for thread in threads:
            thread.start()
        wait_until(
            lambda: len(writers.acknowledged) >= KILL_AFTER and len(receiver.requests()) >= 50,
            "writes and deliveries before the kill",
            within=120,
        )
        first.kill_group()
    delivered_before_restart = len(receiver.requests())

    second = _server(database, free_port(), "second.log")
    with second:
        second.wait_ready()
        writers.port = second.port
        for thread in threads:
            thread.join(timeout=300)
        assert len(writers.acknowledged) == EVENTS

        def received_ids() -> set[str]:
            return {request.document["id"] for request in receiver.requests()}

        # Messages the killed worker had leased wait for their lease to run out (40 s).
        wait_until(
            lambda: writers.acknowledged <= received_ids(), "every change delivered", within=240
        )

    by_event: dict[str, set[str]] = defaultdict(set)
    for request in receiver.requests():
        document = request.verified(secret)
        assert document["type"] == "event.created"
        by_event[document["id"]].add(request.id)
    assert writers.acknowledged <= set(by_event)
    assert all(len(ids) == 1 for ids in by_event.values()), "a duplicate with another webhook-id"
    duplicates = len(receiver.requests()) - len(by_event)
    print(  # shown with pytest -s or -rP
        f"{len(receiver.requests())} deliveries of {len(by_event)} changes "
        f"({delivered_before_restart} before the kill, {duplicates} duplicates)"
    )
