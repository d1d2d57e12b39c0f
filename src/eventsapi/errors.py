"""The one error hierarchy of eventsapi.

Every error the service raises on purpose derives from :class:`EventsAPIError`.
The domain and storage layers raise these; only ``api/problems.py`` turns them
into HTTP responses (RFC 9457 problem details), so the mapping lives in one place.

    EventsAPIError
    ├── ValidationFailed        input that breaks a rule (422), lists each bad field
    ├── NotFound                no such resource (404)
    ├── AlreadyExists           a create that collides with an existing id (409)
    ├── PatchTestFailed         a JSON Patch whose test operation does not hold (409)
    ├── PatchConflict           a JSON Patch naming a location the event lacks (409)
    ├── PreconditionFailed      If-Match / If-None-Match does not hold (412)
    ├── PreconditionRequired    a write without a precondition when they are required (428)
    ├── IdempotencyKeyReused    an Idempotency-Key retried with a different request (422)
    ├── IdempotencyKeyInUse     an Idempotency-Key whose first request is in flight (409)
    ├── BadRequest              malformed request: syntax, parameters, cursors (400)
    ├── UnsupportedMediaType    a body in a media type we do not read (415)
    ├── PayloadTooLarge         a body over the configured limit (413)
    ├── StorageUnavailable      the database cannot be reached (503)
    └── ConfigurationError      settings that cannot work (start-up only)
"""

from __future__ import annotations

from dataclasses import dataclass


class EventsAPIError(Exception):
    """Base of every error eventsapi raises deliberately."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule: which field (a JSON pointer-like dotted path) and why."""

    field: str
    message: str


class ValidationFailed(EventsAPIError):
    """The input is well-formed JSON but breaks one or more field rules."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class NotFound(EventsAPIError):
    """The addressed resource does not exist."""


class AlreadyExists(EventsAPIError):
    """A resource with this identifier already exists."""


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


class UnsupportedMediaType(EventsAPIError):
    """The request body's media type is not one this route reads."""

    def __init__(self, detail: str, *, accepted: tuple[str, ...]) -> None:
        self.accepted = accepted
        super().__init__(detail)


class PayloadTooLarge(EventsAPIError):
    """The request body is larger than the configured limit."""


class StorageUnavailable(EventsAPIError):
    """The database cannot be reached or is failing; the request may be retried."""


class ConfigurationError(EventsAPIError):
    """Settings that cannot work; raised at start-up, before serving."""
