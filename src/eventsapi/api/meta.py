"""The service's own routes: welcome, probes, the docs page and the problem types (the
OpenAPI document is the route table's: ``api/route_table.py``)."""

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
    return Response(WELCOME, media_type=JSON)


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
