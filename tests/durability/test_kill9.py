"""kill -9 while clients write: every acknowledged write survives.

Each round starts the real server on a new SQLite file, lets many concurrent
clients write (POST, PUT, PATCH, DELETE) over keep-alive connections, then
SIGKILLs the server's whole process group (granian's main process and its
workers) in the middle of the load. It checks ``PRAGMA integrity_check`` on the
file, restarts the server on it and checks, through the API, that every write
that got a 2xx is there exactly as acknowledged (and every acknowledged DELETE
stayed deleted). A round does this twice on the same file, so the second crash
hits a database that has already been recovered once.

A write that was in flight at the kill may or may not have committed: its event
may hold either the state before it or the state it asked for, nothing else.
No event may exist that no client sent.

Environment variables (see docs/durability.md):

- ``EVENTSAPI_KILL9_ROUNDS``: rounds per run (default 3).
- ``EVENTSAPI_KILL9_CLIENTS``: concurrent clients (default 128).
- ``EVENTSAPI_KILL9_SECONDS``: seconds of load before the kill (default 1.5).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import ServerProcess, free_port, group_members

ROUNDS = int(os.environ.get("EVENTSAPI_KILL9_ROUNDS", "3"))
CLIENTS = int(os.environ.get("EVENTSAPI_KILL9_CLIENTS", "128"))
LOAD_SECONDS = float(os.environ.get("EVENTSAPI_KILL9_SECONDS", "1.5"))
KILLS_PER_ROUND = 2
MIN_ACKS_BEFORE_KILL = 200
"""The kill waits (up to LOAD_LIMIT_SECONDS) until at least this many writes got a 2xx."""
LOAD_LIMIT_SECONDS = 60.0

# The members of an event a client sets; the server owns the others.
CONTENT_KEYS = ("title", "description", "location", "tags", "capacity", "status")
DEFAULTS: dict[str, Any] = {
    "description": None,
    "location": None,
    "tags": [],
    "capacity": None,
    "status": "scheduled",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups"),
]

State = dict[str, Any] | None
"""An event as the API returns it, or ``None``: the event does not exist."""


@dataclass
class Expectation:
    """What one event may look like after the crash.

    ``exact`` is the last acknowledged state (``None``: deleted, or never created).
    ``maybe`` is what the one write in flight at the kill asked for, if there was
    one: ``("absent", None)``, or ``("content", members)`` with the members it sets
    and the version it would have.
    """

    exact: State
    acknowledged: bool
    maybe: tuple[str, dict[str, Any] | None] | None = None


@dataclass
class Ledger:
    """Every write a client sent and how it ended, shared by the client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    events: dict[str, Expectation] = field(default_factory=dict)
    # Titles of server-id POSTs in flight at the kill: such an event may exist
    # under an id nobody saw.
    unacknowledged_titles: dict[str, dict[str, Any]] = field(default_factory=dict)
    acks: int = 0
    acks_by_method: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)


class Client(threading.Thread):
    """One client on one keep-alive connection, writing until the server dies."""

    def __init__(self, name: str, port: int, ledger: Ledger, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.port = port
        self.ledger = ledger
        self.stop = stop
        self.rng = random.Random(name)  # noqa: S311 - test data
        self.live: dict[str, dict[str, Any]] = {}  # acknowledged, not deleted: id -> state
        self.sequence = 0

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            while not self.stop.is_set():
                if not self.step(conn):
                    return
        finally:
            conn.close()

    def fresh(self) -> str:
        self.sequence += 1
        return f"{self.name}-{self.sequence}"

    def content(self, title: str) -> dict[str, Any]:
        size = self.rng.choice((0, 10, 100, 1000))
        return {
            "title": title,
            "description": "".join(self.rng.choices("abcdefgh ", k=size)),
            "location": self.rng.choice((None, "Room 1", "Hall ü")),
            "tags": self.rng.sample(["a", "b", "c", "d"], k=self.rng.randint(0, 3)),
            "capacity": self.rng.choice((None, 0, 7, 1000)),
        }

    def step(self, conn: http.client.HTTPConnection) -> bool:
        """Send one write; False once the server is gone (or answered wrongly)."""
        choice = self.rng.random() if self.live else 0.0
        headers = {"Content-Type": "application/json"}
        target: str | None  # the event id, when the client knows it in advance
        if choice < 0.30:  # POST /events, server-chosen id
            sent = self.content(self.fresh())
            method, path, target, expected = "POST", "/events", None, 201
            maybe: tuple[str, dict[str, Any] | None] = ("content", {**DEFAULTS, **sent})
            base: State = None
        elif choice < 0.40:  # POST /event as the tutorial does, client-chosen id
            target = self.fresh()
            sent = {"ID": target, "Title": target, "Description": "tutorial style"}
            method, path, expected = "POST", "/event", 201
            maybe = ("content", {**DEFAULTS, "title": target, "description": "tutorial style"})
            base = None
        elif choice < 0.50:  # PUT a new id: create with that id
            target = self.fresh()
            sent = self.content(target)
            method, path, expected = "PUT", f"/events/{target}", 201
            maybe = ("content", {**DEFAULTS, **sent})
            base = None
        else:
            target = self.rng.choice(sorted(self.live))
            base = self.live[target]
            if choice < 0.75:  # PATCH, plain JSON or merge patch
                sent = {
                    "description": f"patched {self.rng.random()}",
                    "location": None,
                    "tags": ["patched"],
                }
                if self.rng.random() < 0.5:
                    headers = {"Content-Type": "application/merge-patch+json"}
                method, path, expected = "PATCH", f"/events/{target}", 200
                maybe = ("content", {**_content(base), **sent})
            elif choice < 0.85:  # PUT an existing id: replace
                sent = self.content(f"{target} replaced")
                method, path, expected = "PUT", f"/events/{target}", 200
                maybe = ("content", {**DEFAULTS, **sent})
            else:
                sent = {}
                method, path, expected = "DELETE", f"/events/{target}", 204
                maybe = ("absent", None)
                headers = {}
        body = json.dumps(sent).encode() if method != "DELETE" else None
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.in_flight(target, base, maybe)
            return False
        if response.status != expected:
            self.in_flight(target, base, maybe)
            with self.ledger.lock:
                self.ledger.unexpected.append(
                    f"{method} {path} -> {response.status} (expected {expected}): {payload[:300]!r}"
                )
            return False
        return self.acknowledged(method, path, target, maybe, payload)

    def in_flight(
        self, target: str | None, base: State, maybe: tuple[str, dict[str, Any] | None]
    ) -> None:
        """The write got no answer: it may have committed or not."""
        base_version = base["version"] if base else 0
        kind, members = maybe
        if members is not None:
            members = {**members, "version": base_version + 1}
        with self.ledger.lock:
            if target is None:
                assert members is not None
                self.ledger.unacknowledged_titles[members["title"]] = members
            else:
                self.ledger.events[target] = Expectation(
                    exact=base, acknowledged=base is not None, maybe=(kind, members)
                )

    def acknowledged(
        self,
        method: str,
        path: str,
        target: str | None,
        maybe: tuple[str, dict[str, Any] | None],
        payload: bytes,
    ) -> bool:
        kind, members = maybe
        if kind == "absent" and target is not None:
            state: State = None
            del self.live[target]
        else:
            state = json.loads(payload)
            # The acknowledgement must describe the write that was sent.
            if not isinstance(state, dict) or _content(state) != members:
                with self.ledger.lock:
                    self.ledger.unexpected.append(f"{method} {path} sent {members}, got {state}")
                return False
            target = str(state["id"])
            self.live[target] = state
        with self.ledger.lock:
            self.ledger.events[target] = Expectation(exact=state, acknowledged=True)
            self.ledger.acks += 1
            self.ledger.acks_by_method[method] = self.ledger.acks_by_method.get(method, 0) + 1
        return True


def _brief(state: State) -> str:
    if state is None:
        return "nothing"
    shown = {key: state.get(key) for key in ("title", "version", "tags", "location")}
    return f"{shown} description={str(state.get('description'))[:20]!r}"


def _content(state: dict[str, Any]) -> dict[str, Any]:
    return {key: state.get(key, DEFAULTS.get(key)) for key in CONTENT_KEYS}


def all_events(server: ServerProcess) -> dict[str, dict[str, Any]]:
    """Every event, following the ``Link: rel="next"`` pages of ``GET /events``."""
    found: dict[str, dict[str, Any]] = {}
    path: str | None = "/events?limit=500"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        while path is not None:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, body
            for event in json.loads(body):
                assert event["id"] not in found, f"{event['id']} listed twice"
                found[event["id"]] = event
            path = None
            for value in (response.getheader("Link") or "").split(", "):
                if value.endswith('>; rel="next"'):
                    assert value.startswith("<"), value
                    path = value[1 : value.index(">")]
    finally:
        conn.close()
    return found


def integrity_check(database: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


def verify(ledger: Ledger, actual: dict[str, dict[str, Any]]) -> list[str]:
    """Differences between what the clients were told and what the server has."""
    problems = []
    seen_unacknowledged = set()
    for event_id, expectation in ledger.events.items():
        state = actual.get(event_id)
        if state == expectation.exact:
            continue
        if expectation.maybe is not None:
            kind, members = expectation.maybe
            if kind == "absent" and state is None:
                continue
            if (
                kind == "content"
                and state is not None
                and members is not None
                and _content(state) == _content(members)
                and state["version"] == members["version"]
            ):
                continue
        problems.append(
            f"{event_id}: acknowledged {_brief(expectation.exact)}, in flight "
            f"{expectation.maybe and _brief(expectation.maybe[1])}, "
            f"but the server has {_brief(state)}"
        )
    for event_id, state in actual.items():
        if event_id in ledger.events:
            continue
        members = ledger.unacknowledged_titles.get(state["title"])
        if (
            members is not None
            and state["title"] not in seen_unacknowledged
            and _content(state) == _content(members)
            and state["version"] == 1
        ):
            seen_unacknowledged.add(state["title"])
            continue
        problems.append(f"{event_id}: no client wrote this event: {_brief(state)}")
    return problems


def settle(ledger: Ledger, actual: dict[str, dict[str, Any]]) -> Ledger:
    """After a verified restart, the server's state is what the next crash must keep."""
    settled = Ledger()
    for event_id in set(ledger.events) | set(actual):
        state = actual.get(event_id)
        settled.events[event_id] = Expectation(exact=state, acknowledged=state is not None)
    return settled


def load_and_kill(server: ServerProcess, ledger: Ledger, label: str) -> None:
    stop = threading.Event()
    clients = [Client(f"{label}c{n}", server.port, ledger, stop) for n in range(CLIENTS)]
    acks_before = ledger.acks
    started = time.monotonic()
    for client in clients:
        client.start()
    while time.monotonic() - started < LOAD_LIMIT_SECONDS:
        time.sleep(0.05)
        if time.monotonic() - started >= LOAD_SECONDS and (
            ledger.acks - acks_before >= MIN_ACKS_BEFORE_KILL
        ):
            break
        if not any(client.is_alive() for client in clients):
            break
    alive_at_kill = sum(client.is_alive() for client in clients)
    server.kill_group()
    stop.set()
    for client in clients:
        client.join(timeout=60)
    assert not any(client.is_alive() for client in clients), "a client did not stop"
    assert not ledger.unexpected, "unexpected answers:\n" + "\n".join(ledger.unexpected[:20])
    assert alive_at_kill == CLIENTS, (
        f"only {alive_at_kill} of {CLIENTS} clients were still writing at the kill"
    )
    assert ledger.acks - acks_before >= MIN_ACKS_BEFORE_KILL, (
        f"only {ledger.acks - acks_before} acknowledged writes before the kill:\n" + server.log()
    )
    assert group_members(server.pid) == [], "a server process survived SIGKILL"
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert ledger.acks_by_method.get(method, 0) > 0, ledger.acks_by_method
    in_flight = len(ledger.unacknowledged_titles) + sum(
        expectation.maybe is not None for expectation in ledger.events.values()
    )
    print(  # shown with pytest -s or -rP
        f"{label} killed after {time.monotonic() - started:.1f} s: "
        f"{ledger.acks - acks_before} acknowledged writes {ledger.acks_by_method}, "
        f"{in_flight} in flight"
    )


def start_server(database: Path, workers: int, log_name: str) -> ServerProcess:
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(database), "--workers", str(workers)]
    # Rate limits off: the load is many writers on one address, as fast as they can.
    env = {"EVENTSAPI_RATE_LIMITS": ""}
    return ServerProcess(args, port=port, cwd=database.parent, env=env, log_name=log_name)


@pytest.mark.parametrize("round_number", range(1, ROUNDS + 1))
def test_acknowledged_writes_survive_kill_9(round_number: int, tmp_path: Path) -> None:
    workers = 1 if round_number % 2 else 2
    database = tmp_path / "events.db"
    ledger = Ledger()
    for kill in range(1, KILLS_PER_ROUND + 1):
        with start_server(database, workers, f"run{kill}.log") as server:
            server.wait_ready()
            if kill > 1:
                # Restarted after the previous kill: check it, then crash it again.
                actual = all_events(server)
                problems = verify(ledger, actual)
                assert not problems, f"{len(problems)} events differ:\n" + "\n".join(problems[:20])
                ledger = settle(ledger, actual)
            load_and_kill(server, ledger, label=f"r{round_number}k{kill}-")
        assert integrity_check(database) == [("ok",)]

    with start_server(database, workers, "final.log") as server:
        server.wait_ready()
        problems = verify(ledger, all_events(server))
        assert not problems, f"{len(problems)} events differ:\n" + "\n".join(problems[:20])
        deleted = [
            event_id
            for event_id, expectation in ledger.events.items()
            if expectation.acknowledged and expectation.exact is None and expectation.maybe is None
        ]
        assert deleted, "no acknowledged DELETE to check"
        for event_id in deleted[:100]:
            status, _ = server.request("GET", f"/events/{event_id}")
            assert status == 404, f"deleted event {event_id} answers {status}"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, server.log()
    assert integrity_check(database) == [("ok",)]
