"""gzip for responses of at least ``gzip_min_size`` bytes, when the client accepts it.

Starlette's ``GZipMiddleware`` does the work; ``api/hotpath.py`` puts it in
front of both paths, but only for requests that accept gzip: the others (wrk,
curl, most API clients) skip it, and a hot-path response of the threshold or
more gets the ``Vary: Accept-Encoding`` the middleware would have added
(:data:`VARY`), so that caches keep the two forms apart.
"""

from __future__ import annotations

from typing import Final

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp

from eventsapi.settings import Settings

VARY: Final = (b"vary", b"Accept-Encoding")
# zlib's default: level 9 costs about twice the CPU for a few percent smaller JSON.
COMPRESS_LEVEL: Final = 6


def accepts_gzip(accept_encoding: bytes) -> bool:
    """The test ``GZipMiddleware`` applies to ``Accept-Encoding``."""
    return b"gzip" in accept_encoding


def middleware(app: ASGIApp, settings: Settings) -> ASGIApp | None:
    """``app`` behind gzip as ``settings`` configure it, or ``None`` when it is off."""
    if not settings.gzip_min_size:
        return None
    return GZipMiddleware(app, minimum_size=settings.gzip_min_size, compresslevel=COMPRESS_LEVEL)
