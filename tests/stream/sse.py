"""Reading ``GET /changes/stream`` in tests: with a Server-Sent Events client library
(``httpx-sse``), and as raw bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent, aconnect_sse
from starlette.types import ASGIApp, Message, Scope

GUARD = 60.0
"""Seconds a read may wait before the test fails: a guard against a hang, never a speed
requirement."""

MESSAGE = re.compile(rb"id: ([A-Za-z0-9_-]+)\nevent: (event\.[a-z]+)\ndata: (\{[^\n]*\})\n\n")
"""One change message, exactly as the server frames it."""


@dataclass
class Change:
    """A message of the stream: its id (a sync token), its event name, its data."""

    id: str
    event: str
    data: dict[str, Any]
    raw: str
    """``data`` as it came."""

    @property
    def key(self) -> tuple[str, int]:
        return self.data["id"], self.data["version"]


@dataclass
class Stream:
    """An open stream, read message by message through ``httpx-sse``."""

    source: EventSource
    events: AsyncIterator[ServerSentEvent]
    retry: list[int] = field(default_factory=list)

    @property
    def response(self) -> httpx.Response:
        return self.source.response

    async def next(self) -> Change:
        """The next change message (``retry:``-only blocks are noted and skipped)."""
        async with asyncio.timeout(GUARD):
            async for sse in self.events:
                if sse.retry is not None and not sse.data:
                    self.retry.append(sse.retry)
                    continue
                assert sse.id, f"a message without an id: {sse}"
                return Change(sse.id, sse.event, json.loads(sse.data), sse.data)
        raise AssertionError("the stream ended")

    async def take(self, count: int) -> list[Change]:
        return [await self.next() for _ in range(count)]


@contextlib.asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient,
    base: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> AsyncIterator[Stream]:
    """A stream whose head was answered 200 (else the test fails with the answer)."""
    async with aconnect_sse(
        http,
        "GET",
        f"{base}/changes/stream",
        headers=dict(headers or {}),
        params=params,
        extensions=extensions,
    ) as source:
        if source.response.status_code != 200:
            await source.response.aread()
            raise AssertionError(f"{source.response.status_code}: {source.response.text}")
        yield Stream(source, source.aiter_sse())


def stream_client(**kwargs: Any) -> httpx.AsyncClient:
    """A client whose reads never time out on an idle stream (``GUARD`` bounds the test)."""
    return httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), **kwargs)


class RawReader:
    """The raw bytes of a response (de-chunked, never decoded), read as they come."""

    def __init__(self, response: httpx.Response) -> None:
        self.chunks = response.aiter_raw()
        self.received = b""

    async def until(self, condition: Callable[[bytes], bool]) -> bytes:
        """Everything received so far, once ``condition`` holds for it."""
        async with asyncio.timeout(GUARD):
            while not condition(self.received):
                try:
                    self.received += await anext(self.chunks)
                except StopAsyncIteration:
                    raise AssertionError(f"the stream ended after {self.received!r}") from None
        return self.received

    async def rest(self) -> bytes:
        """Everything received once the server has ended the response."""
        async with asyncio.timeout(GUARD):
            async for chunk in self.chunks:
                self.received += chunk
        return self.received


async def read_in_process(
    app: ASGIApp,
    path: str,
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    until: Callable[[bytes], bool],
) -> tuple[int, bytes]:
    """The status and the bytes of a request to ``app`` in this process (no server, so on
    every backend), read until ``until`` holds for them, when the client leaves: for a
    stream, which never ends by itself (a ``TestClient`` would wait for its end)."""
    received = bytearray()
    status = 0
    leave = asyncio.Event()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            received.extend(message.get("body", b""))
            if until(bytes(received)):
                leave.set()

    fields = [(b"host", b"testserver")]
    fields += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": fields,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "extensions": {},
    }
    async with asyncio.timeout(GUARD):
        await app(scope, receive, send)
    return status, bytes(received)
