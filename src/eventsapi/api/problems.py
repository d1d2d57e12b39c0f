"""Errors to RFC 9457 problem details: the one place where errors meet HTTP.

Every error response of the service is ``application/problem+json``. Problem
types are relative URIs (``/problems/<slug>``), resolved against the service's
own address; ``GET /problems/<slug>`` describes each one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from eventsapi import errors

PROBLEM_JSON: Final = "application/problem+json"
logger = logging.getLogger("eventsapi")
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        return f"/problems/{self.slug}"


PROBLEM_TYPES: Final = {
    problem.slug: problem
    for problem in (
        ProblemType(
            "validation-failed",
            422,
            "Your request breaks one or more field rules",
            "The body is well-formed but some fields are invalid. `errors` lists each one "
            "with a JSON Pointer (`pointer`) to the field and what is wrong (`detail`).",
        ),
        ProblemType(
            "already-exists",
            409,
            "An event with this id already exists",
            "A create named an id that is taken. Choose another id, or PUT to replace.",
        ),
        ProblemType(
            "not-found",
            404,
            "Not found",
            "There is no resource at this URL (it may have been deleted).",
        ),
        ProblemType(
            "bad-request",
            400,
            "Your request is malformed",
            "The body is not valid JSON, or a query parameter is invalid (`parameter` names it).",
        ),
        ProblemType(
            "unsupported-media-type",
            415,
            "This media type is not accepted here",
            "Send the body with one of the media types listed in `accepted`.",
        ),
        ProblemType(
            "payload-too-large",
            413,
            "The request body is too large",
            "Bodies are limited in size (setting max_body_bytes, 1 MiB by default).",
        ),
        ProblemType(
            "method-not-allowed",
            405,
            "This method is not allowed on this resource",
            "The `Allow` response header lists the methods this resource accepts.",
        ),
        ProblemType(
            "service-unavailable",
            503,
            "The service cannot answer now",
            "The database is unreachable or failing. Retry later (see `Retry-After`).",
        ),
        ProblemType(
            "internal-error",
            500,
            "Internal server error",
            "The service failed unexpectedly. The error is logged; nothing was changed "
            "unless a success was returned.",
        ),
    )
}
_BY_STATUS: Final = {problem.status: problem for problem in PROBLEM_TYPES.values()}


def problem(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response for ``status``."""
    known = _BY_STATUS.get(status)
    body: dict[str, Any] = {
        "type": known.uri if known else "about:blank",
        "title": known.title if known else HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extensions)
    return Response(_encode(body), status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _pointer(field: str) -> str:
    return "#" + "".join("/" + part for part in field.split(".") if part)


def from_error(request: Request, exc: Exception) -> Response:
    """Map an error of ours (or Starlette's HTTPException) to its problem response."""
    match exc:
        case errors.ValidationFailed():
            return problem(
                422,
                "The event is invalid: " + str(exc),
                errors=[{"pointer": _pointer(e.field), "detail": e.message} for e in exc.errors],
            )
        case errors.NotFound():
            return problem(404, str(exc))
        case errors.AlreadyExists():
            return problem(409, str(exc))
        case errors.BadRequest(parameter=None):
            return problem(400, str(exc))
        case errors.BadRequest():
            return problem(400, str(exc), parameter=exc.parameter)
        case errors.UnsupportedMediaType():
            return problem(415, str(exc), accepted=list(exc.accepted))
        case errors.PayloadTooLarge():
            return problem(413, str(exc))
        case errors.StorageUnavailable():
            logger.warning("storage unavailable: %s", exc)
            return problem(
                503, "The database is unavailable; retry shortly.", headers={"Retry-After": "1"}
            )
        case ClientDisconnect():
            return problem(400, "The client disconnected before sending the whole body.")
        case HTTPException():
            headers = dict(exc.headers) if exc.headers else None
            return problem(exc.status_code, _http_detail(exc), headers=headers)
    return internal_error(request, exc)


def _http_detail(exc: HTTPException) -> str:
    if exc.status_code == 404:
        return "There is no resource at this URL."
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"This resource allows {allowed}." if allowed else "Method not allowed."
    return str(exc.detail)


def internal_error(request: Request, exc: Exception) -> Response:
    """500 without internals on the wire; the traceback goes to the log."""
    logger.error(
        "unhandled error on %s %s", request.method, request.url.path, exc_info=exc
    )
    return problem(500, "The service failed unexpectedly; the error has been logged.")
