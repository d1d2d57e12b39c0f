"""What ``GET /events`` can ask for: filters, a sort order, a page position.

Pure rules shared by every backend. SQL backends translate a query into
indexed SQL; the memory backend applies the same functions to each event, so
both answer the same query with the same events in the same order.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Final, Literal, get_args

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.visibility import ANONYMOUS, Reader

SortName = Literal[
    "created",
    "relevance",
    "starts_at",
    "-starts_at",
    "created_at",
    "-created_at",
    "updated_at",
    "title",
]
"""``created`` (order of creation) is the default; ``relevance`` the default with ``q``."""

SORTS: Final[tuple[SortName, ...]] = tuple(
    name for name in get_args(SortName) if name not in ("created", "relevance")
)
"""The orders a client may ask for by name (``sort=``)."""

NO_START: Final = "~"
"""The sort key of an event without ``starts_at``: after every instant, as text."""

SortValue = str | int | float
Position = tuple[SortValue, ...]
"""Where a page starts or ends: the sort key of an event, tie-break included."""


class EventFilter(msgspec.Struct, frozen=True):
    """Which events a listing includes; every given condition must hold."""

    starts_after: datetime | None = None
    """Events starting at or after this instant (events with no start are left out)."""
    starts_before: datetime | None = None
    """Events starting strictly before this instant (a half-open range with the above)."""
    tags: tuple[str, ...] = ()
    """Events carrying every one of these tags."""
    status: str | None = None
    terms: tuple[str, ...] = ()
    """Full-text search: events whose title, description or location hold every word."""


class EventQuery(msgspec.Struct, frozen=True):
    """One page of a listing.

    ``after`` continues after a position (the next page); ``before`` goes back
    from one (the previous page). At most one of them is set.
    """

    filter: EventFilter = EventFilter()
    sort: SortName = "created"
    limit: int = 50
    after: Position | None = None
    before: Position | None = None
    count: bool = False
    """Also count every event that matches the filter, on all pages."""
    count_ceiling: int | None = None
    """Count no further than one past this many matches (``None``: count them all), so
    that a count costs at most this much; a ``total`` over it means "more than this"."""
    reader: Reader = ANONYMOUS
    """Who lists: only the events they may see are listed and counted
    (``domain/visibility.py``)."""

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


def utc_text(instant: datetime) -> str:
    """``instant`` in UTC as ISO 8601 text, which sorts in time order (stored columns)."""
    try:
        return instant.astimezone(UTC).isoformat()
    except OverflowError:
        # 0001-01-01T00:00:00+05:00 is in year 0 in UTC (and 9999-12-31T23:00:00-05:00
        # in year 10000), which datetime cannot hold: clamp to the nearest it can.
        edge = datetime.min if instant.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC).isoformat()


def starts_key(event: Event) -> str:
    return utc_text(event.starts_at) if event.starts_at is not None else NO_START


_WORD: Final = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Text as search words: letters and digits, case and accents folded.

    Matches SQLite FTS5's ``unicode61 remove_diacritics 2`` tokenizer closely
    enough that both backends find the same events.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(plain)


def search_terms(q: str) -> tuple[str, ...]:
    """The distinct words of a search, in order."""
    return tuple(dict.fromkeys(words(q)))


def matches(event: Event, where: EventFilter) -> bool:
    """Whether ``event`` passes every condition of ``where``."""
    if where.status is not None and event.status != where.status:
        return False
    if where.starts_after is not None or where.starts_before is not None:
        if event.starts_at is None:
            return False
        key = utc_text(event.starts_at)
        if where.starts_after is not None and key < utc_text(where.starts_after):
            return False
        if where.starts_before is not None and key >= utc_text(where.starts_before):
            return False
    if where.tags and not set(where.tags) <= set(event.tags):
        return False
    return not where.terms or relevance(event, where.terms) < 0


# How much a word found in each field counts (title over location over description).
FIELD_WEIGHTS: Final = (("title", 10.0), ("description", 1.0), ("location", 3.0))


def relevance(event: Event, terms: tuple[str, ...]) -> float:
    """A score where lower is better and 0 is no match (every term must occur).

    SQLite's ``bm25()`` has the same sign and weights; the exact figures differ
    between backends, but a title match outranks a description match in both.
    """
    counts = {term: 0.0 for term in terms}
    for field, weight in FIELD_WEIGHTS:
        text = getattr(event, field)
        if text:
            for word in words(text):
                if word in counts:
                    counts[word] += weight
    if not all(counts.values()):
        return 0.0
    return -sum(counts.values())


def sort_position(event: Event, sort: SortName, *, seq: int, rank: float = 0.0) -> Position:
    """The position of ``event`` in ``sort`` order (``seq``: its order of creation)."""
    if sort == "created":
        return (seq,)
    if sort == "relevance":
        return (rank, seq)
    name = sort.lstrip("-")
    if name == "starts_at":
        return (starts_key(event), event.id)
    if name == "title":
        return (event.title, event.id)
    instant: datetime = getattr(event, name)
    return (utc_text(instant), event.id)
