"""Idempotency keys on POST and PATCH, with Stripe's semantics.

The first request's effect is saved under its key in the same transaction (the
store does that, see ``storage/idempotency.py``): the store keeps the document of
the event written, and this module decides what answer it makes (``Respond``:
the route's status, its headers, the document as body). A retry with the same
key and the same request gets that response byte for byte,
marked with ``Idempotent-Replayed: true``; the same key with a different
request gets 422; a retry while the first is still running in this process gets
409. Two first requests racing in different processes cannot both take effect:
the second finds the key inside its own write transaction and replays.

Only successful writes are saved: a request that failed (invalid input, a
failed precondition) changed nothing, so its retry simply runs again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.store import EventStore
from eventsapi.clock import Clock
from eventsapi.errors import (
    BadRequest,
    EventsAPIError,
    IdempotencyKeyInUse,
)
from eventsapi.storage.events import Counted, counted
from eventsapi.storage.idempotency import IdempotencyKey, Replay, answer_reuse

KEY_HEADER: Final = "idempotency-key"
REPLAYED_HEADER: Final = "idempotent-replayed"
KEY_MAX_LENGTH: Final = 255
ANONYMOUS: Final = ""
"""The scope of keys sent without an account (accounts get a scope each)."""

PRUNE_EVERY_SECONDS: Final = 3600.0
logger = logging.getLogger("eventsapi")


class SavedResponse(msgspec.Struct, frozen=True):
    """The response to an idempotent request, as replayed byte for byte."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


Respond = Callable[[Counted], SavedResponse]
"""The response to a keyed write, from the event written and its counts. A replay makes it
again from the event's document as the store saved it (as it was served, with the counts),
and sends that document as the body."""


def request_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, or ``None``; 400 when it is malformed."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= KEY_MAX_LENGTH or not key.isascii() or not key.isprintable():
        raise BadRequest(
            f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} printable ASCII characters "
            "(a UUID is a good choice)."
        )
    return key


def fingerprint(request: Request, body: bytes) -> bytes:
    """What makes a retry the same request: method, path, media type and body."""
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.headers.get("content-type", "")):
        digest.update(part.encode("latin-1") + b"\0")
    digest.update(body)
    return digest.digest()


class _Saved(Response):
    """A saved response, headers as saved (Starlette's ``__init__`` would add its own)."""

    def __init__(self, saved: SavedResponse, *, replayed: bool) -> None:
        self.status_code = saved.status
        self.body = saved.body
        self.background = None
        raw = [(b"content-length", b"%d" % len(saved.body))]
        raw += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in saved.headers]
        if replayed:
            raw.append((_REPLAYED, b"true"))
        self.raw_headers = raw


_REPLAYED: Final = REPLAYED_HEADER.encode()


def to_response(saved: SavedResponse, *, replayed: bool = False) -> Response:
    return _Saved(saved, replayed=replayed)


class Idempotency:
    """Keys in flight in this process, and the run of one keyed write."""

    def __init__(self, store: EventStore, clock: Clock, retention: timedelta) -> None:
        self.store = store
        self.clock = clock
        self.retention = retention
        self._in_flight: set[tuple[str, str]] = set()
        self._next_prune = 0.0

    async def prune(self) -> None:
        """Forget expired keys (expired keys are ignored until then anyway)."""
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        try:
            pruned = await self.store.prune_keys(self.clock())
        except EventsAPIError as exc:
            logger.warning("could not prune idempotency keys: %s", exc)
        else:
            if pruned:
                logger.info("pruned %d expired idempotency keys", pruned)

    @contextlib.contextmanager
    def claim(self, scope: str, key: str) -> Iterator[None]:
        """Hold ``key`` while its request runs (from before its body is read)."""
        name = (scope, key)
        if name in self._in_flight:
            raise IdempotencyKeyInUse(
                f"A request with idempotency key {key!r} is still in progress."
            )
        self._in_flight.add(name)
        try:
            yield
        finally:
            self._in_flight.discard(name)

    async def run(
        self,
        request: Request,
        key: str,
        read_body: Callable[[], Awaitable[bytes]],
        respond: Respond,
        write: Callable[[bytes, IdempotencyKey], Awaitable[Counted]],
        *,
        scope: str = ANONYMOUS,
    ) -> Response:
        """Replay the answer saved under ``key``, or ``write`` (which saves the event's document
        under the key) and answer ``respond(result)``.

        A key already saved is replayed without being claimed, so any number of
        retries of a finished request run at once. A new key is claimed before
        the body is read, so a retry that arrives while the first request is
        still being received or written gets 409.
        """

        async def written(body: bytes, once: IdempotencyKey) -> Response:
            return to_response(respond(await write(body, once)))

        async def replayed(document: bytes) -> Response:
            return _replay(respond, document)

        return await self.run_keyed(request, key, read_body, written, replayed, scope=scope)

    async def run_keyed(
        self,
        request: Request,
        key: str,
        read_body: Callable[[], Awaitable[bytes]],
        write: Callable[[bytes, IdempotencyKey], Awaitable[Response]],
        replay: Callable[[bytes], Awaitable[Response]],
        *,
        scope: str = ANONYMOUS,
    ) -> Response:
        """``run`` for any resource: ``write`` saves what it likes under the key (the
        registrations save the id) and answers; ``replay`` answers a retry from what was
        saved."""
        if time.monotonic() >= self._next_prune:
            # At most hourly, by the keyed request that finds it due, rather than in a
            # background task: nothing is left running to stop at shutdown.
            await self.prune()
        now = self.clock()
        saved = await self.store.saved_key(scope, key, now)
        if saved is not None:
            try:
                answer_reuse(saved, key, fingerprint(request, await read_body()))
            except Replay as replay_of:
                return await replay(replay_of.document)
        with self.claim(scope, key):
            body = await read_body()
            once = IdempotencyKey(scope, key, fingerprint(request, body), now, now + self.retention)
            try:
                return await write(body, once)
            except Replay as replay_of:
                return await replay(replay_of.document)


def _replay(respond: Respond, document: bytes) -> Response:
    """The answer to a retry, made from the document saved by the first request (the body
    the first response sent); its body is that document as stored."""
    answer = respond(counted(document))
    return to_response(msgspec.structs.replace(answer, body=document), replayed=True)
