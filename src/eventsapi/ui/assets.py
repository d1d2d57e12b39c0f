"""The UI's static files, ``/ui/static/<name>``: one small stylesheet, a vendored htmx, an
icon (``static/README.md`` says where each comes from).

Pages name each file with its content's hash (``?v=``): such a URL never changes meaning,
so it is cached for a year (``immutable``: not even revalidated on reload). A request
without the current hash (an old page, a hand-typed URL) gets the file too, but
``no-cache``: revalidated by its ``ETag`` each time, so it is never stale. The files are
read once, at start-up; only the kinds listed are served (not the README).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.errors import NotFound

__all__ = ["StaticAssets"]

TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
PREFIX: Final = "/ui/static/"
FOREVER: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class StaticAssets:
    """The files of ``eventsapi/ui/static``, in memory, with their versions."""

    def __init__(self) -> None:
        self.files: dict[str, Asset] = {}
        for entry in resources.files("eventsapi.ui").joinpath("static").iterdir():
            suffix = "." + entry.name.rpartition(".")[2]
            if entry.is_file() and suffix in TYPES:
                body = entry.read_bytes()
                version = hashlib.sha256(body).hexdigest()[:16]
                self.files[entry.name] = Asset(body, TYPES[suffix], version)

    def url(self, name: str) -> str:
        """The URL of the file ``name`` as pages link it (a ``KeyError`` for no such file,
        so that a template naming a missing file fails its test, not a browser)."""
        return f"{PREFIX}{name}?v={self.files[name].version}"

    async def serve(self, request: Request) -> Response:
        found = self.files.get(request.path_params["name"])
        if found is None:
            raise NotFound("There is no such file.")
        current = request.query_params.get("v") == found.version
        headers = {"ETag": found.etag, "Cache-Control": FOREVER if current else REVALIDATE}
        if found.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)
