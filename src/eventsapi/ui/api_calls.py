"""The API's handlers, called in process: the UI is a client of the API that skips the
network.

A page that lists events or registers someone calls the very handler that answers
``GET /events`` or ``POST /events/{id}/registrations``, with a request made from the
page's own (its client address, its session), so that every rule the API keeps (input
checks, who may see and change what, counts, idempotency) holds for the UI too, with no
second copy of it. An error becomes the problem document the API would send
(``api/problems.py``), which the pages read: ``errors[].pointer`` names the field to show
it beside.

The call does not go through the service's front (``api/hotpath.py``): the page's own
request was rate-limited, logged and recorded as an SLI already; its call is part of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlencode

import msgspec
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from eventsapi.api import problems

__all__ = ["Answer", "Problem", "call"]

Handler = Callable[[Request], Awaitable[Response]]

# The page's request fields that the API's handlers may read: who the client is (its
# session cookie, its browser, where the request came from), never its body's.
_PASSED_ON: Final = frozenset({b"host", b"user-agent", b"origin", b"cookie"})
_decode = msgspec.json.Decoder().decode


class FieldProblem(msgspec.Struct):
    """One broken rule of a problem document: where (a JSON Pointer) and what."""

    pointer: str = ""
    detail: str = ""


class Problem(msgspec.Struct, kw_only=True):
    """The members of an RFC 9457 problem document that the pages show."""

    status: int = 500
    title: str = ""
    detail: str = ""
    type: str = "about:blank"
    errors: list[FieldProblem] = msgspec.field(default_factory=list)
    parameter: str | None = None
    """The query parameter a 400 names (``api/parameters.py``)."""
    suggestions: list[str] = msgspec.field(default_factory=list)
    """How to choose a better password (a ``password-rejected`` problem)."""

    @property
    def slug(self) -> str:
        """The last segment of ``type`` (``second-factor-required``)."""
        return self.type.rstrip("/").rpartition("/")[2]

    def by_field(self) -> dict[str, list[str]]:
        """Each broken rule under the form field it is about: the pointer's first member
        (``#/tags/2`` is the ``tags`` field); a 400's ``parameter``; ``""`` for the rest."""
        found: dict[str, list[str]] = {}
        for error in self.errors:
            name = error.pointer.removeprefix("#").lstrip("/").split("/", 1)[0]
            found.setdefault(name, []).append(error.detail)
        if self.parameter is not None:
            found.setdefault(self.parameter, []).append(self.detail)
        if not found:
            found[""] = [self.detail or self.title]
        return found


_decode_problem = msgspec.json.Decoder(Problem).decode


class Answer(msgspec.Struct, frozen=True):
    """What the handler answered: its status, fields and body."""

    status: int
    headers: Headers
    body: bytes
    set_cookies: list[bytes] = msgspec.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return _decode(self.body)

    def problem(self) -> Problem:
        """The problem document of a failure (one made of the status if it has none)."""
        try:
            return _decode_problem(self.body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return Problem(status=self.status, detail="The service could not do this.")


async def call(
    handler: Handler,
    page: Request,
    method: str,
    path: str,
    *,
    path_params: Mapping[str, str] | None = None,
    query: Iterable[tuple[str, str]] = (),
    json: Any = None,
    headers: Iterable[tuple[str, str]] = (),
    credentials: bool = True,
    content_type: str = "application/json",
) -> Answer:
    """``handler``'s answer to ``method path`` made for ``page``: with its client, its
    session cookie (unless ``credentials`` is false: a stale one the page dropped), its
    ``Origin``; ``json`` as the body (of ``content_type``: a merge patch is JSON too);
    ``headers`` added (an ``Idempotency-Key``)."""
    body = b"" if json is None else msgspec.json.encode(json)
    sent = [
        (name, value)
        for name, value in page.scope["headers"]
        if name in _PASSED_ON and (credentials or name != b"cookie")
    ]
    sent += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    if json is not None:
        sent += [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", b"%d" % len(body)),
        ]
    scope = {
        **page.scope,
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(list(query)).encode(),
        "path_params": dict(path_params or {}),
        "headers": sent,
    }
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, receive)
    try:
        response = await handler(request)
    except Exception as exc:  # noqa: BLE001 - every error is the API's problem document
        response = problems.from_error(request, exc)
    raw = response.raw_headers
    return Answer(
        response.status_code,
        Headers(raw=raw),
        bytes(response.body),
        [value for name, value in raw if name == b"set-cookie"],
    )
