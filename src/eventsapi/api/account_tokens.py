"""Personal API tokens over HTTP: create (the value shown once), list, revoke.

Only a login session may manage tokens (``AccountService`` refuses an API token: a leaked
token cannot mint itself successors), and a token gets no scope its owner lacks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from msgspec import UNSET
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api import account_io as io
from eventsapi.api.accounts import AccountRoutes
from eventsapi.api.authn import identity
from eventsapi.errors import FieldError, NotFound, ValidationFailed

__all__ = ["DEFAULT_TOKEN_DAYS", "TokensAPI"]

DEFAULT_TOKEN_DAYS: Final = 90
"""A token's lifetime when the request does not say: long-lived secrets should end by
themselves; ask for ``"expires_in_days": null`` explicitly for one that never does."""


class TokensAPI(AccountRoutes):
    """Handlers for ``/auth/tokens`` and ``/auth/tokens/{id}``."""

    async def create_token(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        data = await self.read(request, io.TokenRequest)
        if data.name.endswith("\n"):  # Python's "$" lets one through the pattern
            raise ValidationFailed(
                [FieldError("name", "A token's name is one line.")], subject="request"
            )
        days = DEFAULT_TOKEN_DAYS if data.expires_in_days is UNSET else data.expires_in_days
        token, value = await self.accounts.own.create_token(
            principal, data.name, data.scopes, None if days is None else timedelta(days=int(days))
        )
        created = io.NewToken(
            token=value,
            id=token.id,
            name=token.name,
            scopes=sorted(token.scopes),
            created_at=token.created_at,
            expires_at=token.expires_at,
        )
        self.authn.identities.remember(value, identity(principal.user))
        location = (b"location", f"/auth/tokens/{token.id}".encode())
        return io.respond(created, 201, [location])

    async def list_tokens(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        tokens = await self.accounts.own.tokens(principal)
        return io.respond([io.token_info(token) for token in tokens])

    async def revoke_token(self, request: Request) -> Response:
        principal = await self.authn.required(request)
        token_id: str = request.path_params["id"]
        if not io.is_id(token_id) or not await self.accounts.own.revoke_token(principal, token_id):
            raise NotFound("You have no active API token with this id.")
        return io.no_content()
