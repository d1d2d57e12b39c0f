"""Server-generated event ids: ULIDs, so they sort by creation time."""

from __future__ import annotations

from datetime import datetime

from ulid import ULID


def new_event_id(now: datetime) -> str:
    """A fresh 26-character ULID whose time part is ``now``."""
    return str(ULID.from_datetime(now))
