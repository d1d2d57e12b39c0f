"""The route table's entry for the live stream, ``GET /changes/stream`` (``api/stream.py``).

Read like ``GET /events`` (public), in the events' rate-limit group: each connection (and
each reconnection) is one read. Not served at all while ``stream_limit`` is 0.
"""

from __future__ import annotations

from typing import Final

from eventsapi.api.changes import TOKEN_SCHEMA
from eventsapi.api.openapi import RATE_LIMIT_FIELDS, RETRY_AFTER, problem
from eventsapi.api.routes import Access, Limits, Op, Route
from eventsapi.api.stream import EVENT_STREAM, RETRY_MILLISECONDS

__all__ = ["STREAM_ROUTES"]


_EXAMPLE: Final = (
    f"retry: {RETRY_MILLISECONDS}\n\n"
    "id: 8aqo4Hb3uM3d0U5YAAAAAAAAACo\n"
    "event: event.updated\n"
    'data: {"type":"event.updated","id":"01JD7X3Q9M5T8V2W4Y6Z8A0B1C","version":3,'
    '"at":"2026-05-01T18:00:00.123Z","event":{"id":"01JD7X3Q9M5T8V2W4Y6Z8A0B1C",'
    '"title":"Go meetup (moved)","version":3}}\n\n'
    ": ping\n\n"
)

_DESCRIPTION: Final = (
    "Server-Sent Events (`text/event-stream`, as a browser's `EventSource` reads them): "
    "one message per change to an event, as they are committed on any replica. Each "
    "message has `id:` (a sync token: the position of the change), `event:` (the change's "
    "type: `event.created`, `event.updated`, `event.deleted`, `event.restored` or "
    "`event.purged`) and `data:` (the change as "
    'JSON on one line, exactly as `GET /changes` lists it: `{"type", "id", "version", '
    '"at", "event"}`, `event` being `null` for a deletion and a purge). The stream starts '
    "after the "
    "position in the `Last-Event-ID` header (sent by a reconnecting `EventSource`), else "
    "in `since`, else now; a client that reconnects with the last `id` it received gets "
    "every change after it, once each, in order. The first chunk is "
    f"`retry: {RETRY_MILLISECONDS}` (milliseconds to wait before reconnecting); a comment "
    "`: ping` comes every `stream_heartbeat_seconds` (15 s by default). When the server "
    "shuts down the stream ends after a comment, and a client that does not read fast "
    "enough is disconnected: both reconnect with `Last-Event-ID` and lose nothing. Each "
    "worker holds at most `stream_limit` streams, each client address "
    "`stream_limit_per_client`."
)

_MESSAGE_SCHEMA: Final[dict[str, object]] = {
    "type": "object",
    "description": "One message of the stream (comments such as `: ping` are not messages).",
    "properties": {
        "id": {**TOKEN_SCHEMA, "description": "The sync token to resume after it."},
        "event": {"type": "string", "description": "The change's type."},
        "data": {
            "type": "string",
            "description": "The change as JSON on one line, as `GET /changes` lists it.",
        },
    },
    "required": ["id", "event", "data"],
}

STREAM_ROUTES: Final[tuple[Route, ...]] = (
    Route(
        path="/changes/stream",
        limits=Limits.EVENTS,
        tag="changes",
        ops=(
            Op(
                method="GET",
                handler=lambda s: None if s.stream is None else s.stream.stream,
                access=Access.READER,
                operation_id="streamChanges",
                summary="Follow every change to events, live (Server-Sent Events)",
                description=_DESCRIPTION,
                parameters=[
                    {
                        "name": "since",
                        "in": "query",
                        "required": False,
                        "description": "Start after this sync token (from `GET /events`' "
                        "`Sync-Token` header, a `GET /changes` page's `next`, or a message's "
                        "`id`); `Last-Event-ID` wins when both are sent.",
                        "schema": TOKEN_SCHEMA,
                    },
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "description": "The `id` of the last message received: the stream "
                        "resumes after it (an `EventSource` sends it when it reconnects). "
                        "Empty is no id, as the standard has it.",
                        # Empty is allowed: an EventSource whose last message had no id
                        # sends it so (WHATWG HTML, server-sent events).
                        "schema": {**TOKEN_SCHEMA, "minLength": 0, "pattern": "^[A-Za-z0-9_-]*$"},
                    },
                ],
                responses={
                    "200": {
                        "description": "The stream, until the client leaves or the server ends it",
                        "headers": {
                            "Cache-Control": {
                                "description": "`no-store`",
                                "schema": {"type": "string"},
                            },
                            "X-Accel-Buffering": {
                                "description": "`no`: proxies (nginx) pass each message on at once",
                                "schema": {"type": "string"},
                            },
                        },
                        "content": {
                            EVENT_STREAM: {
                                # Before OpenAPI 3.2 (itemSchema), the schema of an event
                                # stream describes each event, as tools read it.
                                "schema": _MESSAGE_SCHEMA,
                                "example": _EXAMPLE,
                            }
                        },
                    },
                    "400": problem(
                        "`since` or `Last-Event-ID` is no sync token at all (`parameter` names it)"
                    ),
                    "410": problem(
                        "The token cannot be continued from: expired (older than "
                        "`change_retention_days`), from another database, or altered "
                        "(`sync-token-expired`); sync again in full"
                    ),
                },
                overrides={
                    "429": problem(
                        "Over the rate limit, or this client address holds "
                        "`stream_limit_per_client` streams already",
                        {**RETRY_AFTER, **RATE_LIMIT_FIELDS},
                    ),
                    "503": problem(
                        "The database is unavailable, or this worker holds `stream_limit` "
                        "streams (`too-many-streams`) or is shutting down",
                        RETRY_AFTER,
                    ),
                },
            ),
        ),
    ),
)
