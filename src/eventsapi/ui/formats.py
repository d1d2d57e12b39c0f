"""How pages write values: instants in the event's own time zone, counts in words."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

__all__ = ["FILTERS", "aware", "instant", "known_zone", "local_input", "plural"]


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def known_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The IANA time zone ``name``, if it is one (only names of the tz database are looked
    up: never a path)."""
    if name and name in _zones():
        return zoneinfo.ZoneInfo(name)
    return None


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def instant(value: str | None, zone: str | None = None) -> str:
    """An RFC 3339 instant as people read it, in ``zone`` when it is a known one (else as
    given): ``Fri 1 May 2026, 20:00``."""
    parsed = _parse(value)
    if parsed is None:
        return value or ""
    found = known_zone(zone)
    if found is not None and parsed.tzinfo is not None:
        parsed = parsed.astimezone(found)
    return f"{parsed:%a} {parsed.day} {parsed:%b %Y, %H:%M}"


def local_input(value: str | None, zone: str | None = None) -> str:
    """An RFC 3339 instant as a ``datetime-local`` field's value in ``zone``."""
    parsed = _parse(value)
    if parsed is None:
        return ""
    found = known_zone(zone)
    if found is not None and parsed.tzinfo is not None:
        parsed = parsed.astimezone(found)
    return f"{parsed:%Y-%m-%dT%H:%M}"


def aware(typed: str, zone: str) -> str:
    """A ``datetime-local`` value (``2026-05-01T20:00``) as an RFC 3339 instant in ``zone``
    (UTC when it is no known zone); what is not a date and time is passed on as typed, for
    the API to say what is wrong with it."""
    parsed = _parse(typed.strip())
    if parsed is None:
        return typed
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=known_zone(zone) or zoneinfo.ZoneInfo("UTC"))
    return parsed.isoformat()


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


FILTERS: Final[dict[str, Callable[..., Any]]] = {
    "instant": instant,
    "local_input": local_input,
    "plural": plural,
}
