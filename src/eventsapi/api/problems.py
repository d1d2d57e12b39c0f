"""Errors to RFC 9457 problem details: the one place where errors meet HTTP.

Every error response of the service is ``application/problem+json``. Problem
types are relative URIs (``/problems/<slug>``), resolved against the service's
own address; ``GET /problems/<slug>`` describes each one.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, Final

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from eventsapi import errors
from eventsapi.api import request_ids
from eventsapi.domain.registrations import AlreadyRegistered, RegistrationClosed

PROBLEM_JSON: Final = "application/problem+json"
logger = logging.getLogger("eventsapi")
_encode = msgspec.json.Encoder().encode


class ProblemType(msgspec.Struct, frozen=True):
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
            "in-trash",
            409,
            "An event with this id is in the trash",
            "The event with this id was deleted and is in the trash, so its id stays taken "
            "until it is restored (`POST /trash/{id}/restore`) or purged (`DELETE "
            "/trash/{id}`, or after `trash_retention_days`). Restore it, or choose another id.",
        ),
        ProblemType(
            "already-registered",
            409,
            "This e-mail address is registered for this event already",
            "An event takes one active registration per e-mail address (compared "
            "case-insensitively). `Location` and `registration` name the existing one; "
            "cancel it first to register again.",
        ),
        ProblemType(
            "registration-closed",
            409,
            "The event takes no registration now",
            "`reason` says why: `cancelled` (the event is cancelled), `past` (it has started "
            "or is over), `not-open` (before its `registration_opens_at`) or `closed` (from "
            "its `registration_closes_at`). Nothing was changed.",
        ),
        ProblemType(
            "username-taken",
            409,
            "This username is taken",
            "A new account must have a username of its own. Usernames are compared in the "
            "PRECIS UsernameCaseMapped profile (RFC 8265): `Dana`, `DANA` and `dana` in "
            "full-width letters are one name. Choose another.",
        ),
        ProblemType(
            "patch-test-failed",
            409,
            "A test in your JSON Patch does not hold",
            "A `test` operation of the JSON Patch (RFC 6902) found another value, or none, "
            "at its `path`: the event is not in the state the patch expects (for example, "
            "its `version` has moved on). `detail` names the operation, counted from 0. "
            "Nothing was changed. GET the event and patch it again.",
        ),
        ProblemType(
            "patch-conflict",
            409,
            "Your JSON Patch does not fit the event",
            "An operation of the JSON Patch (RFC 6902) names a location the event does not "
            "have: a member to remove, replace, move or copy, the object or array to add "
            "into, or a position past the end of an array. `detail` names the operation, "
            "counted from 0. Nothing was changed.",
        ),
        ProblemType(
            "not-found",
            404,
            "Not found",
            "There is no resource at this URL (it may have been deleted).",
        ),
        ProblemType(
            "precondition-failed",
            412,
            "The resource has changed",
            "An `If-Match` or `If-None-Match` condition does not hold: the event changed "
            "(or exists, or does not) since you read it. Nothing was changed. GET the event "
            "for its current `ETag` and retry.",
        ),
        ProblemType(
            "precondition-required",
            428,
            "This write must be conditional",
            "The service requires `If-Match` (or `If-None-Match: *` to create with PUT) on "
            "every PUT, PATCH and DELETE, so that no change overwrites one you have not "
            "seen. GET the event for its `ETag` and send it in `If-Match`.",
        ),
        ProblemType(
            "idempotency-key-reused",
            422,
            "This idempotency key was used for a different request",
            "An `Idempotency-Key` identifies one request: a retry must repeat the method, "
            "path and body exactly. Use a new key for a new request.",
        ),
        ProblemType(
            "idempotency-key-in-use",
            409,
            "A request with this idempotency key is in progress",
            "The first request with this `Idempotency-Key` has not finished. Retry after "
            "it completes to receive its response.",
        ),
        ProblemType(
            "bad-request",
            400,
            "Your request is malformed",
            "The body is not valid JSON, or a query parameter is invalid (`parameter` names it).",
        ),
        ProblemType(
            "sync-token-expired",
            410,
            "This sync token cannot be continued from",
            "The token is older than the change log keeps (`change_retention_days`), comes "
            "from another database, or was altered. Sync again in full: list the events with "
            "`GET /events`, then follow `GET /changes` from its `Sync-Token` header.",
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
            "request-timeout",
            408,
            "The request body came too slowly",
            "The whole body must arrive within a deadline (setting request_body_timeout, 30 "
            "seconds by default). Nothing was changed and the connection is closed; send the "
            "request again on a new connection.",
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
            "query-too-expensive",
            503,
            "This query took too long",
            "The listing ran past the time the service gives one query (setting "
            "`query_timeout_ms`) and was stopped, so that it could not slow down everyone "
            "else. Nothing was changed. Narrow it (more filters, a smaller `limit`, no "
            "`count=exact`, a sort without `q`) or retry later, when the service is less busy "
            "(see `Retry-After`).",
        ),
        ProblemType(
            "server-busy",
            503,
            "The server is too busy for this request now",
            "Password checks (logins, password changes, new accounts) are CPU-heavy, so each "
            "worker runs a few at once and keeps a short queue, with a share per client "
            "address. It is full: nothing was done and nothing was counted. Retry after "
            "`Retry-After` seconds.",
        ),
        ProblemType(
            "too-many-streams",
            503,
            "This server holds as many change streams as it takes",
            "Each worker holds at most `stream_limit` open change streams "
            "(`GET /changes/stream`), or it is shutting down. Nothing was started: retry "
            "after `Retry-After` seconds, with `Last-Event-ID` to resume where you were.",
        ),
        ProblemType(
            "authentication-required",
            401,
            "You need to log in",
            "This request needs an account, and it carried no valid credentials: none, or a "
            "session or API token that is unknown, expired, idle too long or revoked. Log in "
            "(`POST /auth/login`) or send `Authorization: Bearer <token>`.",
        ),
        ProblemType(
            "authentication-failed",
            401,
            "The login failed",
            "The username, password or two-step code is wrong, or the account is locked. The "
            "answer is the same for every reason, so that it tells an attacker nothing.",
        ),
        ProblemType(
            "second-factor-required",
            401,
            "Send your two-step code too",
            "The password was right and the account has two-step verification on: send the "
            "same request again with `totp` (the code of your authenticator app, or a "
            "recovery code).",
        ),
        ProblemType(
            "password-change-required",
            401,
            "Choose a new password",
            "The password and any two-step code were right, but an administrator reset the "
            "password: it works for this one login. Send the same request again with "
            "`new_password`, a password of your own (the password policy applies to it as "
            "to any new password).",
        ),
        ProblemType(
            "forbidden",
            403,
            "You may not do this",
            "You are logged in, but your role or your token's scopes do not allow this.",
        ),
        ProblemType(
            "too-many-requests",
            429,
            "Too many requests",
            "Too many attempts or requests in a short time; wait the `Retry-After` seconds.",
        ),
        ProblemType(
            "too-many-requests-in-flight",
            429,
            "Too many requests in flight from this client",
            "A client address may have only so many requests in progress at once (setting "
            "max_requests_per_client). Wait for an answer before you send more; retry after "
            "`Retry-After`.",
        ),
        ProblemType(
            "password-rejected",
            422,
            "Choose another password",
            "The new password breaks the password policy: `errors` says why and "
            "`suggestions` how to choose a better one. A passphrase of several unrelated "
            "words is long, strong and easy to remember.",
        ),
        ProblemType(
            "internal-error",
            500,
            "Internal server error",
            "The service failed unexpectedly. The error is logged; nothing was changed "
            "unless a success was returned.",
        ),
        ProblemType(
            "drill-injected-failure",
            503,
            "A fault-injection drill failed this request on purpose",
            "The operator turned on a drill (setting `drill_error_ratio`) to rehearse SLO "
            "alerts: this share of requests fails without being attempted. Nothing was "
            "changed. Retry; real requests are unaffected by the drill otherwise.",
        ),
    )
}
# The usual type of each status: the first listed with it.
_BY_STATUS: Final = {
    status: next(p for p in PROBLEM_TYPES.values() if p.status == status)
    for status in {p.status for p in PROBLEM_TYPES.values()}
}


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response of type ``slug`` (by default, the status's usual type)."""
    known = PROBLEM_TYPES[slug] if slug is not None else _BY_STATUS.get(status)
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


_CHALLENGE: Final = 'Bearer realm="eventsapi"'


def from_error(request: Request, exc: Exception) -> Response:
    """Map an error of ours (or Starlette's HTTPException) to its problem response."""
    match exc:
        case errors.PasswordRejected():
            return problem(
                422,
                str(exc),
                slug="password-rejected",
                errors=[{"pointer": _pointer(e.field), "detail": e.message} for e in exc.errors],
                suggestions=list(exc.suggestions),
            )
        case errors.ValidationFailed():
            return problem(
                422,
                f"The {exc.subject} is invalid: {exc}",
                errors=[{"pointer": _pointer(e.field), "detail": e.message} for e in exc.errors],
            )
        case errors.NotFound():
            return problem(404, str(exc))
        case errors.AuthenticationRequired():
            return problem(401, str(exc), headers={"WWW-Authenticate": _CHALLENGE})
        case errors.AuthenticationFailed():
            return problem(
                401,
                str(exc),
                slug="authentication-failed",
                headers={"WWW-Authenticate": _CHALLENGE},
            )
        case errors.SecondFactorRequired():
            return problem(
                401,
                str(exc),
                slug="second-factor-required",
                headers={"WWW-Authenticate": _CHALLENGE},
            )
        case errors.PasswordChangeRequired():
            return problem(
                401,
                str(exc),
                slug="password-change-required",
                headers={"WWW-Authenticate": _CHALLENGE},
            )
        case errors.TooManyAttempts():
            return problem(429, str(exc), headers={"Retry-After": str(exc.retry_after)})
        case errors.Forbidden():
            return problem(403, str(exc))
        case errors.UsernameTaken():
            return problem(409, str(exc), slug="username-taken")
        case AlreadyRegistered():
            where = f"/events/{exc.event_id}/registrations/{exc.registration_id}"
            return problem(
                409,
                str(exc),
                slug="already-registered",
                headers={"Location": where},
                registration=where,
            )
        case RegistrationClosed():
            return problem(409, str(exc), slug="registration-closed", reason=exc.reason)
        case errors.InTrash():
            return problem(409, str(exc), slug="in-trash")
        case errors.AlreadyExists():
            return problem(409, str(exc))
        case errors.PatchTestFailed():
            return problem(409, str(exc), slug="patch-test-failed")
        case errors.PatchConflict():
            return problem(409, str(exc), slug="patch-conflict")
        case errors.PreconditionFailed():
            return problem(412, str(exc))
        case errors.PreconditionRequired():
            return problem(428, str(exc))
        case errors.IdempotencyKeyReused():
            return problem(422, str(exc), slug="idempotency-key-reused")
        case errors.IdempotencyKeyInUse():
            return problem(
                409, str(exc), slug="idempotency-key-in-use", headers={"Retry-After": "1"}
            )
        case errors.BadRequest(parameter=None):
            return problem(400, str(exc))
        case errors.BadRequest():
            return problem(400, str(exc), parameter=exc.parameter)
        case errors.SyncTokenExpired():
            return problem(410, str(exc), slug="sync-token-expired")
        case errors.UnsupportedMediaType():
            return problem(415, str(exc), accepted=list(exc.accepted))
        case errors.PayloadTooLarge():
            return problem(413, str(exc))
        case errors.RequestTimeout():
            # The rest of the body may still be coming: the connection cannot carry another
            # request, and must not wait for it.
            return problem(408, str(exc), headers={"Connection": "close"})
        case errors.StorageUnavailable():
            request_id = request_ids.of(request)
            logger.warning(
                "storage unavailable (request id %s): %s",
                request_id,
                exc,
                extra={"request_id": request_id},
            )
            return problem(
                503,
                "The database is unavailable; retry shortly.",
                headers={"Retry-After": "1"},
                **_quotable(request_id),
            )
        case errors.QueryTooExpensive():
            return problem(503, str(exc), slug="query-too-expensive", headers={"Retry-After": "1"})
        case errors.TooManyInFlight():
            return problem(
                429,
                str(exc),
                slug="too-many-requests",
                headers={"Retry-After": str(exc.retry_after)},
            )
        case errors.ServerBusy():
            return problem(
                503, str(exc), slug="server-busy", headers={"Retry-After": str(exc.retry_after)}
            )
        case errors.StreamsFull():
            retry_after = {"Retry-After": str(exc.retry_after)}
            return problem(503, str(exc), slug="too-many-streams", headers=retry_after)
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


def _quotable(request_id: str | None) -> dict[str, Any]:
    """The ``request_id`` member of a 5xx problem, for users to quote to the operator."""
    return {} if request_id is None else {"request_id": request_id}


def internal_error(request: Request, exc: Exception) -> Response:
    """500 without internals on the wire; the traceback goes to the log, with the request id."""
    request_id = request_ids.of(request)
    logger.error(
        "unhandled error on %s %s (request id %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
        extra={"request_id": request_id},
    )
    return problem(
        500,
        "The service failed unexpectedly; the error has been logged under request_id.",
        **_quotable(request_id),
    )
