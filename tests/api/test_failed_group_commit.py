"""A SQLite group commit that SQLite itself refuses (issue 14).

The writer commits every queued write in one transaction. Here the database refuses the
COMMIT: a deferred foreign key, broken by a trigger when one event is inserted, is checked
only then, so every write of that group is undone together. Each write of the failed group
must be answered with a problem document and leave nothing behind (no event, no
idempotency key), and the writer must go on: later writes, and the refused ones retried
with their keys, succeed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from tests.api.asserts import PROBLEM_JSON
from tests.support import FakeClock

DOOMED = "Doomed"  # the title the trigger below breaks the commit of
GOOD = 12  # writes sent with the doomed one, most of which share its group

# Real SQLite, no mock: the foreign key is deferred, so it fails at COMMIT, after every
# write of the group ran, and SQLite keeps the transaction open for the writer to undo.
BREAK_COMMITS_OF_DOOMED = """
CREATE TABLE test_nowhere (id INTEGER PRIMARY KEY);
CREATE TABLE test_dangling (
    ref INTEGER REFERENCES test_nowhere (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE TRIGGER test_break_commit AFTER INSERT ON events WHEN NEW.title = 'Doomed'
BEGIN
    INSERT INTO test_dangling (ref) VALUES (1);
END;
"""


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Starlette:
    settings = Settings(database=str(tmp_path / "events.db"), rate_limits=[])
    return create_app(settings, clock=clock.now)


@pytest.fixture
def client(app: Starlette, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(app) as test_client:  # the lifespan opened and migrated the database
        with sqlite3.connect(tmp_path / "events.db") as conn:
            conn.executescript(BREAK_COMMITS_OF_DOOMED)
        conn.close()
        yield test_client


async def _post_round(app: Starlette, round_: int) -> list[tuple[str, httpx.Response]]:
    """``GOOD`` writes and the doomed one, at once (each good one with a key)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:

        async def post(title: str) -> tuple[str, httpx.Response]:
            headers = {} if title == DOOMED else {"Idempotency-Key": f"{round_}-{title}"}
            body = {"title": title, "id": f"r{round_}-{title.lower()}"}
            return title, await http.post("/events", json=body, headers=headers)

        titles = [f"Good{n}" for n in range(GOOD)]
        titles.insert(GOOD // 2, DOOMED)
        return list(await asyncio.gather(*(post(title) for title in titles)))


def test_a_refused_commit_undoes_its_whole_group_and_the_writer_goes_on(
    app: Starlette, client: TestClient, tmp_path: Path
) -> None:
    refused_with_it: list[str] = []
    for round_ in range(20):  # the group is the writer's to form: until one shared it
        answers = client.portal.call(_post_round, app, round_)  # type: ignore[union-attr]
        for title, response in answers:
            url = f"/events/r{round_}-{title.lower()}"
            if title == DOOMED or response.status_code != 201:
                assert response.status_code == 503, (title, response.text)
                assert response.headers["content-type"] == PROBLEM_JSON
                assert response.json()["status"] == 503
                assert client.get(url).status_code == 404, f"{title} was half-applied"
                if title != DOOMED:
                    refused_with_it.append(f"{round_}-{title}")
            else:
                assert client.get(url).json() == response.json()
        if refused_with_it:
            break
    assert refused_with_it, "the doomed write never shared a group"

    with sqlite3.connect(tmp_path / "events.db") as conn:
        assert conn.execute("SELECT count(*) FROM test_dangling").fetchone() == (0,)
    conn.close()
    for key in refused_with_it:  # their keys were not saved: a retry creates, not replays
        number, title = key.split("-")
        retried = client.post(
            "/events",
            json={"title": title, "id": f"r{number}-{title.lower()}"},
            headers={"Idempotency-Key": key},
        )
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers
    later = client.post("/events", json={"title": "Later"})
    assert later.status_code == 201
    assert client.get(later.headers["location"]).json() == later.json()
