"""The one error hierarchy of eventsapi.

Every error the service raises on purpose derives from :class:`EventsAPIError`.
The domain and storage layers raise these; only ``api/problems.py`` turns them
into HTTP responses (RFC 9457 problem details), so the mapping lives in one place.

    EventsAPIError
    ├── ValidationFailed        input that breaks a rule (422), lists each bad field
    ├── NotFound                no such resource (404)
    ├── AlreadyExists           a create that collides with an existing id (409)
    │   ├── UsernameTaken       a new account whose username is taken (409)
    │   └── InTrash             a create or PUT with the id of an event in the trash (409)
    ├── PatchTestFailed         a JSON Patch whose test operation does not hold (409)
    ├── PatchConflict           a JSON Patch naming a location the event lacks (409)
    ├── PreconditionFailed      If-Match / If-None-Match does not hold (412)
    ├── PreconditionRequired    a write without a precondition when they are required (428)
    ├── IdempotencyKeyReused    an Idempotency-Key retried with a different request (422)
    ├── IdempotencyKeyInUse     an Idempotency-Key whose first request is in flight (409)
    ├── BadRequest              malformed request: syntax, parameters, cursors (400)
    ├── SyncTokenExpired        a sync token that is expired, foreign or tampered with (410)
    ├── UnsupportedMediaType    a body in a media type we do not read (415)
    ├── PayloadTooLarge         a body over the configured limit (413)
    ├── RequestTimeout          a body that did not arrive within its deadline (408)
    ├── StorageUnavailable      the database cannot be reached (503)
    ├── QueryTooExpensive       a read that ran past its time budget (503)
    ├── TooManyInFlight         a client with too many listings running at once (429)
    ├── ServerBusy              too much CPU-bound work queued (password hashing) (503)
    ├── StreamsFull             the worker holds as many change streams as it takes (503)
    ├── ConfigurationError      settings that cannot work (start-up only)
    ├── AuthenticationRequired  no credentials, or ones that are invalid, expired or revoked (401)
    ├── AuthenticationFailed    a login that failed, whatever the reason: one message (401)
    ├── SecondFactorRequired    the password was right; send the two-step code too (401)
    ├── PasswordChangeRequired  the password was right but was reset: choose a new one (401)
    ├── TooManyAttempts         failed logins throttled: wait ``retry_after`` s (429)
    └── Forbidden               authenticated, but not allowed to do this (403)

    ValidationFailed
    └── PasswordRejected        a new password the policy refuses, with advice (422)
"""

from __future__ import annotations

import math
from datetime import timedelta

import msgspec


class EventsAPIError(Exception):
    """Base of every error eventsapi raises deliberately."""


class FieldError(msgspec.Struct, frozen=True):
    """One broken rule: which field (a JSON pointer-like dotted path) and why."""

    field: str
    message: str


class ValidationFailed(EventsAPIError):
    """The input is well-formed JSON but breaks one or more field rules."""

    def __init__(self, errors: list[FieldError], *, subject: str = "event") -> None:
        self.errors = errors
        self.subject = subject  # what is invalid, for the problem's detail
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class NotFound(EventsAPIError):
    """The addressed resource does not exist."""


class AlreadyExists(EventsAPIError):
    """A resource with this identifier already exists."""


class InTrash(AlreadyExists):
    """A create or PUT names the id of an event in the trash: restore or purge it first."""


class UsernameTaken(AlreadyExists):
    """A new account's username is taken (compared as ``auth/usernames.py`` compares)."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"The username {username!r} is taken; choose another.")


class PatchTestFailed(EventsAPIError):
    """A ``test`` operation of a JSON Patch (RFC 6902) does not hold: nothing was changed."""


class PatchConflict(EventsAPIError):
    """A JSON Patch operation names a location the document does not have (a member
    to remove, replace, move or copy, or the parent to add into): nothing was changed."""


class PreconditionFailed(EventsAPIError):
    """A conditional request's precondition is false: nothing was changed."""


class PreconditionRequired(EventsAPIError):
    """The server requires writes to be conditional (If-Match / If-None-Match)."""


class IdempotencyKeyReused(EventsAPIError):
    """An idempotency key already used with a different request."""


class IdempotencyKeyInUse(EventsAPIError):
    """The first request with this idempotency key has not finished yet."""


class BadRequest(EventsAPIError):
    """The request itself is malformed (syntax, a query parameter, a cursor)."""

    def __init__(self, detail: str, *, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__(detail)


class SyncTokenExpired(EventsAPIError):
    """A sync token this database cannot continue from: older than the change log keeps,
    made by another database, or altered. The client must sync again in full."""


class UnsupportedMediaType(EventsAPIError):
    """The request body's media type is not one this route reads."""

    def __init__(self, detail: str, *, accepted: tuple[str, ...]) -> None:
        self.accepted = accepted
        super().__init__(detail)


class PayloadTooLarge(EventsAPIError):
    """The request body is larger than the configured limit."""


class RequestTimeout(EventsAPIError):
    """The request's body did not arrive within ``request_body_timeout``: the request is
    dropped and its connection closed, so that a slow client cannot hold a worker's
    capacity."""


class StorageUnavailable(EventsAPIError):
    """The database cannot be reached or is failing; the request may be retried."""


class QueryTooExpensive(EventsAPIError):
    """A read ran past its time budget (setting ``query_timeout_ms``) and was stopped, so
    that one client's dear query cannot hold what every other client needs. Nothing was
    changed; a narrower query (more filters, a smaller page, no exact count) may succeed."""

    @classmethod
    def past_budget(cls, timeout: float, *, waited: bool) -> QueryTooExpensive:
        """The error of a read stopped after ``timeout`` seconds, or (``waited``) never
        started because it waited that long for a connection or a reader thread."""
        budget = f"{timeout * 1000:.0f} ms"
        if waited:
            return cls(
                f"The service is busy with other queries: this one waited its whole time "
                f"budget ({budget}) for its turn. Retry later, or narrow it."
            )
        return cls(
            f"This query took longer than its time budget ({budget}) and was stopped. Narrow "
            "it: more filters, a smaller limit, no count=exact, or a sort without q."
        )


class TooManyInFlight(EventsAPIError):
    """The client already has as many listings running as it may (setting
    ``max_listings_per_client``): refused at once, before any work is done."""

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class ServerBusy(EventsAPIError):
    """The worker has as much CPU-bound work queued as it takes (password hashing,
    ``auth/hashing.py``): nothing was done; retry after ``retry_after`` seconds (503)."""

    def __init__(self, retry_after: int, detail: str) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class StreamsFull(EventsAPIError):
    """The worker holds ``stream_limit`` open change streams, or is shutting down: the
    stream is refused before it starts; retry after ``retry_after`` seconds (503)."""

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class ConfigurationError(EventsAPIError):
    """Settings that cannot work; raised at start-up, before serving."""


# -- accounts (issue 6) ------------------------------------------------------------------


class AuthenticationRequired(EventsAPIError):
    """The request needs an account and has no valid credentials: none were sent, or the
    session or token sent is unknown, expired, idle too long or revoked (401 with
    ``WWW-Authenticate: Bearer``)."""


class AuthenticationFailed(EventsAPIError):
    """A login (or a re-authentication, such as the current password when changing it)
    that failed: unknown username, wrong password, wrong or replayed two-step code, or a
    locked account. One class and one message for every reason, so the answer never tells
    which usernames exist or whether a guessed password was right."""

    MESSAGE = "The username, password or two-step code is wrong, or the account is locked."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class SecondFactorRequired(EventsAPIError):
    """The password was right, and the account has two-step verification on: the same
    request must also carry a code. Raised only after the password was verified, so it
    tells nothing to someone who does not know the password."""

    def __init__(self) -> None:
        super().__init__(
            "This account has two-step verification: send the code from your authenticator"
            " app, or a recovery code, with the password."
        )


class PasswordChangeRequired(EventsAPIError):
    """The password (and second factor) were right, but the password was set by an admin
    or the operator: the same request must carry a new one (``new_password``). Raised only
    after the credentials were verified."""

    def __init__(self) -> None:
        super().__init__(
            "This password was reset by an administrator and works once: send the same"
            " request again with `new_password`, a password of your own."
        )


class TooManyAttempts(EventsAPIError):
    """Too many failed logins for this account or from this client: try again after
    ``retry_after`` seconds (whole seconds, rounded up, at least 1: a ``Retry-After``)."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(f"Too many failed attempts; try again in {self.retry_after} seconds.")


class Forbidden(EventsAPIError):
    """The caller is authenticated but may not do this (a member acting as an admin, an API
    token managing the account, a scope the caller lacks)."""


class PasswordRejected(ValidationFailed):
    """A new password the policy refuses (``auth.password_policy``): ``errors`` has one
    entry per problem on ``field``; ``suggestions`` say how to choose a better one."""

    def __init__(
        self, problems: list[str], suggestions: list[str], *, field: str = "password"
    ) -> None:
        self.problems = problems
        self.suggestions = suggestions
        super().__init__([FieldError(field, problem) for problem in problems])
