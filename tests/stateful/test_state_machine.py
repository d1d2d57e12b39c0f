"""Hypothesis drives the HTTP API against an in-memory model of the events.

The model is a plain dict of the events we expect, in creation order, and its
own reading of the rules (``canonical`` below is written from the issue, not
from the server's code). Every request's status and body are checked against
it, and after every step the whole listing must equal it. Invalid writes must
leave the model, and so the server, unchanged.

The same machine runs on the memory store and on SQLite.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar, Final

import httpx2
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings

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
SERVER_OWNED: Final = frozenset({"created_at", "updated_at", "version"})
KNOWN_KEYS: Final = frozenset({*EDITABLE, "id", *LEGACY, *SERVER_OWNED})
RESPONSE_KEYS: Final = frozenset({*EDITABLE, "id", *SERVER_OWNED})

ID_RE: Final = re.compile(r"[A-Za-z0-9._~-]{1,64}")
# Tags are short, trimmed strings: no white space at either end, one line.
LINE_BREAKS: Final = frozenset("\n\r\u2028\u2029")
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
    if not isinstance(value, str) or len(value) > longest:
        raise Invalid(f"not text of at most {longest} characters: {value!r}")
    return value


def _title(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 200 or not value.strip():
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


def _show(response: httpx2.Response) -> str:
    request = response.request
    body = request.content[:300].decode(errors="replace")
    return (
        f"\n{request.method} {request.url} {body}\n"
        f"-> {response.status_code} {response.headers.get('content-type')} {response.text[:800]}"
    )


def _as_model(body: Mapping[str, Any]) -> dict[str, Any]:
    """The editable members of a returned event, with instants as ISO strings."""
    doc = {name: body[name] for name in EDITABLE}
    for name in ("starts_at", "ends_at"):
        if doc[name] is not None:
            doc[name] = datetime.fromisoformat(doc[name]).isoformat()
    return doc


NEXT_LINK: Final = re.compile(r'<([^>]*)>;\s*rel="next"')

# A passing run takes well under a minute; a failing one spends up to Hypothesis's
# five minutes shrinking (each try replays HTTP requests), then prints the example.
pytestmark = pytest.mark.timeout(900)


class EventsMachine(RuleBasedStateMachine):
    database: ClassVar[str] = ""  # set by subclasses: "memory:" or "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, Expected] = {}
        # in the order first seen (not sorted: server ids are random, and a replay
        # must draw the same event for the same index)
        self.seen_ids: list[str] = []
        self.folder = Path(tempfile.mkdtemp(prefix="eventsapi-stateful-"))
        database = self.database if self.database == "memory:" else str(self.folder / "e.db")
        app = create_app(Settings(database=database), clock=SteppingClock())
        self.client = TestClient(app)
        self.client.__enter__()

    def teardown(self) -> None:
        try:
            self.client.__exit__(None, None, None)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # helpers

    def _draw_id(self, data: st.DataObject) -> str:
        anything = st.sampled_from(POOL_IDS + self.seen_ids)
        if self.model:  # half the time, an event that exists
            anything = st.one_of(st.sampled_from(list(self.model)), anything)
        return data.draw(anything, label="id")

    def _check_event(
        self, response: httpx2.Response, status: int, expected: Expected | None = None
    ) -> dict[str, Any]:
        event(f"{response.request.method} -> {status}")
        assert response.status_code == status, _show(response)
        assert response.headers["content-type"] == "application/json", _show(response)
        body: dict[str, Any] = response.json()
        assert set(body) == RESPONSE_KEYS, _show(response)
        if expected is not None:
            assert _as_model(body) == expected.doc, _show(response)
            assert body["version"] == expected.version, _show(response)
            assert body["created_at"] == expected.created_at, _show(response)
            assert body["updated_at"] == expected.updated_at, _show(response)
        if status == 201:
            assert response.headers["location"] == f"/events/{body['id']}", _show(response)
        return body

    def _check_problem(self, response: httpx2.Response, status: int) -> None:
        event(f"{response.request.method} -> {status}")
        assert response.status_code == status, _show(response)
        assert response.headers["content-type"] == "application/problem+json", _show(response)
        problem = response.json()
        assert problem["status"] == status, _show(response)
        assert isinstance(problem["detail"], str), _show(response)
        if status == 422:
            assert problem["errors"], _show(response)

    def _created(self, response: httpx2.Response, doc: dict[str, Any]) -> None:
        body = self._check_event(response, 201)
        assert _as_model(body) == doc, _show(response)
        assert body["version"] == 1, _show(response)
        assert body["created_at"] == body["updated_at"], _show(response)
        self.model[body["id"]] = Expected(doc, 1, body["created_at"], body["updated_at"])
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
        else:
            assert body["version"] == before.version + 1, _show(response)
            assert datetime.fromisoformat(body["updated_at"]) > datetime.fromisoformat(
                before.updated_at
            ), _show(response)
            self.model[event_id] = Expected(
                doc, before.version + 1, before.created_at, body["updated_at"]
            )

    def _send(
        self, method: str, url: str, document: Any, content_type: str | None
    ) -> httpx2.Response:
        headers = {} if content_type is None else {"content-type": content_type}
        return self.client.request(
            method, url, content=json.dumps(document).encode(), headers=headers
        )

    # rules: writes

    @rule(
        data=st.data(),
        path=st.sampled_from(["/events", "/event"]),
        with_id=st.booleans(),
        content_type=st.sampled_from([None, "application/json", "application/json; charset=utf-8"]),
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
        response = self._send("POST", path, document, content_type)
        try:
            client_id, doc = canonical(document)
        except Invalid:
            self._check_problem(response, 422)
            return
        if client_id is not None and client_id in self.model:
            self._check_problem(response, 409)
            return
        self._created(response, doc)
        if client_id is not None:
            assert response.json()["id"] == client_id, _show(response)

    @rule(data=st.data())
    def create_as_the_tutorial_does(self, data: st.DataObject) -> None:
        """``POST /event`` with ``ID``, ``Title`` and ``Description``, as the Go tutorial."""
        event_id = self._draw_id(data)
        document = {
            "ID": event_id,
            "Title": data.draw(titles, label="Title"),
            "Description": data.draw(text, label="Description"),
        }
        response = self._send("POST", "/event", document, "application/json")
        try:
            _, doc = canonical(document)
        except Invalid:
            self._check_problem(response, 422)
            return
        if event_id in self.model:
            self._check_problem(response, 409)
        else:
            self._created(response, doc)

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
        response = self._send("PUT", f"/events/{event_id}", document, content_type)
        try:
            client_id, doc = canonical(document)
        except Invalid:
            self._check_problem(response, 422)
            return
        if client_id is not None and client_id != event_id:
            self._check_problem(response, 422)
        elif event_id in self.model:
            self._changed(event_id, response, doc)
        else:
            self._created(response, doc)
            assert response.json()["id"] == event_id

    @rule(
        data=st.data(),
        content_type=st.sampled_from([None, "application/json", "application/merge-patch+json"]),
    )
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
        response = self._send("PATCH", f"/events/{event_id}", patch, content_type)
        current = self.model.get(event_id)
        if current is None:
            self._check_problem(response, 404)
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
        else:
            self._changed(event_id, response, doc)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        event_id = self._draw_id(data)
        response = self.client.delete(f"/events/{event_id}")
        if self.model.pop(event_id, None) is None:
            self._check_problem(response, 404)
        else:
            event("DELETE -> 204")
            assert response.status_code == 204, _show(response)
            assert response.content == b"", _show(response)

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
        response = self.client.get(f"/events/{event_id}")
        expected = self.model.get(event_id)
        if expected is None:
            self._check_problem(response, 404)
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
                "limit=5&sort=title",
            ]
        )
    )
    def list_with_bad_query(self, query: str) -> None:
        response = self.client.get(f"/events?{query}")
        self._check_problem(response, 400)
        assert "parameter" in response.json(), _show(response)

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


_SETTINGS: Final = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
class MemoryMachine(EventsMachine):
    database = "memory:"


@_SETTINGS
class SQLiteMachine(EventsMachine):
    database = "sqlite"


TestMemoryStore = MemoryMachine.TestCase
TestSQLiteStore = SQLiteMachine.TestCase
