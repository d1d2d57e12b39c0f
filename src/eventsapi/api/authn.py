"""Who makes a request, and whether they may change events: the HTTP side of accounts.

Credentials come in ``Authorization: Bearer <token>`` (a session token from
``POST /auth/login`` or a personal API token) or in the session cookie that the login sets
for browsers. Reads of events need none. Writes need a principal with ``events:write``,
unless anonymous writes are on (setting ``anonymous_writes``): by default only while the
service listens on loopback, so the tutorial's curl walk-through works on one machine and
nothing is writable by others.

A browser sends cookies by itself, so a write authenticated by the cookie alone must come
from one of our own pages: its ``Origin``, when sent, must be the service's own origin or
one the CORS setting allows (the SameSite=Strict cookie already keeps other sites' requests
from carrying it; this also stops sibling subdomains).
"""

from __future__ import annotations

import ipaddress
from typing import Final

from starlette.requests import Request

from eventsapi.auth.principal import Principal
from eventsapi.auth.service import AccountService
from eventsapi.auth.sessions import cookie_name
from eventsapi.domain.accounts import Scope
from eventsapi.errors import AuthenticationRequired, Forbidden
from eventsapi.settings import Settings

__all__ = ["Authn", "client_address", "is_loopback"]

_STATE: Final = "principal"
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (the address the service listens on) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def client_address(request: Request) -> str:
    """The peer's address, as the audit log and the throttles know the client."""
    return request.client.host if request.client else ""


def anonymous_writes_allowed(settings: Settings) -> bool:
    """The ``anonymous_writes`` setting resolved against the address listened on."""
    if settings.anonymous_writes == "auto":
        return is_loopback(settings.host)
    return settings.anonymous_writes == "on"


class Authn:
    """Resolves the principal of a request (once) and guards writes."""

    def __init__(self, accounts: AccountService, settings: Settings) -> None:
        self.accounts = accounts
        self.anonymous_writes = anonymous_writes_allowed(settings)
        # Secure cookies need https; on loopback the tutorial runs plain http.
        self.secure_cookies = not is_loopback(settings.host)
        self.cookie = cookie_name(self.secure_cookies)
        self.allowed_origins = frozenset(settings.cors_origins)
        # The service's own origin, when configured, rather than one the Host header names.
        self.public_origin = settings.public_url

    async def principal(self, request: Request) -> Principal | None:
        """The caller, or ``None`` without credentials; ``AuthenticationRequired`` if the
        credentials sent are not (or no longer) valid."""
        state = request.scope.setdefault("state", {})
        if _STATE in state:
            cached: Principal | None = state[_STATE]
            return cached
        value, by_cookie = self._credentials(request)
        principal = None
        if value is not None:
            principal = await self.accounts.authenticate(value, client=client_address(request))
            if principal is None:
                raise AuthenticationRequired(
                    "The session or API token sent is unknown, expired, idle too long or "
                    "revoked; log in again."
                )
            if by_cookie and request.method not in _SAFE_METHODS:
                self._check_origin(request)
        state[_STATE] = principal
        return principal

    async def writer(self, request: Request) -> Principal | None:
        """The principal allowed to change events, or ``None`` for an allowed anonymous
        write; ``AuthenticationRequired`` (401) or ``Forbidden`` (403) otherwise."""
        principal = await self.principal(request)
        if principal is None:
            if self.anonymous_writes:
                return None
            raise AuthenticationRequired(
                "Creating, changing and deleting events needs an account: log in with "
                "POST /auth/login, or send a personal API token as Authorization: Bearer."
            )
        if not principal.can(Scope.EVENTS_WRITE):
            raise Forbidden("This API token may not change events: it lacks events:write.")
        return principal

    async def required(self, request: Request) -> Principal:
        """The principal; ``AuthenticationRequired`` without one (account routes)."""
        principal = await self.principal(request)
        if principal is None:
            raise AuthenticationRequired("This needs you to be logged in.")
        return principal

    def _credentials(self, request: Request) -> tuple[str | None, bool]:
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthenticationRequired("Send credentials as Authorization: Bearer <token>.")
            return value.strip(), False
        cookie = request.cookies.get(self.cookie)
        return (cookie, True) if cookie else (None, False)

    def _check_origin(self, request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is None:
            return  # not a browser's cross-origin request (browsers send Origin on those)
        own = self.public_origin or f"{request.url.scheme}://{request.url.netloc}"
        if origin != own and origin not in self.allowed_origins:
            raise Forbidden(
                f"A change made with the session cookie must come from this service's own "
                f"pages, not from {origin}."
            )
