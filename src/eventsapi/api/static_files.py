"""Static files from memory, compressed ahead of time: the docs page's Swagger UI
(``/docs/static/<name>``) and the web UI's files (``/ui/static/<name>``).

Each file is read once, when first asked for (most servers never serve the docs page's
1.7 MB bundle: it is not held in their memory), with the gzip and brotli forms made when it was
vendored (``<name>.gz`` and ``<name>.br`` beside it, written by
``python -m tests.unit.test_static_files --write``, which also checks that they are
current): nothing is compressed per request on the event loop, and a 1.7 MB bundle goes
out as 0.3 MB of brotli or 0.5 MB of gzip, whichever the client prefers
(``Accept-Encoding``, RFC 9110 section 12.5.3), with ``Vary: Accept-Encoding`` and an
ETag per form (a strong ETag names one representation, section 8.8.3).

Pages name each file with its content's hash (``?v=``): such a URL never changes
meaning, so it is cached for a year (``immutable``: not even revalidated on reload). A
request without the current hash (an old page, a hand-typed URL) gets the file too, but
``no-cache``: revalidated by its ``ETag`` each time, so it is never stale. Only the kinds
listed are served (not a README).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.errors import NotFound

__all__ = ["CODINGS", "StaticFiles", "chosen_coding"]

TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
CODINGS: Final = ("br", "gzip")
"""The content codings made ahead of time, in the order preferred when a client accepts
several equally: brotli's are the smaller."""
FOREVER: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"
IDENTITY: Final = "identity"


class StaticFile(msgspec.Struct, frozen=True):
    forms: dict[str, bytes]
    """The file's content by content coding: ``identity`` and those made ahead of time."""
    media_type: str
    version: str

    def etag(self, coding: str) -> str:
        return f'"{self.version}"' if coding == IDENTITY else f'"{self.version}-{coding}"'


class StaticFiles:
    """The files of some package folders, served under ``prefix`` (``/docs/static/``)."""

    def __init__(self, package: str, *folders: str, prefix: str) -> None:
        self.prefix = prefix
        self.package = package
        self.entries: dict[str, str] = {}
        """Each file's folder, by name: not a ``Traversable``, which holds the parsed
        directory of the zip the package may be imported from (the container image's)."""
        self.files: dict[str, StaticFile] = {}
        root = resources.files(package)
        for folder in folders:
            for entry in root.joinpath(folder).iterdir():
                if entry.is_file() and _suffix(entry.name) in TYPES:
                    self.entries.setdefault(entry.name, folder)

    def file(self, name: str) -> StaticFile:
        """The file ``name``, read at the first call (``KeyError``: no such file)."""
        found = self.files.get(name)
        if found is None:
            folder = resources.files(self.package).joinpath(self.entries[name])
            found = self.files[name] = _read(folder, name)
        return found

    def url(self, name: str) -> str:
        """The URL of the file ``name`` as pages link it (a ``KeyError`` for no such file,
        so that a page naming a missing file fails its test, not a browser)."""
        return f"{self.prefix}{name}?v={self.file(name).version}"

    async def serve(self, request: Request) -> Response:
        try:
            found = self.file(request.path_params["name"])
        except KeyError:
            raise NotFound("There is no such file.") from None
        coding = chosen_coding(request.headers.get("accept-encoding", ""), found.forms)
        current = request.query_params.get("v") == found.version
        headers = {"ETag": found.etag(coding), "Cache-Control": FOREVER if current else REVALIDATE}
        if coding != IDENTITY:
            # An encoded form is for the clients that accept it only. The plain form gets
            # its Vary from the gzip layer (api/compression.py), which adds one to any
            # body it could have compressed; a cache that serves the plain form to any
            # client serves something every client reads.
            headers["Content-Encoding"] = coding
            headers["Vary"] = "Accept-Encoding"
        if _matches(request.headers.get("if-none-match", ""), found.etag(coding)):
            headers.pop("Content-Encoding", None)
            return Response(status_code=304, headers=headers)
        return Response(found.forms[coding], media_type=found.media_type, headers=headers)


def _suffix(name: str) -> str:
    return "." + name.rpartition(".")[2]


def _read(folder: Traversable, name: str) -> StaticFile:
    body = folder.joinpath(name).read_bytes()
    forms = {IDENTITY: body}
    for coding, extension in zip(CODINGS, (".br", ".gz"), strict=True):
        compressed = folder.joinpath(name + extension)
        if compressed.is_file():
            forms[coding] = compressed.read_bytes()
    return StaticFile(forms, TYPES[_suffix(name)], hashlib.sha256(body).hexdigest()[:16])


def chosen_coding(accept_encoding: str, available: dict[str, bytes] | tuple[str, ...]) -> str:
    """The content coding to send: of the forms ``available``, the one ``accept_encoding``
    weighs highest (``CODINGS`` order on a tie), else ``identity``: when no coding is
    acceptable, or ``identity`` is named with a higher weight. ``identity`` is sent even
    when refused, as the file has no other form left (RFC 9110 section 12.5.3)."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, parameters = item.strip().partition(";")
        if name.strip():
            weights[name.strip().lower()] = _weight(parameters)
    other = weights.get("*", 0.0)
    best, best_weight = IDENTITY, 0.0
    for coding in CODINGS:
        weight = weights.get(coding, other)
        if coding in available and weight > best_weight:
            best, best_weight = coding, weight
    if IDENTITY in weights and weights[IDENTITY] > best_weight:
        return IDENTITY
    return best


def _weight(parameters: str) -> float:
    name, _, value = parameters.strip().partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        weight = float(value)
    except ValueError:
        return 0.0
    return weight if 0 <= weight <= 1 else 0.0


def _matches(if_none_match: str, etag: str) -> bool:
    """``If-None-Match``'s weak comparison (RFC 9110 section 13.1.2)."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
