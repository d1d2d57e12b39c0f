"""Signing in and out: ``/ui/sign-in`` (username and password), ``/ui/sign-in/code`` (the
two-step code or a recovery code, for accounts that have it), ``/ui/sign-in/new-password``
(a password of one's own, after an administrator reset it) and ``/ui/sign-out``.

Each step calls the API's own login (``POST /auth/login``) and logout, so the throttles,
the lockout, the audit log and the session cookie are exactly the API's: the UI only
carries what was typed between the steps (``sealed.py``) and shows the answers. Every
failure of the credentials reads the same (the API's one message), so the pages tell no
more than the API about which usernames exist.
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.accounts import AccountsAPI
from eventsapi.clock import Clock
from eventsapi.ui import sealed
from eventsapi.ui.api_calls import Answer, Problem, call
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Visit, Visits

__all__ = ["SignInPages", "safe_next"]

HOME: Final = "/ui/"
_NEXT: Final = re.compile(r"/ui/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,2000}")
_FIELDS: Final = {"totp": "code"}  # the API's member -> the form's field
_EXPIRED: Final = {
    "": [
        "The sign-in took more than 5 minutes, or its page is out of date: enter "
        "your username and password again."
    ]
}
_MISMATCH: Final = "The two new passwords differ: type the same one twice."


def safe_next(value: str) -> str:
    """Where to go after signing in: a page of the UI, never another site."""
    if _NEXT.fullmatch(value) and "//" not in value and "/.." not in value:
        return value
    return HOME


class SignInPages:
    """The sign-in steps and the sign-out."""

    def __init__(self, visits: Visits, accounts: AccountsAPI, clock: Clock) -> None:
        self.visits = visits
        self.accounts = accounts
        self.clock = clock

    async def form(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        following = safe_next(request.query_params.get("next", HOME))
        return self._step_one(visit, following)

    async def sign_in(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        username, password = form.get("username"), form.get("password")
        following = safe_next(form.get("next"))
        answer = await self._login(visit, username, password, None)
        if answer.ok:
            return self._signed_in(visit, answer, following)
        problem = answer.problem()
        if problem.slug == "second-factor-required":
            return self._step_two(visit, username, password, following, {})
        if problem.slug == "password-change-required":
            return self._new_password_step(visit, username, password, None, following, {})
        errors = _errors(problem, "password")
        response = self._step_one(visit, following, username, errors, status=_status(answer))
        _pass_on_retry_after(answer, response)
        return response

    async def second_step(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        following = safe_next(form.get("next"))
        credentials = sealed.unseal(visit.key, form.get("pending"), self.clock())
        if credentials is None:
            return self._step_one(visit, following, "", _EXPIRED, status=422)
        code = form.get("code").strip()
        answer = await self._login(visit, credentials.username, credentials.password, code)
        if answer.ok:
            return self._signed_in(visit, answer, following)
        problem = answer.problem()
        if problem.slug == "password-change-required":
            return self._new_password_step(
                visit, credentials.username, credentials.password, code, following, {}
            )
        if problem.slug == "second-factor-required":
            errors = {"code": ["Enter the code your authenticator app shows, or a recovery code."]}
        else:
            errors = _errors(problem, "code")
        response = self._step_two(
            visit, credentials.username, credentials.password, following, errors
        )
        response.status_code = _status(answer)
        _pass_on_retry_after(answer, response)
        return response

    async def new_password(self, request: Request) -> Response:
        """The last step after a reset: the API's login again, with the new password (and
        the code of the second step, or a newer one if that one has expired meanwhile)."""
        visit, form = await self.visits.form(request)
        following = safe_next(form.get("next"))
        credentials = sealed.unseal(visit.key, form.get("pending"), self.clock())
        if credentials is None:
            return self._step_one(visit, following, "", _EXPIRED, status=422)
        username, password = credentials.username, credentials.password
        code = form.get("code").strip() or credentials.code
        new, again = form.get("new_password"), form.get("new_password_again")
        if new != again:
            errors = {"new_password_again": [_MISMATCH]}
            return self._new_password_step(
                visit, username, password, code, following, errors, status=422
            )
        answer = await self._login(visit, username, password, code, new)
        if answer.ok:
            return self._signed_in(visit, answer, following)
        problem = answer.problem()
        suggestions = problem.suggestions
        if problem.status == 401 and code is not None:
            # The code was right a moment ago: it has expired since (30-second steps).
            errors = {"code": ["Enter the code your authenticator app shows now."]}
        elif problem.status == 401:
            return self._step_one(visit, following, username, _EXPIRED, status=422)
        else:
            errors = _errors(problem, "new_password")
        response = self._new_password_step(
            visit,
            username,
            password,
            code,
            following,
            errors,
            suggestions=suggestions,
            status=_status(answer),
        )
        _pass_on_retry_after(answer, response)
        return response

    async def sign_out(self, request: Request) -> Response:
        visit, _ = await self.visits.form(request)
        answer = await call(self.accounts.logout, request, "POST", "/auth/logout")
        visit.new_key()
        return see_other(f"{HOME}?notice=signed-out", cookies=[*visit.cookies, *answer.set_cookies])

    async def _login(
        self,
        visit: Visit,
        username: str,
        password: str,
        code: str | None,
        new_password: str | None = None,
    ) -> Answer:
        body: dict[str, Any] = {"username": username, "password": password}
        if code is not None:
            body["totp"] = code
        if new_password is not None:
            body["new_password"] = new_password
        return await call(
            self.accounts.login, visit.request, "POST", "/auth/login", json=body, credentials=False
        )

    def _signed_in(self, visit: Visit, answer: Answer, following: str) -> Response:
        visit.new_key()  # a new session: forms from before it are refused
        return see_other(following, cookies=[*visit.cookies, *answer.set_cookies])

    def _step_one(
        self,
        visit: Visit,
        following: str,
        username: str = "",
        errors: dict[str, list[str]] | None = None,
        *,
        status: int = 200,
    ) -> Response:
        context = {"step": 1, "next": following, "username": username, "errors": errors or {}}
        return self.visits.page(visit, "sign_in.html", context, status=status)

    def _step_two(
        self,
        visit: Visit,
        username: str,
        password: str,
        following: str,
        errors: dict[str, list[str]],
    ) -> Response:
        context = {
            "step": 2,
            "next": following,
            "username": username,
            "pending": sealed.seal(visit.key, username, password, self.clock()),
            "errors": errors,
        }
        return self.visits.page(visit, "sign_in.html", context)

    def _new_password_step(
        self,
        visit: Visit,
        username: str,
        password: str,
        code: str | None,
        following: str,
        errors: dict[str, list[str]],
        *,
        suggestions: list[str] | None = None,
        status: int = 200,
    ) -> Response:
        context = {
            "step": 3,
            "next": following,
            "username": username,
            "pending": sealed.seal(visit.key, username, password, self.clock(), code),
            "ask_code": code is not None and "code" in errors,
            "errors": errors,
            "suggestions": suggestions or [],
        }
        return self.visits.page(visit, "sign_in.html", context, status=status)


def _errors(problem: Problem, credentials_field: str) -> dict[str, list[str]]:
    """The problem's messages by form field: a failed or throttled sign-in's beside the
    password (or the code), as it may be about either."""
    if problem.status in (401, 429):
        return {credentials_field: [problem.detail]}
    return {_FIELDS.get(name, name): messages for name, messages in problem.by_field().items()}


def _pass_on_retry_after(answer: Answer, response: Response) -> None:
    """A throttled or busy sign-in's ``Retry-After``, on the page that says so."""
    retry_after = answer.headers.get("retry-after")
    if retry_after is not None:
        response.raw_headers.append((b"retry-after", retry_after.encode("latin-1")))


def _status(answer: Answer) -> int:
    """The page's status: the API's for a refusal of the service (429, 503), else 422 (a
    form shown again with what to fix)."""
    return answer.status if answer.status in (429, 503) else 422
