"""The proof that nobody is ever overbooked and the waitlist is served in order, with every
registration at once on several stores on one database (replicas on PostgreSQL, worker
processes on SQLite), as the issue asks: 1,000 registrations for 100 places, then 50
confirmed cancel at once. Over HTTP, with server processes: ``tests/replicas``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import timedelta

import pytest

from eventsapi.domain.registrations import Registration
from eventsapi.storage import Backend
from eventsapi.storage.postgres import PostgresStore
from tests.contract.test_event_store import event
from tests.contract.test_registrations import person
from tests.support import START

pytestmark = pytest.mark.anyio

PLACES = 100
PEOPLE = 1_000
LEAVING = 50


async def test_a_thousand_at_once_for_a_hundred_places(new_store: Callable[[], Backend]) -> None:
    stores = [new_store() for _ in range(3)]
    for store in stores:
        if isinstance(store, PostgresStore):
            # Registrations for one event commit one at a time (each holds the event's row
            # lock to its commit), so most of the 1,000 wait for a connection meanwhile:
            # longer than a server's 5 s on this shared machine, where a client would retry.
            store.pool_timeout = 120.0
        await store.open()
    try:
        await stores[0].create(event("e", capacity=PLACES))
        made = await asyncio.gather(
            *(stores[n % len(stores)].register("e", person(n)) for n in range(PEOPLE))
        )
        listed = await stores[1].list_registrations("e", limit=10 * PEOPLE)
        confirmed = [r for r in listed if r.status == "confirmed"]
        waiting = [r for r in listed if r.status == "waitlisted"]
        assert len(confirmed) == PLACES
        assert [r.position for r in waiting] == list(range(1, PEOPLE - PLACES + 1))
        assert len({r.id for r in listed}) == PEOPLE
        # What each registrant was told is what was stored.
        told = {r.id: (r.status, r.position) for r in made}
        assert told == {r.id: (r.status, r.position) for r in listed}
        counts = await stores[2].registration_counts("e")
        assert counts is not None
        assert (counts.registered, counts.waitlisted) == (PLACES, PEOPLE - PLACES)

        leaving = random.sample(confirmed, LEAVING)
        cancelled = await asyncio.gather(
            *(
                stores[n % len(stores)].cancel_registration("e", r.id, at=START + timedelta(days=1))
                for n, r in enumerate(leaving)
            )
        )
        promoted: list[Registration] = [p for c in cancelled for p in c.promoted]
        first_waiting = [r.id for r in waiting[:LEAVING]]
        assert sorted(r.id for r in promoted) == sorted(first_waiting)
        after = await stores[0].list_registrations("e", limit=10 * PEOPLE)
        state = {r.id: r for r in after}
        assert sum(r.status == "confirmed" for r in after) == PLACES
        assert all(state[rid].status == "confirmed" for rid in first_waiting)
        still = [r for r in after if r.status == "waitlisted"]
        assert [r.id for r in still] == [r.id for r in waiting[LEAVING:]]
        assert [r.position for r in still] == list(range(1, PEOPLE - PLACES - LEAVING + 1))
        records = await stores[0].changes_after(0, 10 * PEOPLE)
        assert sum(r.type == "registration.promoted" for r in records) == LEAVING
    finally:
        for store in stores:
            await store.close()
