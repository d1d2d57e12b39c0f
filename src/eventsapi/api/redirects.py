"""The redirect of a path with or without its trailing slash (``/events/`` → ``/events``).

Starlette's router builds that redirect's ``Location`` from the request's ``Host`` header,
so a client (or a cache or proxy that forwards ``Host`` as it came) could make the service
send users to any site: ``Host: evil.example`` got ``Location: http://evil.example/events``.
Here the target is a path (RFC 9110 allows a relative ``Location``), or the configured
``public_url`` followed by the path: never a host the request names.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote, quote_from_bytes

from starlette.responses import Response
from starlette.routing import Match, Router
from starlette.types import Receive, Scope, Send

# RFC 3986 pchar and "/" stay as they are; "%" does not, since the path is decoded.
_PATH_SAFE: Final = "/:@!$&'()*+,;="
# The query is passed on as received (already percent-encoded), minus anything unsafe.
_QUERY_SAFE: Final = _PATH_SAFE + "?%"


class SlashRedirects:
    """The router's fallback: a 307 to the path that has a route, else the router's 404."""

    def __init__(self, router: Router, public_url: str) -> None:
        self.router = router
        self.base = public_url  # an origin: no trailing slash (settings.py)

    def target(self, scope: Scope) -> str | None:
        """Where to send this request, or ``None`` when no route would take it either."""
        path: str = scope["path"]
        if path == "/":
            return None
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        # "//host/..." in Location is another host (a network-path reference).
        if not other.startswith("/") or other.startswith("//"):
            return None
        moved = {**scope, "path": other}
        if not any(route.matches(moved)[0] is not Match.NONE for route in self.router.routes):
            return None
        location = self.base + quote(other, safe=_PATH_SAFE)
        query: bytes = scope.get("query_string", b"")
        if query:
            location += "?" + quote_from_bytes(query, safe=_QUERY_SAFE)
        return location

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        location = self.target(scope) if scope["type"] == "http" else None
        if location is None:
            await self.router.not_found(scope, receive, send)
            return
        response = Response(status_code=307, headers={"location": location})
        await response(scope, receive, send)


def install(router: Router, public_url: str) -> None:
    """Replace ``router``'s own slash redirects (built from ``Host``) with ``SlashRedirects``."""
    router.redirect_slashes = False
    router.default = SlashRedirects(router, public_url)
