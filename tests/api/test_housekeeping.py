"""The service deletes ended sessions and API tokens, and old changes, by itself, at start
and daily."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.auth.service import ENDED_KEPT
from eventsapi.domain.accounts import Role, Session, User
from eventsapi.domain.events import Event
from eventsapi.domain.query import utc_text
from eventsapi.settings import Settings
from eventsapi.storage.sqlite import SQLiteStore
from tests.support import START
from tests.waiting import wait_until


def _account_with_sessions(path: Path, now: datetime) -> tuple[bytes, bytes]:
    """A user with a session that ended long ago and one still live; their token hashes."""
    store = SQLiteStore(path)

    async def fill() -> None:
        await store.open()
        try:
            await store.create_user(
                User(id="u1", username="ann", role=Role.MEMBER, password_hash="x",  # noqa: S106 - never checked here
                     created_at=now, password_changed_at=now)
            )  # fmt: skip
            for name, ends in (("old", now - ENDED_KEPT - timedelta(days=1)),
                               ("live", now + timedelta(hours=1))):  # fmt: skip
                await store.add_session(
                    Session(id=name, user_id="u1", token_hash=name.encode() * 8,
                            created_at=ends - timedelta(days=1), last_seen_at=now,
                            expires_at=ends, client_address="", user_agent="")
                )  # fmt: skip
        finally:
            await store.close()

    anyio.run(fill)
    return b"old" * 8, b"live" * 8


def test_a_started_service_prunes_what_ended_over_a_month_ago(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    old, live = _account_with_sessions(path, datetime.now(UTC))
    app = create_app(Settings(database=str(path)))  # the real clock: the daily task runs

    with TestClient(app) as client:
        store = app.state.store
        deadline = time.monotonic() + 10
        while client.portal.call(store.session_by_token, old) is not None:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the ended session was not pruned"
            time.sleep(0.05)
        assert client.portal.call(store.session_by_token, live) is not None  # type: ignore[union-attr]


def test_a_started_service_prunes_changes_older_than_the_retention(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = SQLiteStore(path)

    async def fill() -> None:
        await store.open()
        try:
            for name in ("old", "older", "recent"):
                await store.create(
                    Event(id=name, title=name, created_at=START, updated_at=START, version=1)
                )
        finally:
            await store.close()

    anyio.run(fill)
    with sqlite3.connect(path) as conn:  # two records made before the retention began
        old = datetime.now(UTC) - timedelta(days=31)
        conn.execute("UPDATE changes SET at = ? WHERE position <= 2", (utc_text(old),))
    app = create_app(Settings(database=str(path), change_retention_days=30))

    with TestClient(app) as client:
        portal, served = client.portal, app.state.store
        assert portal is not None
        wait_until(
            lambda: portal.call(served.change_horizon) == (2, 3),
            "the old changes to be pruned",
        )
        kept = portal.call(served.changes_after, 0, 10)
        assert [record.event_id for record in kept] == ["recent"]
