"""One request to a page: who is signed in, the form token, the cookies to send back, the
form sent; and the error page a request gets when something goes wrong.

A page asks ``Authn`` who the visitor is, as the API does. A session cookie that is no
longer valid (expired, idle, ended elsewhere) is not an error for a page: it is shown
signed out, and the cookie is removed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import msgspec
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api import problems
from eventsapi.api.authn import PRINCIPAL, Authn
from eventsapi.api.body import read_body
from eventsapi.auth.principal import Principal
from eventsapi.auth.sessions import clear_cookie_header
from eventsapi.domain.accounts import User
from eventsapi.errors import AuthenticationRequired, BadRequest
from eventsapi.ui import csrf
from eventsapi.ui.api_calls import Answer
from eventsapi.ui.render import Renderer

__all__ = ["Form", "Visit", "Visits"]

FORM: Final = "application/x-www-form-urlencoded"
MAX_FIELDS: Final = 100
_STATE: Final = "ui_visit"  # request.state: the visit, for the error page's header

Page = Callable[[Request], Awaitable[Response]]


class Form:
    """A form's fields, as sent (``application/x-www-form-urlencoded``)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str) -> str:
        """The first value of ``name``; ``""`` when the form has none."""
        return next((value for key, value in self.pairs if key == name), "")

    def values(self) -> dict[str, str]:
        """Each field's first value, for a form shown again as it was typed."""
        found: dict[str, str] = {}
        for key, value in self.pairs:
            found.setdefault(key, value)
        return found


class Visit(msgspec.Struct):
    """Who the visitor is, and what their pages need to be sent with."""

    request: Request
    principal: Principal | None
    session: str
    """The session cookie as the visitor's next request will send it (``""``: none)."""
    key: str
    """The visitor's CSRF key (``csrf.py``)."""
    secure: bool
    """Whether cookies are ``Secure`` (``Authn.secure_cookies``)."""
    cookies: list[bytes] = msgspec.field(default_factory=list)
    """``Set-Cookie`` values the answer must carry."""

    @property
    def user(self) -> User | None:
        return None if self.principal is None else self.principal.user

    @property
    def csrf_token(self) -> str:
        return csrf.token(self.key, self.session)

    def new_key(self) -> None:
        """Give the browser a new CSRF key (at sign-in and sign-out)."""
        self.key = csrf.new_key()
        self.cookies.append(csrf.cookie_header(self.key, self.secure))


class Visits:
    """Starts visits, reads forms, and renders pages and error pages."""

    def __init__(self, authn: Authn, renderer: Renderer, *, max_body_bytes: int) -> None:
        self.authn = authn
        self.renderer = renderer
        self.max_body_bytes = max_body_bytes

    async def start(self, request: Request) -> Visit:
        """The visit of ``request``: who sends it (its cookies read once)."""
        secure = self.authn.secure_cookies(request.scope)
        cookies = []
        session = request.cookies.get(self.authn.cookie(request.scope), "")
        try:
            principal = await self.authn.principal(request)
        except AuthenticationRequired:
            principal, session = None, ""
            cookies.append(clear_cookie_header(secure).encode())
            # The API's handlers the page calls share this state: they read as anonymous
            # too, where a stale session sent to the API itself is a 401.
            request.scope.setdefault("state", {})[PRINCIPAL] = None
        key = csrf.key_of(request, secure)
        if key is None:
            key = csrf.new_key()
            cookies.append(csrf.cookie_header(key, secure))
        visit = Visit(request, principal, session, key, secure, cookies)
        request.state.ui_visit = visit
        return visit

    async def form(self, request: Request) -> tuple[Visit, Form]:
        """The visit and the form of a POST, once it is known to come from our own page
        (``CsrfRefused`` otherwise, before anything is changed)."""
        csrf.check_origin(request, self.authn.own_origin(request))
        sent_key = csrf.key_of(request, self.authn.secure_cookies(request.scope))
        body = await read_body(request, accepted=(FORM,), limit=self.max_body_bytes)
        try:
            pairs = parse_qsl(
                body.decode("ascii"),
                keep_blank_values=True,
                max_num_fields=MAX_FIELDS,
                errors="strict",
            )
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("The form is not one of this site's.") from None
        form = Form(pairs)
        visit = await self.start(request)
        csrf.check_token(sent_key, visit.session, form.get(csrf.FIELD) or None)
        return visit, form

    def page(
        self, visit: Visit | None, template: str, context: Mapping[str, Any], *, status: int = 200
    ) -> Response:
        """``template`` for ``visit``: its header knows who is signed in, its forms carry
        the visitor's token, and the visit's cookies are set."""
        return self.renderer.page(
            template,
            {"visit": visit, **context},
            status=status,
            cookies=() if visit is None else visit.cookies,
        )

    def guarded(self, page: Page) -> Page:
        """``page``, whose errors are shown as an error page (the problem the API would
        send, as HTML) rather than a problem document."""

        async def guarded_page(request: Request) -> Response:
            try:
                return await page(request)
            except Exception as exc:  # noqa: BLE001 - shown as the API's problem, as a page
                answer = problems.from_error(request, exc)  # logs what it does not expect
            visit: Visit | None = getattr(request.state, _STATE, None)
            shown = Answer(answer.status_code, Headers(raw=answer.raw_headers), bytes(answer.body))
            problem = shown.problem()
            problem.title = _TITLES.get(problem.status, problem.title)
            response = self.page(visit, "error.html", {"problem": problem}, status=problem.status)
            for name, value in answer.raw_headers:
                if name in (b"retry-after", b"allow"):
                    response.raw_headers.append((name, value))
            return response

        return guarded_page


_TITLES: Final = {
    400: "This request cannot be read",
    403: "Not allowed",
    404: "Not found",
    413: "Too much to send",
    429: "Too many requests",
    503: "The service is busy or unavailable",
}
