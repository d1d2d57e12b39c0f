"""Who can act as the account: ``/ui/account/sessions`` (the active sessions, to end one or
all the others), ``/ui/account/tokens`` (API tokens: create, shown once, revoke) and
``/ui/account/activity`` (the account's audit log).

Each calls the API's handler (``GET /auth/sessions``, ``DELETE /auth/sessions/{id}``,
``POST /auth/tokens``, ``GET /auth/audit``...): a session ended here is ended on every
replica at once, and the browser that had it is signed out at its next request.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.account_tokens import TokensAPI
from eventsapi.api.accounts import AccountsAPI
from eventsapi.domain.accounts import Scope
from eventsapi.errors import NotFound
from eventsapi.ui.account import errors_of, sign_in_first, status_of
from eventsapi.ui.api_calls import call
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Visit, Visits

__all__ = ["AccessPages", "browser_of"]

NOTICES: Final = {
    "terminated": "The session is ended: that browser is signed out.",
    "revoked": "The token is revoked: it no longer works.",
    "others-ended": "Every other session is ended: only this browser is signed in.",
}
_ACTIVITY_PAGE: Final = 50
_ID: Final = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_LIFETIMES: Final = {"30": 30, "90": 90, "365": 365, "never": None}
_SCOPES: Final = {
    Scope.EVENTS_READ: "Read events",
    Scope.EVENTS_WRITE: "Create and change events, register",
    Scope.ADMIN: "Administer (users, every event)",
}
_KINDS: Final = {
    "login": "Signed in",
    "login_failed": "A sign-in failed",
    "locked": "Locked after failed sign-ins",
    "unlocked": "Unlocked",
    "logout": "Signed out",
    "password_changed": "Password changed",
    "totp_enrolled": "Two-step verification set-up started",
    "totp_enabled": "Two-step verification turned on",
    "totp_disabled": "Two-step verification turned off",
    "recovery_code_used": "A recovery code was used",
    "session_terminated": "Session ended",
    "token_created": "API token created",
    "token_revoked": "API token revoked",
    "token_used": "API token used",
    "user_created": "Account created",
    "role_changed": "Role changed",
    "user_deleted": "Account deleted",
}
_BROWSERS: Final = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS: Final = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Windows", "Windows"),
    ("Linux", "Linux"),
)


def browser_of(user_agent: str) -> str:
    """A session's browser as people name it (``Firefox on Linux``), from its
    ``User-Agent``; the field itself, shortened, when it names no browser we know."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser is None:
        return user_agent[:60] or "An unknown client"
    return browser if system is None else f"{browser} on {system}"


class AccessPages:
    """Sessions, API tokens and the audit log."""

    def __init__(self, visits: Visits, accounts: AccountsAPI, tokens: TokensAPI) -> None:
        self.visits = visits
        self.accounts = accounts
        self.tokens = tokens

    # -- sessions ---------------------------------------------------------------------

    async def sessions(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        if visit.user is None:
            return sign_in_first(request)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return await self._sessions_page(visit, request, notice)

    async def terminate(self, request: Request) -> Response:
        visit, _ = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        session_id = request.path_params["id"]
        answer = await call(
            self.accounts.terminate_session,
            request,
            "DELETE",
            f"/auth/sessions/{quote(session_id, safe='')}",
            path_params={"id": session_id},
        )
        if not answer.ok:
            raise NotFound(answer.problem().detail)
        if answer.set_cookies:  # it was this browser's own: signed out
            visit.new_key()
            cookies = [*visit.cookies, *answer.set_cookies]
            return see_other("/ui/?notice=signed-out", cookies=cookies)
        return see_other("/ui/account/sessions?notice=terminated", cookies=visit.cookies)

    async def terminate_others(self, request: Request) -> Response:
        visit, _ = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        answer = await call(
            self.accounts.terminate_other_sessions, request, "DELETE", "/auth/sessions"
        )
        if not answer.ok:
            raise NotFound(answer.problem().detail)
        return see_other("/ui/account/sessions?notice=others-ended", cookies=visit.cookies)

    async def _sessions_page(self, visit: Visit, request: Request, notice: str | None) -> Response:
        answer = await call(self.accounts.list_sessions, request, "GET", "/auth/sessions")
        sessions = answer.json() if answer.ok else []
        for session in sessions:
            session["browser"] = browser_of(session["user_agent"])
        context = {"sessions": sessions, "notice": notice, "section": "sessions"}
        return self.visits.page(visit, "account_sessions.html", context)

    # -- API tokens -------------------------------------------------------------------

    async def token_list(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        if visit.user is None:
            return sign_in_first(request)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return await self._tokens_page(visit, request, notice=notice)

    async def create_token(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        scopes = [value for name, value in form.pairs if name == "scopes"]
        lifetime = form.get("lifetime") or "90"
        typed = {"name": form.get("name"), "scopes": scopes, "lifetime": lifetime}
        body: dict[str, Any] = {"name": form.get("name"), "scopes": scopes}
        if lifetime in _LIFETIMES:
            body["expires_in_days"] = _LIFETIMES[lifetime]
        answer = await call(self.tokens.create_token, request, "POST", "/auth/tokens", json=body)
        if answer.ok:
            return await self._tokens_page(visit, request, created=answer.json())
        errors = errors_of(answer.problem(), "", {"expires_in_days": "lifetime"})
        return await self._tokens_page(
            visit, request, errors=errors, typed=typed, status=status_of(answer)
        )

    async def revoke(self, request: Request) -> Response:
        visit, _ = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        token_id = request.path_params["id"]
        answer = await call(
            self.tokens.revoke_token,
            request,
            "DELETE",
            f"/auth/tokens/{quote(token_id, safe='')}",
            path_params={"id": token_id},
        )
        if not answer.ok:
            raise NotFound(answer.problem().detail)
        return see_other("/ui/account/tokens?notice=revoked", cookies=visit.cookies)

    async def _tokens_page(
        self,
        visit: Visit,
        request: Request,
        *,
        notice: str | None = None,
        created: dict[str, Any] | None = None,
        errors: dict[str, list[str]] | None = None,
        typed: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        answer = await call(self.tokens.list_tokens, request, "GET", "/auth/tokens")
        held = visit.principal.scopes if visit.principal is not None else frozenset()
        context = {
            "tokens": answer.json() if answer.ok else [],
            "notice": notice,
            "created": created,
            "errors": errors or {},
            "typed": typed or {"name": "", "scopes": [], "lifetime": "90"},
            "scopes": [(scope.value, label) for scope, label in _SCOPES.items() if scope in held],
            "section": "tokens",
        }
        return self.visits.page(visit, "account_tokens.html", context, status=status)

    # -- audit log --------------------------------------------------------------------

    async def activity(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        if visit.user is None:
            return sign_in_first(request)
        query = [("limit", str(_ACTIVITY_PAGE))]
        before = request.query_params.get("before", "")
        if _ID.fullmatch(before):
            query.append(("before", before))
        answer = await call(self.accounts.audit, request, "GET", "/auth/audit", query=query)
        if not answer.ok:
            raise NotFound(answer.problem().detail)
        entries = answer.json()
        for entry in entries:
            entry["what"] = _KINDS.get(entry["kind"], entry["kind"])
            entry["details"] = [
                f"{name.replace('_', ' ')}: {_shown(value)}"
                for name, value in sorted(entry["detail"].items())
            ]
        older = None
        if answer.headers.get("link") and entries:
            older = f"/ui/account/activity?before={entries[-1]['id']}"
        context = {"entries": entries, "older": older, "section": "activity"}
        return self.visits.page(visit, "account_activity.html", context)


def _shown(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "none" if value is None else str(value)
