"""A lean JSON response: headers built once as raw bytes (Starlette's generic
``Response`` re-parses a header mapping for every response)."""

from __future__ import annotations

from typing import Final

from starlette.responses import Response

_JSON_TYPE = (b"content-type", b"application/json")
PRIVATE: Final = (b"cache-control", b"private")
"""On an answer that depends on who asks (a reader who sees more than the public events,
``domain/visibility.py``): no shared cache may keep it, and serve it to someone else."""


class JSONBytes(Response):
    """``body`` is already-encoded JSON."""

    media_type = "application/json"

    def __init__(
        self,
        body: bytes,
        status_code: int = 200,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = [_JSON_TYPE, (b"content-length", b"%d" % len(body))]
        if headers:
            self.raw_headers.extend(headers)
