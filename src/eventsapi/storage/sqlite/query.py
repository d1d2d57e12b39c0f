"""``EventQuery`` to SQLite SQL: filters, keyset pagination, full-text search.

Every sort order has an index that ends with the tie-break (migration 0002),
and the page condition is a row-value comparison on exactly those columns, so
SQLite walks the index from the cursor: the last page costs what the first does.
"""

# Every fragment joined into SQL here is a constant of this module; values are
# always bound parameters, so string building cannot inject anything.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any, Final

import msgspec

from eventsapi.domain.query import NO_START, EventQuery, utc_text
from eventsapi.storage import visibility
from eventsapi.storage.events import SORT_COLUMNS

# Weights of title, description and location in bm25() (see domain.query.FIELD_WEIGHTS).
_RANK: Final = "bm25(events_fts, 10.0, 1.0, 3.0)"

COUNTS: Final = "registered, waitlisted, capacity"
"""What a page's rows hold after the sort columns: what ``with_counts`` takes
(``storage/events.py``)."""
_INNER_COUNTS: Final = "e.registered, e.waitlisted, e.capacity"


class Select(msgspec.Struct, frozen=True):
    sql: str
    params: list[Any]
    width: int
    """How many sort columns follow ``seq`` and ``doc`` in each row (then ``COUNTS``)."""
    reversed: bool
    """The rows come in reverse page order (a previous page): flip them."""


def fts_query(terms: tuple[str, ...]) -> str:
    """Every term must occur; quoting makes each a plain word, never FTS5 syntax."""
    return " ".join(f'"{term}"' for term in terms)


def _filters(
    query: EventQuery, *, bounded: str = "", rare_tag: str | None = None
) -> tuple[list[str], list[Any]]:
    """Conditions and parameters of the query's filter.

    ``bounded`` is ``"low"`` or ``"high"`` when a cursor already bounds
    ``starts_key`` on that side: the filter's own bound there is implied (the
    cursor came from this listing) and is left out, because SQLite would use it
    instead of the cursor's and walk from the start of the range every page.
    ``rare_tag`` drives the query from the tag index (few events carry it);
    other tags are checked per event, walking the sort order's index.
    """
    where, params = [], []
    found = query.filter
    if found.status is not None:
        where.append("e.status = ?")
        params.append(found.status)
    if found.starts_after is not None:
        if bounded != "low":
            where.append("e.starts_key >= ?")
            params.append(utc_text(found.starts_after))
        where.append("e.starts_key < ?")
        params.append(NO_START)
    if found.starts_before is not None and bounded != "high":
        where.append("e.starts_key < ?")
        params.append(utc_text(found.starts_before))
    for tag in found.tags:
        if tag == rare_tag:
            where.append("e.seq IN (SELECT seq FROM event_tags WHERE tag = ?)")
        else:
            where.append("EXISTS (SELECT 1 FROM event_tags AS t WHERE t.seq = e.seq AND t.tag = ?)")
        params.append(tag)
    if found.terms:
        where.append("events_fts MATCH ?")
        params.append(fts_query(found.terms))
    seen, seen_params = visibility.condition(query.reader, "?")
    if seen is not None:
        where.append(seen)
        params += seen_params
    return where, params


def _source(query: EventQuery) -> str:
    if query.filter.terms:
        return "events_fts JOIN events AS e ON e.seq = events_fts.rowid"
    return "events AS e"


def page(query: EventQuery, *, rare_tag: str | None = None) -> Select:
    """One page: ``limit + 1`` rows, so the caller knows whether more follow."""
    columns = SORT_COLUMNS[query.sort]
    backwards = query.before is not None
    # Walking back from a position reverses both the comparison and the order.
    descending = query.descending != backwards
    position = query.before if backwards else query.after
    bounded = ""
    if position is not None and columns[0] == "starts_key":
        bounded = "high" if descending else "low"
    where, params = _filters(query, bounded=bounded, rare_tag=rare_tag)
    # With a search, seq is read from the text index's rowid, so that in creation
    # order FTS5 itself walks its matches from the cursor on.
    seq = "events_fts.rowid" if query.filter.terms else "e.seq"
    inner_columns = "".join(f", e.{c}" for c in columns if c not in ("rank", "seq"))
    rank = f", {_RANK} AS rank" if query.filter.terms else ""
    inner = (
        f"SELECT {seq} AS seq, e.doc AS doc{inner_columns}{rank}, {_INNER_COUNTS}"
        f" FROM {_source(query)}"
    ) + (" WHERE " + " AND ".join(where) if where else "")
    outer_where = ""
    if position is not None:
        placeholders = ", ".join("?" * len(columns))
        outer_where = f" WHERE ({', '.join(columns)}) {'<' if descending else '>'} ({placeholders})"
        params += list(position)
    direction = " DESC" if descending else ""
    order = ", ".join(c + direction for c in columns)
    sql = (
        f"SELECT seq, doc, {', '.join(columns)}, {COUNTS} FROM ({inner}){outer_where}"
        f" ORDER BY {order} LIMIT ?"
    )
    params.append(query.limit + 1)
    return Select(sql, params, len(columns), backwards)


def count(query: EventQuery) -> Select:
    """How many events match the filter, on every page (up to one past ``count_ceiling``)."""
    where, params = _filters(query)
    matches = f"SELECT 1 FROM {_source(query)}" + (" WHERE " + " AND ".join(where) if where else "")
    if query.count_ceiling is not None:
        matches += " LIMIT ?"
        params.append(query.count_ceiling + 1)
    return Select(f"SELECT count(*) FROM ({matches})", params, 0, False)


RARE_TAG_EVENTS: Final = 2000
"""Below this many events, a tag is rare: read its events from the tag index and
sort them, rather than walk the sort order checking each event for the tag."""


def tag_frequency(tag: str) -> Select:
    """How many events carry ``tag``, counting no further than ``RARE_TAG_EVENTS``."""
    return Select(
        "SELECT count(*) FROM (SELECT 1 FROM event_tags WHERE tag = ? LIMIT ?)",
        [tag, RARE_TAG_EVENTS],
        0,
        False,
    )
