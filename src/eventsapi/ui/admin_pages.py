"""The admin pages: ``/ui/admin/users`` (list, create, change a role, unlock, end
sessions) and ``/ui/admin/webhooks`` (endpoints, their recent deliveries, retry one).

Every page and form calls the API's admin handlers (``/users``, ``/webhooks``), so who may
do what is the API's rule: without the ``admin`` scope the page is the API's refusal
(401 signed out, 403 for a member), and nothing is changed.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import quote

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.accounts import AccountsAPI
from eventsapi.api.users import UsersAPI
from eventsapi.api.webhooks import WebhooksAPI
from eventsapi.auth.administration import GENERATED_PASSWORD_BYTES
from eventsapi.ui.api_calls import Answer, call
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Page, Visit, Visits

__all__ = ["AdminPages"]

USERS: Final = "/ui/admin/users"
WEBHOOKS: Final = "/ui/admin/webhooks"
DELIVERIES_SHOWN: Final = 10
ROLES: Final = ("member", "admin")


class UserAction(msgspec.Struct, frozen=True):
    """A form of the users' table: the API's handler it calls (on ``/users/{name}/`` and
    ``tail``), and the notice once it is done."""

    handler: Callable[[UsersAPI, Request], Awaitable[Response]]
    method: str
    tail: str
    notice: str
    sends_role: bool = False
    """Whether the form's role is sent (``{"role": ...}``); the others send no body."""


USER_ACTIONS: Final = {
    "role": UserAction(UsersAPI.set_role, "PUT", "role", "role", sends_role=True),
    "unlock": UserAction(UsersAPI.unlock, "POST", "unlock", "unlocked"),
    "end-sessions": UserAction(UsersAPI.end_sessions, "DELETE", "sessions", "ended"),
}
NOTICES: Final = {
    "role": "The role is changed; that account's sessions ended.",
    "unlocked": "The account is unlocked.",
    "ended": "That account's sessions ended.",
    "retried": "The message is due again now; its retry schedule started over.",
}


class AdminPages:
    """The admin page family."""

    def __init__(
        self, visits: Visits, users: UsersAPI, accounts: AccountsAPI, webhooks: WebhooksAPI
    ) -> None:
        self.visits = visits
        self.users_api = users
        self.accounts = accounts
        self.webhooks_api = webhooks

    # -- users -------------------------------------------------------------------------

    async def users(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return await self._users(visit, notice=notice)

    async def create_user(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        username = form.get("username").strip()
        typed = form.get("password")
        password = typed or secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        role = form.get("role") or "member"
        answer = await call(
            self.users_api.create_user,
            request,
            "POST",
            "/users",
            json={"username": username, "password": password, "role": role},
        )
        if answer.ok:
            created = answer.json()["username"]
            # Shown this once, on this answer only: never in a URL nor stored.
            shown = None if typed else password
            return await self._users(visit, created=created, generated=shown)
        typed_back = {"username": username, "role": role}
        return await self._users(
            visit, errors=answer.problem().by_field(), typed=typed_back, status=answer.status
        )

    def user_action(self, name: str) -> Page:
        """The handler of one of the users' table's forms (``USER_ACTIONS[name]``): the
        API's call on the account of its path, then the users again with a notice."""
        action = USER_ACTIONS[name]

        async def act(request: Request) -> Response:
            visit, form = await self.visits.form(request)
            username: str = request.path_params["username"]
            answer = await call(
                functools.partial(action.handler, self.users_api),
                request,
                action.method,
                f"/users/{quote(username, safe='')}/{action.tail}",
                path_params={"username": username},
                json={"role": form.get("role")} if action.sends_role else None,
            )
            return await self._after(visit, answer, action.notice)

        return act

    async def _after(self, visit: Visit, answer: Answer, notice: str) -> Response:
        if answer.ok:
            return see_other(f"{USERS}?notice={notice}")
        return await self._users(visit, errors=answer.problem().by_field(), status=answer.status)

    async def _users(
        self,
        visit: Visit,
        *,
        notice: str | None = None,
        created: str | None = None,
        generated: str | None = None,
        errors: dict[str, list[str]] | None = None,
        typed: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        listed = await call(self.users_api.list_users, visit.request, "GET", "/users")
        if not listed.ok:
            return self._refused(visit, listed)
        context = {
            "users": listed.json(),
            "roles": ROLES,
            "notice": notice,
            "created": created,
            "generated": generated,
            "errors": errors or {},
            "typed": typed or {"username": "", "role": "member"},
        }
        return self.visits.page(visit, "admin_users.html", context, status=status)

    # -- webhooks ----------------------------------------------------------------------

    async def webhooks(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return await self._webhooks(visit, notice=notice)

    async def retry(self, request: Request) -> Response:
        visit, _ = await self.visits.form(request)
        endpoint: str = request.path_params["id"]
        delivery: str = request.path_params["delivery"]
        answer = await call(
            self.webhooks_api.retry,
            request,
            "POST",
            f"/webhooks/{quote(endpoint, safe='')}/deliveries/{quote(delivery, safe='')}/retry",
            path_params={"id": endpoint, "delivery": delivery},
        )
        if answer.ok:
            return see_other(f"{WEBHOOKS}?notice=retried")
        return await self._webhooks(visit, errors=answer.problem().by_field(), status=answer.status)

    async def _webhooks(
        self,
        visit: Visit,
        *,
        notice: str | None = None,
        errors: dict[str, list[str]] | None = None,
        status: int = 200,
    ) -> Response:
        request = visit.request
        listed = await call(self.webhooks_api.list_webhooks, request, "GET", "/webhooks")
        if not listed.ok:
            return self._refused(visit, listed)
        endpoints: list[dict[str, Any]] = listed.json()
        for endpoint in endpoints:
            found = await call(
                self.webhooks_api.deliveries,
                request,
                "GET",
                f"/webhooks/{endpoint['id']}/deliveries",
                path_params={"id": endpoint["id"]},
                query=[("limit", str(DELIVERIES_SHOWN))],
            )
            endpoint["deliveries"] = found.json() if found.ok else []
        context = {
            "endpoints": endpoints,
            "notice": notice,
            "errors": errors or {},
            "failed": failed,
        }
        return self.visits.page(visit, "admin_webhooks.html", context, status=status)

    def _refused(self, visit: Visit, answer: Answer) -> Response:
        problem = answer.problem()
        return self.visits.page(visit, "error.html", {"problem": problem}, status=problem.status)


def failed(attempt: dict[str, Any]) -> bool:
    """Whether a delivery attempt failed (no answer, or not a 2xx)."""
    code = attempt.get("status_code")
    return code is None or not 200 <= code < 300
