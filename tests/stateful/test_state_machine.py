"""Hypothesis drives the HTTP API against an in-memory model of the events.

The model is a plain dict of the events we expect, in creation order, and its
own reading of the rules (``canonical`` below is written from the issue, not
from the server's code). Every request's status and body are checked against
it, and after every step the whole listing must equal it. Invalid writes must
leave the model, and so the server, unchanged.

The model also keeps, per event, the ``ETag`` last shown and every older one, so
that conditional writes (``If-Match``, ``If-None-Match``) are predicted to go ahead
or fail with 412, and conditional GETs to be 304 or 200; and the responses saved
under idempotency keys with the requests that made them, so that a retry is
predicted to replay them byte for byte, to be refused (422, another request), or
to run again (the key expired: the clock is moved on by whole hours). Filtered,
sorted listings are paged through both ways and compared with the model's order.

The same machine runs on the memory store, on SQLite and on PostgreSQL (a schema of its
own for each run).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
import unicodedata
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import urlencode

import httpx2
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from tests.support import postgres_schema

# --- the rules, as the issue states them -------------------------------------------------

EDITABLE: Final = (
    "title",
    "description",
    "starts_at",
    "ends_at",
    "timezone",
    "location",
    "tags",
    "capacity",
    "status",
)
DEFAULTS: Final[Mapping[str, Any]] = {
    "description": None,
    "starts_at": None,
    "ends_at": None,
    "timezone": None,
    "location": None,
    "tags": [],
    "capacity": None,
    "status": "scheduled",
}
LEGACY: Final = {"ID": "id", "Title": "title", "Description": "description"}
# The version stamps, and the counts every event is shown with (no one registers here:
# always 0): accepted in input and ignored.
SERVER_OWNED: Final = frozenset(
    {"created_at", "updated_at", "version", "registered", "waitlisted", "spots_left"}
)
KNOWN_KEYS: Final = frozenset({*EDITABLE, "id", *LEGACY, *SERVER_OWNED})
RESPONSE_KEYS: Final = frozenset({*EDITABLE, "id", *SERVER_OWNED})

ID_RE: Final = re.compile(r"[A-Za-z0-9._~-]{1,64}")
# Tags are short, trimmed strings: no white space at either end, one line.
LINE_BREAKS: Final = frozenset("\n\r\u2028\u2029")


def _has_controls(text: str) -> bool:
    """No text field takes a control character (Unicode's Cc) but tab and line breaks."""
    return any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text)


INSTANT_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})"
)
ZONES: Final = zoneinfo.available_timezones()
MAX_BODY: Final = 1 << 20


class Invalid(Exception):
    """The document breaks a rule: the server must answer 422."""


def _instant(value: Any) -> str | None:
    """An RFC 3339 instant with an offset, as an ISO string keeping that offset."""
    if value is None:
        return None
    if not isinstance(value, str) or not INSTANT_RE.fullmatch(value):
        raise Invalid(f"not an RFC 3339 instant: {value!r}")
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise Invalid(f"not a real instant: {value!r}") from None


def _optional_text(value: Any, longest: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > longest or _has_controls(value):
        raise Invalid(f"not text of at most {longest} characters: {value!r}")
    return value


def _title(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 200
        or not value.strip()
        or _has_controls(value)
    ):
        raise Invalid(f"bad title {value!r}")
    return value.strip()


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 20:
        raise Invalid(f"tags must be a list of at most 20: {value!r}")
    for tag in value:
        if (
            not isinstance(tag, str)
            or not 1 <= len(tag) <= 64
            or tag != tag.strip()
            or LINE_BREAKS.intersection(tag)
            or _has_controls(tag)
        ):
            raise Invalid(f"bad tag {tag!r}")
    if len(set(value)) != len(value):
        raise Invalid("repeated tag")
    return list(value)


def _capacity(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 80.0 is 80
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
        raise Invalid(f"bad capacity {value!r}")
    return value


def _event_id(value: Any) -> str:
    # "." and ".." are dot segments: no URL can address them (RFC 3986 section 5.2.4).
    if not isinstance(value, str) or not ID_RE.fullmatch(value) or value in (".", ".."):
        raise Invalid(f"bad id {value!r}")
    return value


def canonical(document: Any) -> tuple[str | None, dict[str, Any]]:
    """``(client id or None, the editable fields as stored)`` or :class:`Invalid`.

    Instants are kept as ISO strings with their offset, so that two documents are
    equal exactly when their representations are.
    """
    if not isinstance(document, dict):
        raise Invalid("not an object")
    if set(document) - KNOWN_KEYS:
        raise Invalid(f"unknown fields {sorted(set(document) - KNOWN_KEYS)}")
    for legacy, ours in LEGACY.items():
        if legacy in document and ours in document:
            raise Invalid(f"both {legacy} and {ours}")
    fields = {LEGACY.get(k, k): v for k, v in document.items() if k not in SERVER_OWNED}
    if "title" not in fields:
        raise Invalid("no title")
    client_id = _event_id(fields["id"]) if "id" in fields else None
    doc = dict(DEFAULTS)
    doc["title"] = _title(fields["title"])
    doc["description"] = _optional_text(fields.get("description"), 10_000)
    doc["location"] = _optional_text(fields.get("location"), 500)
    doc["starts_at"] = _instant(fields.get("starts_at"))
    doc["ends_at"] = _instant(fields.get("ends_at"))
    if doc["starts_at"] and doc["ends_at"]:
        starts = datetime.fromisoformat(doc["starts_at"])
        if datetime.fromisoformat(doc["ends_at"]) < starts:
            raise Invalid("ends before it starts")
    zone = fields.get("timezone")
    if zone is not None and (not isinstance(zone, str) or zone not in ZONES):
        raise Invalid(f"unknown time zone {zone!r}")
    doc["timezone"] = zone
    doc["tags"] = _tags(fields.get("tags", []))
    doc["capacity"] = _capacity(fields.get("capacity"))
    status = fields.get("status", "scheduled")
    if status not in ("scheduled", "cancelled"):
        raise Invalid(f"bad status {status!r}")
    doc["status"] = status
    return client_id, doc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 section 2, as written there."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


@dataclass
class Expected:
    """One event as the model expects it."""

    doc: dict[str, Any]
    version: int
    created_at: str
    updated_at: str
    etag: str
    """The ``ETag`` of the last response that showed this version."""


# --- conditional requests, idempotency keys and listings, as the issue states them ---------

ETAG_RE: Final = re.compile(r'"(\d+)-[0-9a-f]+\.0\.0"')
"""A strong entity tag: ``"<version>-<digest of the JSON>.<registered>.<waitlisted>"``
(nobody registers here)."""
MADE_UP_TAG: Final = '"1-0123456789abcdef"'
RETENTION_HOURS: Final = 24
"""How long an idempotency key is kept (the default setting)."""
REPLAYED_HEADERS: Final = ("content-type", "content-length", "etag", "location")
NO_START: Final = "~"
"""Where an event without ``starts_at`` sorts: after every instant."""


@dataclass(frozen=True)
class TagList:
    """An ``If-Match`` / ``If-None-Match`` value as sent, and what it lists."""

    value: str
    any: bool = False
    strong: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()

    def matches(self, tag: str, *, weak: bool) -> bool:
        """RFC 9110 section 8.8.3.2: a weak tag never equals under strong comparison."""
        return self.any or tag in self.strong or (weak and tag in self.weak)


@dataclass(frozen=True)
class Conditions:
    """The preconditions of one write (RFC 9110 section 13.1)."""

    if_match: TagList | None = None
    if_none_match: TagList | None = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {}
        if self.if_match is not None:
            headers["if-match"] = self.if_match.value
        if self.if_none_match is not None:
            headers["if-none-match"] = self.if_none_match.value
        return headers

    def hold(self, current: str | None) -> bool:
        """Whether a write may go ahead on the event whose ETag is ``current`` (or none)."""
        if self.if_match is not None and (
            current is None or not self.if_match.matches(current, weak=False)
        ):
            return False
        return not (
            self.if_none_match is not None
            and current is not None
            and self.if_none_match.matches(current, weak=True)
        )


@dataclass(frozen=True)
class Sent:
    """A write as sent: a retry is the same request when all of this is."""

    method: str
    path: str
    document: Any
    content_type: str | None

    @property
    def body(self) -> bytes:
        return json.dumps(self.document).encode()

    def same_as(self, other: Sent) -> bool:
        """Byte for byte: ``{"capacity": 80.0}`` is not the same body as ``{"capacity": 80}``."""
        return (self.method, self.path, self.content_type, self.body) == (
            other.method,
            other.path,
            other.content_type,
            other.body,
        )


@dataclass(frozen=True)
class Saved:
    """The response saved under an idempotency key, and the request that made it."""

    request: Sent
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    hour: int
    """The model's clock (in whole hours advanced) when the key was saved."""


def utc_key(instant: str) -> str:
    """An instant as UTC text, which sorts in time order; out-of-range years clamp to the edge."""
    moment = datetime.fromisoformat(instant)
    try:
        return moment.astimezone(UTC).isoformat()
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in the year 0 in UTC
        edge = datetime.min if moment.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC).isoformat()


@dataclass(frozen=True)
class ListingQuery:
    """``GET /events`` with filters and a sort, as the model reads it."""

    status: str | None
    tag: str | None
    starts_after: str | None
    starts_before: str | None
    sort: str | None
    limit: int
    count: bool

    @property
    def url(self) -> str:
        parameters: list[tuple[str, str]] = [("limit", str(self.limit))]
        for name in ("status", "tag", "starts_after", "starts_before", "sort"):
            value = getattr(self, name)
            if value is not None:
                parameters.append((name, value))
        if self.count:
            parameters.append(("count", "exact"))
        return "/events?" + urlencode(parameters)

    def admits(self, doc: Mapping[str, Any]) -> bool:
        if self.status is not None and doc["status"] != self.status:
            return False
        if self.tag is not None and self.tag not in doc["tags"]:
            return False
        if self.starts_after is None and self.starts_before is None:
            return True
        if doc["starts_at"] is None:
            return False
        starts = utc_key(doc["starts_at"])
        if self.starts_after is not None and starts < utc_key(self.starts_after):
            return False
        return self.starts_before is None or starts < utc_key(self.starts_before)

    def order(self, events: Mapping[str, Expected]) -> list[str]:
        """The ids listed, in order: the sort key, then the id; ``-`` reverses both."""
        keyed: list[tuple[tuple[Any, ...], str]] = []
        for seq, (event_id, expected) in enumerate(events.items()):
            if not self.admits(expected.doc):
                continue
            name = (self.sort or "created").lstrip("-")
            key: tuple[Any, ...]
            if name == "created":
                key = (seq,)
            elif name == "starts_at":
                starts = expected.doc["starts_at"]
                key = (NO_START if starts is None else utc_key(starts), event_id)
            elif name == "title":
                key = (expected.doc["title"], event_id)
            else:
                key = (utc_key(getattr(expected, name)), event_id)
            keyed.append((key, event_id))
        keyed.sort(reverse=(self.sort or "").startswith("-"))
        return [event_id for _, event_id in keyed]


# --- what clients send ----------------------------------------------------------------------

DELETE: Final = object()  # in a corruption: remove the member

OFFSETS: Final = [
    UTC,
    timezone(timedelta(hours=2)),
    timezone(-timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=14)),
    timezone(-timedelta(hours=12)),
]
POOL_IDS: Final = ["1", "2", "evt-a", "x.y_z~", "A" * 64]
BAD_BODY_IDS: Final = [".", "..", "a/b", "x" * 65, "", "caf\u00e9"]

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
titles = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20),
    st.sampled_from(["Go meetup", "  padded title  ", "\u00a0nbsp\u2003", "x" * 200]),
)
instants = st.one_of(
    st.datetimes(timezones=st.sampled_from(OFFSETS)).map(datetime.isoformat),
    # where the instant in UTC leaves the years 1-9999
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-12:00"]),
)
instants_z = instants.map(lambda s: s.replace("+00:00", "Z"))
tag_names = st.sampled_from(
    ["music", "go", "tech", "x y", "\u00fcn\u00efcode", "a" * 64, "\ufeff", "tab\there"]
)

VALID_VALUES: Final[Mapping[str, st.SearchStrategy[Any]]] = {
    "description": st.one_of(st.none(), text, st.just("d" * 10_000)),
    "starts_at": st.one_of(st.none(), instants, instants_z),
    "ends_at": st.one_of(st.none(), instants, instants_z),
    "timezone": st.sampled_from([None, "UTC", "Europe/Paris", "America/New_York"]),
    "location": st.one_of(st.none(), text, st.just("l" * 500)),
    "tags": st.one_of(
        st.lists(tag_names, max_size=4, unique=True),
        st.just([f"t{i}" for i in range(20)]),
    ),
    "capacity": st.one_of(st.none(), st.integers(0, 1000), st.sampled_from([10**9, 80.0])),
    "status": st.sampled_from(["scheduled", "cancelled"]),
}

CORRUPTIONS: Final[list[dict[str, Any]]] = [
    {"title": ""},
    {"title": "   \t"},
    {"title": "x" * 201},
    {"title": 5},
    {"title": None},
    {"title": DELETE},
    {"Title": "beside title"},
    {"description": "d" * 10_001},
    {"description": 3},
    {"starts_at": "2020-13-01T00:00:00Z"},
    {"starts_at": "2020-01-01T00:00:00"},
    {"ends_at": "soon"},
    {"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T23:59:59Z"},
    {"starts_at": "2030-01-02T00:00:00+01:00", "ends_at": "2030-01-01T23:00:00Z"},
    {"timezone": "Mars/Olympus_Mons"},
    {"timezone": ""},
    {"location": "l" * 501},
    {"tags": ["a", "a"]},
    {"tags": [f"t{i}" for i in range(21)]},
    {"tags": [" leading"]},
    {"tags": [""]},
    {"tags": ["two\nlines"]},
    {"tags": ["two\rlines"]},
    {"tags": ["trailing\n"]},
    {"tags": ["unit separator\x1f"]},
    {"tags": ["x" * 65]},
    {"tags": "music"},
    {"tags": None},
    {"capacity": -1},
    {"capacity": 10**9 + 1},
    {"capacity": 1.5},
    {"capacity": True},
    {"capacity": "10"},
    {"status": "postponed"},
    {"status": None},
    {"colour": "red"},
    {"id": "bad/id"},
    {"id": "x" * 65},
    {"id": ""},
    {"id": ".."},
    {"id": None},
    {"version": 99, "created_at": "yesterday", "updated_at": None},  # ignored: still valid
]


@st.composite
def documents(draw: st.DrawFn, *, legacy: bool = False) -> dict[str, Any]:
    """An event document; most are valid, some break one rule (the model decides)."""
    doc: dict[str, Any] = {"title": draw(titles)}
    for name, values in VALID_VALUES.items():
        if draw(st.booleans()):
            doc[name] = draw(values)
    if doc.get("starts_at") and doc.get("ends_at"):
        ordered = sorted((doc["starts_at"], doc["ends_at"]), key=datetime.fromisoformat)
        doc["starts_at"], doc["ends_at"] = ordered
    if legacy or draw(st.integers(0, 9)) == 0:
        doc = {next((k for k, v in LEGACY.items() if v == key), key): v for key, v in doc.items()}
    if draw(st.integers(0, 4)) == 0:
        for name, value in draw(st.sampled_from(CORRUPTIONS)).items():
            if value is DELETE:
                doc.pop(name, None)
                doc.pop(next(k for k, v in LEGACY.items() if v == name), None)
            else:
                doc[name] = value
    return doc


@st.composite
def patches(draw: st.DrawFn, event_id: str) -> dict[str, Any]:
    """A merge patch: members to set, ``null`` to clear, now and then a broken one."""
    patch: dict[str, Any] = {}
    for name in EDITABLE:
        choice = draw(st.integers(0, 5))
        if choice == 0:
            patch[name] = None
        elif choice == 1:
            patch[name] = draw(titles if name == "title" else VALID_VALUES[name])
    if draw(st.integers(0, 5)) == 0:
        patch["Title" if "title" not in patch else "Description"] = draw(titles)
    if draw(st.integers(0, 5)) == 0:
        patch["id"] = draw(st.sampled_from([event_id, None, "other-id"]))
    if draw(st.integers(0, 5)) == 0:
        patch.update(draw(st.sampled_from(CORRUPTIONS)))
        patch = {k: (None if v is DELETE else v) for k, v in patch.items()}
    if draw(st.integers(0, 9)) == 0:
        patch["descripton"] = None  # a typo: unknown even as null
    return patch


# --- the machine ----------------------------------------------------------------------------


class SteppingClock:
    """Each reading is 1 ms after the previous one, so every change has its own time."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, hours: int) -> None:
        self.now += timedelta(hours=hours)


SHOWN_HEADERS: Final = ("if-match", "if-none-match", "idempotency-key", "content-type")


def _show(response: httpx2.Response) -> str:
    request = response.request
    body = request.content[:300].decode(errors="replace")
    sent = " ".join(f"{n}: {request.headers[n]}" for n in SHOWN_HEADERS if n in request.headers)
    return (
        f"\n{request.method} {request.url} [{sent}] {body}\n"
        f"-> {response.status_code} {response.headers.get('content-type')} "
        f"[etag: {response.headers.get('etag')}] {response.text[:800]}"
    )


def _as_model(body: Mapping[str, Any]) -> dict[str, Any]:
    """The editable members of a returned event, with instants as ISO strings."""
    doc = {name: body[name] for name in EDITABLE}
    for name in ("starts_at", "ends_at"):
        if doc[name] is not None:
            doc[name] = datetime.fromisoformat(doc[name]).isoformat()
    return doc


NEXT_LINK: Final = re.compile(r'<([^>]*)>;\s*rel="next"')
PREV_LINK: Final = re.compile(r'<([^>]*)>;\s*rel="prev"')
POST_TYPES: Final = [None, "application/json", "application/json; charset=utf-8"]
PATCH_TYPES: Final = [None, "application/json", "application/merge-patch+json"]

# A passing run takes well under a minute; a failing one spends up to Hypothesis's
# five minutes shrinking (each try replays HTTP requests), then prints the example.
pytestmark = pytest.mark.timeout(900)


class EventsMachine(RuleBasedStateMachine):
    database: ClassVar[str] = ""  # set by subclasses: "memory:", "sqlite" or "postgres"

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, Expected] = {}
        self.trash: dict[str, Expected] = {}  # deleted events, as they were deleted
        # in the order first seen (not sorted: server ids are random, and a replay
        # must draw the same event for the same index)
        self.seen_ids: list[str] = []
        # every ETag each id has shown, oldest first (stale ones make failing If-Match)
        self.etags: dict[str, list[str]] = {}
        # a strong ETag names one representation: the bytes first seen with it
        self.tagged: dict[str, bytes] = {}
        self.saved: dict[str, Saved] = {}  # idempotency keys, as saved (maybe expired)
        self.keys: list[str] = []  # every idempotency key sent, saved or not
        self.hours = 0  # whole hours the clock was moved on
        self.clock = SteppingClock()
        self.folder = Path(tempfile.mkdtemp(prefix="eventsapi-stateful-"))
        self.resources = contextlib.ExitStack()
        self.resources.callback(shutil.rmtree, self.folder, ignore_errors=True)
        if self.database == "postgres":
            database = self.resources.enter_context(postgres_schema())
        elif self.database == "sqlite":
            database = str(self.folder / "e.db")
        else:
            database = self.database
        app = create_app(Settings(database=database), clock=self.clock)
        self.client = self.resources.enter_context(TestClient(app))

    def teardown(self) -> None:
        self.resources.close()

    # helpers

    def _draw_id(self, data: st.DataObject) -> str:
        anything = st.sampled_from(POOL_IDS + self.seen_ids)
        if self.model:  # half the time, an event that exists
            anything = st.one_of(st.sampled_from(list(self.model)), anything)
        if self.trash:  # or one in the trash
            anything = st.one_of(st.sampled_from(list(self.trash)), anything)
        return data.draw(anything, label="id")

    def _draw_key(self, data: st.DataObject) -> str | None:
        """No idempotency key, a new one, or one sent before (on any keyed route)."""
        kind = data.draw(st.sampled_from(["none", "new", "new", "used"]), label="key kind")
        if kind == "used" and self.keys:
            return data.draw(st.sampled_from(self.keys), label="key")
        if kind == "none":
            return None
        self.keys.append(f"key-{len(self.keys) + 1}")
        return self.keys[-1]

    def _draw_tags(self, data: st.DataObject, event_id: str, label: str) -> TagList:
        """An entity tag list for ``event_id``: its current ETag, a stale one, another's..."""
        current = self.model[event_id].etag if event_id in self.model else None
        stale = [tag for tag in self.etags.get(event_id, []) if tag != current]
        others = [expected.etag for i, expected in self.model.items() if i != event_id]
        kinds = ["*", "made up"]
        if current is not None:
            kinds += ["current", "current in a list", "weak current"]
        if stale:
            kinds += ["stale", "weak stale"]
        if others:
            kinds.append("another event's")
        kind = data.draw(st.sampled_from(kinds), label=label)
        event(f"{label}: {kind}")
        if kind == "*":
            return TagList("*", any=True)
        pools = {"current": [current or ""], "stale": stale, "another event's": others}
        if kind in pools:
            tag = data.draw(st.sampled_from(pools[kind]), label=f"{label} tag")
            return TagList(tag, strong=(tag,))
        if kind in ("weak current", "weak stale"):
            pool = pools["current" if kind == "weak current" else "stale"]
            tag = data.draw(st.sampled_from(pool), label=f"{label} tag")
            return TagList(f"W/{tag}", weak=(tag,))
        if kind == "current in a list":
            assert current is not None
            return TagList(
                f'{MADE_UP_TAG}, W/"x" ,{current}', strong=(MADE_UP_TAG, current), weak=('"x"',)
            )
        return TagList(MADE_UP_TAG, strong=(MADE_UP_TAG,))

    def _draw_conditions(self, data: st.DataObject, event_id: str, *, put: bool) -> Conditions:
        """Half the time none; else If-Match, or (PUT only) If-None-Match, or both."""
        if not data.draw(st.booleans(), label="conditional"):
            return Conditions()
        kinds = ["if-match"] + (["if-none-match", "both"] if put else [])
        kind = data.draw(st.sampled_from(kinds), label="conditions")
        if_match = if_none_match = None
        if kind in ("if-match", "both"):
            if_match = self._draw_tags(data, event_id, "If-Match")
        if kind in ("if-none-match", "both"):
            if_none_match = self._draw_tags(data, event_id, "If-None-Match")
        return Conditions(if_match, if_none_match)

    def _check_event(
        self, response: httpx2.Response, status: int, expected: Expected | None = None
    ) -> dict[str, Any]:
        event(f"{response.request.method} -> {status}")
        assert response.status_code == status, _show(response)
        assert response.headers["content-type"] == "application/json", _show(response)
        body: dict[str, Any] = response.json()
        assert set(body) == RESPONSE_KEYS, _show(response)
        counts = (body["registered"], body["waitlisted"], body["spots_left"])
        assert counts == (0, 0, body["capacity"]), "nobody registered" + _show(response)
        tag = response.headers.get("etag", "")
        found = ETAG_RE.fullmatch(tag)
        assert found is not None, "no strong ETag" + _show(response)
        assert int(found[1]) == body["version"], "the ETag is not of the version" + _show(response)
        first = self.tagged.setdefault(tag, response.content)
        assert first == response.content, (
            f"one strong ETag for two representations:\n{first!r}" + _show(response)
        )
        assert "idempotent-replayed" not in response.headers, _show(response)
        if expected is not None:
            assert _as_model(body) == expected.doc, _show(response)
            assert body["version"] == expected.version, _show(response)
            assert body["created_at"] == expected.created_at, _show(response)
            assert body["updated_at"] == expected.updated_at, _show(response)
            assert tag == expected.etag, f"the ETag was {expected.etag}" + _show(response)
        if status == 201:
            assert response.headers["location"] == f"/events/{body['id']}", _show(response)
        return body

    def _check_problem(
        self, response: httpx2.Response, status: int, kind: str | None = None
    ) -> None:
        event(f"{response.request.method} -> {status}" + (f" {kind}" if kind else ""))
        assert response.status_code == status, _show(response)
        assert response.headers["content-type"] == "application/problem+json", _show(response)
        problem = response.json()
        assert problem["status"] == status, _show(response)
        assert isinstance(problem["detail"], str), _show(response)
        if kind is not None:
            assert problem["type"] == f"/problems/{kind}", _show(response)
        elif status == 422:
            assert problem["errors"], _show(response)
        assert "idempotent-replayed" not in response.headers, _show(response)

    def _new_tag(self, event_id: str, response: httpx2.Response) -> str:
        tag = response.headers["etag"]
        seen = self.etags.setdefault(event_id, [])
        assert tag not in seen, "a new version with an ETag seen before" + _show(response)
        seen.append(tag)
        return tag

    def _created(self, response: httpx2.Response, doc: dict[str, Any]) -> None:
        body = self._check_event(response, 201)
        assert _as_model(body) == doc, _show(response)
        assert body["version"] == 1, _show(response)
        assert body["created_at"] == body["updated_at"], _show(response)
        tag = self._new_tag(body["id"], response)
        self.model[body["id"]] = Expected(doc, 1, body["created_at"], body["updated_at"], tag)
        if body["id"] not in self.seen_ids:
            self.seen_ids.append(body["id"])

    def _changed(self, event_id: str, response: httpx2.Response, doc: dict[str, Any]) -> None:
        """A successful replace or patch: a new version only if something changed."""
        before = self.model[event_id]
        body = self._check_event(response, 200)
        assert _as_model(body) == doc, _show(response)
        assert body["created_at"] == before.created_at, _show(response)
        if doc == before.doc:
            event(f"{response.request.method} no-op")
            assert body["version"] == before.version, "no-op bumped the version" + _show(response)
            assert body["updated_at"] == before.updated_at, _show(response)
            assert response.headers["etag"] == before.etag, "no-op, new ETag" + _show(response)
        else:
            assert body["version"] == before.version + 1, _show(response)
            assert datetime.fromisoformat(body["updated_at"]) > datetime.fromisoformat(
                before.updated_at
            ), _show(response)
            self.model[event_id] = Expected(
                doc,
                before.version + 1,
                before.created_at,
                body["updated_at"],
                self._new_tag(event_id, response),
            )

    def _send(self, sent: Sent, headers: Mapping[str, str] | None = None) -> httpx2.Response:
        all_headers = dict(headers or {})
        if sent.content_type is not None:
            all_headers["content-type"] = sent.content_type
        return self.client.request(sent.method, sent.path, content=sent.body, headers=all_headers)

    def _live_key(self, key: str | None) -> Saved | None:
        """What ``key`` saved, if anything and not expired (an expired key is new again)."""
        saved = self.saved.get(key) if key is not None else None
        if saved is not None and self.hours - saved.hour >= RETENTION_HOURS:
            event("idempotency key expired")
            saved = None
        return saved

    def _answered_by_key(self, key: str | None, sent: Sent, response: httpx2.Response) -> bool:
        """For a key in use: check the replay (same request) or the 422 (another one)."""
        saved = self._live_key(key)
        if saved is None:
            return False
        if not saved.request.same_as(sent):
            self._check_problem(response, 422, "idempotency-key-reused")
            return True
        event(f"{sent.method} replayed")
        assert response.status_code == saved.status, "not replayed" + _show(response)
        assert response.content == saved.body, "replayed another body" + _show(response)
        assert response.headers.get("idempotent-replayed") == "true", _show(response)
        for name, value in saved.headers:
            assert response.headers.get(name) == value, f"replayed {name}" + _show(response)
        return True

    def _save_key(self, key: str | None, sent: Sent, response: httpx2.Response) -> None:
        """A successful keyed write saves its response (a failed one saves nothing)."""
        if key is not None:
            assert response.is_success
            headers = tuple(
                (n, response.headers[n]) for n in REPLAYED_HEADERS if n in response.headers
            )
            self.saved[key] = Saved(
                sent, response.status_code, headers, response.content, self.hours
            )

    def _post(self, sent: Sent, key: str | None) -> None:
        response = self._send(sent, {"idempotency-key": key} if key is not None else None)
        if self._answered_by_key(key, sent, response):
            return
        try:
            client_id, doc = canonical(sent.document)
        except Invalid:
            self._check_problem(response, 422)
            return
        if client_id is not None and client_id in self.model:
            self._check_problem(response, 409)
            return
        if client_id is not None and client_id in self.trash:
            self._check_problem(response, 409, "in-trash")
            return
        self._created(response, doc)
        if client_id is not None:
            assert response.json()["id"] == client_id, _show(response)
        self._save_key(key, sent, response)

    def _patch(self, sent: Sent, key: str | None, conditions: Conditions) -> None:
        event_id = sent.path.removeprefix("/events/")
        headers = conditions.headers
        if key is not None:
            headers["idempotency-key"] = key
        response = self._send(sent, headers)
        if self._answered_by_key(key, sent, response):
            return
        patch = sent.document
        current = self.model.get(event_id)
        if current is None:
            self._check_problem(response, 404)  # whatever the preconditions
            return
        if not conditions.hold(current.etag):
            self._check_problem(response, 412, "precondition-failed")
            return
        if set(patch) - KNOWN_KEYS or any(k in patch and v in patch for k, v in LEGACY.items()):
            self._check_problem(response, 422)
            return
        renamed = {LEGACY.get(k, k): v for k, v in patch.items()}
        try:
            client_id, doc = canonical(merge_patch({"id": event_id, **current.doc}, renamed))
        except Invalid:
            self._check_problem(response, 422)
            return
        if client_id is not None and client_id != event_id:
            self._check_problem(response, 422)
            return
        self._changed(event_id, response, doc)
        self._save_key(key, sent, response)

    # rules: writes

    @rule(
        data=st.data(),
        path=st.sampled_from(["/events", "/event"]),
        with_id=st.booleans(),
        content_type=st.sampled_from(POST_TYPES),
    )
    def create(
        self, data: st.DataObject, path: str, with_id: bool, content_type: str | None
    ) -> None:
        document = data.draw(documents(), label="document")
        if with_id and "id" not in document and "ID" not in document:
            document["id"] = data.draw(
                st.one_of(st.sampled_from(BAD_BODY_IDS), st.just(self._draw_id(data))),
                label="body id",
            )
        self._post(Sent("POST", path, document, content_type), self._draw_key(data))

    @rule(data=st.data())
    def create_as_the_tutorial_does(self, data: st.DataObject) -> None:
        """``POST /event`` with ``ID``, ``Title`` and ``Description``, as the Go tutorial."""
        document = {
            "ID": self._draw_id(data),
            "Title": data.draw(titles, label="Title"),
            "Description": data.draw(text, label="Description"),
        }
        self._post(Sent("POST", "/event", document, "application/json"), self._draw_key(data))

    @rule(
        data=st.data(),
        content_type=st.sampled_from([None, "application/json"]),
        body_id=st.sampled_from(["none", "same", "other"]),
    )
    def put(self, data: st.DataObject, content_type: str | None, body_id: str) -> None:
        event_id = self._draw_id(data)
        if event_id in self.model and data.draw(st.booleans(), label="resend"):
            # the current document again (as fetched): must not bump the version
            current = self.model[event_id]
            document: dict[str, Any] = {
                **current.doc,
                "version": current.version,
                "created_at": current.created_at,
                "updated_at": current.updated_at,
            }
        else:
            document = data.draw(documents(), label="document")
        document.pop("ID", None)
        if body_id != "none":
            document["id"] = event_id if body_id == "same" else event_id + "-other"
        conditions = self._draw_conditions(data, event_id, put=True)
        sent = Sent("PUT", f"/events/{event_id}", document, content_type)
        response = self._send(sent, conditions.headers)
        try:
            client_id, doc = canonical(document)
        except Invalid:
            self._check_problem(response, 422)  # the body is read before the event
            return
        found = self.model.get(event_id)
        if found is None and event_id in self.trash:
            self._check_problem(response, 409, "in-trash")  # before the conditions and the id
        elif not conditions.hold(found.etag if found is not None else None):
            self._check_problem(response, 412, "precondition-failed")
        elif client_id is not None and client_id != event_id:
            self._check_problem(response, 422)
        elif found is not None:
            self._changed(event_id, response, doc)
        else:
            self._created(response, doc)
            assert response.json()["id"] == event_id

    @rule(data=st.data(), content_type=st.sampled_from(PATCH_TYPES))
    def patch(self, data: st.DataObject, content_type: str | None) -> None:
        event_id = self._draw_id(data)
        patch = data.draw(patches(event_id), label="patch")
        current_start = self.model[event_id].doc["starts_at"] if event_id in self.model else None
        if current_start is not None and data.draw(st.booleans(), label="same instant"):
            # the same instant at another offset: a change of representation
            offset = data.draw(st.sampled_from(OFFSETS), label="offset")
            try:
                moved = datetime.fromisoformat(current_start).astimezone(offset)
            except OverflowError:
                moved = None
            if moved is not None:
                patch = {"starts_at": moved.isoformat()}
        conditions = self._draw_conditions(data, event_id, put=False)
        sent = Sent("PATCH", f"/events/{event_id}", patch, content_type)
        self._patch(sent, self._draw_key(data), conditions)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        event_id = self._draw_id(data)
        conditions = self._draw_conditions(data, event_id, put=False)
        response = self.client.delete(f"/events/{event_id}", headers=conditions.headers)
        current = self.model.get(event_id)
        if current is None:
            self._check_problem(response, 404)  # whatever the preconditions
        elif not conditions.hold(current.etag):
            self._check_problem(response, 412, "precondition-failed")
        else:
            self.trash[event_id] = self.model.pop(event_id)
            event("DELETE -> 204")
            assert response.status_code == 204, _show(response)
            assert response.content == b"", _show(response)

    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        event_id = self._draw_id(data)
        response = self.client.post(f"/trash/{event_id}/restore")
        trashed = self.trash.pop(event_id, None)
        if trashed is None:
            self._check_problem(response, 404)
            return
        event("restore -> 201")
        body = self._check_event(response, 201)
        assert _as_model(body) == trashed.doc, _show(response)
        assert body["version"] == trashed.version + 1, _show(response)
        assert body["created_at"] == trashed.created_at, _show(response)
        self.model[event_id] = Expected(
            trashed.doc,
            trashed.version + 1,
            trashed.created_at,
            body["updated_at"],
            self._new_tag(event_id, response),
        )

    @rule(data=st.data())
    def purge(self, data: st.DataObject) -> None:
        event_id = self._draw_id(data)
        response = self.client.delete(f"/trash/{event_id}")
        if self.trash.pop(event_id, None) is None:
            self._check_problem(response, 404)
            return
        event("purge -> 204")
        assert response.status_code == 204, _show(response)

    @precondition(lambda self: bool(self.saved))
    @rule(
        data=st.data(),
        change=st.sampled_from(["none", "none", "body", "content type", "path"]),
    )
    def retry_a_keyed_write(self, data: st.DataObject, change: str) -> None:
        """A key used before, again: with the same request (a replay) or another (422).

        After 24 hours of the clock the key is new again, and the request runs.
        """
        key = data.draw(st.sampled_from(list(self.saved)), label="key")
        first = self.saved[key].request
        document, path, content_type = first.document, first.path, first.content_type
        if change == "body":
            document = {**document, "location": data.draw(text, label="location")}
        elif change == "content type":
            types = POST_TYPES if first.method == "POST" else PATCH_TYPES
            content_type = data.draw(
                st.sampled_from([t for t in types if t != content_type]), label="content type"
            )
        elif change == "path" and first.method == "POST":
            path = "/event" if path == "/events" else "/events"
        elif change == "path":
            path = f"/events/{self._draw_id(data)}"
        sent = Sent(first.method, path, document, content_type)
        event(f"retry: {change}{'' if sent.same_as(first) else ' (another request)'}")
        if first.method == "POST":
            self._post(sent, key)
        else:
            conditions = self._draw_conditions(data, path.removeprefix("/events/"), put=False)
            self._patch(sent, key, conditions)

    @rule(hours=st.sampled_from([1, 12, 23, 24]))
    def time_passes(self, hours: int) -> None:
        """Move the clock on; idempotency keys expire after 24 hours."""
        self.clock.advance(hours)
        self.hours += hours

    @rule(
        data=st.data(),
        method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST"]),
        value=st.sampled_from(
            ["1-abc", '"unterminated', '"a" "b"', 'W/"a",,', "", '"a", nope', "W/x", ", "]
        ),
    )
    def malformed_header(self, data: st.DataObject, method: str, value: str) -> None:
        """A malformed If-Match, If-None-Match or Idempotency-Key is 400; nothing changes."""
        event_id = self._draw_id(data)
        if method == "POST":
            header, path = "idempotency-key", "/events"
            value = data.draw(
                st.sampled_from(["", "k" * 256, "cl\u00e9", "tab\there"]), label="key"
            )
        else:
            path = f"/events/{event_id}"
            header = "if-none-match" if method == "GET" else "if-match"
            if method == "PUT":
                header = data.draw(st.sampled_from(["if-match", "if-none-match"]), label="header")
            elif method == "PATCH" and data.draw(st.booleans(), label="bad key instead"):
                header, value = "idempotency-key", "k" * 256
        headers = {header.encode(): value.encode(), b"content-type": b"application/json"}
        body = b"" if method in ("GET", "DELETE") else b'{"title": "never stored"}'
        response = self.client.request(method, path, content=body, headers=headers)
        # GET finds the event first; writes refuse the header before anything else.
        self._check_problem(
            response, 404 if method == "GET" and event_id not in self.model else 400
        )

    @rule(
        data=st.data(),
        route=st.sampled_from(["POST /events", "POST /event", "PUT", "PATCH"]),
        kind=st.sampled_from(
            ["malformed", "empty", "blank", "array", "string", "unsupported", "too large"]
        ),
    )
    def unreadable_write(self, data: st.DataObject, route: str, kind: str) -> None:
        """Bodies that are not an event document at all; nothing may change."""
        event_id = self._draw_id(data)
        method, _, path = route.partition(" ")
        path = path or f"/events/{event_id}"
        content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
        if kind == "unsupported":
            content_type = data.draw(
                st.sampled_from(
                    ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
                    + ([] if method == "PATCH" else ["application/merge-patch+json"])
                ),
                label="content_type",
            )
        bodies = {
            "malformed": b'{"title": "unterminated',
            "empty": b"",
            "blank": b" \n ",
            "array": b'[{"title": "in an array"}]',
            "string": b'"just a string"',
            "unsupported": b'{"title": "fine, but the media type is not"}',
            "too large": b'{"title": "big", "description": "' + b"x" * MAX_BODY + b'"}',
        }
        response = self.client.request(
            method, path, content=bodies[kind], headers={"content-type": content_type}
        )
        missing = method == "PATCH" and event_id not in self.model
        expected = {
            "unsupported": 415,
            "too large": 413,
            "empty": 400,
            "blank": 400,
            # the body is read as JSON only once the event to patch is found
            "malformed": 404 if missing else 400,
            "array": 404 if missing else 422,
            "string": 404 if missing else 422,
        }[kind]
        self._check_problem(response, expected)
        if kind == "unsupported":
            assert response.json()["accepted"], _show(response)

    # rules: reads

    @rule(data=st.data())
    def get_one(self, data: st.DataObject) -> None:
        event_id = self._draw_id(data)
        condition = None
        if data.draw(st.booleans(), label="If-None-Match"):
            condition = self._draw_tags(data, event_id, "If-None-Match")
        headers = {"if-none-match": condition.value} if condition is not None else None
        response = self.client.get(f"/events/{event_id}", headers=headers)
        expected = self.model.get(event_id)
        if expected is None:
            self._check_problem(response, 404)
        elif condition is not None and condition.matches(expected.etag, weak=True):
            event("GET -> 304")
            assert response.status_code == 304, _show(response)
            assert response.content == b"", _show(response)
            assert response.headers.get("etag") == expected.etag, _show(response)
        else:
            self._check_event(response, 200, expected)

    @rule(limit=st.integers(1, 7))
    def list_every_page(self, limit: int) -> None:
        """Follow ``Link: rel="next"`` from the first page to the last."""
        url: str | None = f"/events?limit={limit}"
        seen: list[str] = []
        pages = 0
        while url is not None:
            response = self.client.get(url)
            assert response.status_code == 200, _show(response)
            page = response.json()
            pages += 1
            assert pages <= len(self.model) + 1, "the Link chain does not end"
            found = NEXT_LINK.search(response.headers.get("link", ""))
            url = found.group(1) if found else None
            if url is not None:
                assert len(page) == limit, "a page before the last is not full" + _show(response)
            else:
                assert len(page) <= limit, _show(response)
                assert page or not self.model, "empty last page after a Link" + _show(response)
            for item in page:
                self._check_event_body(item)
                seen.append(item["id"])
        assert seen == list(self.model), "pages do not list every event once, oldest first"

    @rule(
        query=st.sampled_from(
            [
                "limit=0",
                "limit=501",
                "limit=-1",
                "limit=abc",
                "limit=1.5",
                "limit=",
                "limit=%C2%B2",  # superscript two: a digit to str.isdigit, not a number
                "limit=%D9%A3",  # Arabic-Indic three
                "cursor=garbage",
                "cursor=",
                "cursor=MTIzNDU.",
                "colour=red",
                "limit=5&sort=colour",
            ]
        )
    )
    def list_with_bad_query(self, query: str) -> None:
        response = self.client.get(f"/events?{query}")
        self._check_problem(response, 400)
        assert "parameter" in response.json(), _show(response)

    def _walk(
        self, url: str, link: re.Pattern[str], total: int | None
    ) -> tuple[list[list[str]], str]:
        """The pages from ``url`` on, following ``link`` (next or prev) to the end.

        Also the last page's ``Link`` header.
        """
        pages: list[list[str]] = []
        following: str | None = url
        links = ""
        while following is not None:
            response = self.client.get(following)
            assert response.status_code == 200, _show(response)
            if total is not None:
                assert response.headers.get("x-total-count") == str(total), _show(response)
            else:
                assert "x-total-count" not in response.headers, _show(response)
            page = response.json()
            for item in page:
                self._check_event_body(item)
            pages.append([item["id"] for item in page])
            assert len(pages) <= len(self.model) + 2, "the Link chain does not end"
            links = response.headers.get("link", "")
            found = link.search(links)
            following = found.group(1) if found else None
        return pages, links

    @precondition(lambda self: bool(self.model))
    @rule(
        data=st.data(),
        status=st.sampled_from([None, "scheduled", "cancelled"]),
        sort=st.sampled_from(
            [None, "starts_at", "-starts_at", "created_at", "-created_at", "updated_at", "title"]
        ),
        limit=st.integers(1, 4),
        count=st.booleans(),
    )
    def list_filtered_and_sorted(
        self, data: st.DataObject, status: str | None, sort: str | None, limit: int, count: bool
    ) -> None:
        """A filtered, sorted listing, page by page forwards then back: the model's order.

        Tags and bounds are mostly those of stored events, so that filters find some
        and bounds fall on starts (``starts_after`` includes it, ``starts_before`` not).
        """
        stored = list(self.model.values())
        tags = list(dict.fromkeys(tag for e in stored for tag in e.doc["tags"]))
        tag = data.draw(st.none() | st.sampled_from([*tags, "music"]), label="tag")
        starts = [e.doc["starts_at"] for e in stored if e.doc["starts_at"] is not None]
        bound = st.none() | instants | (st.sampled_from(starts) if starts else st.nothing())
        after, before = None, None
        if data.draw(st.booleans(), label="window"):
            after, before = data.draw(bound, label="after"), data.draw(bound, label="before")
        query = ListingQuery(status, tag, after, before, sort, limit, count)
        expected = query.order(self.model)
        event(f"filtered listing of {'some' if expected else 'no'} events")
        total = len(expected) if count else None
        forward, last_links = self._walk(query.url, NEXT_LINK, total)
        listed = [i for page in forward for i in page]
        assert listed == expected, f"{query.url}: listed {forward}, expected {expected}"
        assert all(len(page) == limit for page in forward[:-1]), f"{query.url}: {forward}"
        assert forward[-1] or not expected, f"{query.url}: empty last page: {forward}"
        found = PREV_LINK.search(last_links)
        assert (found is not None) == (len(forward) > 1), f"{query.url}: {last_links}"
        if found is not None:  # and back from the last page by the prev links
            back, first_links = self._walk(found.group(1), PREV_LINK, total)
            relisted = [i for page in reversed(back) for i in page] + forward[-1]
            assert relisted == expected, f"{query.url}: back {back}, expected {expected}"
            assert all(len(page) == limit for page in back[:-1]), f"{query.url}: back {back}"
            assert NEXT_LINK.search(first_links), f"{query.url}: {first_links}"

    def _check_event_body(self, event: Mapping[str, Any]) -> None:
        expected = self.model.get(event["id"])
        assert expected is not None, f"listed an event the model does not have: {event}"
        assert set(event) == RESPONSE_KEYS
        assert _as_model(event) == expected.doc, f"{event} != {expected}"
        assert event["version"] == expected.version, f"{event} != {expected}"
        assert event["created_at"] == expected.created_at
        assert event["updated_at"] == expected.updated_at

    # invariants

    @invariant()
    def listing_matches_the_model(self) -> None:
        """One page of every event: what the model has, in creation order."""
        response = self.client.get("/events?limit=500")
        assert response.status_code == 200, _show(response)
        assert "link" not in response.headers, _show(response)
        events = response.json()
        assert [e["id"] for e in events] == list(self.model), "listing order differs"
        for item in events:
            self._check_event_body(item)

    @invariant()
    def the_trash_matches_the_model(self) -> None:
        response = self.client.get("/trash?limit=100")
        assert response.status_code == 200, _show(response)
        trashed = {item["id"]: item["event"] for item in response.json()}
        assert set(trashed) == set(self.trash), "the trash differs"
        for event_id, document in trashed.items():
            assert _as_model(document) == self.trash[event_id].doc, event_id
            assert document["version"] == self.trash[event_id].version, event_id


_SETTINGS: Final = settings(
    max_examples=40,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
class MemoryMachine(EventsMachine):
    database = "memory:"


@_SETTINGS
class SQLiteMachine(EventsMachine):
    database = "sqlite"


@_SETTINGS
class PostgresMachine(EventsMachine):
    database = "postgres"


TestMemoryStore = MemoryMachine.TestCase
TestSQLiteStore = SQLiteMachine.TestCase
TestPostgresStore = PostgresMachine.TestCase
