"""Account security, ``/ui/account/...``: the account's overview, the password, two-step
verification (with its recovery codes), active sessions, API tokens and the audit log.

Every change calls the API's own handler (``POST /auth/password``, ``/auth/totp``...), so
the password policy and its advice, the re-authentication a change needs, its throttles,
the new session a change of privilege gives and the audit entries are the API's; a page
shows the API's answers. Only a session may do any of this (``auth/own_account.py``), and
the UI's visitors always have one.

**Secrets shown once** (an API token's value, the recovery codes) are in the answer to the
form that made them, and nowhere else: pages are ``Cache-Control: no-store``, and nothing
is kept on the server to show them again (only their hashes are). The recovery codes'
download is a form of that page that sends the codes back, to be returned as a text file
(``recovery_codes``): the browser holds them already, the answer is an attachment with
``no-store``, and the form needs the page's CSRF token, so no other site can make the
service answer with a file of its choosing. A ``data:`` or ``blob:`` link would need either
an inline script or ``data:`` in the pages' CSP, which allows neither.

**The QR code** is the API's SVG (``auth/totp.py``: segno's, made from our own
``otpauth://`` URI, no script, no style attribute, no external reference), put in the page
as it is: an ``<img>`` of a ``data:`` URI is refused by the CSP (``img-src`` falls back to
``'self'``), and a route serving the image would need the secret kept on the server or put
in a URL.
"""

from __future__ import annotations

import re
from typing import Any, Final

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.accounts import AccountsAPI
from eventsapi.errors import BadRequest
from eventsapi.ui.api_calls import Answer, Problem, call
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Visit, Visits

__all__ = ["AccountPages", "sign_in_first"]

NOTICES: Final = {
    "password-changed": "Your password is changed. Your other sessions have ended.",
    "two-step-off": "Two-step verification is off.",
}
_FIELDS: Final = {"totp": "code", "password": "current_password"}
_CODES: Final = re.compile(r"[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}")
_MAX_CODES: Final = 20
_MISMATCH: Final = "The two new passwords differ: type the same one twice."


def sign_in_first(request: Request) -> Response:
    """The sign-in page for a signed-out visitor, then back to this page (or to the
    account's, after a form: its path answers no GET)."""
    back = request.url.path if request.method in ("GET", "HEAD") else "/ui/account"
    return see_other(f"/ui/sign-in?next={back}")


def errors_of(problem: Problem, fallback: str, fields: dict[str, str]) -> dict[str, list[str]]:
    """The problem's messages by form field: a failed re-authentication beside ``fallback``
    (the password, which it may be about); the API's members renamed by ``fields``."""
    if problem.status in (401, 429):
        return {fallback: [problem.detail]}
    return {fields.get(name, name): messages for name, messages in problem.by_field().items()}


def status_of(answer: Answer) -> int:
    """A form shown again: 422, or the API's refusal of the service (429, 503)."""
    return answer.status if answer.status in (429, 503) else 422


def took_over(visit: Visit, answer: Answer) -> None:
    """After a change that replaced the session (a password change, two-step verification
    turned on): the page's forms are for the new one, whose cookie the answer sets."""
    visit.session = answer.json()["token"]
    visit.cookies += answer.set_cookies


class AccountPages:
    """``/ui/account``, its password and two-step verification pages."""

    def __init__(self, visits: Visits, accounts: AccountsAPI) -> None:
        self.visits = visits
        self.accounts = accounts

    async def overview(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        if visit.user is None:
            return sign_in_first(request)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return self.visits.page(visit, "account.html", {"notice": notice, "section": ""})

    # -- password ---------------------------------------------------------------------

    async def password_form(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        if visit.user is None:
            return sign_in_first(request)
        return self._password_page(visit, {}, [])

    async def change_password(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        new = form.get("new_password")
        if new != form.get("new_password_again"):
            errors = {"new_password_again": [_MISMATCH]}
            return self._password_page(visit, errors, [], status=422)
        body: dict[str, Any] = {
            "current_password": form.get("current_password"),
            "new_password": new,
        }
        code = form.get("code").strip()
        if code:
            body["totp"] = code
        answer = await call(
            self.accounts.change_password, request, "POST", "/auth/password", json=body
        )
        if answer.ok:
            took_over(visit, answer)
            return see_other("/ui/account?notice=password-changed", cookies=visit.cookies)
        problem = answer.problem()
        if problem.slug == "second-factor-required":
            errors = {"code": ["Enter the code your authenticator app shows now."]}
        else:
            errors = errors_of(problem, "current_password", _FIELDS)
        return self._password_page(visit, errors, problem.suggestions, status=status_of(answer))

    def _password_page(
        self,
        visit: Visit,
        errors: dict[str, list[str]],
        suggestions: list[str],
        *,
        status: int = 200,
    ) -> Response:
        context = {"errors": errors, "suggestions": suggestions, "section": "password"}
        return self.visits.page(visit, "account_password.html", context, status=status)

    # -- two-step verification ----------------------------------------------------------

    async def two_step(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        if visit.user is None:
            return sign_in_first(request)
        return self._two_step_page(visit, "status", {})

    async def start_two_step(self, request: Request) -> Response:
        visit, _ = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        answer = await call(self.accounts.start_totp, request, "POST", "/auth/totp")
        if not answer.ok:
            return self._two_step_page(visit, "status", errors_of(answer.problem(), "", {}), 403)
        setup = answer.json()
        return self._two_step_page(
            visit,
            "scan",
            {},
            qr=Markup(setup["qr_svg"]),  # noqa: S704 - segno's SVG of our own URI: see above
            secret=_grouped(setup["secret"]),
        )

    async def confirm_two_step(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        body = {"code": form.get("code").strip(), "password": form.get("current_password")}
        answer = await call(
            self.accounts.confirm_totp, request, "POST", "/auth/totp/confirm", json=body
        )
        if answer.ok:
            codes: list[str] = answer.json()["recovery_codes"]
            took_over(visit, answer)
            return self._two_step_page(visit, "codes", {}, codes=codes)
        problem = answer.problem()
        if problem.status == 403:  # no set-up started, or it changed meanwhile
            return self._two_step_page(visit, "status", errors_of(problem, "", {}), 403)
        errors = errors_of(problem, "current_password", _FIELDS)
        return self._two_step_page(visit, "scan", errors, status_of(answer))

    async def turn_off_two_step(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        body = {"password": form.get("current_password"), "code": form.get("code").strip()}
        answer = await call(self.accounts.disable_totp, request, "DELETE", "/auth/totp", json=body)
        if answer.ok:
            return see_other("/ui/account?notice=two-step-off", cookies=visit.cookies)
        problem = answer.problem()
        errors = errors_of(problem, "current_password", _FIELDS)
        if problem.suggestions:  # the password is too short to stand alone: how to fix it
            errors.setdefault("", []).extend(problem.suggestions)
        return self._two_step_page(visit, "status", errors, status_of(answer))

    async def recovery_codes(self, request: Request) -> Response:
        """The recovery codes the page of their one showing sends back, as a text file."""
        visit, form = await self.visits.form(request)
        if visit.user is None:
            return sign_in_first(request)
        codes = [value for name, value in form.pairs if name == "code"]
        if not 1 <= len(codes) <= _MAX_CODES or not all(_CODES.fullmatch(c) for c in codes):
            raise BadRequest("These are not recovery codes of this service.")
        text = "\n".join(
            [
                f"eventsapi recovery codes for {visit.user.username}",
                "Each works once, in place of a code from your authenticator app.",
                "",
                *codes,
                "",
            ]
        )
        response = Response(text, media_type="text/plain; charset=utf-8")
        response.headers["content-disposition"] = (
            'attachment; filename="eventsapi-recovery-codes.txt"'
        )
        response.headers["cache-control"] = "no-store"
        return response

    def _two_step_page(
        self,
        visit: Visit,
        stage: str,
        errors: dict[str, list[str]],
        status: int = 200,
        **more: Any,
    ) -> Response:
        context = {
            "stage": stage,
            "errors": errors,
            "section": "two-step",
            "qr": None,
            "secret": "",
            "codes": [],
            **more,
        }
        return self.visits.page(visit, "account_two_step.html", context, status=status)


def _grouped(secret: str) -> str:
    """The secret in groups of four, as people type it into an app."""
    return " ".join(secret[start : start + 4] for start in range(0, len(secret), 4))
