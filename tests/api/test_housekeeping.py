"""The service deletes ended sessions and API tokens by itself, at start and daily."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.auth.service import ENDED_KEPT
from eventsapi.domain.accounts import Role, Session, User
from eventsapi.settings import Settings
from eventsapi.storage.sqlite import SQLiteStore


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
