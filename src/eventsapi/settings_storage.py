"""The storage part of the settings schema: the first settings of :class:`Settings`, which
derives from :class:`StorageSettings` (split off for size; one schema, in one order)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class StorageSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The database and the budgets of its queries."""

    database: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description=(
                "Where events are stored: a SQLite file path (created if missing), "
                "sqlite:///path, a PostgreSQL URL (postgresql://user@host:5432/dbname, "
                "shared by any number of replicas), or memory: (nothing kept after exit)."
            ),
        ),
    ] = "eventsapi.db"
    pool_min_size: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=1000,
            description="PostgreSQL: connections each worker process keeps open, even idle.",
        ),
    ] = 1
    pool_max_size: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=1000,
            description="PostgreSQL: most connections each worker process opens at once "
            "(at least pool_min_size); more requests wait for one.",
        ),
    ] = 10
    pool_timeout: Annotated[
        float,
        msgspec.Meta(
            gt=0,
            le=3600,
            description="PostgreSQL: seconds a request waits for a connection (or for the "
            "server to be reached) before it fails with 503 and Retry-After.",
        ),
    ] = 5.0
    statement_timeout: Annotated[
        float,
        msgspec.Meta(
            ge=0,
            le=86_400,
            description="PostgreSQL: seconds one SQL statement may run before the server "
            "cancels it (the request gets 503); 0 for no limit.",
        ),
    ] = 30.0
    query_timeout_ms: Annotated[
        int,
        msgspec.Meta(
            ge=10,
            le=600_000,
            description="Milliseconds one listing (GET /events: its page and its count) may "
            "take, waiting for a connection included, before it is stopped and answered 503 "
            "query-too-expensive with Retry-After; on SQLite and on PostgreSQL.",
        ),
    ] = 2000
    max_exact_count: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=100_000_000,
            description="count=exact counts this many matches at most: past it, GET /events "
            "sends X-Total-Count-Above instead of X-Total-Count, rather than count them all.",
        ),
    ] = 10_000
    max_listings_per_client: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=1000,
            description="Listings (GET /events) one client address may have running at once "
            "in a worker process; one more is refused at once with 429 and Retry-After.",
        ),
    ] = 2
    max_listings: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=64,
            description="Listings (GET /events) one worker process runs at once; more wait "
            "for their turn within their time budget. SQLite: the threads, each with its own "
            "read connection, that run them off the event loop; PostgreSQL: the pool "
            "connections they may hold. Each dear listing keeps a CPU core busy (the "
            "database server's, on PostgreSQL): keep it below the cores, so that one is left "
            "for every other request.",
        ),
    ] = 1
