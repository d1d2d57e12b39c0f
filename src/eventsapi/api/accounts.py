"""The account routes over HTTP: login and logout, the caller's account, sessions,
password, two-step verification and audit log (``/auth/...``).

Each handler authenticates first (``Authn.required``), then reads the body, then calls
``AccountService``, which holds every rule; this module only translates. So a request
without valid credentials is refused (401) before its body is read, and the answer says
nothing about the body. API tokens (``api/account_tokens.py``) and the admin's user
management (``api/users.py``) are in modules of their own.

The service is taken from ``authn.accounts`` at each request, not kept here: the gate
and the routes then always use one and the same ``AccountService``.
"""

from __future__ import annotations

from typing import Final, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api import account_io as io
from eventsapi.api.authn import Authn, client_address, identity
from eventsapi.api.parameters import single_values, whole_number
from eventsapi.auth.principal import Principal
from eventsapi.auth.service import MAX_AUDIT_PAGE, AccountService
from eventsapi.auth.sessions import clear_cookie_header, cookie_header
from eventsapi.domain.accounts import User
from eventsapi.errors import AuthenticationRequired, BadRequest, NotFound, ValidationFailed

__all__ = ["AUDIT_PAGE", "AccountRoutes", "AccountsAPI"]

_T = TypeVar("_T")

AUDIT_PAGE: Final = 100
"""Audit entries per page when ``limit`` is not given."""
_AUDIT_PARAMETERS: Final = frozenset({"limit", "before"})


class AccountRoutes:
    """What every class of account routes holds: the gate (and through it, the service)
    and the body size limit. The route table (``api/routes_accounts.py``) maps paths and
    methods to their handlers."""

    def __init__(self, authn: Authn, *, max_body_bytes: int) -> None:
        self.authn = authn
        self.max_body_bytes = max_body_bytes

    @property
    def accounts(self) -> AccountService:
        return self.authn.accounts

    async def read(self, request: Request, kind: type[_T]) -> _T:
        """The JSON body as ``kind`` (400, 413, 415 or 422 when it cannot be)."""
        return await io.read_json(request, kind, limit=self.max_body_bytes)


class AccountsAPI(AccountRoutes):
    """Handlers for ``/auth/...``."""

    def _cookie(self, request: Request, token: str, user: User) -> tuple[bytes, bytes]:
        """The cookie of a new session, which rate limits know as ``user``'s from now on."""
        self.authn.identities.remember(token, identity(user))
        secure = self.authn.secure_cookies(request.scope)
        value = cookie_header(token, self.accounts.session_policy, secure)
        return (b"set-cookie", value.encode())

    def _clear_cookie(self, request: Request) -> tuple[bytes, bytes]:
        secure = self.authn.secure_cookies(request.scope)
        return (b"set-cookie", clear_cookie_header(secure).encode())

    # -- login and logout -------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        client = client_address(request)
        try:
            data = await self.read(request, io.LoginRequest)
        except ValidationFailed:
            await self.accounts.signin.refuse_login(client)  # 429 instead when the client must wait
            raise
        user, session, token = await self.accounts.signin.login(
            data.username,
            data.password,
            totp=data.totp,
            new_password=data.new_password,
            client=client,
            user_agent=request.headers.get("user-agent", ""),
        )
        result = io.LoginResult(
            token=token,
            session=io.session_info(session, current=True),
            user=io.user_info(user),
        )
        return io.respond(result, headers=[self._cookie(request, token, user)])

    async def logout(self, request: Request) -> Response:
        """End the session, and remove the cookie. Without a live session (none sent, or
        one that has expired or ended already) there is nothing to end: still 204, and
        the browser's stale cookie is removed all the same."""
        try:
            principal = await self.authn.principal(request)
        except AuthenticationRequired:
            principal = None
        if principal is not None:
            await self.accounts.signin.logout(principal)  # Forbidden for an API token
        return io.no_content([self._clear_cookie(request)])

    # -- the account ------------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        return io.respond(io.user_info(principal.user))

    # -- sessions ---------------------------------------------------------------------

    async def list_sessions(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        current = _current_session_id(principal)
        sessions = await self.accounts.own.sessions(principal)
        return io.respond(
            [io.session_info(session, current=session.id == current) for session in sessions]
        )

    async def terminate_session(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        session_id: str = request.path_params["id"]
        if not io.is_id(session_id) or not await self.accounts.own.terminate_session(
            principal, session_id
        ):
            # Unknown, ended already, or another user's: one answer for all three.
            raise NotFound("You have no active session with this id.")
        ended_own = session_id == _current_session_id(principal)
        return io.no_content([self._clear_cookie(request)] if ended_own else None)

    async def terminate_other_sessions(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        count = await self.accounts.own.terminate_other_sessions(principal)
        return io.respond(io.SessionsEnded(terminated=count))

    # -- password and two-step verification -------------------------------------------

    async def change_password(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        data = await self.read(request, io.PasswordChange)
        session, token = await self.accounts.own.change_password(
            principal, data.current_password, data.new_password, totp=data.totp
        )
        granted = io.SessionGranted(token=token, session=io.session_info(session, current=True))
        return io.respond(granted, headers=[self._cookie(request, token, principal.user)])

    async def start_totp(self, request: Request) -> Response:
        """No body is read: enrolment takes no input (a body, if sent, is ignored)."""
        principal = await self.authn.required(request)
        secret, uri, svg = await self.accounts.own.start_totp(principal)
        return io.respond(io.TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=svg))

    async def confirm_totp(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        data = await self.read(request, io.TotpConfirmation)
        codes, session, token = await self.accounts.own.confirm_totp(
            principal, data.code, password=data.password
        )
        enabled = io.TotpEnabled(
            recovery_codes=codes, token=token, session=io.session_info(session, current=True)
        )
        return io.respond(enabled, headers=[self._cookie(request, token, principal.user)])

    async def disable_totp(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        data = await self.read(request, io.TotpRemoval)
        await self.accounts.own.disable_totp(principal, data.password, data.code)
        return io.no_content()

    # -- audit ------------------------------------------------------------------------

    async def audit(self, request: Request) -> Response:
        """The caller's audit entries, newest first; a full page links to the next."""
        principal = await self.authn.required(request)
        limit, before = _audit_query(request)
        entries = await self.accounts.own.audit(principal, limit=limit, before=before)
        headers = []
        if len(entries) == limit:
            after = f"/auth/audit?limit={limit}&before={entries[-1].id}"
            headers.append((b"link", f'<{after}>; rel="next"'.encode()))
        return io.respond([io.audit_record(entry) for entry in entries], headers=headers)


def _current_session_id(principal: Principal) -> str | None:
    return None if principal.session is None else principal.session.id


def _audit_query(request: Request) -> tuple[int, str | None]:
    found = single_values(request.query_params, _AUDIT_PARAMETERS)
    limit = found.get("limit")
    before = found.get("before")
    if before is not None and not io.is_id(before):
        raise BadRequest(
            "before must be the id of an audit entry (from the previous page).",
            parameter="before",
        )
    if limit is None:
        return AUDIT_PAGE, before
    return whole_number("limit", limit, 1, MAX_AUDIT_PAGE), before
