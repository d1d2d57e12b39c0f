"""User management over HTTP, for admins: create accounts, list them, unlock, set roles,
end their sessions.

Every route needs the ``admin`` scope: an admin's session has it, an admin's API token
only if created with it, a member never (403). ``AccountService`` checks it again.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api import account_io as io
from eventsapi.api.accounts import AccountRoutes
from eventsapi.auth.principal import Principal
from eventsapi.domain.accounts import Scope
from eventsapi.errors import Forbidden

__all__ = ["UsersAPI"]


class UsersAPI(AccountRoutes):
    """Handlers for ``/users`` and ``/users/{username}/...``."""

    async def _admin(self, request: Request) -> Principal:
        principal = await self.authn.required(request)
        if not principal.can(Scope.ADMIN):
            raise Forbidden("Managing users needs the admin scope.")
        return principal

    async def create_user(self, request: Request) -> Response:
        admin = await self._admin(request)
        data = await self.read(request, io.NewUser)
        user = await self.accounts.admin.create_user(
            data.username, data.password, role=data.role, actor=admin
        )
        return io.respond(io.user_info(user), 201)

    async def list_users(self, request: Request) -> Response:
        admin = await self._admin(request)
        users = await self.accounts.admin.users(admin)
        return io.respond([io.user_info(user) for user in users])

    async def unlock(self, request: Request) -> Response:
        admin = await self._admin(request)
        user = await self.accounts.admin.unlock(admin, request.path_params["username"])
        return io.respond(io.user_info(user))

    async def set_role(self, request: Request) -> Response:
        admin = await self._admin(request)
        data = await self.read(request, io.RoleChange)
        user = await self.accounts.admin.set_role(admin, request.path_params["username"], data.role)
        return io.respond(io.user_info(user))

    async def end_sessions(self, request: Request) -> Response:
        admin = await self._admin(request)
        ended = await self.accounts.admin.end_sessions(admin, request.path_params["username"])
        return io.respond(io.SessionsEnded(terminated=ended))
