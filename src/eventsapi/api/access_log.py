"""The access log: one line per request, written by the app (setting ``access_log``).

The app writes it rather than granian because only the app knows the request
id. Lines go to the ``eventsapi.access`` logger at INFO, for example::

    GET /events/e1 200 0.4ms id=3f9a1c2e7b4d-42 client=127.0.0.1:53012

Behind a trusted reverse proxy the client is the one it forwarded, and the proxy follows::

    GET /events/e1 200 0.4ms id=3f9a1c2e7b4d-42 client=203.0.113.7 via=127.0.0.1:53012

A request made with a session or an API token names its account's id last
(``user=01JD7X...``).

The request id, route template, method, path, status, duration, client address and user id
are also attached to the record (``request_id``, ``route``, ``method``, ``path``, ``status``,
``duration_ms``, ``client``, ``user_id``), which ``log_format = "json"`` writes as members
(``eventsapi/logs.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Final

from starlette.types import Scope

from eventsapi.api.authn import PRINCIPAL
from eventsapi.api.clients import client_of

logger: Final = logging.getLogger("eventsapi.access")
clock: Final = time.perf_counter


def write(scope: Scope, status: int | None, started: float, request_id: str, route: str) -> None:
    """Log the request of ``scope``, answered by ``route`` (its template): ``status`` is
    ``None`` if no response was sent."""
    duration_ms = (clock() - started) * 1000
    path: str = scope["path"]
    query: bytes = scope.get("query_string", b"")
    if query:
        path = f"{path}?{query.decode('latin-1')}"
    peer_field = scope.get("client")
    peer = f"{peer_field[0]}:{peer_field[1]}" if peer_field else "-"
    address = client_of(scope).address
    if peer_field and address != peer_field[0]:
        peer = f"{address or '-'} via={peer}"
    principal = (scope.get("state") or {}).get(PRINCIPAL)
    user_id: str | None = principal.user.id if principal is not None else None
    logger.info(
        "%s %s %s %.1fms id=%s client=%s%s",
        scope["method"],
        path,
        "-" if status is None else status,
        duration_ms,
        request_id,
        peer,
        "" if user_id is None else f" user={user_id}",
        extra={
            "request_id": request_id,
            "route": route,
            "method": scope["method"],
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 3),
            "client": address,
            "user_id": user_id,
        },
    )
