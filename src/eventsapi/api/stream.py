"""``GET /changes/stream``: the change log as Server-Sent Events (the WHATWG HTML standard's
``text/event-stream``), live.

Each change is one message::

    id: <the sync token of its position>
    event: event.created | event.updated | event.deleted | event.restored | event.purged
    data: {"type": ..., "id": ..., "version": ..., "at": ..., "event": {...} | null}

``data`` is the change exactly as ``GET /changes`` lists it, on one line: what the reader
may see (``api/change_views.py``), so a change that hid an event from them comes as its
``event.deleted``, one that showed it as its ``event.created``. The stream starts
after the position of the ``Last-Event-ID`` header (what a reconnecting ``EventSource``
sends), else of ``?since=``, else after the log's last change (now). A token the log cannot
continue from is answered ``410`` before the stream starts (text that is no token at all,
``400``). The first chunk carries
``retry:`` (how long a client waits before reconnecting); a comment (``: ping``) every
``stream_heartbeat_seconds`` keeps proxies from closing an idle stream.

The response is sent by this module's own loop on the ASGI ``send`` (``ChangeStream``),
while a second task waits for the client to leave (``http.disconnect``). The hub
(``api/stream_hub.py``) feeds it and bounds it. The stream's start is noted in the scope
(``STREAM_STARTED``), so that ``api/hotpath.py`` records the request's latency as the
time to its first byte: a stream that lasts hours is not a slow request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from eventsapi.api.authn import Authn
from eventsapi.api.change_views import told
from eventsapi.api.changes import TOKEN_MAX, TOKEN_SCHEMA, encode_change
from eventsapi.api.clients import client_of
from eventsapi.api.stream_hub import ChangeHub, ChangeLog, Message, Subscriber
from eventsapi.api.sync_tokens import decode_sync_token, encode_sync_token
from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.visibility import Reader
from eventsapi.errors import BadRequest, EventsAPIError, SyncTokenExpired
from eventsapi.settings import Settings

__all__ = ["EVENT_STREAM", "HEAD_REQUEST", "STREAM_STARTED", "ChangeStream", "StreamAPI"]

logger = logging.getLogger("eventsapi")

EVENT_STREAM: Final = "text/event-stream"
STREAM_STARTED: Final = "eventsapi.stream_started"
"""Scope key: ``time.perf_counter()`` when a stream's head was sent."""
HEAD_REQUEST: Final = "eventsapi.head"
"""Scope key: the request is a ``HEAD`` (``api/hotpath.py`` answers it as a ``GET``)."""

RETRY_MILLISECONDS: Final = 2000
_RETRY: Final = b"retry: %d\n\n" % RETRY_MILLISECONDS
_PING: Final = b": ping\n\n"
_GOODBYE: Final = b": the server is shutting down; reconnect with Last-Event-ID\n\n"
_TOKEN_SHAPE: Final = re.compile(TOKEN_SCHEMA["pattern"])
_UNAVAILABLE: Final = b": the database is unavailable; reconnect with Last-Event-ID\n\n"


class StreamStore(ChangeLog, Protocol):
    """What the stream needs of a store: the change log and the key its tokens are signed
    with."""

    async def instance_key(self) -> bytes:
        """A secret made once per database, shared by every replica."""


def message(key: bytes, record: ChangeRecord) -> bytes:
    """The stream's message for ``record``."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (
        encode_sync_token(key, record.position).encode(),
        record.type.encode(),
        encode_change(record),
    )


class StreamAPI:
    """The handler of ``GET /changes/stream``, bound to a store and this worker's hub."""

    def __init__(self, store: StreamStore, settings: Settings, authn: Authn) -> None:
        self.store = store
        self.authn = authn
        self.key = b""
        self.hub = ChangeHub(
            store,
            self.encode,
            limit=settings.stream_limit,
            per_client=settings.stream_limit_per_client,
            heartbeat_seconds=settings.stream_heartbeat_seconds,
        )

    def encode(self, record: ChangeRecord) -> bytes:
        return message(self.key, record)

    async def start(self) -> None:
        self.key = await self.store.instance_key()
        await self.hub.start()

    async def told(self, reader: Reader, messages: list[Message]) -> list[bytes]:
        """What ``reader`` is told of ``messages``: each message as encoded once for every
        stream, or, for a change that hid or showed the event to them, one of their own."""
        if reader.everything:
            return [message for _, message in messages]
        views = await told(self.store, reader, [record for record, _ in messages])
        return [
            message if view is record else self.encode(view)
            for (record, message), view in zip(messages, views, strict=True)
            if view is not None
        ]

    async def stream(self, request: Request) -> Response:
        reader = await self.authn.reader(request)
        token = _start_token(request)
        pruned_through, last = await self.store.change_horizon()
        position = last
        if token is not None:
            position = decode_sync_token(self.key, token)
            if position < pruned_through:
                raise SyncTokenExpired(
                    "The changes after this sync token are no longer kept (the change log "
                    "keeps change_retention_days); sync again in full."
                )
            if position > last:
                raise SyncTokenExpired(
                    "This sync token is ahead of the change log (was the database restored "
                    "from a backup?); sync again in full."
                )
        subscriber = self.hub.open(client_of(request.scope).key, position, reader)
        return ChangeStream(self, subscriber)


def _start_token(request: Request) -> str | None:
    """The token to start after: ``Last-Event-ID`` (a reconnection's; empty is none, as
    the standard has it), else ``since``; a 400 naming either if it is no token at all
    (both are checked, so a malformed ``since`` is refused whatever the header says)."""
    given = (
        ("Last-Event-ID", request.headers.get("last-event-id") or None),
        ("since", request.query_params.get("since")),
    )
    for parameter, text in given:
        if text is not None and (len(text) > TOKEN_MAX or _TOKEN_SHAPE.fullmatch(text) is None):
            # Not a token at all (a client's bug): 400, as GET /changes answers it. One
            # that is well formed but not ours, or altered, is 410 (decode_sync_token).
            raise BadRequest(
                f"{parameter} must be a sync token as the service issues them (up to "
                f"{TOKEN_MAX} letters, digits, '-' and '_').",
                parameter=parameter,
            )
    return next((text for _, text in given if text is not None), None)


class ChangeStream(Response):
    """The stream of one client: sent by ``__call__`` until the client leaves, the server
    shuts down, or the hub drops it (too far behind)."""

    media_type = EVENT_STREAM

    def __init__(self, api: StreamAPI, subscriber: Subscriber) -> None:
        self.api = api
        self.subscriber = subscriber
        self.status_code = 200
        self.background = None
        # No body attribute: api/hotpath.py takes the response for a streamed one.
        self.init_headers({"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub, subscriber = self.api.hub, self.subscriber
        tasks: list[asyncio.Task[Any]] = []
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            scope[STREAM_STARTED] = time.perf_counter()
            if scope.get(HEAD_REQUEST):
                await send({"type": "http.response.body", "body": b""})
                return
            pump = asyncio.create_task(self._pump(send))
            hub.sending(subscriber, pump)
            tasks = [pump, asyncio.create_task(_until_disconnect(receive))]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except OSError:  # the client left while the head was being sent
            pass
        finally:
            hub.release(subscriber)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task

    async def _pump(self, send: Send) -> None:
        async def chunk(body: bytes, *, more: bool = True) -> None:
            await send({"type": "http.response.body", "body": body, "more_body": more})

        subscriber = self.subscriber
        await chunk(_RETRY)
        try:
            await self._catch_up(chunk)
        except EventsAPIError as exc:  # the database is away: the client resumes later
            logger.warning("A change stream could not read the change log: %s", exc)
            await chunk(_UNAVAILABLE, more=False)
            return
        while not subscriber.closing:
            await subscriber.ready.wait()
            subscriber.ready.clear()
            due, ping = subscriber.take()
            try:
                messages = await self.api.told(subscriber.reader, due) if due else []
            except EventsAPIError as exc:  # the database is away: the client resumes later
                logger.warning("A change stream could not read registrations: %s", exc)
                await chunk(_UNAVAILABLE, more=False)
                return
            if ping:
                messages.append(_PING)
            if messages:
                await chunk(b"".join(messages))
        await chunk(_GOODBYE, more=False)

    async def _catch_up(self, chunk: Callable[[bytes], Awaitable[None]]) -> None:
        """Send what the log holds after the client's position until the hub's readings
        can take over (``ChangeHub.join``)."""
        api, subscriber = self.api, self.subscriber
        hub, log, encode = api.hub, api.store, api.encode
        while not subscriber.closing:
            await hub.refresh()
            if hub.join(subscriber):
                return
            records = await log.changes_after(subscriber.position, hub.batch)
            if not records:  # not yet visible here: look again shortly
                await asyncio.sleep(hub.poll_seconds)
                continue
            shown = await api.told(subscriber.reader, [(r, encode(r)) for r in records])
            if shown:
                await chunk(b"".join(shown))
            subscriber.position = records[-1].position


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
