"""A rolling upgrade, and a roll back, under clients that never stop writing.

Two images of different tags (``old`` and ``new``) share one /data volume, the way a
Kubernetes Deployment with a ReadWriteOnce volume on one node or two podman units
switch versions. Clients write continuously through a stand-in for a load balancer
(a list of ready containers):

1. only ``old`` serves;
2. ``new`` starts on the same SQLite file and, once ``/readyz`` answers 200, serves too:
   two processes write one database, each taking SQLite's write lock in turn (WAL,
   busy_timeout);
3. ``old`` leaves the rotation and gets SIGTERM at once, with requests possibly still in
   flight on it: it drains them and exits 0;
4. ``new`` alone, then it stops, and ``old`` starts again on the same data (the roll back).

Every write acknowledged with a 201, by either container at any moment, must be readable
afterwards, as acknowledged, from ``new`` and again from ``old`` after the roll back; and
no event may exist that no client sent.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.deploy.conftest import Images
from tests.deploy.podman import Container, Podman, containers, volume
from tests.server_process import free_port
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

WRITERS = 4
PHASE_WRITES = 100
"""Writes a container must acknowledge in a phase before the next phase begins."""
# The writers send over a thousand writes a second from one address: far over the
# default write limit (300 a minute), which would answer 429 (tests/api/test_rate_limits).
NO_RATE_LIMITS = "--env=EVENTSAPI_RATE_LIMITS="


class Rotation:
    """The containers a load balancer sends requests to, in turn."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ports: list[int] = []
        self._turn = itertools.count()

    def set(self, *members: Container) -> None:
        with self._lock:
            self._ports = [member.port for member in members]

    def pick(self) -> int:
        with self._lock:
            return self._ports[next(self._turn) % len(self._ports)]


class Writers:
    """Threads that POST new events until stopped, recording every acknowledged one."""

    def __init__(self, rotation: Rotation) -> None:
        self.rotation = rotation
        self.acknowledged: dict[str, dict[str, Any]] = {}
        self.acknowledged_by: collections.Counter[int] = collections.Counter()  # port
        self.attempted: set[str] = set()
        self.unexpected: list[str] = []
        self.failed_attempts = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(WRITERS)
        ]

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def count(self, port: int | None = None) -> int:
        """Writes acknowledged, by every container or by the one on ``port``."""
        with self._lock:
            return len(self.acknowledged) if port is None else self.acknowledged_by[port]

    def _write(self, writer: int) -> None:
        clients: dict[int, httpx2.Client] = {}
        try:
            for n in itertools.count():
                if self._stop.is_set():
                    return
                port = self.rotation.pick()
                if port not in clients:  # one keep-alive connection per container
                    clients[port] = httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
                client = clients[port]
                event_id = f"w{writer}-{n}"
                with self._lock:
                    self.attempted.add(event_id)
                try:
                    response = client.post(
                        "/events", json={"id": event_id, "title": f"write {n} of {writer}"}
                    )
                except httpx2.TransportError:
                    # Not acknowledged (a connection the stopping server closed): the
                    # client tries its next write on the next container in the rotation.
                    with self._lock:
                        self.failed_attempts += 1
                    continue
                with self._lock:
                    if response.status_code == 201:
                        self.acknowledged[event_id] = response.json()
                        self.acknowledged_by[port] += 1
                    elif response.status_code == 503:
                        self.failed_attempts += 1
                    else:
                        self.unexpected.append(f"{response.status_code} {response.text}")
        finally:
            for client in clients.values():
                client.close()


def all_events(container: Container) -> Iterator[dict[str, Any]]:
    with httpx2.Client(base_url=container.base_url, timeout=30) as client:
        url: str | None = "/events?limit=500"
        while url:
            page = client.get(url)
            assert page.status_code == 200, page.text
            yield from page.json()
            url = page.links.get("next", {}).get("url")


def assert_every_acknowledged_write_is_there(container: Container, writers: Writers) -> None:
    stored = {event["id"]: event for event in all_events(container)}
    lost = [event_id for event_id in writers.acknowledged if event_id not in stored]
    assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}"
    changed = [i for i, event in writers.acknowledged.items() if stored[i] != event]
    assert not changed, f"stored differently than acknowledged: {changed[:5]}"
    unknown = set(stored) - writers.attempted
    assert not unknown, f"events no client sent: {sorted(unknown)[:5]}"


def test_switching_tags_on_the_same_data_loses_no_acknowledged_write(
    podman: Podman, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = [
        podman.inspect("image", image)["Labels"]["org.opencontainers.image.version"]
        for image in (images.old, images.new)
    ]
    assert versions == ["0.1.0", "0.1.1"]
    rotation = Rotation()
    with volume(podman) as data, containers(podman) as started:
        old = Container(podman, images.old, data, free_port())
        new = Container(podman, images.new, data, free_port())
        started += [old, new]
        old.run(NO_RATE_LIMITS)
        rotation.set(old)
        with Writers(rotation) as writers:
            wait_until(lambda: writers.count(old.port) >= PHASE_WRITES, "writes to old alone")
            new.run(NO_RATE_LIMITS)
            new.wait_for_200("/readyz", time.monotonic() + 30)
            before_new, old_alone = writers.count(), writers.count(old.port)
            rotation.set(old, new)
            wait_until(
                lambda: (
                    writers.count(new.port) >= PHASE_WRITES
                    and writers.count(old.port) >= old_alone + PHASE_WRITES
                ),
                "writes to both old and new",
            )
            both = writers.count() - before_new
            rotation.set(new)
            old_exit = old.stop()
            new_before_alone = writers.count(new.port)
            wait_until(
                lambda: writers.count(new.port) >= new_before_alone + PHASE_WRITES,
                "writes to new alone",
            )
        assert old_exit == 0, podman.logs(old.name)
        assert not writers.unexpected, writers.unexpected[:5]
        assert both > 0, "no write was acknowledged while both containers served"
        assert writers.count() > 100
        assert_every_acknowledged_write_is_there(new, writers)
        assert new.stop() == 0, podman.logs(new.name)

        # The roll back: the previous tag on the same data.
        back = Container(podman, images.old, data, free_port())
        started.append(back)
        back.run(NO_RATE_LIMITS)
        assert_every_acknowledged_write_is_there(back, writers)
        assert back.stop() == 0
    with capsys.disabled():
        print(
            f"\nrolling upgrade {images.old} -> {images.new} -> {images.old}: "
            f"{writers.count()} writes acknowledged ({both} while both served), "
            f"{writers.failed_attempts} not acknowledged, none lost"
        )
