"""The webhook part of every backend keeps the outbox's rules: a cursor moves by
compare-and-set with the messages it queues, a leased message is no one else's until its
lease runs out, an attempt is recorded once, and a lost lease changes nothing."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from eventsapi.domain.webhooks import Attempt, Endpoint, Message, Outcome
from eventsapi.storage import Backend
from tests.support import START

pytestmark = pytest.mark.anyio

ENDPOINT = Endpoint(
    id="01JD7X3Q9M5T8V2W4Y6Z8A0B1C",
    url="https://93.184.216.34/hook",
    types=("event.*",),
    description="",
    enabled=True,
    secret="whsec_AAAA",  # noqa: S106 - a test endpoint's
    previous_secret=None,
    previous_until=None,
    created_at=START,
    updated_at=START,
    cursor=0,
    disabled_reason=None,
)
LEASE = timedelta(seconds=40)


def message(position: int) -> Message:
    return Message(
        id=f"msg_{position:026d}",
        endpoint_id=ENDPOINT.id,
        position=position,
        type="event.created",
        body=b'{"type":"event.created"}',
        created_at=START,
        status="pending",
        attempts=0,
        step=0,
        next_attempt_at=START,
    )


def attempt(of: Message, number: int = 1) -> Attempt:
    return Attempt(
        id=f"01JD7X3Q9M5T8V2W4Y6Z8A0B{number:02d}",
        message_id=of.id,
        endpoint_id=of.endpoint_id,
        number=number,
        at=START,
        status_code=500,
        duration_ms=3,
        error="The receiver answered 500.",
        next_attempt_at=START + timedelta(seconds=5),
    )


async def test_a_cursor_moves_once_with_its_messages(opened: Backend) -> None:
    await opened.create_webhook(ENDPOINT)

    assert await opened.queue_messages(ENDPOINT.id, 0, 2, [message(1), message(2)])
    assert not await opened.queue_messages(ENDPOINT.id, 0, 2, [message(1), message(2)])

    found = await opened.webhook(ENDPOINT.id)
    assert found is not None
    assert found.cursor == 2
    claimed = await opened.claim_messages(START, owner="a", lease_until=START + LEASE, limit=10)
    assert sorted(m.id for m, _ in claimed) == [message(1).id, message(2).id]
    assert all(endpoint == found for _, endpoint in claimed)


async def test_a_lease_keeps_a_message_from_other_workers_until_it_runs_out(
    opened: Backend,
) -> None:
    await opened.create_webhook(ENDPOINT)
    await opened.queue_messages(ENDPOINT.id, 0, 1, [message(1)])

    first = await opened.claim_messages(START, owner="a", lease_until=START + LEASE, limit=10)
    meanwhile = await opened.claim_messages(START, owner="b", lease_until=START + LEASE, limit=9)
    later = START + LEASE + timedelta(seconds=1)
    after = await opened.claim_messages(later, owner="b", lease_until=later + LEASE, limit=9)

    assert [m.lease_owner for m, _ in first] == ["a"]
    assert meanwhile == []
    assert [m.lease_owner for m, _ in after] == ["b"]
    # "a" lost its lease: what it reports now changes nothing but the attempt's record.
    held = await opened.finish_attempt(
        attempt(message(1)), Outcome("delivered", 1, None), owner="a"
    )
    assert not held
    current = await opened.webhook_message(ENDPOINT.id, message(1).id)
    assert current is not None
    assert current.status == "pending"
    assert current.lease_owner == "b"


async def test_an_attempt_is_recorded_once_and_gives_the_message_its_next_state(
    opened: Backend,
) -> None:
    await opened.create_webhook(ENDPOINT)
    await opened.queue_messages(ENDPOINT.id, 0, 1, [message(1)])
    ((claimed, _),) = await opened.claim_messages(
        START, owner="a", lease_until=START + LEASE, limit=1
    )
    retry_at = START + timedelta(seconds=5)

    assert await opened.finish_attempt(attempt(claimed), Outcome("pending", 1, retry_at), owner="a")
    assert not await opened.finish_attempt(
        attempt(claimed), Outcome("pending", 1, retry_at), owner="a"
    )

    listed = await opened.webhook_attempts(ENDPOINT.id, before=None, limit=10)
    assert [(a.number, a.status_code, a.type) for a in listed] == [(1, 500, "event.created")]
    current = await opened.webhook_message(ENDPOINT.id, claimed.id)
    assert current is not None
    assert (current.status, current.attempts, current.next_attempt_at) == ("pending", 1, retry_at)
    assert current.lease_owner is None
    assert await opened.claim_messages(START, owner="b", lease_until=START, limit=1) == []


async def test_a_410_turns_the_endpoint_off_and_its_messages_stay_unclaimed(
    opened: Backend,
) -> None:
    await opened.create_webhook(ENDPOINT)
    await opened.queue_messages(ENDPOINT.id, 0, 2, [message(1), message(2)])
    ((claimed, _),) = await opened.claim_messages(
        START, owner="a", lease_until=START + LEASE, limit=1
    )

    await opened.finish_attempt(
        attempt(claimed), Outcome("failed", 1, None, disable="410"), owner="a"
    )

    found = await opened.webhook(ENDPOINT.id)
    assert found is not None
    assert (found.enabled, found.disabled_reason) == (False, "410")
    assert await opened.claim_messages(START, owner="b", lease_until=START, limit=5) == []


async def test_a_change_keeps_the_cursor_and_a_removal_takes_everything(opened: Backend) -> None:
    await opened.create_webhook(ENDPOINT)
    await opened.queue_messages(ENDPOINT.id, 0, 1, [message(1)])

    changed = await opened.update_webhook(
        ENDPOINT.id, lambda e: msgspec.structs.replace(e, url="https://93.184.216.35/", cursor=99)
    )

    assert changed.url == "https://93.184.216.35/"
    assert changed.cursor == 1
    assert await opened.retry_message(ENDPOINT.id, message(1).id, START)
    assert await opened.delete_webhook(ENDPOINT.id)
    assert not await opened.delete_webhook(ENDPOINT.id)
    assert await opened.webhook_message(ENDPOINT.id, message(1).id) is None
    assert await opened.webhooks() == []
