"""The live stream's hub: one per worker process, it reads the change log once for every
open stream and hands each record to each of them.

Reading
-------
The hub keeps a position in the log. When woken it reads ``changes_after(position, batch)``
until a short batch, encodes each record once (the stream's message) and offers the
messages to every stream that has joined. Wake-ups come from:

- this worker's writes (``wake``, called by the event handlers after each write);
- on PostgreSQL, a ``LISTEN`` connection on the channel every committing write notifies
  (``ChangeNotices``): changes made through any replica or worker. While it is down it is
  connected again, waiting longer each time, and the poll below runs at its fast interval;
- a poll, the safety net for everything else: other workers on one SQLite file, imports
  by the CLI, a notification lost while ``LISTEN`` was reconnecting. ``poll_seconds`` apart,
  or ``listening_poll_seconds`` while ``LISTEN`` is up.

The log is the truth: a wake-up only says "read now". When no stream is open the hub reads
nothing (``stale``) and a joining stream brings it up to date first (``refresh``).

Joining
-------
A stream starts at a position of its own (its client's ``Last-Event-ID``, or now). Until
it has caught up with the hub it reads the log itself (``changes_after``); once its
position is the hub's or later, it joins (``join``, with no ``await`` between the check
and the join, so no record falls between the two reads). A message at or before a
stream's position is never sent to it again: no gap, no duplicate.

Bounds
------
- ``limit`` streams per worker (``StreamsFull``: 503) and ``per_client`` per client
  (``TooManyInFlight``: 429), counted from ``open`` to ``release``;
- a stream's pending messages are at most ``buffer``: a client that does not read fast
  enough (its socket full, ``send`` blocked) is disconnected rather than holding memory or
  holding back others; it reconnects with ``Last-Event-ID`` and resumes from the log;
- ``close`` (SIGTERM, shutdown) ends every stream with a last comment; one still blocked
  on its client ``grace_seconds`` later is cancelled, so that the server's graceful
  shutdown never waits on a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol, runtime_checkable

from eventsapi.api.inflight import PerClient
from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.visibility import Reader, Registrant
from eventsapi.errors import EventsAPIError, StreamsFull, TooManyInFlight

__all__ = ["ChangeHub", "ChangeLog", "ChangeNotices", "Message", "Subscriber"]

logger = logging.getLogger("eventsapi")

Message = tuple[ChangeRecord, bytes]
"""A record and its encoded message (as a reader who sees every event is told it)."""

RECONNECT_FIRST: Final = 0.5
RECONNECT_MOST: Final = 30.0
"""Seconds between attempts to connect ``LISTEN`` again: doubling from the first to the most."""


class ChangeLog(Protocol):
    """What the stream needs of a store: its change log, and its readers' registrations
    (``api/change_views.py``)."""

    async def registrants(self, account: str, event_ids: list[str]) -> dict[str, Registrant]:
        """The account's registrations for each of these events."""

    async def changes_after(self, position: int, limit: int) -> list[ChangeRecord]:
        """Records after ``position``, ascending, at most ``limit``."""

    async def change_horizon(self) -> tuple[int, int]:
        """``(pruned_through, last)``: positions up to the first were pruned; the second
        is the last committed."""


@runtime_checkable
class ChangeNotices(Protocol):
    """A store that is told of changes committed by any process (PostgreSQL's NOTIFY)."""

    async def listen_for_changes(
        self, wake: Callable[[], None], listening: Callable[[], None]
    ) -> None:
        """Call ``listening()`` once listening, then ``wake()`` at each commit that appended
        to the log, until the connection fails (``StorageUnavailable``)."""


class Subscriber:
    """One open stream, as the hub sees it: its client, reader, position and pending
    messages. The hub offers every record to every stream; what a stream's reader is told
    of each is decided as it sends them (``api/change_views.py``)."""

    __slots__ = (
        "client",
        "closing",
        "overflowed",
        "pending",
        "ping",
        "position",
        "reader",
        "ready",
    )

    def __init__(self, client: str, position: int, reader: Reader) -> None:
        self.client = client
        self.reader = reader
        self.position = position
        """The last position sent (or to start after)."""
        self.pending: list[Message] = []
        self.ping = False
        self.closing = False
        """The server is shutting down: end with a last comment."""
        self.overflowed = False
        self.ready = asyncio.Event()

    def take(self) -> tuple[list[Message], bool]:
        """The messages after ``position`` to send now, and whether a heartbeat is due;
        ``position`` moves to the last of them."""
        pending, self.pending = self.pending, []
        ping, self.ping = self.ping, False
        position = self.position
        due = []
        for message in pending:
            if message[0].position > position:
                due.append(message)
                position = message[0].position
        self.position = position
        return due, ping


class ChangeHub:
    """Reads the change log for the open streams of this worker (see the module's doc)."""

    def __init__(
        self,
        log: ChangeLog,
        encode: Callable[[ChangeRecord], bytes],
        *,
        limit: int,
        per_client: int,
        heartbeat_seconds: float = 15.0,
        batch: int = 100,
        buffer: int = 256,
        poll_seconds: float = 0.5,
        listening_poll_seconds: float = 2.0,
        grace_seconds: float = 1.0,
    ) -> None:
        self.log = log
        self.encode = encode
        self.limit = limit
        self.batch = batch
        self.buffer = buffer
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds
        self.listening_poll_seconds = listening_poll_seconds
        self.grace_seconds = grace_seconds
        self.position = 0
        """Every record up to here has been offered to the joined streams."""
        self.stale = True
        """No stream has been joined since ``position`` was last brought up to date."""
        self.listening = False
        self.closing = False
        self.open_streams: dict[Subscriber, asyncio.Task[Any] | None] = {}
        """Every admitted stream (catching up or joined), and the task sending it."""
        self.per_client = PerClient(per_client)
        self._joined: set[Subscriber] = set()
        self._woken = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- the worker's life ---------------------------------------------------------

    async def start(self) -> None:
        # Made here, on the loop that runs the hub (an app may be started again, on
        # another loop: tests do).
        self._woken = asyncio.Event()
        self.closing = False
        self.stale = True
        self.position = (await self.log.change_horizon())[1]
        self._spawn(self._read_when_woken())
        self._spawn(self._poll())
        self._spawn(self._heartbeat())
        if isinstance(self.log, ChangeNotices):
            self._spawn(self._listen(self.log))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(work))

    def close(self) -> None:
        """End every stream (a last comment, then the end of the response) and admit no
        more; a stream whose client does not take it is cancelled ``grace_seconds`` later."""
        if self.closing:
            return
        self.closing = True
        for subscriber in self.open_streams:
            subscriber.closing = True
            subscriber.ready.set()
        if self.open_streams:
            asyncio.get_running_loop().call_later(self.grace_seconds, self._cancel_streams)

    def _cancel_streams(self) -> None:
        for task in self.open_streams.values():
            if task is not None:
                task.cancel()

    async def stop(self) -> None:
        self.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def close_on_sigterm(self) -> None:
        """End the streams as soon as this worker process is told to stop.

        granian waits for every connection to end before it runs the lifespan's shutdown,
        so a stream would hold the worker until ``shutdown_timeout`` and be killed. The
        handler granian (its event loop) installed still runs after ours.
        """
        loop = asyncio.get_running_loop()
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: Any) -> None:
            loop.call_soon_threadsafe(self.close)
            if callable(previous):
                previous(signum, frame)

        signal.signal(signal.SIGTERM, on_sigterm)

    # -- streams -------------------------------------------------------------------

    def open(self, client: str, position: int, reader: Reader) -> Subscriber:
        """Admit a stream of ``client`` for ``reader`` starting after ``position``; ``release``
        it at its end.

        ``StreamsFull`` when the worker holds ``limit`` streams (or is shutting down),
        ``TooManyInFlight`` when the client holds its share."""
        if self.closing or len(self.open_streams) >= self.limit:
            raise StreamsFull(
                f"This server holds {self.limit} open change streams, the most it takes; "
                "retry after Retry-After seconds (on another replica, if any)."
                if not self.closing
                else "This server is shutting down; reconnect."
            )
        if not self.per_client.take(client):
            raise TooManyInFlight(
                f"This client has {self.per_client.limit} change streams open, the most it "
                "may have at once; close one first.",
                retry_after=5,
            )
        subscriber = Subscriber(client, position, reader)
        self.open_streams[subscriber] = None
        return subscriber

    def sending(self, subscriber: Subscriber, task: asyncio.Task[Any]) -> None:
        """``task`` sends ``subscriber``'s stream: the hub cancels it if it falls too far
        behind, or at shutdown when it does not end by itself."""
        self.open_streams[subscriber] = task

    def release(self, subscriber: Subscriber) -> None:
        if self.open_streams.pop(subscriber, False) is not False:
            self._joined.discard(subscriber)
            self.per_client.give_back(subscriber.client)

    async def refresh(self) -> None:
        """Bring a stale hub's position up to date (the log's last) before a stream joins."""
        if not self.stale:
            return
        last = (await self.log.change_horizon())[1]
        # Another stream may have joined meanwhile, at the old position: then the hub is
        # reading from there, and moving it would skip records that stream is owed.
        if not self._joined:
            self.position = max(self.position, last)
            self.stale = False

    def join(self, subscriber: Subscriber) -> bool:
        """Join ``subscriber`` to the hub's readings if it has caught up with them
        (``refresh`` first); ``False``: it must read the log further itself."""
        if self.stale or subscriber.position < self.position:
            return False
        self._joined.add(subscriber)
        self._woken.set()  # it may have caught up at a position others were woken after
        return True

    def wake(self) -> None:
        """Changes may have been committed: read the log."""
        self._woken.set()

    # -- the hub's own work --------------------------------------------------------

    async def _read_when_woken(self) -> None:
        while True:
            await self._woken.wait()
            self._woken.clear()
            if not self._joined:
                self.stale = True  # nobody to read for
                continue
            try:
                while True:
                    records = await self.log.changes_after(self.position, self.batch)
                    if records:
                        self._offer(records)
                    if len(records) < self.batch:
                        break
            except EventsAPIError as exc:  # the database is away: the poll will wake us
                logger.warning("The change stream could not read the change log: %s", exc)

    def _offer(self, records: list[ChangeRecord]) -> None:
        encode = self.encode
        messages = [(record, encode(record)) for record in records]
        self.position = records[-1].position
        room = self.buffer
        for subscriber in list(self._joined):
            if len(subscriber.pending) + len(messages) > room:
                self._drop(subscriber)
                continue
            subscriber.pending += messages
            subscriber.ready.set()

    def _drop(self, subscriber: Subscriber) -> None:
        """A stream too far behind: disconnected (its client resumes from the log)."""
        self._joined.discard(subscriber)
        subscriber.overflowed = True
        task = self.open_streams.get(subscriber)
        if task is not None:
            task.cancel()
        logger.info(
            "A change stream of %s fell %d messages behind and was disconnected; it can "
            "resume with Last-Event-ID.",
            subscriber.client,
            self.buffer,
        )

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(
                self.listening_poll_seconds if self.listening else self.poll_seconds
            )
            if self._joined:
                self._woken.set()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            for subscriber in self._joined:
                subscriber.ping = True
                subscriber.ready.set()

    async def _listen(self, notices: ChangeNotices) -> None:
        wait = RECONNECT_FIRST

        def listening() -> None:
            nonlocal wait
            self.listening = True
            wait = RECONNECT_FIRST
            # Notifications sent while it was down are lost: read once, whatever came.
            self._woken.set()

        while True:
            try:
                await notices.listen_for_changes(self.wake, listening)
            except EventsAPIError as exc:
                if self.listening:
                    logger.warning(
                        "The change stream lost its LISTEN connection (%s); polling the "
                        "change log until it is back.",
                        exc,
                    )
            self.listening = False
            await asyncio.sleep(wait)
            wait = min(wait * 2, RECONNECT_MOST)
