"""``GET /events`` query parameters to an ``EventQuery``, and the page's links.

Every parameter is checked; a bad one is a 400 that names it. Links (RFC 8288)
repeat the listing's parameters with a new cursor, so following them keeps
the filters and the sort.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final, get_args
from urllib.parse import urlencode

import msgspec
from starlette.datastructures import QueryParams

from eventsapi.api.cursors import Cursor, decode_cursor, encode_cursor
from eventsapi.api.parameters import CACHE_BUSTER, single_values, whole_number
from eventsapi.domain.events import TAG_MAX, Status
from eventsapi.domain.query import (
    SORTS,
    EventFilter,
    EventQuery,
    SortName,
    search_terms,
    utc_text,
)
from eventsapi.domain.text import has_controls
from eventsapi.errors import BadRequest
from eventsapi.settings import Settings
from eventsapi.storage.events import Page

SINGLE: Final = frozenset(
    {"limit", "cursor", "starts_after", "starts_before", "status", "q", "sort", "count"}
)
REPEATABLE: Final = frozenset({"tag"})
TAGS_MAX_IN_QUERY: Final = 20
Q_MAX: Final = 200
STATUSES: Final = frozenset(get_args(Status))

_decode_instant = msgspec.json.Decoder(datetime).decode


class Listing(msgspec.Struct, frozen=True):
    """A parsed listing request: the query for the store, and how to link pages."""

    query: EventQuery
    searches_nothing: bool
    """``q`` holds no word (only punctuation): nothing can match."""
    parameters: list[tuple[str, str]]
    """The request's parameters but the cursor and the cache buster, for the links."""
    fingerprint: str


def _instant(name: str, value: str) -> datetime:
    try:
        instant = _decode_instant(msgspec.json.encode(value))
    except (msgspec.DecodeError, msgspec.ValidationError):
        instant = None
    if instant is None or instant.tzinfo is None:
        raise BadRequest(
            f"{name} must be an RFC 3339 date-time with an offset, "
            "e.g. 2026-05-01T18:00:00Z or 2026-05-01T20:00:00+02:00.",
            parameter=name,
        )
    return instant


def _limit(value: str | None, settings: Settings) -> int:
    if value is None:
        return settings.page_size
    return whole_number("limit", value, 1, settings.max_page_size)


def _tags(query: QueryParams) -> tuple[str, ...]:
    given = query.getlist("tag")
    tags = tuple(dict.fromkeys(given))
    if len(given) > TAGS_MAX_IN_QUERY:
        raise BadRequest(f"At most {TAGS_MAX_IN_QUERY} tag filters.", parameter="tag")
    for tag in tags:
        if not tag or len(tag) > TAG_MAX or tag != tag.strip() or has_controls(tag):
            raise BadRequest(
                f"tag must be 1 to {TAG_MAX} characters with no white space at either end "
                "and no control character.",
                parameter="tag",
            )
    return tags


def parse_filter(single: dict[str, str], query: QueryParams) -> EventFilter:
    """The filters of a listing (the parameters of ``GET /events`` and of its feed)."""
    status = single.get("status")
    if status is not None and status not in STATUSES:
        raise BadRequest(
            f"status must be one of {', '.join(sorted(STATUSES))}.", parameter="status"
        )
    terms: tuple[str, ...] = ()
    q = single.get("q")
    if q is not None:
        terms = search_terms(q)
        if not 1 <= len(q) <= Q_MAX:
            raise BadRequest(f"q must be 1 to {Q_MAX} characters.", parameter="q")
    after, before = single.get("starts_after"), single.get("starts_before")
    return EventFilter(
        starts_after=_instant("starts_after", after) if after is not None else None,
        starts_before=_instant("starts_before", before) if before is not None else None,
        tags=_tags(query),
        status=status,
        terms=terms,
    )


def _sort(single: dict[str, str], where: EventFilter) -> SortName:
    sort = single.get("sort")
    if sort is None:
        return "relevance" if where.terms else "created"
    for name in SORTS:
        if sort == name:
            return name
    raise BadRequest(f"sort must be one of {', '.join(SORTS)}.", parameter="sort")


def fingerprint(where: EventFilter, sort: SortName) -> str:
    """Identifies a listing (filters and sort, not the page size) inside its cursors."""
    canonical = msgspec.json.encode(
        [
            sort,
            utc_text(where.starts_after) if where.starts_after else None,
            utc_text(where.starts_before) if where.starts_before else None,
            sorted(where.tags),
            where.status,
            list(where.terms),
        ]
    )
    return hashlib.blake2b(canonical, digest_size=6).hexdigest()


def parse_listing(query: QueryParams, settings: Settings, cursor_key: bytes) -> Listing:
    single = single_values(query, SINGLE, repeatable=REPEATABLE)
    limit = _limit(single.get("limit"), settings)
    where = parse_filter(single, query)
    sort = _sort(single, where)
    count = single.get("count")
    if count is not None and count != "exact":
        raise BadRequest("count must be 'exact' (or left out).", parameter="count")
    listed = fingerprint(where, sort)
    cursor = None
    if "cursor" in single:
        cursor = decode_cursor(cursor_key, listed, single["cursor"])
    return Listing(
        EventQuery(
            filter=where,
            sort=sort,
            limit=limit,
            after=cursor.position if cursor and not cursor.backwards else None,
            before=cursor.position if cursor and cursor.backwards else None,
            count=count is not None,
            count_ceiling=settings.max_exact_count,
        ),
        "q" in single and not where.terms,
        # A cache buster is the client's to set on each request: a link repeating one
        # would make every page after the first look like the same cached URL.
        [
            (name, value)
            for name, value in query.multi_items()
            if name not in ("cursor", CACHE_BUSTER)
        ],
        listed,
    )


def links(listing: Listing, page: Page, path: str, cursor_key: bytes) -> bytes | None:
    """The ``Link`` header value for ``page``: ``next`` and ``prev`` when they exist."""
    found = []
    for relation, position, backwards in (
        ("next", page.next, False),
        ("prev", page.prev, True),
    ):
        if position is not None:
            cursor = encode_cursor(cursor_key, listing.fingerprint, Cursor(position, backwards))
            query = urlencode([*listing.parameters, ("cursor", cursor)])
            found.append(f'<{path}?{query}>; rel="{relation}"')
    return ", ".join(found).encode() if found else None
