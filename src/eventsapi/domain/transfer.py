"""Events in and out of files: the formats ``eventsapi import`` reads and ``export`` writes.

Pure: these functions take bytes and lines and give events and per-row errors;
the command does the reading, the writing and the storing.

The formats, which :func:`detect_format` tells apart from the first line:

- ``ndjson``: one JSON object per line, as ``eventsapi export`` writes them;
- ``json``: a JSON array of events;
- ``json-server``: a json-server ``db.json``, an object whose ``events`` member is
  the array of events (its other members are other resources, and are ignored);
- ``tutorial``: the Go tutorial's JSON, an array of ``{"ID", "Title", "Description"}``.

Every row is checked with the domain's rules (those of ``POST /events``). A row
with ``created_at``, ``updated_at`` and ``version`` is a full event document,
restored as it is (its ``owner`` too, if it has one); any other row is an input and
becomes a new event (version 1, created now, with the id it gives or a new one, and
no owner: only a full document may name one). Integer ids (json-server makes
them) are read as their decimal text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec

from eventsapi.domain.events import (
    LEGACY_KEYS,
    OWNER,
    UNSET,
    VERSION_STAMPS,
    Event,
    Instant,
    build_event,
    input_id,
    parse_input,
)
from eventsapi.errors import BadRequest, EventsAPIError, FieldError, ValidationFailed

Format = Literal["ndjson", "json", "json-server", "tutorial"]
FORMATS: Final[tuple[Format, ...]] = ("ndjson", "json", "json-server", "tutorial")
FORMAT_NAMES: Final[dict[Format, str]] = {
    "ndjson": "NDJSON",
    "json": "a JSON array",
    "json-server": "a json-server db.json",
    "tutorial": "the Go tutorial's JSON",
}

Unit = Literal["line", "element"]
"""How rows are numbered: NDJSON by line, the other formats by array element (from 1)."""

BOM: Final = b"\xef\xbb\xbf"

_decode_any = msgspec.json.Decoder().decode
_decode_array = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_object = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_encode = msgspec.json.Encoder().encode

_ID_KEYS: Final = ("id", "ID")
_SERVER_TYPES: Final[dict[str, Any]] = {
    "created_at": Instant,
    "updated_at": Instant,
    "version": Annotated[int, msgspec.Meta(ge=1)],
    OWNER: str,
}


_TOO_DEEP: Final = "The input is nested too deeply to be events."


class UnreadableInput(EventsAPIError):
    """The input as a whole is not in the format given or detected (no row can be read)."""


class Row(msgspec.Struct, frozen=True):
    """One row of the input: its number (a line or an element, from 1) and its JSON."""

    number: int
    raw: bytes


class BadRow(msgspec.Struct, frozen=True):
    """A row that cannot be imported, and every reason why."""

    number: int
    errors: tuple[FieldError, ...]


class Document(msgspec.Struct, frozen=True):
    """An input read whole (every format but NDJSON), split into its rows."""

    format: Format
    rows: list[Row]
    notes: list[str] = msgspec.field(default_factory=list)


def unit_of(fmt: Format) -> Unit:
    return "line" if fmt == "ndjson" else "element"


def detect_format(head: bytes) -> Format:
    """The format of an input that starts with ``head``: its first line or more.

    ``[`` starts an array (``json``; :func:`read_document` tells the tutorial's
    shape apart); ``{`` starts NDJSON when the first line is a whole object,
    unless that object has an ``events`` array (a db.json on one line); an
    object spread over lines is a db.json. An empty input is NDJSON with no rows.
    """
    text = head.removeprefix(BOM).lstrip()
    if not text:
        return "ndjson"
    if text.startswith(b"["):
        return "json"
    if not text.startswith(b"{"):
        raise UnreadableInput(
            "Cannot tell the format: the input starts with neither '{' nor '[' "
            f"({text[:20]!r}); it should be NDJSON or JSON."
        )
    try:
        first = _decode_any(text.split(b"\n", 1)[0])
    except msgspec.DecodeError:
        return "json-server"
    except RecursionError:  # a whole line, nested too deeply: a bad NDJSON row
        return "ndjson"
    if isinstance(first, dict) and isinstance(first.get("events"), list):
        return "json-server"
    return "ndjson"


def ndjson_rows(lines: Iterable[bytes]) -> Iterator[Row]:
    """The rows of NDJSON given line by line, numbered by line; blank lines are skipped."""
    for number, line in enumerate(lines, 1):
        text = line.removeprefix(BOM) if number == 1 else line
        if text.strip():
            yield Row(number, text)


def read_document(data: bytes, fmt: Format) -> Document:
    """Split a whole JSON input (``json``, ``json-server`` or ``tutorial``) into rows.

    A ``json`` array whose first element is an object with only the tutorial's
    keys is reported as ``tutorial``; both are read the same way.
    """
    data = data.removeprefix(BOM)
    notes: list[str] = []
    if fmt == "json-server":
        try:
            top = _decode_object(data)
        except msgspec.DecodeError as exc:
            raise UnreadableInput(f"Not a json-server db.json (a JSON object): {exc}") from None
        except RecursionError:
            raise UnreadableInput(_TOO_DEEP) from None
        events = top.pop("events", None)
        if events is None:
            raise UnreadableInput(
                'Not a json-server db.json: it has no "events" member'
                f" (its members: {', '.join(top) or 'none'})."
            )
        if top:
            notes.append(
                f"ignored the db.json's other members: {', '.join(top)} (only events are read)."
            )
        try:
            elements = _decode_array(events)
        except msgspec.DecodeError:
            raise UnreadableInput('The db.json\'s "events" member is not an array.') from None
        except RecursionError:
            raise UnreadableInput(_TOO_DEEP) from None
    else:
        try:
            elements = _decode_array(data)
        except msgspec.DecodeError as exc:
            raise UnreadableInput(f"Not a JSON array: {exc}") from None
        except RecursionError:
            raise UnreadableInput(_TOO_DEEP) from None
        if fmt == "json" and elements and _looks_like_tutorial(elements[0]):
            fmt = "tutorial"
    rows = [Row(number, bytes(element)) for number, element in enumerate(elements, 1)]
    return Document(fmt, rows, notes)


def _looks_like_tutorial(element: msgspec.Raw) -> bool:
    try:
        value = _decode_any(element)
    except (msgspec.DecodeError, RecursionError):
        return False
    return isinstance(value, dict) and bool(value) and set(value) <= set(LEGACY_KEYS)


def read_event(raw: bytes, *, now: datetime, new_id: Callable[[], str]) -> Event:
    """The event one row describes, or ``ValidationFailed`` listing every broken rule.

    A full event document (``created_at``, ``updated_at`` and ``version``) keeps
    them; an input becomes version 1 created at ``now``. Without an id,
    ``new_id()`` makes one.
    """
    try:
        document = _decode_any(raw)
    except msgspec.DecodeError as exc:
        raise ValidationFailed([FieldError("", f"not valid JSON: {exc}")]) from None
    except RecursionError:
        raise ValidationFailed([FieldError("", "nested too deeply to be an event")]) from None
    if not isinstance(document, dict):
        raise ValidationFailed([FieldError("", f"expected a JSON object, got {_kind(document)}")])
    if any(_is_integer(document.get(key)) for key in _ID_KEYS):
        document = {
            key: str(value) if key in _ID_KEYS and _is_integer(value) else value
            for key, value in document.items()
        }
        raw = _encode(document)
    errors: list[FieldError] = []
    data = None
    try:
        data = parse_input(raw)
    except ValidationFailed as exc:
        errors += exc.errors
    except BadRequest as exc:  # not expected once the row has decoded; reported all the same
        errors.append(FieldError("", str(exc)))
    stored: dict[str, Any] = {}
    full = any(name in document for name in VERSION_STAMPS)
    for name in (*VERSION_STAMPS, OWNER) if full else ():
        if name not in document:
            if name != OWNER:  # the version stamps come together; an owner is optional
                errors.append(
                    FieldError(
                        name,
                        "required with the other server fields (created_at, "
                        "updated_at and version come together)",
                    )
                )
            continue
        try:
            stored[name] = msgspec.convert(document[name], _SERVER_TYPES[name], strict=True)
        except msgspec.ValidationError as exc:
            errors.append(FieldError(name, str(exc).split(" - at `", 1)[0]))
    if OWNER in document and not full:
        errors.append(
            FieldError(
                OWNER,
                "only a full event document (with created_at, updated_at and version) "
                "can name its owner",
            )
        )
    if errors or data is None:
        raise ValidationFailed(errors or [FieldError("", "invalid event")])
    owner = stored.pop(OWNER, UNSET)
    event = build_event(data, event_id=input_id(data) or new_id(), now=now, owner=owner)
    return msgspec.structs.replace(event, **stored) if stored else event


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


class RowChecker:
    """Turns rows into events, keeping the bad rows and the id of every good one.

    A row whose id an earlier row has is bad too. ``number_of`` finds the row of
    an id, to report what the store refused (an id that is taken).
    """

    def __init__(self, *, unit: Unit, now: datetime, new_id: Callable[[], str]) -> None:
        self.unit: Unit = unit
        self.rows = 0
        self.bad: list[BadRow] = []
        self._now = now
        self._new_id = new_id
        self._numbers: dict[str, int] = {}

    def check(self, row: Row) -> Event | None:
        """The row's event, or ``None`` (and a bad row kept) if it cannot be imported."""
        self.rows += 1
        try:
            event = read_event(row.raw, now=self._now, new_id=self._new_id)
        except ValidationFailed as exc:
            self.bad.append(BadRow(row.number, tuple(exc.errors)))
            return None
        first = self._numbers.setdefault(event.id, row.number)
        if first != row.number:
            message = f"{event.id!r} is the id of {self.unit} {first} already"
            self.bad.append(BadRow(row.number, (FieldError("id", message),)))
            return None
        return event

    def number_of(self, event_id: str) -> int:
        return self._numbers[event_id]

    def taken(self, ids: Iterable[str]) -> list[BadRow]:
        """Bad rows for events whose ids are taken in the database."""
        return [
            BadRow(
                self.number_of(event_id),
                (FieldError("id", f"an event with id {event_id!r} exists already"),),
            )
            for event_id in ids
        ]


def describe(bad: BadRow, unit: Unit) -> str:
    """One line of the report: ``line 3: title: required; tags: must not repeat a tag``."""
    reasons = "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in bad.errors)
    return f"{unit} {bad.number}: {reasons}"


def to_ndjson(documents: Iterable[bytes]) -> bytes:
    """Event documents as NDJSON lines, each ended by a newline."""
    return b"".join(document + b"\n" for document in documents)
