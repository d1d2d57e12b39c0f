"""Registrations' part of the storage contract, run against every backend.

What organisers and registrants rely on: nobody is confirmed beyond the capacity, the
waitlist is served in the order people joined, one active registration per address
(compared case-insensitively), positions 1..n, and each change is in the change log with
the event's counts but never the registrant. The proof under concurrency, with several
stores (replicas, workers) on one database, is ``test_registration_races.py``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from eventsapi.domain.events import Event, restored
from eventsapi.domain.registrations import (
    AlreadyRegistered,
    Applicant,
    Registration,
    RegistrationClosed,
    applicant,
    check_open,
)
from eventsapi.errors import NotFound
from eventsapi.storage import Backend
from eventsapi.storage.idempotency import IdempotencyKey, Replay
from tests.contract.test_event_store import event, next_version
from tests.support import START

pytestmark = pytest.mark.anyio


def person(n: int, *, email: str | None = None, account: str | None = None) -> Applicant:
    return applicant(
        registration_id=f"r{n:05d}",
        name=f"Person {n}",
        email=email or f"person{n}@example.org",
        account=account,
        token_hash=hashlib.sha256(f"token {n}".encode()).hexdigest(),
        at=START + timedelta(seconds=n),
    )


async def register_many(store: Backend, event_id: str, count: int) -> list[Registration]:
    return [await store.register(event_id, person(n)) for n in range(count)]


async def everyone(store: Backend, event_id: str) -> list[Registration]:
    return await store.list_registrations(event_id, limit=10_000)


async def test_confirms_up_to_the_capacity_then_waitlists_in_order(opened: Backend) -> None:
    await opened.create(event("e", capacity=2))
    made = await register_many(opened, "e", 5)
    assert [(r.status, r.position) for r in made] == [
        ("confirmed", None),
        ("confirmed", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
        ("waitlisted", 3),
    ]
    counts = await opened.registration_counts("e")
    assert counts is not None
    assert (counts.registered, counts.waitlisted, counts.spots_left) == (2, 3, 0)
    listed = await everyone(opened, "e")
    assert [(r.id, r.status, r.position) for r in listed] == [
        (r.id, r.status, r.position) for r in made
    ]


async def test_without_capacity_everyone_is_confirmed(opened: Backend) -> None:
    await opened.create(event("e", capacity=None))
    made = await register_many(opened, "e", 3)
    assert {r.status for r in made} == {"confirmed"}
    counts = await opened.registration_counts("e")
    assert counts is not None
    assert counts.spots_left is None


async def test_a_registration_changes_neither_the_document_nor_the_version(
    opened: Backend,
) -> None:
    await opened.create(event("e"))
    before = await opened.get_json("e")
    await opened.register("e", person(1))
    after = await opened.get_json("e")
    assert before is not None
    assert after is not None
    assert after[:2] == before[:2]  # the document and its revision; the counts moved
    assert (before[2], after[2]) == (0, 1)


async def test_one_active_registration_per_address_whatever_its_case(opened: Backend) -> None:
    await opened.create(event("e"))
    first = await opened.register("e", person(1, email="Ada@Example.org"))
    with pytest.raises(AlreadyRegistered) as refused:
        await opened.register("e", person(2, email="  ada@EXAMPLE.ORG "))
    assert refused.value.registration_id == first.id
    assert len(await everyone(opened, "e")) == 1
    # Once cancelled, the address may register again; another event is another matter.
    await opened.cancel_registration("e", first.id, at=START)
    again = await opened.register("e", person(3, email="ada@example.org"))
    assert again.status == "confirmed"
    await opened.create(event("f"))
    await opened.register("f", person(4, email="ADA@example.org"))


async def test_cancelling_a_confirmed_one_promotes_the_first_waitlisted(opened: Backend) -> None:
    await opened.create(event("e", capacity=2))
    made = await register_many(opened, "e", 5)
    cancelled = await opened.cancel_registration("e", made[0].id, at=START + timedelta(hours=1))
    assert cancelled.registration.status == "cancelled"
    assert [r.id for r in cancelled.promoted] == [made[2].id]
    listed = {r.id: r for r in await everyone(opened, "e")}
    assert listed[made[2].id].status == "confirmed"
    assert [(listed[r.id].status, listed[r.id].position) for r in made[3:]] == [
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    # A waitlisted one leaving promotes nobody and closes the gap.
    left = await opened.cancel_registration("e", made[3].id, at=START + timedelta(hours=2))
    assert left.promoted == ()
    last = await opened.get_registration("e", made[4].id)
    assert last is not None
    assert last.position == 1
    counts = await opened.registration_counts("e")
    assert counts is not None
    assert (counts.registered, counts.waitlisted) == (2, 1)


async def test_a_cancelled_or_unknown_registration_cannot_be_cancelled(opened: Backend) -> None:
    await opened.create(event("e"))
    await opened.create(event("f"))
    made = await opened.register("e", person(1))
    with pytest.raises(NotFound):
        await opened.cancel_registration("f", made.id, at=START)  # another event's
    await opened.cancel_registration("e", made.id, at=START)
    with pytest.raises(NotFound):
        await opened.cancel_registration("e", made.id, at=START)
    with pytest.raises(NotFound):
        await opened.register("nope", person(2))


async def test_a_refusing_guard_changes_nothing(opened: Backend) -> None:
    await opened.create(event("e", status="cancelled"))

    def guard(current: Event) -> None:
        check_open(current, START)

    with pytest.raises(RegistrationClosed):
        await opened.register("e", person(1), guard=guard)
    assert await everyone(opened, "e") == []
    records = await opened.changes_after(0, 100)
    assert [r.type for r in records] == ["event.created"]


async def test_growing_the_capacity_promotes_in_order_and_lowering_bumps_nobody(
    opened: Backend,
) -> None:
    created = (await opened.create(event("e", capacity=2))).event
    made = await register_many(opened, "e", 6)
    await opened.update("e", lambda e: next_version(e, capacity=4))
    listed = await everyone(opened, "e")
    assert [r.status for r in listed] == ["confirmed"] * 4 + ["waitlisted"] * 2
    assert [r.position for r in listed[4:]] == [1, 2]
    # Lower than the confirmed: nobody confirmed, nobody bumped; nor is anyone promoted
    # when a confirmed one leaves while it is still over.
    await opened.update("e", lambda e: next_version(e, capacity=1))
    await opened.cancel_registration("e", made[0].id, at=START)
    listed = await everyone(opened, "e")
    assert [r.status for r in listed] == ["cancelled"] + ["confirmed"] * 3 + ["waitlisted"] * 2
    counts = await opened.registration_counts("e")
    assert counts is not None
    assert (counts.registered, counts.spots_left) == (3, 0)
    # PUT and no capacity at all: everyone waiting is confirmed.
    await opened.put("e", lambda e: next_version(e or created, capacity=None))
    assert [r.status for r in await everyone(opened, "e")][1:] == ["confirmed"] * 5


async def test_changes_carry_the_counts_and_never_the_registrant(opened: Backend) -> None:
    await opened.create(event("e", capacity=1))
    first = await opened.register("e", person(1, email="secret.one@example.org"))
    await opened.register("e", person(2, email="secret.two@example.org"))
    await opened.cancel_registration("e", first.id, at=START)
    records = (await opened.changes_after(0, 100))[1:]
    assert [r.type for r in records] == [
        "registration.confirmed",
        "registration.waitlisted",
        "registration.cancelled",
        "registration.promoted",
    ]
    assert [r.version for r in records] == [1, 1, 1, 1]
    tails = [r.document[-48:] if r.document else b"" for r in records]
    assert b'"registered":1,"waitlisted":0,"spots_left":0}' in tails[0]
    assert b'"registered":1,"waitlisted":1,"spots_left":0}' in tails[1]
    assert b'"registered":0,"waitlisted":1,"spots_left":1}' in tails[2]
    assert b'"registered":1,"waitlisted":0,"spots_left":0}' in tails[3]
    for record in records:
        assert record.document is not None
        assert b"secret" not in record.document
        assert b"Person" not in record.document


async def test_listings_page_and_filter_by_account(opened: Backend) -> None:
    await opened.create(event("e", capacity=None))
    await opened.create(event("f", capacity=None))
    mine = [
        await opened.register("e", person(1, account="u1")),
        await opened.register("f", person(2, account="u1")),
    ]
    await opened.register("e", person(3, account="u2"))
    await opened.register("e", person(4))
    assert [r.id for r in await opened.list_registrations("e", account="u1")] == [mine[0].id]
    assert [r.id for r in await opened.account_registrations("u1")] == [r.id for r in mine]
    first = await opened.list_registrations("e", limit=2)
    rest = await opened.list_registrations("e", after=first[-1].seq, limit=2)
    assert [r.name for r in first + rest] == ["Person 1", "Person 3", "Person 4"]


async def test_a_keyed_registration_is_made_once(opened: Backend) -> None:
    await opened.create(event("e"))
    once = IdempotencyKey(
        scope="s", key="k", fingerprint=b"f", now=START, expires_at=START + timedelta(days=1)
    )
    made = await opened.register("e", person(1), once=once)
    with pytest.raises(Replay) as replay:
        await opened.register("e", person(2), once=once)
    assert replay.value.document == made.id.encode()
    assert len(await everyone(opened, "e")) == 1


async def test_the_trash_keeps_registrations_and_a_restore_brings_them_back(
    opened: Backend,
) -> None:
    await opened.create(event("e", capacity=1))
    first, second = await register_many(opened, "e", 2)
    await opened.delete("e")
    with pytest.raises(NotFound):
        await opened.register("e", person(3))
    assert await opened.registration_counts("e") is None
    back = await opened.restore("e", lambda trashed: restored(trashed, now=START))
    assert back.event.id == "e"
    assert [(r.id, r.status, r.position) for r in await everyone(opened, "e")] == [
        (first.id, "confirmed", None),
        (second.id, "waitlisted", 1),
    ]
    counts = await opened.registration_counts("e")
    assert counts is not None
    assert (counts.registered, counts.waitlisted, counts.spots_left) == (1, 1, 0)


async def test_a_purge_removes_the_registrations(opened: Backend) -> None:
    await opened.create(event("e"))
    await opened.create(event("f"))
    await opened.register("e", person(1, account="u1"))
    await opened.register("f", person(2, account="u1"))
    await opened.delete("e")
    await opened.delete("f")
    await opened.purge("e")
    await opened.purge_trash(START + timedelta(days=36500))
    await opened.create(event("e"))
    assert await everyone(opened, "e") == []
    assert await opened.account_registrations("u1") == []


async def test_an_accounts_registrations_leave_out_events_in_the_trash(opened: Backend) -> None:
    # The event's page is a 404 while it is in the trash: its registration is hidden alike,
    # and comes back with the restore, in its place.
    for event_id in ("e", "f", "g"):
        await opened.create(event(event_id))
    made = [
        await opened.register(event_id, person(n, account="u1"))
        for n, event_id in enumerate(("e", "f", "g"))
    ]
    await opened.delete("f")
    assert [r.id for r in await opened.account_registrations("u1")] == [made[0].id, made[2].id]
    page = await opened.account_registrations("u1", limit=1)
    assert [r.id for r in page] == [made[0].id]
    rest = await opened.account_registrations("u1", after=page[-1].seq, limit=1)
    assert [r.id for r in rest] == [made[2].id]  # a full page: the trashed one is skipped
    await opened.restore("f", lambda trashed: restored(trashed, now=START))
    assert [r.id for r in await opened.account_registrations("u1")] == [r.id for r in made]
