"""The event resource: its shape, its rules, and how input becomes an event.

Pure Python: no I/O, no HTTP. Types and per-field constraints are declared with
msgspec (the validation library we use); rules that span fields or need
normalising (trimming, time zones, ``ends_at >= starts_at``) are checked here,
and every broken rule is reported, not just the first.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec

from eventsapi.domain.text import NOT_SPACE, ONE_LINE, SPACE, TEXT, TEXT_PATTERN
from eventsapi.errors import BadRequest, FieldError, ValidationFailed

ID_PATTERN: Final = r"^[A-Za-z0-9._~-]{1,64}$"
DOT_SEGMENTS: Final = frozenset({".", ".."})
"""Ids the pattern allows but no URL can address: clients remove these path segments
(RFC 3986 section 5.2.4), so ``/events/..`` is ``/``. They are refused."""
DOT_SEGMENT_MESSAGE: Final = "'.' and '..' cannot be ids: URLs cannot address them"
CALENDAR_SUFFIX: Final = ".ics"
"""No new id ends so: ``/events/<id>.ics`` is the calendar of the event ``<id>``, so the
event ``<id>.ics`` would have no URL of its own."""
CALENDAR_SUFFIX_MESSAGE: Final = (
    f"must not end in {CALENDAR_SUFFIX!r}: /events/<id>{CALENDAR_SUFFIX} is the calendar "
    "of the event <id>"
)
ID_SCHEMA_EXCLUDES: Final = {"anyOf": [{"enum": sorted(DOT_SEGMENTS)}, {"pattern": r"\.ics$"}]}
"""The ids the pattern allows but no event may take, as JSON Schema's ``not``."""
TITLE_MAX: Final = 200
TITLE_RAW_MAX: Final = 1_000
DESCRIPTION_MAX: Final = 10_000
LOCATION_MAX: Final = 500
TAGS_MAX: Final = 20
TAG_MAX: Final = 64
CAPACITY_MAX: Final = 1_000_000_000

EventId = Annotated[
    str,
    msgspec.Meta(
        pattern=ID_PATTERN,
        description="1-64 characters of A-Z a-z 0-9 . _ ~ -, but not . or .. and not "
        "ending in .ics",
        examples=["01JD7X3Q9M5T8V2W4Y6Z8A0B1C", "1"],
        extra_json_schema={"not": ID_SCHEMA_EXCLUDES},
    ),
]
# The patterns below are also JSON Schema (ECMA-262) patterns: domain/text.py spells
# white space and the refused control characters out so that both dialects agree.
_TITLE_PATTERN: Final = (
    f"^[{SPACE}]*{NOT_SPACE}({TEXT}{{0,{TITLE_MAX - 2}}}{NOT_SPACE})?[{SPACE}]*$"
)
Title = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        # The rule is on the trimmed title (the pattern); the raw bound keeps the
        # pattern's work small whatever a client sends.
        max_length=TITLE_RAW_MAX,
        pattern=_TITLE_PATTERN,
        description=f"1-{TITLE_MAX} characters after trimming white space at both ends "
        "(stored trimmed)",
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=DESCRIPTION_MAX, pattern=TEXT_PATTERN)]
Location = Annotated[str, msgspec.Meta(max_length=LOCATION_MAX, pattern=TEXT_PATTERN)]
TimeZoneName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone name")
]
Tag = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=TAG_MAX,
        # one line, no white space at either end (Python's $ also matches before a
        # final newline: _rule_errors refuses that one)
        pattern=f"^{NOT_SPACE}({ONE_LINE}*{NOT_SPACE})?$",
    ),
]
Tags = Annotated[
    list[Tag],
    msgspec.Meta(
        max_length=TAGS_MAX,
        description=f"At most {TAGS_MAX} tags, none repeated",
        extra_json_schema={"uniqueItems": True},
    ),
]
Capacity = Annotated[int, msgspec.Meta(ge=0, le=CAPACITY_MAX)]
# JSON has one number type: 80.0 is the integer 80 (JSON Schema agrees), so a
# whole float is a capacity too; a fraction is refused in ``_rule_errors``.
WholeCapacity = Annotated[float, msgspec.Meta(ge=0, le=CAPACITY_MAX)]
Instant = Annotated[
    datetime, msgspec.Meta(tz=True, description="RFC 3339 date-time with an offset")
]
Status = Literal["scheduled", "cancelled"]

UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """An event as stored and as returned to clients."""

    id: str
    title: str
    description: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: str | None = None
    location: str | None = None
    tags: tuple[str, ...] = ()
    capacity: int | None = None
    registration_opens_at: datetime | UnsetType = UNSET
    registration_closes_at: datetime | UnsetType = UNSET
    """When registrations open and close (``POST /events/{id}/registrations`` answers 409
    outside); left out of the document when not set, so documents stored before they
    existed, and their ETags, stay byte for byte what they were."""
    status: Status = "scheduled"
    created_at: datetime
    updated_at: datetime
    version: int
    owner: str | UnsetType = UNSET
    """The id of the account that created the event. Left out of the document (``UNSET``)
    when no account did (anonymous writes, events stored before accounts existed), so those
    documents, and the ETags derived from them, stay byte for byte what they were."""


class EventInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A client's representation of an event (POST and PUT bodies, patched documents).

    The Go tutorial's keys ``ID``, ``Title`` and ``Description`` are accepted beside
    ours. Server-owned fields (the version stamps and the counts, ``COUNTS``) are accepted
    so a fetched event can be sent back as it is, and ignored: the server sets them.
    ``owner`` may be sent back too, but only as it is: any other value is refused
    (``build_event``), so that nobody can give an event to, or take it from, an account.
    """

    id: EventId | UnsetType = UNSET
    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    timezone: TimeZoneName | None = None
    location: Location | None = None
    tags: Tags = msgspec.field(default_factory=list)
    capacity: Capacity | WholeCapacity | None = None
    registration_opens_at: Instant | None = None
    registration_closes_at: Instant | None = None
    status: Status = "scheduled"
    legacy_id: EventId | UnsetType = msgspec.field(default=UNSET, name="ID")
    legacy_title: Title | UnsetType = msgspec.field(default=UNSET, name="Title")
    legacy_description: Description | UnsetType | None = msgspec.field(
        default=UNSET, name="Description"
    )
    created_at: Any = msgspec.field(default=UNSET)
    updated_at: Any = msgspec.field(default=UNSET)
    version: Any = msgspec.field(default=UNSET)
    owner: Any = msgspec.field(default=UNSET)
    registered: Any = msgspec.field(default=UNSET)
    waitlisted: Any = msgspec.field(default=UNSET)
    spots_left: Any = msgspec.field(default=UNSET)


VERSION_STAMPS: Final = ("created_at", "updated_at", "version")
"""The server-owned members every event has (an import restores them together)."""
OWNER: Final = "owner"
SERVER_OWNED: Final = (*VERSION_STAMPS, OWNER)
COUNTS: Final = ("registered", "waitlisted", "spots_left")
"""The members every event is served with beside its own: its registrations' counts
(``domain/registrations.py``). They are kept beside the stored document, never in it (a
registration changes neither the document nor the version), and are read only: accepted
in input, as the version stamps are, and ignored."""
OWNER_FIXED: Final = "is set by the server and cannot be changed"
LEGACY_KEYS: Final = {"ID": "id", "Title": "title", "Description": "description"}

_input_decoder = msgspec.json.Decoder(EventInput)
_encode = msgspec.json.Encoder().encode
_any_decoder = msgspec.json.Decoder()
_FIELD_TYPES: Final = {f.encode_name: f.type for f in msgspec.structs.fields(EventInput)}


@functools.cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def decode_json(body: bytes) -> Any:
    """Parse a JSON body, or raise :class:`BadRequest` naming the syntax error."""
    try:
        return _any_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("The body is nested too deeply to be an event.") from None


def parse_input(body: bytes) -> EventInput:
    """Decode and check an event document; every broken rule is reported at once."""
    try:
        data = _input_decoder.decode(body)
    except msgspec.ValidationError:
        raise ValidationFailed(_type_errors(decode_json(body))) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("The body is nested too deeply to be an event.") from None
    errors = _rule_errors(data)
    if errors:
        raise ValidationFailed(errors)
    return data


def _type_errors(document: Any) -> list[FieldError]:
    """Check each member on its own so that all bad fields are listed, not the first."""
    if not isinstance(document, dict):
        return [FieldError("", f"expected a JSON object, got {_json_kind(document)}")]
    errors: list[FieldError] = []
    for key, value in document.items():
        field_type = _FIELD_TYPES.get(key)
        if field_type is None:
            errors.append(FieldError(key, "unknown field"))
            continue
        try:
            # strict, as the JSON decoder is: "5" is not a capacity, 1717264800 not a time
            msgspec.convert(value, field_type, strict=True)
        except msgspec.ValidationError as exc:
            errors.append(FieldError(key, _describe(exc, key)))
    if "title" not in document and "Title" not in document:
        errors.append(FieldError("title", "required"))
    # The cross-field rules, on the members that are fine on their own.
    bad = {LEGACY_KEYS.get(e.field, e.field) for e in errors}
    valid = {k: v for k, v in document.items() if LEGACY_KEYS.get(k, k) not in bad}
    try:
        data = msgspec.convert(valid, EventInput, strict=True)
    except msgspec.ValidationError:
        data = None
    if data is not None:
        errors += [e for e in _rule_errors(data) if e.field not in bad]
    return errors or [FieldError("", "invalid event")]


_NO_CONTROLS: Final = "must not hold control characters (but tab and line breaks)"
_PATTERN_RULES: Final = {
    "id": "1-64 characters of A-Z a-z 0-9 . _ ~ -",
    "title": f"must be 1-{TITLE_MAX} characters after trimming white space, "
    "without control characters (but tab and line breaks)",
    "description": _NO_CONTROLS,
    "location": _NO_CONTROLS,
    "tags": "each tag is one line with no white space at either end and no control character",
}


def _describe(exc: msgspec.ValidationError, member: str) -> str:
    # msgspec appends " - at `$...`"; the field is reported separately.
    message = str(exc).split(" - at `", 1)[0]
    if "matching regex" in message:
        # the regex itself says little to a reader; say the rule instead
        return _PATTERN_RULES.get(LEGACY_KEYS.get(member, member), message)
    return message


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def _rule_errors(data: EventInput) -> list[FieldError]:
    errors: list[FieldError] = []
    if data.id is not UNSET and data.legacy_id is not UNSET:
        errors.append(_both("id"))
    if data.title is not UNSET and data.legacy_title is not UNSET:
        errors.append(_both("title"))
    if data.description is not UNSET and data.legacy_description is not UNSET:
        errors.append(_both("description"))
    if data.title is UNSET and data.legacy_title is UNSET:
        errors.append(FieldError("title", "required"))
    if data.starts_at is not None and data.ends_at is not None and data.ends_at < data.starts_at:
        errors.append(FieldError("ends_at", "must not be before starts_at"))
    opens, closes = data.registration_opens_at, data.registration_closes_at
    if opens is not None and closes is not None and closes < opens:
        errors.append(
            FieldError("registration_closes_at", "must not be before registration_opens_at")
        )
    if data.timezone is not None and data.timezone not in _known_time_zones():
        errors.append(FieldError("timezone", "not a known IANA time zone name"))
    if len(set(data.tags)) != len(data.tags):
        errors.append(FieldError("tags", "must not repeat a tag"))
    if any(tag != tag.strip() for tag in data.tags):
        errors.append(FieldError("tags", "a tag must not end with white space"))
    if isinstance(data.capacity, float) and not data.capacity.is_integer():
        errors.append(FieldError("capacity", "must be a whole number"))
    for field, event_id in (("id", data.id), ("ID", data.legacy_id)):
        if event_id in DOT_SEGMENTS:
            errors.append(FieldError(field, DOT_SEGMENT_MESSAGE))
    return errors


def _both(field: str) -> FieldError:
    legacy = next(k for k, v in LEGACY_KEYS.items() if v == field)
    return FieldError(field, f"given twice, as {field!r} and as {legacy!r}")


def _merged(ours: str | UnsetType | None, legacy: str | UnsetType | None) -> str | UnsetType | None:
    return legacy if ours is UNSET else ours


def input_id(data: EventInput) -> str | None:
    """The id the client chose, if any (``id`` or the tutorial's ``ID``)."""
    chosen = _merged(data.id, data.legacy_id)
    return None if chosen is UNSET else chosen


def build_event(
    data: EventInput,
    *,
    event_id: str,
    now: datetime,
    previous: Event | None = None,
    owner: str | UnsetType = UNSET,
) -> Event:
    """The event ``data`` describes, as version 1 or as the next version of ``previous``.

    ``owner``: the account creating it (a new event); a new version keeps the owner of
    ``previous``. An ``owner`` in ``data`` other than that one is refused.
    """
    errors: list[FieldError] = []
    chosen = input_id(data)
    if chosen is not None and chosen != event_id:
        errors.append(FieldError("id", "does not match the id in the URL"))
    if previous is not None:
        owner = previous.owner
    elif event_id.endswith(CALENDAR_SUFFIX):
        # a new event only: one stored before the rule keeps its id (and its writes)
        errors.append(FieldError("id", CALENDAR_SUFFIX_MESSAGE))
    if data.owner is not UNSET and data.owner != owner:
        errors.append(FieldError(OWNER, OWNER_FIXED))
    if errors:
        raise ValidationFailed(errors)
    title = _merged(data.title, data.legacy_title)
    if not isinstance(title, str):  # parse_input has made sure it is there
        raise ValidationFailed([FieldError("title", "required")])
    description = _merged(data.description, data.legacy_description)
    return Event(
        id=event_id,
        title=title.strip(),
        description=None if description is UNSET else description,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        timezone=data.timezone,
        location=data.location,
        tags=tuple(data.tags),
        capacity=None if data.capacity is None else int(data.capacity),
        registration_opens_at=_unset_if_none(data.registration_opens_at),
        registration_closes_at=_unset_if_none(data.registration_closes_at),
        status=data.status,
        created_at=previous.created_at if previous else now,
        updated_at=now,
        version=previous.version + 1 if previous else 1,
        owner=owner,
    )


def _unset_if_none(instant: datetime | None) -> datetime | UnsetType:
    return UNSET if instant is None else instant


def editable_document(event: Event) -> dict[str, Any]:
    """The client-editable members of ``event`` as JSON-ready builtins."""
    document: dict[str, Any] = msgspec.to_builtins(event)
    for key in SERVER_OWNED:
        document.pop(key, None)  # an event without an owner has no such member
    return document


def revise(current: Event, data: EventInput, *, now: datetime) -> Event:
    """The next version of ``current`` described by ``data``; ``current`` itself if
    nothing would change, so a repeated PUT or PATCH does not bump the version."""
    revised = build_event(data, event_id=current.id, now=now, previous=current)
    unchanged = msgspec.structs.replace(
        revised, updated_at=current.updated_at, version=current.version
    )
    # Compared as encoded, not with ==: datetime equality ignores the offset, so a
    # change from 10:00+02:00 to 08:00Z would otherwise be dropped as a no-op.
    return current if _encode(unchanged) == _encode(current) else revised


def restored(trashed: Event, *, now: datetime) -> Event:
    """``trashed`` as it comes back from the trash: the same event with a new version, so
    that every cache and ``ETag`` of the version deleted is stale."""
    return msgspec.structs.replace(trashed, version=trashed.version + 1, updated_at=now)
