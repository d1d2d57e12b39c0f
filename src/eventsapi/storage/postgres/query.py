"""``EventQuery`` to PostgreSQL SQL: filters, keyset pagination, full-text search.

The rules are those of ``sqlite/query.py``: every sort order has a B-tree index
that ends with the tie-break (migration postgres/0002), and the page condition
is a row-value comparison on exactly those columns, so PostgreSQL walks the
index from the cursor. Tags are an array (``@>`` on a GIN index), text search a
``tsvector`` written from ``domain.query.words()`` (GIN index too).
"""

# Every fragment joined into SQL here is a constant of this module; values are
# always bound parameters, so string building cannot inject anything.
# ruff: noqa: S608

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.query import NO_START, EventQuery, Position, utc_text, words
from eventsapi.storage import visibility
from eventsapi.storage.events import SORT_COLUMNS

# Weights of the D, C, B and A parts of the tsvector: description (D) 1, location
# (B) 3, title (A) 10, as domain.query.FIELD_WEIGHTS (scaled to ts_rank's 0..1).
_WEIGHTS: Final = "'{0.1, 0, 0.3, 1}'"
_TSQUERY: Final = "plainto_tsquery('simple', %s)"
# Negated, so that as in SQLite's bm25() and domain.query.relevance() lower is
# better and the page order is ascending; float8 holds the float4 exactly, so a
# cursor keeps the very value the next page compares with.
_RANK: Final = f"-(ts_rank({_WEIGHTS}, e.search, {_TSQUERY})::float8)"

SEARCH: Final = (
    "setweight(to_tsvector('simple', %s), 'A')"
    " || setweight(to_tsvector('simple', %s), 'B')"
    " || setweight(to_tsvector('simple', %s), 'D')"
)
"""The ``search`` column from the title, location and description, as ``search_text`` gives them."""


_NUL_ESCAPES: Final = {"\x00": "\x01\x01", "\x01": "\x01\x02"}
_NUL_ESCAPED: Final = re.compile("\x01[\x01\x02]")


def text(value: str) -> str:
    """``value`` as PostgreSQL text can hold it: text cannot hold NUL (which JSON can).

    NUL becomes \\x01\\x01 and \\x01 becomes \\x01\\x02. Codes that are prefixes of
    none other and keep the order of what they stand for keep the order of whole
    strings, so titles still sort by code point; and equal tags stay equal.
    """
    if "\x00" not in value and "\x01" not in value:
        return value
    return value.replace("\x01", _NUL_ESCAPES["\x01"]).replace("\x00", _NUL_ESCAPES["\x00"])


def untext(value: str) -> str:
    """The string that ``text`` turned into ``value``."""
    if "\x01" not in value:
        return value
    return _NUL_ESCAPED.sub(lambda found: "\x00" if found[0] == "\x01\x01" else "\x01", value)


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
    escaped: int | None = None
    """Which sort column holds ``text()`` (the title), to be read back with ``untext``."""

    def position(self, row: tuple[Any, ...]) -> Position:
        """The page position of a row: its sort columns, as the other backends give them."""
        found = list(row[2 : 2 + self.width])
        if self.escaped is not None:
            found[self.escaped] = untext(found[self.escaped])
        return tuple(found)


def search_text(event: Event) -> tuple[str, str, str]:
    """The title, location and description as words, for the ``SEARCH`` parameters.

    The words are those ``domain.query.words()`` finds (letters and digits, case
    and accents folded), joined by spaces: PostgreSQL's parser then splits them
    exactly there, so a search finds what it finds on the other backends.
    """
    return (
        " ".join(words(event.title)),
        " ".join(words(event.location or "")),
        " ".join(words(event.description or "")),
    )


def tsquery_text(terms: tuple[str, ...]) -> str:
    """The parameter of ``plainto_tsquery``: every term must occur (the terms ANDed)."""
    return " ".join(terms)


def _filters(query: EventQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    found = query.filter
    if found.status is not None:
        where.append("e.status = %s")
        params.append(found.status)
    if found.starts_after is not None:
        where.append("e.starts_key >= %s")
        params.append(utc_text(found.starts_after))
        where.append("e.starts_key < %s")
        params.append(NO_START)
    if found.starts_before is not None:
        where.append("e.starts_key < %s")
        params.append(utc_text(found.starts_before))
    if found.tags:
        where.append("e.tags @> %s::text[]")
        params.append([text(tag) for tag in found.tags])
    if found.terms:
        where.append(f"e.search @@ {_TSQUERY}")
        params.append(tsquery_text(found.terms))
    seen, seen_params = visibility.condition(query.reader, "%s")
    if seen is not None:
        where.append(seen)
        params += seen_params
    return where, params


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def page(query: EventQuery) -> Select:
    """One page: ``limit + 1`` rows, so the caller knows whether more follow."""
    columns = SORT_COLUMNS[query.sort]
    backwards = query.before is not None
    # Walking back from a position reverses both the comparison and the order.
    descending = query.descending != backwards
    position = query.before if backwards else query.after
    params: list[Any] = []
    rank = ""
    if query.filter.terms:
        rank = f", {_RANK} AS rank"
        params.append(tsquery_text(query.filter.terms))
    where, filter_params = _filters(query)
    params += filter_params
    inner_columns = "".join(f", e.{c}" for c in columns if c not in ("rank", "seq"))
    inner = (
        f"SELECT e.seq, e.doc{inner_columns}{rank}, {_INNER_COUNTS} FROM events AS e{_where(where)}"
    )
    outer_where = ""
    if position is not None:
        placeholders = ", ".join(["%s"] * len(columns))
        outer_where = f" WHERE ({', '.join(columns)}) {'<' if descending else '>'} ({placeholders})"
        params += [
            text(v) if c == "title" and isinstance(v, str) else v
            for c, v in zip(columns, position, strict=True)
        ]
    direction = " DESC" if descending else ""
    order = ", ".join(c + direction for c in columns)
    sql = (
        f"SELECT seq, doc, {', '.join(columns)}, {COUNTS} FROM ({inner}) AS found{outer_where}"
        f" ORDER BY {order} LIMIT %s"
    )
    params.append(query.limit + 1)
    escaped = columns.index("title") if "title" in columns else None
    return Select(sql, params, len(columns), backwards, escaped)


def count(query: EventQuery) -> Select:
    """How many events match the filter, on every page (up to one past ``count_ceiling``)."""
    where, params = _filters(query)
    matches = f"SELECT 1 FROM events AS e{_where(where)}"
    if query.count_ceiling is not None:
        matches += " LIMIT %s"
        params.append(query.count_ceiling + 1)
    return Select(f"SELECT count(*) FROM ({matches}) AS found", params, 0, False)
