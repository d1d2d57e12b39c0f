"""Events, as every backend stores them: a page of a listing, and the pure functions of writes.

A backend stores events and answers by id and by query (filtered, sorted, keyset
pages). Writes that depend on the current state (``update``, ``put``, a guarded
``delete``) take a pure function and run it inside the backend's transaction, so
the read-modify-write is atomic whatever the backend: a precondition checked
there cannot be raced. The API's protocol (``api/store.py``) says what it needs of
them; ``tests/contract`` is the executable form and runs against every backend.

What is stored and what is served. A backend stores the event's JSON document (what
msgspec encodes of an ``Event``) and, beside it, its registrations' counts and its
capacity as columns of its own (``storage/registrations.py`` says why the counts are not
in the document). Every event a client is shown carries the counts: ``served`` appends
them to the stored document without decoding it, wherever an event leaves the store (a
listing's page, the change log's records, the trash) or the API (``GET``, the answers to
writes). The capacity is a column so that a read gets ``spots_left`` without decoding
the document, and so is the document's ``revision``, which ETags name, so that a read
hashes nothing: a read by id is one row of five columns, and a splice.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Final

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery, Position, SortName
from eventsapi.domain.registrations import Counts, spots_left

_decode_event = msgspec.json.Decoder(Event).decode

EventRow = tuple[bytes, str, int, int, int | None]
"""An event as ``get_json`` reads it: its stored document, its revision (``revision``),
registered and waitlisted counts, and capacity (a plain tuple, as the database driver gives
it: this is the hottest read)."""


def revision(version: int, document: bytes) -> str:
    """The revision of a stored document, ``<version>-<digest>`` as CouchDB's ``_rev`` is:
    the event's version and 64 bits of the document's SHA-256, in hex. Its ETags name it
    (``api/conditions.py``); the digest tells apart two events that share an id and a
    version. The SQL backends keep it in a column written with the document, so that a read
    by id hashes nothing (migration 0012 computes it for the events stored before)."""
    return f"{version}-{hashlib.sha256(document).hexdigest()[:16]}"


def with_counts(document: bytes, registered: int, waitlisted: int, capacity: int | None) -> bytes:
    """The stored ``document`` as readers are served it, with the counts as its last members.

    The stored document's last byte is its closing brace, so the members are appended
    without decoding it."""
    return document[:-1] + _counts_tail(registered, waitlisted, capacity)


@functools.lru_cache(maxsize=4096)
def _counts_tail(registered: int, waitlisted: int, capacity: int | None) -> bytes:
    # Cached: formatting three numbers costs more than the rest of a splice, on every read,
    # and the counts of the events being read are few.
    spots = spots_left(capacity, registered)
    shown = "null" if spots is None else spots
    return f',"registered":{registered},"waitlisted":{waitlisted},"spots_left":{shown}}}'.encode()


def served(document: bytes, counts: Counts) -> bytes:
    """``with_counts`` of the counts ``counts`` holds."""
    return with_counts(document, counts.registered, counts.waitlisted, counts.capacity)


class Counted(msgspec.Struct, frozen=True):
    """An event and its counts: what a write leaves (and its answer shows)."""

    event: Event
    counts: Counts

    @classmethod
    def fresh(cls, event: Event) -> Counted:
        """A new event's: nobody has registered yet."""
        return cls(event, Counts(0, 0, event.capacity))


class _Counts(msgspec.Struct):
    registered: int = 0
    waitlisted: int = 0


_decode_counts = msgspec.json.Decoder(_Counts).decode


def counted(document: bytes) -> Counted:
    """The event and counts of a served document (``served``'s inverse, for a document
    saved as it was served: an idempotency key's)."""
    event = _decode_event(document)
    found = _decode_counts(document)
    return Counted(event, Counts(found.registered, found.waitlisted, event.capacity))


class Page(msgspec.Struct, frozen=True):
    """One page of a listing, as the events' JSON documents.

    ``next`` is the position to pass as ``after`` for the following page, or
    ``None`` when this page is the last; ``prev`` the one to pass as ``before``
    for the page before, or ``None`` when this page is the first. ``total``
    counts every match when the query asked for it. Documents stay encoded
    because the usual reader sends them on as they are.
    """

    documents: list[bytes] = msgspec.field(default_factory=list)
    next: Position | None = None
    prev: Position | None = None
    total: int | None = None

    @property
    def events(self) -> list[Event]:
        return [_decode_event(document) for document in self.documents]

    def to_json(self) -> bytes:
        """The page as a JSON array, without decoding a document."""
        return b"[" + b",".join(self.documents) + b"]"


def page_of(
    documents: list[bytes],
    positions: list[Position],
    query: EventQuery,
    *,
    more: bool,
    total: int | None,
) -> Page:
    """A page of results in page order, with its links, for any backend.

    ``more`` says whether the backend found a row beyond the page in the
    direction it read. Going forward from a cursor implies a page before; coming
    back from one implies a page after. (Those events may since have been
    deleted: an empty neighbour page is possible, a skipped event is not.)
    """
    if not documents:
        return Page(total=total)
    if query.before is not None:
        return Page(documents, next=positions[-1], prev=positions[0] if more else None, total=total)
    return Page(
        documents,
        next=positions[-1] if more else None,
        prev=positions[0] if query.after is not None else None,
        total=total,
    )


Change = Callable[[Event], Event]
"""Turns the current event into its next version; may raise a domain error."""

Build = Callable[[Event | None], Event]
"""Builds the event to store from the current one, or from nothing (a create)."""

SORT_COLUMNS: Final[dict[SortName, tuple[str, ...]]] = {
    "created": ("seq",),
    "relevance": ("rank", "seq"),
    "starts_at": ("starts_key", "id"),
    "-starts_at": ("starts_key", "id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("created_at", "id"),
    "updated_at": ("updated_at", "id"),
    "title": ("title", "id"),
}
"""For SQL backends: the columns of each order's key, tie-break last, as stored
(``seq`` is the order of creation; ``rank`` is computed per search). Each has an
index, and a page's position is the values of these columns."""

Guard = Callable[[Event], None]
"""Checks the current event before a delete; raises (e.g. a failed precondition) to stop it."""
