"""The delivery worker: from the change log to each endpoint's outbox, and out.

Each worker process of each replica runs one (``create_app``'s lifespan). A round:

1. **Queue.** For each enabled endpoint, read the change log after its cursor and, in one
   transaction, queue a message per change it subscribes to and move the cursor past them
   (a compare-and-set: of two workers that read the same changes, one queues them). A
   ``kill -9`` before the commit leaves the cursor where it was: the next round reads the
   same changes again. Nothing is lost, nothing is queued twice.
2. **Claim.** Lease due messages to this worker (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
   SQLite: in its one writer's transaction), no more than it can send at once, so no lease
   runs out while its message waits its turn.
3. **Deliver.** Send each, and record the attempt and the message's next state together.
   A message is ``delivered`` only once its receiver answered 2xx; a worker killed after
   sending and before recording leaves the lease to run out, and the message is sent again,
   with the same ``webhook-id`` (at least once).

Between rounds the worker sleeps ``poll`` seconds, or less when it has more to do. An
endpoint whose cursor fell behind what the change log keeps (it was off for longer than
``change_retention_days``) skips to what is left, with a warning: those changes are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from typing import Final

from eventsapi.clock import Clock
from eventsapi.domain.changes import type_matches
from eventsapi.domain.ids import new_ulid
from eventsapi.domain.webhooks import Endpoint, Message
from eventsapi.errors import EventsAPIError
from eventsapi.webhooks.delivery import LEASE, Deliveries
from eventsapi.webhooks.payload import change_body
from eventsapi.webhooks.store import WebhookStore

__all__ = ["Worker", "new_message_id"]

logger = logging.getLogger("eventsapi")

BATCH: Final = 500
"""Changes read from the log at once, per endpoint."""
CONCURRENCY: Final = 16
"""Attempts in flight at once, per worker."""
POLL: Final = 0.5
"""Seconds between rounds when there is nothing to do."""
STOP_GRACE: Final = 5.0
"""Seconds the attempts in flight get to finish at shutdown; then they are cancelled (and
sent again later, once their lease runs out)."""


def new_message_id(clock: Clock) -> str:
    """A ``webhook-id``: ``msg_`` and a ULID."""
    return f"msg_{new_ulid(clock())}"


class Worker:
    """Queues, claims and delivers; ``run_once`` for one round, ``start``/``stop`` for the
    background loop."""

    def __init__(
        self,
        store: WebhookStore,
        deliveries: Deliveries,
        clock: Clock,
        *,
        concurrency: int = CONCURRENCY,
        poll: float = POLL,
    ) -> None:
        self.store = store
        self.deliveries = deliveries
        self.clock = clock
        self.concurrency = concurrency
        self.poll = poll
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._listening = True
        """Whether the last round found an enabled endpoint: without one, a write's ``wake``
        has nothing to queue, and is left to the poll (see ``wake``)."""

    # -- one round ------------------------------------------------------------------

    async def queue(self) -> int:
        """Queue the changes each enabled endpoint has not had yet; how many messages."""
        pruned_through, _ = await self.store.change_horizon()
        queued = 0
        listening = False
        for endpoint in await self.store.webhooks():
            if endpoint.enabled:
                listening = True
                queued += await self._queue_for(endpoint, pruned_through)
        self._listening = listening
        return queued

    async def _queue_for(self, endpoint: Endpoint, pruned_through: int) -> int:
        cursor = endpoint.cursor
        if cursor < pruned_through:
            if not await self.store.queue_messages(endpoint.id, cursor, pruned_through, []):
                return 0
            logger.warning(
                "Webhook %s missed the changes after position %d up to %d: the change log "
                "no longer keeps them (change_retention_days).",
                endpoint.id,
                cursor,
                pruned_through,
            )
            cursor = pruned_through
        queued = 0
        while True:
            changes = await self.store.changes_after(cursor, BATCH)
            if not changes:
                return queued
            now = self.clock()
            messages = [
                Message(
                    id=new_message_id(self.clock),
                    endpoint_id=endpoint.id,
                    position=change.position,
                    type=change.type,
                    body=change_body(change),
                    created_at=now,
                    status="pending",
                    attempts=0,
                    step=0,
                    next_attempt_at=now,
                )
                for change in changes
                if type_matches(change.type, endpoint.types)
            ]
            through = changes[-1].position
            if not await self.store.queue_messages(endpoint.id, cursor, through, messages):
                return queued  # another worker queued them
            queued += len(messages)
            cursor = through
            if len(changes) < BATCH:
                return queued

    async def claim_and_send(self, limit: int) -> list[asyncio.Task[None]]:
        """Lease up to ``limit`` due messages and start sending each."""
        now = self.clock()
        claimed = await self.store.claim_messages(
            now, owner=self.owner, lease_until=now + LEASE, limit=limit
        )
        started = []
        for message, endpoint in claimed:
            task = asyncio.create_task(self._send(message, endpoint), name=f"webhook {message.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._done)
            started.append(task)
        return started

    async def run_once(self) -> int:
        """One round, waiting for its attempts: how many attempts were made."""
        self._wake.clear()  # as the loop's rounds do (``woken``)
        await self.queue()
        sent = await self.claim_and_send(self.concurrency)
        if sent:
            await asyncio.gather(*sent)
        return len(sent)

    async def _send(self, message: Message, endpoint: Endpoint) -> None:
        try:
            await self.deliveries.attempt(message, endpoint, owner=self.owner)
        except EventsAPIError as exc:
            # Not recorded: the lease runs out and the message is sent again.
            logger.warning("Webhook %s: recording an attempt failed: %s", endpoint.id, exc)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    # -- the background loop --------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhook worker")

    def wake(self) -> None:
        """Start a round now (a change was just written), if an endpoint listens.

        Without an enabled endpoint a round only reads three tables to find nothing to do,
        which cost a write with 32 clients ~10 us of the event loop's CPU (a round per
        write at low concurrency: docs/benchmarks.md). An endpoint created or enabled
        through this process calls ``listen``; one created by another worker or replica is
        found by the next poll, as its writes are."""
        if self._listening:
            self._wake.set()

    def listen(self) -> None:
        """An endpoint was created, enabled or given a message here: a round now, and the
        writes' wake-ups again."""
        self._listening = True
        self._wake.set()

    @property
    def woken(self) -> bool:
        """Whether a round is due before the next poll (``wake`` was called since the last
        round began)."""
        return self._wake.is_set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=STOP_GRACE)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            free = self.concurrency - len(self._in_flight)
            busy = False
            try:
                await self.queue()
                if free > 0:
                    busy = len(await self.claim_and_send(free)) == free
            except EventsAPIError as exc:
                logger.warning("The webhook worker could not reach the database: %s", exc)
            except Exception:
                logger.exception("The webhook worker's round failed")
            if busy and len(self._in_flight) < self.concurrency:
                continue  # more may be due: claim again at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
