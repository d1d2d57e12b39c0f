"""CORS (Fetch standard): which browser pages of other origins may call the API.

Off unless ``cors_origins`` is set; then Starlette's ``CORSMiddleware`` answers
preflights and adds ``Access-Control-Allow-Origin`` (and ``Vary: Origin``) to
every response, hot path included (``api/hotpath.py`` puts it in front of both
paths). Two changes to its answers, to keep the API's own conventions: an
accepted preflight is ``204 No Content`` instead of ``200 OK`` with a text
body, and a refused one is a ``403`` problem document instead of a ``400`` in
plain text. The decisions themselves are Starlette's.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from eventsapi.api import problems
from eventsapi.settings import Settings

ALLOW_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ALLOW_HEADERS: Final = (
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-Id",
    "Authorization",
)
EXPOSE_HEADERS: Final = (
    "ETag",
    "Location",
    "Link",
    "X-Request-Id",
    "X-Total-Count",
    "X-Total-Count-Above",
    "Idempotent-Replayed",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "Sync-Token",
)
_BODY_HEADERS: Final = frozenset({"content-type", "content-length"})


class CORS(CORSMiddleware):
    """Starlette's CORS middleware, answering preflights the way the API answers."""

    def preflight_response(self, request_headers: Headers) -> Response:
        decided = super().preflight_response(request_headers)
        headers = {
            name: value for name, value in decided.headers.items() if name not in _BODY_HEADERS
        }
        if decided.status_code < 400:
            return Response(status_code=204, headers=headers)
        # Starlette's text is "Disallowed CORS origin, method": say what was refused.
        refused = bytes(decided.body).decode().removeprefix("Disallowed CORS ")
        return problems.problem(
            403,
            f"This cross-origin request is not allowed (refused: {refused}).",
            headers=headers,
        )


def middleware(app: ASGIApp, settings: Settings) -> ASGIApp | None:
    """``app`` behind CORS as ``settings`` configure it, or ``None`` when CORS is off."""
    if not settings.cors_origins:
        return None
    return CORS(
        app,
        allow_origins=settings.cors_origins,
        allow_methods=ALLOW_METHODS,
        allow_headers=ALLOW_HEADERS,
        allow_credentials=settings.cors_credentials,
        expose_headers=EXPOSE_HEADERS,
        max_age=settings.cors_max_age,
    )
