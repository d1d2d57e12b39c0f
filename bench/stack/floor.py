"""The floor of the stack for the harness's four scenarios: apps that do no work at all.

``app`` (ASGI) and ``rsgi`` (granian's RSGI) answer what ``bench.py`` sends, with fixed
bodies shaped like eventsapi's: ``GET /events/{id}`` an event, ``GET /events`` a page,
``POST /events`` reads the body and answers 201 with a new id, ``PATCH /events/{id}`` reads
the body and answers 200 (a later GET does not show the change: the harness's check of
``patch`` fails by design, as nginx-static's does). No storage, no validation, no headers
beyond the body's: what granian and the interface cost by themselves, so that a target for
eventsapi can be set against what any Python app on this server could reach
(``bench/floor-start.sh``; entries ``floor-asgi`` and ``floor-rsgi`` of ``bench/peers.json``).
"""

from __future__ import annotations

import itertools
from typing import Any

EVENT_AFTER_ID = (
    b'","title":"Introduction to Golang",'
    b'"description":"Come join us for a chance to learn how golang works and get to '
    b'eventually try it out","starts_at":null,"ends_at":null,"location":null,"tags":[],'
    b'"status":"scheduled","capacity":null,"registered":0,"waitlisted":0,"spots_left":null,'
    b'"version":1,"created_at":"2026-12-07T22:00:00Z","updated_at":"2026-12-07T22:00:00Z"}'
)
PAGE = b'{"items":[' + b",".join([b'{"id":"1' + EVENT_AFTER_ID] * 20) + b"]}"
_ids = itertools.count(1)


def _answer(method: str, path: str) -> tuple[int, bytes]:
    if method == "POST":
        return 201, b'{"id":"%d"}' % next(_ids)
    if path == "/events" or path == "/":
        return 200, PAGE
    # The id asked for, so that the harness's check of the scenario passes.
    return 200, b'{"id":"' + path.rsplit("/", 1)[-1].encode() + EVENT_AFTER_ID


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    method = scope["method"]
    if method in ("POST", "PATCH", "PUT"):
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
    status, body = _answer(method, scope["path"])
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def rsgi(scope: Any, protocol: Any) -> None:
    method = scope.method
    if method in ("POST", "PATCH", "PUT"):
        await protocol()
    status, body = _answer(method, scope.path)
    protocol.response_bytes(status, [("content-type", "application/json")], body)
