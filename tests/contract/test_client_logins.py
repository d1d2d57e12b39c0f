"""The per-address login budget in the store (issue 13): ``update_client_logins`` runs the
throttle's reservation atomically on every backend, and across stores sharing a database
(replicas), so that logins sent at once never reserve more than the budget."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from eventsapi.auth.throttle import ClientBudget
from eventsapi.errors import TooManyAttempts
from eventsapi.storage import Backend
from tests.support import START

pytestmark = pytest.mark.anyio

BUDGET = ClientBudget()  # 20 per 5 minutes, as served
WINDOW_AGO = START - BUDGET.window


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


async def reserve(store: Backend, client: str, now: datetime = START) -> str:
    try:
        await store.update_client_logins(
            client, BUDGET.reserve(now), forget_before=now - BUDGET.window
        )
    except TooManyAttempts:
        return "refused"
    return "reserved"


async def kept(store: Backend, client: str, now: datetime = START) -> tuple[datetime, ...]:
    return await store.update_client_logins(
        client, lambda times: times, forget_before=now - BUDGET.window
    )


async def test_concurrent_reservations_never_exceed_the_budget(opened: Backend) -> None:
    results = await asyncio.gather(*(reserve(opened, "192.0.2.1") for _ in range(60)))

    assert results.count("reserved") == BUDGET.limit
    assert results.count("refused") == 60 - BUDGET.limit
    assert len(await kept(opened, "192.0.2.1")) == BUDGET.limit
    assert await reserve(opened, "192.0.2.2") == "reserved"  # another client's own budget


async def test_a_release_gives_one_reservation_back(opened: Backend) -> None:
    for _ in range(BUDGET.limit):
        await reserve(opened, "192.0.2.1")
    assert await reserve(opened, "192.0.2.1") == "refused"

    forget_before = START - BUDGET.window
    left = await opened.update_client_logins(
        "192.0.2.1", BUDGET.release(START), forget_before=forget_before
    )

    assert len(left) == BUDGET.limit - 1
    assert await reserve(opened, "192.0.2.1") == "reserved"
    assert await reserve(opened, "192.0.2.1") == "refused"


async def test_times_read_back_in_order_and_in_utc(opened: Backend) -> None:
    for seconds in (30, 10, 20):
        await reserve(opened, "192.0.2.1", at(seconds))

    times = await kept(opened, "192.0.2.1", at(30))

    assert times == (at(10), at(20), at(30))
    assert all(t.tzinfo == UTC for t in times)


async def test_times_out_of_the_window_are_forgotten_with_their_clients(
    opened: Backend,
) -> None:
    for n in range(5):
        await reserve(opened, f"198.51.100.{n}", at(0))
    later = at(BUDGET.window.total_seconds() + 1)
    seen: list[tuple[datetime, ...]] = []

    def look(times: tuple[datetime, ...]) -> tuple[datetime, ...]:
        seen.append(times)
        return times

    await opened.update_client_logins("198.51.100.0", look, forget_before=later - BUDGET.window)

    assert seen == [()]
    assert await kept(opened, "198.51.100.1", later) == ()


async def test_what_the_change_raises_stops_the_update(opened: Backend) -> None:
    await reserve(opened, "192.0.2.1", at(1))

    def refuse(times: tuple[datetime, ...]) -> tuple[datetime, ...]:
        raise TooManyAttempts(timedelta(seconds=5))

    with pytest.raises(TooManyAttempts):
        await opened.update_client_logins("192.0.2.1", refuse, forget_before=WINDOW_AGO)

    assert await kept(opened, "192.0.2.1", at(1)) == (at(1),)


# -- replicas: two stores on one database ------------------------------------------------


@contextlib.asynccontextmanager
async def opened_stores(new_store: Callable[[], Backend]) -> AsyncIterator[list[Backend]]:
    async with contextlib.AsyncExitStack() as stack:
        stores = []
        for _ in range(2):
            store = new_store()
            await store.open()
            stack.push_async_callback(store.close)
            stores.append(store)
        yield stores


async def test_two_stores_reserving_at_once_share_one_budget(
    new_store: Callable[[], Backend], anyio_backend: str
) -> None:
    async with opened_stores(new_store) as (one, two):
        results = await asyncio.gather(
            *(reserve(one if n % 2 else two, "192.0.2.1") for n in range(60))
        )

        assert results.count("reserved") == BUDGET.limit
        for store in (one, two):
            assert len(await kept(store, "192.0.2.1")) == BUDGET.limit
