"""``GET /changes/stream`` tells each reader what they may see (issue 16), on a real server.

Four streams are open at once, one per kind of reader; the owner makes her event private,
renames it, then opens it to members. Each stream gets exactly its reader's view: a change
that hides the event from them as its deletion, one that shows it as its creation, and
nothing of the changes between. A reader who reconnects with ``Last-Event-ID`` (the stream
reads the log itself until it catches up) is told the same.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.public import ADMIN, ADMIN_PASSWORD, login, public_server
from tests.server_process import ServerProcess
from tests.stream.sse import Change, open_stream, stream_client

pytestmark = [
    pytest.mark.slow,
    pytest.mark.anyio,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals"),
]

PASSWORD = "violet tractor humming seashell"  # noqa: S105 - test accounts'


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    users = [(ADMIN, ADMIN_PASSWORD, True), ("alice", PASSWORD, False)]
    users += [("bob", PASSWORD, False), ("carol", PASSWORD, False)]
    with public_server(tmp_path, users=users, env={"EVENTSAPI_RATE_LIMITS": ""}) as process:
        yield process


def bearer(port: int, name: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": f"Bearer {login('127.0.0.1', port, name, password)}"}


def summary(changes: list[Change]) -> list[tuple[str, str, bool]]:
    """Each message's kind, event id, and whether it carries the event."""
    return [(c.event, c.data["id"], c.data["event"] is not None) for c in changes]


async def test_each_stream_tells_its_reader_what_they_may_see(server: ServerProcess) -> None:
    url = f"http://127.0.0.1:{server.port}"
    alice = bearer(server.port, "alice")
    readers = {
        "anonymous": {},
        "bob": bearer(server.port, "bob"),
        "carol": bearer(server.port, "carol"),
        "admin": bearer(server.port, ADMIN, ADMIN_PASSWORD),
    }
    # Made private, renamed, opened to members: Carol registered while it was public.
    expected = {
        "anonymous": [("event.deleted", "ev", False)],
        "bob": [("event.deleted", "ev", False), ("event.created", "ev", True)],
        "carol": [("event.updated", "ev", True)] * 3,
        "admin": [("event.updated", "ev", True)] * 3,
    }
    marker = [("event.created", "marker", True)]
    async with stream_client() as http, contextlib.AsyncExitStack() as stack:
        body = {"id": "ev", "title": "Board games"}
        assert (await http.post(f"{url}/events", json=body, headers=alice)).status_code == 201
        registration = {"email": "carol@example.org"}
        registered = await http.post(
            f"{url}/events/ev/registrations", json=registration, headers=readers["carol"]
        )
        assert registered.status_code == 201, registered.text
        before = (await http.get(f"{url}/events", headers=alice)).headers["sync-token"]
        streams = {
            who: await stack.enter_async_context(open_stream(http, url, headers=headers))
            for who, headers in readers.items()
        }
        for patch in ({"visibility": "private"}, {"title": "Renamed"}, {"visibility": "members"}):
            patched = await http.patch(f"{url}/events/ev", json=patch, headers=alice)
            assert patched.status_code == 200, patched.text
        body = {"id": "marker", "title": "Marker"}
        assert (await http.post(f"{url}/events", json=body, headers=alice)).status_code == 201
        for who, stream in streams.items():
            told = await stream.take(len(expected[who]) + 1)
            assert summary(told) == expected[who] + marker, who

        # Reconnecting from before the changes, the stream reads the log itself: the same.
        for who in ("anonymous", "bob"):
            async with open_stream(
                http, url, headers={**readers[who], "Last-Event-ID": before}
            ) as again:
                told = await again.take(len(expected[who]) + 1)
            assert summary(told) == expected[who] + marker, who
