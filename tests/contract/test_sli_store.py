"""The SLI and alert-transition part of the storage contract (issue 5), on every backend.

``record_sli`` adds counts (never replaces them), so workers and replicas recording the same
minute end with the sum; ``sli_minutes`` reads per-minute sums over a selection of routes;
``add_alert_transition`` stores a transition once, whoever is first. The last tests run two
stores on one database (two worker processes on one SQLite file, two replicas on one
PostgreSQL database) and check the migration against ``LATENCY_BOUNDS_MS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from eventsapi.domain.sli import LATENCY_BOUNDS_MS, AlertTransition, MinuteTotals, SLIRow
from eventsapi.slo.spec import RouteMatch, Routes
from eventsapi.storage import Backend
from eventsapi.storage.postgres import PostgresStore
from eventsapi.storage.sqlite import SQLiteStore
from tests.support import postgres_schema

pytestmark = pytest.mark.anyio

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BOUNDS = len(LATENCY_BOUNDS_MS)
ITEM = "/events/{id}"


def at(minute: int) -> datetime:
    """The whole minute ``minute`` minutes after ``T0``."""
    return T0 + timedelta(minutes=minute)


def sli(
    minute: int = 0,
    route: str = ITEM,
    method: str = "GET",
    *,
    total: int = 1,
    errors: int = 0,
    within: tuple[int, ...] | None = None,
) -> SLIRow:
    """A worker's row; by default every request was answered within the first bound."""
    return SLIRow(
        at(minute), route, method, total, errors, (total,) * BOUNDS if within is None else within
    )


def totals(
    minute: int, total: int, errors: int = 0, within: tuple[int, ...] | None = None
) -> MinuteTotals:
    return MinuteTotals(at(minute), total, errors, (total,) * BOUNDS if within is None else within)


async def everything(store: Backend, routes: Routes = "all") -> list[MinuteTotals]:
    """Every stored minute (a day around ``T0``)."""
    return await store.sli_minutes(at(-1440), at(1440), routes)


def transition(
    slo: str = "availability",
    rule: str = "page-fast",
    minute: int = 0,
    *,
    firing: bool = True,
    severity: str = "page",
    rates: tuple[float | None, float | None] = (15.5, 20.25),
) -> AlertTransition:
    assert severity in ("page", "ticket")
    return AlertTransition(
        slo=slo,
        rule=rule,
        severity="page" if severity == "page" else "ticket",
        at=at(minute),
        firing=firing,
        long_burn_rate=rates[0],
        short_burn_rate=rates[1],
    )


# -- record_sli and sli_minutes ---------------------------------------------------------


async def test_counts_read_back_with_latency_counts_in_bound_order(opened: Backend) -> None:
    within = tuple(range(10, 10 + BOUNDS))  # a different count for every bound
    await opened.record_sli([sli(total=40, errors=3, within=within)])

    assert await everything(opened) == [totals(0, 40, 3, within)]


async def test_recording_adds_to_what_is_stored(opened: Backend) -> None:
    await opened.record_sli([sli(total=5, errors=1)])
    await opened.record_sli([sli(total=7, errors=2)])

    assert await everything(opened) == [totals(0, 12, 3)]


async def test_rows_with_one_key_in_one_call_add_up(opened: Backend) -> None:
    slow = (0,) * BOUNDS
    await opened.record_sli([sli(total=2, errors=1), sli(total=3, within=slow), sli(total=4)])

    assert await everything(opened) == [totals(0, 9, 1, (6,) * BOUNDS)]


async def test_concurrent_recording_sums_exactly(opened: Backend) -> None:
    within = (1,) * (BOUNDS - 1) + (2,)

    async def worker(number: int) -> None:
        for _ in range(20):
            rows = [sli(route="/a", total=2, errors=1, within=within), sli(route="/b", total=2)]
            # Opposite orders: a backend locking rows in the order given would deadlock.
            await opened.record_sli(rows if number % 2 else rows[::-1])

    await asyncio.gather(*(worker(n) for n in range(50)))

    expected_within = (1000 + 2000,) * (BOUNDS - 1) + (2000 + 2000,)
    assert await everything(opened) == [totals(0, 4000, 1000, expected_within)]
    assert await everything(opened, (RouteMatch("/a"),)) == [
        totals(0, 2000, 1000, (1000,) * (BOUNDS - 1) + (2000,))
    ]


async def test_a_malformed_row_stores_nothing_of_its_call(opened: Backend) -> None:
    for bad in (sli(within=(1,) * (BOUNDS - 1)), sli(total=-1)):
        with pytest.raises(ValueError, match="SLI"):
            await opened.record_sli([sli(minute=1), bad])

    assert await everything(opened) == []


async def test_recording_nothing_stores_nothing(opened: Backend) -> None:
    await opened.record_sli([])

    assert await everything(opened) == []


async def test_nothing_stored_reads_as_no_minutes(opened: Backend) -> None:
    assert await opened.sli_minutes(at(0), at(60)) == []
    assert await opened.sli_minutes(at(0), at(60), (RouteMatch(ITEM),)) == []


async def test_minutes_from_start_included_to_end_excluded(opened: Backend) -> None:
    await opened.record_sli([sli(minute, total=minute + 1) for minute in range(5)])

    assert await opened.sli_minutes(at(1), at(4)) == [totals(1, 2), totals(2, 3), totals(3, 4)]
    assert await opened.sli_minutes(at(2), at(2)) == []
    assert await opened.sli_minutes(at(4), at(1)) == []


async def test_bounds_between_whole_minutes_select_the_minutes_starting_within(
    opened: Backend,
) -> None:
    await opened.record_sli([sli(minute, total=minute + 1) for minute in range(5)])
    half = timedelta(seconds=30)

    # Minute 1 starts before 1:30 (left out); minute 3 starts before 3:30 (kept).
    assert await opened.sli_minutes(at(1) + half, at(3) + half) == [totals(2, 3), totals(3, 4)]


async def test_minutes_come_oldest_first_and_empty_minutes_are_left_out(
    opened: Backend,
) -> None:
    for minute in (7, 0, 3, 5):
        await opened.record_sli([sli(minute, total=minute + 1)])

    assert [m.minute for m in await everything(opened)] == [at(0), at(3), at(5), at(7)]


ROUTE_TOTALS = {
    (ITEM, "GET"): 1,
    (ITEM, "HEAD"): 2,
    (ITEM, "DELETE"): 4,
    ("/events", "GET"): 8,
    ("/events", "POST"): 16,
}


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        pytest.param("all", 31, id="all"),
        pytest.param((RouteMatch(ITEM, frozenset({"get", "HEAD"})),), 3, id="methods"),
        pytest.param((RouteMatch("/events"),), 24, id="every-method"),
        pytest.param(
            (RouteMatch(ITEM, frozenset({"DELETE"})), RouteMatch("/events", frozenset({"POST"}))),
            20,
            id="two-templates",
        ),
        pytest.param((RouteMatch(ITEM), RouteMatch(ITEM, frozenset({"GET"}))), 7, id="overlap"),
    ],
)
async def test_routes_select_what_is_summed(opened: Backend, routes: Routes, expected: int) -> None:
    rows = [sli(route=route, method=method, total=n) for (route, method), n in ROUTE_TOTALS.items()]
    await opened.record_sli(rows)

    assert await everything(opened, routes) == [totals(0, expected)]


async def test_routes_that_select_no_stored_row_give_no_minutes(opened: Backend) -> None:
    await opened.record_sli([sli(route="/events", method="GET")])

    assert await everything(opened, (RouteMatch("/events/{id}"),)) == []
    assert await everything(opened, (RouteMatch("/events", frozenset({"POST"})),)) == []
    assert await everything(opened, ()) == []


async def test_minutes_are_utc_whatever_zone_they_were_given_in(opened: Backend) -> None:
    paris = timezone(timedelta(hours=1))
    await opened.record_sli([SLIRow(at(0).astimezone(paris), ITEM, "GET", 1, 0, (1,) * BOUNDS)])

    [found] = await opened.sli_minutes(at(0).astimezone(paris), at(1).astimezone(paris))
    assert found.minute == at(0)
    assert found.minute.utcoffset() == timedelta(0)
    assert found.minute.tzinfo == UTC


async def test_prune_forgets_earlier_minutes_and_counts_rows(opened: Backend) -> None:
    await opened.record_sli([sli(m, route) for m in range(5) for route in ("/a", "/b")])

    assert await opened.prune_sli(at(2)) == 4
    assert [m.minute for m in await everything(opened)] == [at(2), at(3), at(4)]
    assert await opened.prune_sli(at(2)) == 0
    # A bound between minutes: minute 2 started before 2:30, so it goes.
    assert await opened.prune_sli(at(2) + timedelta(seconds=30)) == 2
    assert [m.minute for m in await everything(opened)] == [at(3), at(4)]


# -- alert transitions -----------------------------------------------------------------


async def test_a_transition_is_stored_once(opened: Backend) -> None:
    first = transition(firing=True, rates=(15.5, None))
    assert await opened.add_alert_transition(first) is True

    again = transition(firing=False, severity="ticket", rates=(1.0, 2.0))
    assert await opened.add_alert_transition(again) is False
    assert await opened.alert_transitions(at(-60)) == [first]


async def test_transitions_of_other_keys_are_stored(opened: Backend) -> None:
    added = [
        await opened.add_alert_transition(t)
        for t in (
            transition(),
            transition(rule="page-slow"),
            transition("latency"),
            transition(minute=1),
        )
    ]

    assert added == [True, True, True, True]
    assert len(await opened.alert_transitions(at(-60))) == 4


async def test_transitions_newest_first_then_by_slo_and_rule(opened: Backend) -> None:
    stored = [
        transition("latency", "page-fast", 0),
        transition("availability", "ticket-slow", 5, severity="ticket", rates=(None, None)),
        transition("availability", "page-fast", 5, firing=False),
        transition("latency", "page-fast", 5),
        transition("availability", "page-slow", 9),
    ]
    for t in stored:
        assert await opened.add_alert_transition(t)

    found = await opened.alert_transitions(at(0))
    assert [(t.at, t.slo, t.rule) for t in found] == [
        (at(9), "availability", "page-slow"),
        (at(5), "availability", "page-fast"),
        (at(5), "availability", "ticket-slow"),
        (at(5), "latency", "page-fast"),
        (at(0), "latency", "page-fast"),
    ]
    assert sorted(found, key=repr) == sorted(stored, key=repr)  # every field read back
    assert await opened.alert_transitions(at(0), limit=2) == found[:2]
    assert await opened.alert_transitions(at(0), limit=0) == []
    assert await opened.alert_transitions(at(5)) == found[:4]
    assert await opened.alert_transitions(at(4) + timedelta(seconds=1)) == found[:4]
    assert await opened.alert_transitions(at(10)) == []


async def test_transitions_read_back_at_their_minute_in_utc(opened: Backend) -> None:
    tokyo = timezone(timedelta(hours=9))
    given = transition()
    await opened.add_alert_transition(
        AlertTransition(
            given.slo,
            given.rule,
            given.severity,
            given.at.astimezone(tokyo),
            given.firing,
            given.long_burn_rate,
            given.short_burn_rate,
        )
    )

    [found] = await opened.alert_transitions(at(0).astimezone(tokyo))
    assert found == given
    assert found.at.tzinfo == UTC


async def test_a_negative_limit_is_refused(opened: Backend) -> None:
    with pytest.raises(ValueError, match="limit"):
        await opened.alert_transitions(at(0), limit=-1)


# -- two stores on one database: worker processes, replicas ----------------------------


@dataclass(frozen=True)
class Database:
    """One SQLite file or PostgreSQL schema, and how to open a store on it."""

    new_store: Callable[[], Backend]
    columns: Callable[[str], list[str]]
    """The columns of a table, in order, as the migrations made them."""


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "events.db"

        def sqlite_columns(table: str) -> list[str]:
            with contextlib.closing(sqlite3.connect(path)) as conn:
                found = conn.execute("SELECT name FROM pragma_table_info(?)", (table,))
                return [name for (name,) in found]

        yield Database(lambda: SQLiteStore(path), sqlite_columns)
        return
    with postgres_schema() as url:

        def postgres_columns(table: str) -> list[str]:
            with psycopg.connect(url, autocommit=True) as conn:
                found = conn.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = %s"
                    " ORDER BY ordinal_position",
                    (table,),
                )
                return [str(name) for (name,) in found]

        yield Database(lambda: PostgresStore(url), postgres_columns)


@contextlib.asynccontextmanager
async def opened_on(database: Database) -> AsyncIterator[Backend]:
    store = database.new_store()
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_the_sli_table_has_a_column_per_latency_bound(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database):
        pass

    within = [f"within_{bound}" for bound in LATENCY_BOUNDS_MS]
    assert database.columns("sli_minutes") == [
        "minute",
        "route",
        "method",
        "total",
        "errors",
        *within,
    ]


async def test_two_stores_recording_at_once_sum_exactly(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database) as one, opened_on(database) as two:

        async def worker(store: Backend) -> None:
            for _ in range(50):
                await store.record_sli([sli(route="/a", total=2, errors=1), sli(route="/b")])

        await asyncio.gather(*(worker(one if n % 2 else two) for n in range(20)))

        for store in (one, two):
            assert await everything(store) == [totals(0, 3000, 1000)]


async def test_two_stores_adding_one_transition_store_it_once(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database) as one, opened_on(database) as two:
        for minute in range(10):
            added = await asyncio.gather(
                one.add_alert_transition(transition(minute=minute, firing=True)),
                two.add_alert_transition(transition(minute=minute, firing=False)),
            )
            assert sorted(added) == [False, True]

        assert len(await two.alert_transitions(at(0))) == 10


async def test_counts_and_transitions_survive_close_and_reopen(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database) as store:
        await store.record_sli([sli(total=3, errors=1), sli(minute=1, route="/b")])
        await store.add_alert_transition(transition())

    async with opened_on(database) as again:
        assert await everything(again) == [totals(0, 3, 1), totals(1, 1)]
        assert await again.alert_transitions(at(0)) == [transition()]
        await again.record_sli([sli(total=2)])
        assert await everything(again, (RouteMatch(ITEM),)) == [totals(0, 5, 1)]
