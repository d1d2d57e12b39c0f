"""Who makes a request, and whether they may change events: the HTTP side of accounts.

Credentials come in ``Authorization: Bearer <token>`` (a session token from
``POST /auth/login`` or a personal API token) or in the session cookie that the login sets
for browsers. Reads of events need none. Writes need a principal with ``events:write``,
unless anonymous writes are on (setting ``anonymous_writes``): by default only for a local
request (``api/clients.py``: from this machine, with no proxy's forwarding field) while the
service listens on loopback, so the tutorial's curl walk-through works on one machine and
nothing is writable by others, including those who reach it through a reverse proxy.

Each credential verified is recorded in ``identities`` (``api/identities.py``), which rate
limits key on.

A browser sends cookies by itself, so a write authenticated by the cookie alone must come
from one of our own pages: its ``Origin``, when sent, must be the service's own origin or
one the CORS setting allows (the SameSite=Strict cookie already keeps other sites' requests
from carrying it; this also stops sibling subdomains).
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.types import Scope as ASGIScope

from eventsapi.api.clients import client_of, is_loopback
from eventsapi.api.identities import RecentIdentities
from eventsapi.auth.principal import Principal
from eventsapi.auth.service import AccountService
from eventsapi.auth.sessions import cookie_name
from eventsapi.domain.accounts import Scope, User
from eventsapi.errors import AuthenticationRequired, EventsAPIError, Forbidden
from eventsapi.settings import Settings

__all__ = ["Authn", "client_address", "identity", "is_loopback"]

PRINCIPAL: Final = "principal"
"""The key of ``request.state`` (``scope["state"]``) holding the request's principal, once
looked up (``None``: anonymous); the access log reads the user id there."""
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def client_address(request: Request) -> str:
    """The client's address, as the audit log and the throttles know the client: the peer's,
    or the one trusted proxies forwarded (``api/clients.py``)."""
    return client_of(request.scope).address


def identity(user: User) -> str:
    """The rate-limit key of ``user``'s sessions and tokens."""
    return f"user:{user.id}"


class Authn:
    """Resolves the principal of a request (once) and guards writes."""

    def __init__(
        self,
        accounts: AccountService,
        settings: Settings,
        identities: RecentIdentities | None = None,
    ) -> None:
        self.accounts = accounts
        self.identities = identities if identities is not None else RecentIdentities()
        self.mode = settings.anonymous_writes
        self.on_loopback = is_loopback(settings.host)
        self.allowed_origins = frozenset(settings.cors_origins)
        # The service's own origin, when configured, rather than one the Host header names.
        self.public_origin = settings.public_url

    def anonymous_writes(self, scope: ASGIScope) -> bool:
        """Whether this request may change events without an account."""
        if self.mode == "auto":
            return self.on_loopback and client_of(scope).local
        return self.mode == "on"

    def secure_cookies(self, scope: ASGIScope) -> bool:
        """Whether the session cookie is ``Secure``: always, but for plain http on loopback
        (the tutorial), where browsers would drop it."""
        return not self.on_loopback or client_of(scope).scheme == "https"

    def cookie(self, scope: ASGIScope) -> str:
        """The session cookie's name for this request (``__Host-`` when ``Secure``)."""
        return cookie_name(self.secure_cookies(scope))

    async def principal(self, request: Request) -> Principal | None:
        """The caller, or ``None`` without credentials; ``AuthenticationRequired`` if the
        credentials sent are not (or no longer) valid."""
        state = request.scope.setdefault("state", {})
        if PRINCIPAL in state:
            cached: Principal | None = state[PRINCIPAL]
            return cached
        value, by_cookie = self._credentials(request)
        principal = None
        if value is not None:
            principal = await self.accounts.signin.authenticate(
                value, client=client_address(request)
            )
            if principal is None:
                raise AuthenticationRequired(
                    "The session or API token sent is unknown, expired, idle too long or "
                    "revoked; log in again."
                )
            self.identities.remember(value, identity(principal.user))
            if by_cookie and request.method not in _SAFE_METHODS:
                self._check_origin(request)
        state[PRINCIPAL] = principal
        return principal

    async def verify(self, value: str, scope: ASGIScope) -> str | None:
        """The rate-limit identity of the credential ``value`` (recorded in ``identities``),
        or ``None`` if it is not a live session or token: ``RateLimits.verify``."""
        try:
            principal = await self.accounts.signin.authenticate(
                value, client=client_of(scope).address
            )
        except EventsAPIError:
            return None  # the database is away: the request spends its address's budget
        if principal is None:
            return None
        found = identity(principal.user)
        self.identities.remember(value, found)
        return found

    async def writer(self, request: Request) -> Principal | None:
        """The principal allowed to change events, or ``None`` for an allowed anonymous
        write; ``AuthenticationRequired`` (401) or ``Forbidden`` (403) otherwise."""
        principal = await self.principal(request)
        if principal is None:
            if self.anonymous_writes(request.scope):
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
        cookie = request.cookies.get(self.cookie(request.scope))
        return (cookie, True) if cookie else (None, False)

    def own_origin(self, request: Request) -> str:
        """The service's own origin, as its pages' requests name it in ``Origin``."""
        return self.public_origin or f"{request.url.scheme}://{request.url.netloc}"

    def _check_origin(self, request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is None:
            return  # not a browser's cross-origin request (browsers send Origin on those)
        own = self.own_origin(request)
        if origin != own and origin not in self.allowed_origins:
            raise Forbidden(
                f"A change made with the session cookie must come from this service's own "
                f"pages, not from {origin}."
            )
