"""The event form, shared by creating an event (``create_event.py``) and editing one
(``owner_pages.py``): its fields, an event shown in them, and what they hold as the API's
documents (a new event's, or a merge patch of the fields changed).

The page only translates the form to the API's document: a date and time typed in the
event's time zone becomes an RFC 3339 instant with its offset, the tags typed with commas a
list; anything it cannot translate is passed on as typed, for the API to say what is wrong
with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from eventsapi.ui import formats
from eventsapi.ui.events_list import tags_of
from eventsapi.ui.visits import Form

__all__ = ["BLANK", "FIELDS", "document", "patch", "shown", "typed"]

FIELDS: Final = (
    "title",
    "description",
    "starts_at",
    "ends_at",
    "timezone",
    "location",
    "tags",
    "capacity",
    "visibility",
)
_DIGITS: Final = 18
BLANK: Final = {**dict.fromkeys(FIELDS, ""), "timezone": "UTC", "visibility": "public"}


def typed(form: Form, prefix: str = "") -> dict[str, str]:
    """The event form's fields as the form holds them (``prefix``: a copy of them, such as
    the values the form was loaded with)."""
    return {name: form.get(prefix + name) for name in FIELDS}


def shown(event: Mapping[str, Any]) -> dict[str, str]:
    """The API's event document in the form's fields, as a person would type it."""
    zone = event.get("timezone") or ""
    capacity = event.get("capacity")
    return {
        "title": event.get("title") or "",
        "description": event.get("description") or "",
        "starts_at": formats.local_input(event.get("starts_at"), zone),
        "ends_at": formats.local_input(event.get("ends_at"), zone),
        "timezone": zone,
        "location": event.get("location") or "",
        "tags": ", ".join(event.get("tags") or ()),
        "capacity": "" if capacity is None else str(capacity),
        # The API leaves a public event's member out.
        "visibility": event.get("visibility") or "public",
    }


def _value(name: str, values: Mapping[str, str]) -> Any:
    """One field as the API's member; ``None`` for an empty optional one."""
    text = values[name]
    if name == "title":
        return text
    if not text.strip():
        return [] if name == "tags" else None
    if name in ("starts_at", "ends_at"):
        return formats.aware(text, values["timezone"].strip())
    if name in ("timezone", "visibility"):
        return text.strip()
    if name == "tags":
        return tags_of(text)
    if name == "capacity":
        # A number the API can read; anything else (or thousands of digits) as typed, for
        # the API to say what is wrong with it.
        number = text.strip()
        whole = number.isascii() and number.isdigit() and len(number) <= _DIGITS
        return int(number) if whole else number
    return text


def document(values: Mapping[str, str]) -> dict[str, Any]:
    """The API's document of a new event with the form's ``values``."""
    body: dict[str, Any] = {}
    for name in FIELDS:
        value = _value(name, values)
        if name == "title" or value not in (None, []):
            body[name] = value
    return body


def patch(values: Mapping[str, str], loaded: Mapping[str, str]) -> dict[str, Any]:
    """A merge patch (RFC 7396) of the fields changed since the form was ``loaded``: only
    those, so that what someone else changed meanwhile in the other fields is kept. The
    times go with the time zone they are typed in."""
    changed = {name for name in FIELDS if values[name] != loaded[name]}
    if changed & {"starts_at", "ends_at", "timezone"}:
        changed |= {name for name in ("starts_at", "ends_at") if values[name].strip()}
    return {name: _value(name, values) for name in FIELDS if name in changed}
