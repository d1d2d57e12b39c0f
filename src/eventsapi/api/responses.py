"""A lean JSON response: headers built once as raw bytes (Starlette's generic
``Response`` re-parses a header mapping for every response)."""

from __future__ import annotations

from starlette.responses import Response

_JSON_TYPE = (b"content-type", b"application/json")


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
