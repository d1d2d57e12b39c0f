"""Two replicas on one PostgreSQL database deliver webhooks from one outbox: each message
is claimed by one worker at a time (``FOR UPDATE SKIP LOCKED`` and a lease), so no attempt
is ever sent twice, while both work at once."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.domain.webhooks import Endpoint, Message
from eventsapi.settings import Settings
from eventsapi.storage.postgres import PostgresStore
from tests.support import START, postgres_schema
from tests.waiting import wait_until
from tests.webhooks.receiver import Receiver, serve_receiver

EVENTS = 300


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


def test_two_replicas_never_send_the_same_attempt_twice(tmp_path: Path, receiver: Receiver) -> None:
    with postgres_schema() as url:
        settings = Settings(database=url, webhook_allow_private=True, rate_limits=[])
        # The real clock: each replica's worker runs in the background, as in production.
        first = TestClient(create_app(settings, store=PostgresStore(url)))
        second = TestClient(create_app(settings, store=PostgresStore(url)))
        with first, second:
            hook = first.app.state.webhooks  # type: ignore[attr-defined]
            endpoint, secret = first.portal.call(hook.create, receiver.url, ["event.*"], "")  # type: ignore[union-attr]
            for number in range(EVENTS):
                client = first if number % 2 else second
                assert client.post("/events", json={"title": f"e{number}"}).status_code == 201

            def delivered() -> int:
                return len({r.document["id"] for r in receiver.requests()})

            wait_until(lambda: delivered() == EVENTS, "every change delivered", within=120)
            store = first.app.state.store  # type: ignore[attr-defined]
            listing = functools.partial(
                store.webhook_attempts, endpoint.id, before=None, limit=10 * EVENTS
            )
            attempts = first.portal.call(listing)  # type: ignore[union-attr]

    sent = Counter(request.id for request in receiver.requests())
    assert len(sent) == EVENTS
    assert max(sent.values()) == 1, [i for i, n in sent.items() if n > 1]
    assert all(request.signed_by(secret) for request in receiver.requests())
    assert len(attempts) == EVENTS
    assert {attempt.status_code for attempt in attempts} == {200}


@pytest.mark.anyio
async def test_concurrent_claims_from_two_stores_never_lease_one_message_twice() -> None:
    with postgres_schema() as url:
        first, second = PostgresStore(url), PostgresStore(url)
        await first.open()
        await second.open()
        try:
            endpoint = Endpoint(
                "01JD7X3Q9M5T8V2W4Y6Z8A0B1C",
                "https://93.184.216.34/",
                ("*",),
                "",
                True,
                "whsec_AAAA",
                None,
                None,
                START,
                START,
                0,
                None,
            )
            await first.create_webhook(endpoint)
            messages = [
                Message(
                    f"msg_{number:026d}",
                    endpoint.id,
                    number,
                    "event.created",
                    b"{}",
                    START,
                    "pending",
                    0,
                    0,
                    START,
                )
                for number in range(1, 201)
            ]
            assert await first.queue_messages(endpoint.id, 0, 200, messages)

            async def claims(store: PostgresStore, owner: str) -> list[str]:
                got: list[str] = []
                while True:
                    batch = await store.claim_messages(
                        START, owner=owner, lease_until=START.replace(year=2030), limit=7
                    )
                    if not batch:
                        return got
                    got += [message.id for message, _ in batch]

            a, b, c, d = await asyncio.gather(
                claims(first, "a"), claims(second, "b"), claims(first, "c"), claims(second, "d")
            )
        finally:
            await first.close()
            await second.close()

    leased = a + b + c + d
    assert sorted(leased) == sorted(message.id for message in messages)
    assert sum(1 for got in (a, b, c, d) if got) >= 2  # they did contend
