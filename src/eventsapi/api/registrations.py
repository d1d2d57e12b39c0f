"""Registrations over HTTP: ``/events/{id}/registrations``, one registration, and
``GET /me/registrations`` (the route table is ``api/routes_registrations.py``).

Registering is a write (``Authn.writer``): an account with ``events:write``, or anyone while
anonymous writes are on. A registrant without an account gets a ``cancel_token`` once, in
the 201; it is an HMAC of the registration's id under the instance's key, so a retry with
the same ``Idempotency-Key`` shows it again, and only its SHA-256 is stored.

Who sees a registration, and may cancel it: its account; whoever sends its cancel token in
``Registration-Token`` (a header, never the URL: URLs end up in logs); the event's owner;
an admin; and, for an event without an owner (made anonymously), an anonymous caller while
anonymous writes are on (they are that event's owner). Anyone else gets the 404 of an
unknown registration. A registration carries the registrant's name and e-mail: only these
callers ever see it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import urlsafe_b64encode
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.authn import Authn
from eventsapi.api.body import JSON, read_body
from eventsapi.api.cursors import Cursor, decode_cursor, encode_cursor
from eventsapi.api.idempotency import ANONYMOUS, Idempotency, request_key
from eventsapi.api.parameters import single_values, whole_number
from eventsapi.api.responses import JSONBytes
from eventsapi.api.store import EventStore
from eventsapi.auth.ownership import manages
from eventsapi.auth.principal import Principal
from eventsapi.clock import Clock
from eventsapi.domain.accounts import Scope
from eventsapi.domain.events import DOT_SEGMENTS, ID_PATTERN, Event, UnsetType
from eventsapi.domain.ids import new_event_id
from eventsapi.domain.registrations import Registration, Status, applicant, check_open
from eventsapi.errors import BadRequest, FieldError, NotFound, ValidationFailed
from eventsapi.settings import Settings
from eventsapi.storage.idempotency import IdempotencyKey

__all__ = ["LIMIT_DEFAULT", "LIMIT_MAX", "TOKEN_HEADER", "RegistrationOut", "RegistrationsAPI"]

LIMIT_DEFAULT: Final = 50
LIMIT_MAX: Final = 500
TOKEN_HEADER: Final = "registration-token"  # noqa: S105 - a header name
_ID_MATCH: Final = re.compile(ID_PATTERN).fullmatch
_RID_MATCH: Final = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}").fullmatch
_encode = msgspec.json.Encoder().encode


class RegistrationOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A registration, as its registrant, the event's owner and admins see it."""

    id: str
    event_id: str
    name: str
    email: str
    status: Status
    position: int | None
    """Its place on the waitlist (1 = next to be confirmed) while waitlisted, else null."""
    created_at: datetime
    updated_at: datetime
    cancel_token: str | None = None
    """Only in the answer to a registration made without an account: keep it to see or
    cancel the registration (header ``Registration-Token``)."""


class RegistrationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /events/{id}/registrations``."""

    name: str | None = None
    """Default: the account's username."""
    email: str | None = None


_decode_input = msgspec.json.Decoder(RegistrationIn).decode


def registration_schemas() -> dict[str, Any]:
    """``Registration`` and ``RegistrationInput``, from the structs the server uses."""
    _, schemas = msgspec.json.schema_components(
        (RegistrationOut, RegistrationIn), ref_template="#/components/schemas/{name}"
    )
    return {
        "Registration": schemas["RegistrationOut"],
        "RegistrationInput": schemas["RegistrationIn"],
    }


def location(registration: Registration) -> str:
    return f"/events/{registration.event_id}/registrations/{registration.id}"


class RegistrationsAPI:
    """Handlers of registrations, bound to one store."""

    def __init__(self, store: EventStore, settings: Settings, clock: Clock, authn: Authn) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.authn = authn
        self.keys = Idempotency(store, clock, timedelta(hours=settings.idempotency_key_hours))
        self._key = b""
        self.changed: Callable[[], None] = lambda: None
        """Called after each write (the live stream's wake-up), as ``EventsAPI.changed``."""

    async def start(self) -> None:
        self._key = await self.store.instance_key()

    def _token(self, registration_id: str) -> str:
        mac = hmac.new(self._key, b"registration-cancel:" + registration_id.encode(), "sha256")
        return urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def _shown(self, registration: Registration, *, with_token: bool = False) -> RegistrationOut:
        token = None
        if with_token and registration.token_hash is not None:
            token = self._token(registration.id)
        return RegistrationOut(
            id=registration.id,
            event_id=registration.event_id,
            name=registration.name,
            email=registration.email,
            status=registration.status,
            position=registration.position,
            created_at=registration.created_at,
            updated_at=registration.updated_at,
            cancel_token=token,
        )

    def _created(self, registration: Registration, *, replayed: bool = False) -> Response:
        headers = [(b"location", location(registration).encode())]
        if replayed:
            headers.append((b"idempotent-replayed", b"true"))
        body = _encode(self._shown(registration, with_token=True))
        return JSONBytes(body, status_code=201, headers=headers)

    async def _event(self, request: Request) -> Event:
        event_id: str = request.path_params["id"]
        event = None
        if _ID_MATCH(event_id) is not None and event_id not in DOT_SEGMENTS:
            event = await self.store.get(event_id)
        if event is None:
            raise NotFound(f"No event with id {event_id!r}.")
        return event

    async def register(self, request: Request) -> Response:
        principal = await self.authn.writer(request)
        event = await self._event(request)
        actor = None if principal is None else principal.user.id
        now = self.clock()

        def guard(current: Event) -> None:
            opens, closes = current.registration_opens_at, current.registration_closes_at
            check_open(
                current,
                now,
                opens_at=None if isinstance(opens, UnsetType) else opens,
                closes_at=None if isinstance(closes, UnsetType) else closes,
            )

        async def write(body: bytes, once: IdempotencyKey | None) -> Response:
            made = _parse(body, principal)
            registration_id = new_event_id(now)
            token_hash = None
            if principal is None:
                token_hash = hashlib.sha256(self._token(registration_id).encode()).hexdigest()
            who = applicant(
                registration_id=registration_id,
                name=made.name or "",
                email=made.email or "",
                account=actor,
                token_hash=token_hash,
                at=now,
            )
            registration = await self.store.register(
                event.id, who, guard=guard, once=once, actor=actor
            )
            self.changed()
            return self._created(registration)

        async def read() -> bytes:
            return await read_body(request, accepted=(JSON,), limit=self.settings.max_body_bytes)

        key = request_key(request)
        if key is None:
            return await write(await read(), None)

        async def replay(document: bytes) -> Response:
            found = await self.store.get_registration(event.id, document.decode())
            if found is None:
                raise NotFound(f"No registration with id {document.decode()!r}.")
            return self._created(found, replayed=True)

        scope = ANONYMOUS if principal is None else principal.user.id
        return await self.keys.run_keyed(request, key, read, write, replay, scope=scope)

    def _sees_all(self, request: Request, principal: Principal | None, event: Event) -> bool:
        anonymous_writes = principal is None and self.authn.anonymous_writes(request.scope)
        return manages(principal, event.owner, anonymous_writes=anonymous_writes)

    def _may_see(
        self, request: Request, principal: Principal | None, registration: Registration
    ) -> bool:
        if principal is not None and registration.account == principal.user.id:
            return True
        token = request.headers.get(TOKEN_HEADER)
        if token is None or registration.token_hash is None:
            return False
        digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        return hmac.compare_digest(digest, registration.token_hash)

    async def _one(self, request: Request) -> tuple[Principal | None, Event, Registration]:
        principal = await self.authn.principal(request)
        event = await self._event(request)
        registration_id: str = request.path_params["rid"]
        found = None
        if _RID_MATCH(registration_id) is not None:
            found = await self.store.get_registration(event.id, registration_id)
        if found is None or not (
            self._sees_all(request, principal, event) or self._may_see(request, principal, found)
        ):
            raise NotFound(f"No registration with id {registration_id!r} for this event.")
        return principal, event, found

    async def get_registration(self, request: Request) -> Response:
        _, _, found = await self._one(request)
        return JSONBytes(_encode(self._shown(found)))

    async def cancel(self, request: Request) -> Response:
        principal, event, found = await self._one(request)
        if principal is not None and not principal.can(Scope.EVENTS_WRITE):
            await self.authn.writer(request)  # a read-only token: 403, as for event writes
        await self.store.cancel_registration(
            event.id,
            found.id,
            at=self.clock(),
            actor=None if principal is None else principal.user.id,
        )
        self.changed()
        return Response(status_code=204)

    async def list_registrations(self, request: Request) -> Response:
        principal = await self.authn.principal(request)
        event = await self._event(request)
        limit, after, listing = self._paging(request, f"registrations:{event.id}:{_who(principal)}")
        if self._sees_all(request, principal, event):
            found = await self.store.list_registrations(event.id, after=after, limit=limit + 1)
        elif principal is not None:
            found = await self.store.list_registrations(
                event.id, after=after, limit=limit + 1, account=principal.user.id
            )
        else:
            found = []
        return self._page(request, found, limit, listing)

    async def mine(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        limit, after, listing = self._paging(request, f"me:{principal.user.id}")
        found = await self.store.account_registrations(
            principal.user.id, after=after, limit=limit + 1
        )
        return self._page(request, found, limit, listing)

    def _paging(self, request: Request, listing: str) -> tuple[int, int, str]:
        params = single_values(request.query_params, ("limit", "cursor"))
        limit = LIMIT_DEFAULT
        if "limit" in params:
            limit = whole_number("limit", params["limit"], 1, LIMIT_MAX)
        after = 0
        if "cursor" in params:
            # A cursor is bound to its listing and its reader: another's is refused (400).
            after = int(decode_cursor(self._key, listing, params["cursor"]).position[0])
        return limit, after, listing

    def _page(
        self, request: Request, found: list[Registration], limit: int, listing: str
    ) -> Response:
        headers = []
        if len(found) > limit:
            found = found[:limit]
            token = encode_cursor(self._key, listing, Cursor((found[-1].seq,), backwards=False))
            link = f'<{request.url.path}?limit={limit}&cursor={token}>; rel="next"'
            headers.append((b"link", link.encode()))
        return JSONBytes(_encode([self._shown(r) for r in found]), headers=headers)


def _who(principal: Principal | None) -> str:
    return "-" if principal is None else principal.user.id


def _parse(body: bytes, principal: Principal | None) -> RegistrationIn:
    """The body, with the account's username as the default name; 422 with a pointer for a
    member of the wrong type or an unknown one."""
    try:
        made = _decode_input(body)
    except msgspec.ValidationError as exc:
        found = re.search(r"`\$\.(\w+)`", str(exc))
        field = found.group(1) if found else ""
        raise ValidationFailed(
            [FieldError(field, str(exc).split(" - at ")[0])], subject="registration"
        ) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    if made.name is None and principal is not None:
        made.name = principal.user.username
    return made
