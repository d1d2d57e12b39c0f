"""The service's own routes: welcome, probes, the docs page and the problem types (the
OpenAPI document is the route table's: ``api/route_table.py``).

``GET /`` answers API clients with the tutorial's JSON; a browser, whose ``Accept`` prefers
``text/html`` to ``application/json``, is sent to the web UI (``/ui/``) instead. Both
answers vary by ``Accept``, so that a cache keeps them apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from eventsapi import __version__
from eventsapi.api.body import JSON
from eventsapi.api.problems import PROBLEM_TYPES
from eventsapi.api.security_headers import DOCS_PAGE_CSP
from eventsapi.api.store import EventStore
from eventsapi.errors import NotFound

_encode = msgspec.json.Encoder().encode

UI_HOME: Final = "/ui/"
"""Where a browser asking for ``/`` is sent (the web UI's events page)."""
_VARY_ACCEPT: Final = {"Vary": "Accept"}

WELCOME: Final = _encode(
    {
        "message": "Welcome home!",
        "service": "eventsapi",
        "version": __version__,
        "links": {
            "events": "/events",
            "docs": "/docs",
            "openapi": "/openapi.json",
            "health": "/healthz",
            "ready": "/readyz",
        },
    }
)

DOCS_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>eventsapi - API documentation</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script src="/docs/static/swagger-init.js"></script>
</body>
</html>
"""


async def welcome(request: Request) -> Response:
    if prefers_html(request.headers.get("accept", "")):
        # 303: a GET of the UI, whatever the method was (HEAD stays HEAD, RFC 9110 15.4.4).
        return Response(status_code=303, headers={"Location": UI_HOME, **_VARY_ACCEPT})
    return Response(WELCOME, media_type=JSON, headers=_VARY_ACCEPT)


def prefers_html(accept: str) -> bool:
    """Whether an ``Accept`` field value ranks ``text/html`` above ``application/json``
    (a browser's navigation); a tie (``*/*``, curl's and most clients') is JSON's."""
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def _quality(accept: str, media_type: str) -> float:
    """The ``q`` that ``accept`` gives ``media_type``: its most specific range's (RFC 9110
    section 12.5.1), 0 when no range matches."""
    kind = media_type.split("/", 1)[0]
    ranks = {media_type: 3, f"{kind}/*": 2, "*/*": 1}
    best_rank, best_q = 0, 0.0
    for item in accept.split(","):
        name, *parameters = item.split(";")
        rank = ranks.get(name.strip().lower(), 0)
        if rank <= best_rank:
            continue
        q = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                q = _q_value(value.strip())
        best_rank, best_q = rank, q
    return best_q


def _q_value(text: str) -> float:
    """A ``qvalue`` (0 to 1, three decimals at most); anything else counts as 0."""
    try:
        q = float(text)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 and len(text) <= 5 else 0.0


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type=JSON)


def readyz_for(store: EventStore) -> Callable[[Request], Awaitable[Response]]:
    async def readyz(request: Request) -> Response:
        await store.check()
        return Response(b'{"status":"ready"}', media_type=JSON)

    return readyz


async def docs(request: Request) -> Response:
    return HTMLResponse(DOCS_PAGE, headers={"Content-Security-Policy": DOCS_PAGE_CSP})


async def problem_type(request: Request) -> Response:
    found = PROBLEM_TYPES.get(request.path_params["slug"])
    if found is None:
        raise NotFound("No such problem type.")
    return Response(
        _encode(
            {
                "type": found.uri,
                "status": found.status,
                "title": found.title,
                "description": found.description,
            }
        ),
        media_type=JSON,
    )
