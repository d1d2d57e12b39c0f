"""Webhook management over HTTP, for admins: ``/webhooks`` and ``/webhooks/{id}/...``.

Every route needs the ``admin`` scope (403 for anyone else signed in, 401 without
credentials), checked before the body is read. The rules are the registry's
(``webhooks/registry.py``); this module only translates. An id that cannot be one of ours
is looked up nowhere: 404.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api import account_io as io
from eventsapi.api import webhook_io as wire
from eventsapi.api.authn import Authn
from eventsapi.api.body import JSON, MERGE_PATCH
from eventsapi.api.parameters import single_values, whole_number
from eventsapi.domain.accounts import Scope
from eventsapi.errors import BadRequest, Forbidden, NotFound
from eventsapi.webhooks.registry import Registry

__all__ = ["DELIVERIES_PAGE", "MAX_DELIVERIES_PAGE", "WebhooksAPI"]

DELIVERIES_PAGE: Final = 50
MAX_DELIVERIES_PAGE: Final = 200
_PAGE_PARAMETERS: Final = frozenset({"limit", "before"})


class WebhooksAPI:
    """Handlers of the webhook routes."""

    def __init__(self, authn: Authn, registry: Registry, *, max_body_bytes: int) -> None:
        self.authn = authn
        self.registry = registry
        self.max_body_bytes = max_body_bytes

    async def _admin(self, request: Request) -> None:
        principal = await self.authn.required(request)
        if not principal.can(Scope.ADMIN):
            raise Forbidden("Managing webhooks needs the admin scope.")

    def _id(self, request: Request) -> str:
        endpoint_id: str = request.path_params["id"]
        if not io.is_id(endpoint_id):
            raise NotFound(f"No webhook with id {endpoint_id!r}.")
        return endpoint_id

    async def create(self, request: Request) -> Response:
        await self._admin(request)
        data = await io.read_json(request, wire.NewWebhook, limit=self.max_body_bytes)
        endpoint, secret = await self.registry.create(data.url, data.types, data.description)
        now = self.registry.clock()
        location = (b"location", f"/webhooks/{endpoint.id}".encode())
        return io.respond(wire.created(endpoint, secret, now), 201, [location])

    async def list_webhooks(self, request: Request) -> Response:
        await self._admin(request)
        now = self.registry.clock()
        found = await self.registry.endpoints()
        return io.respond([wire.webhook_info(endpoint, now) for endpoint in found])

    async def get(self, request: Request) -> Response:
        await self._admin(request)
        endpoint = await self.registry.endpoint(self._id(request))
        return io.respond(wire.webhook_info(endpoint, self.registry.clock()))

    async def patch(self, request: Request) -> Response:
        await self._admin(request)
        endpoint_id = self._id(request)
        data = await io.read_json(
            request, wire.WebhookPatch, limit=self.max_body_bytes, accepted=(MERGE_PATCH, JSON)
        )
        endpoint = await self.registry.update(
            endpoint_id,
            url=data.url,
            types=data.types,
            description="" if data.description is None else data.description,
            enabled=data.enabled,
        )
        return io.respond(wire.webhook_info(endpoint, self.registry.clock()))

    async def delete(self, request: Request) -> Response:
        await self._admin(request)
        await self.registry.delete(self._id(request))
        return io.no_content()

    async def rotate_secret(self, request: Request) -> Response:
        await self._admin(request)
        endpoint, secret = await self.registry.rotate(self._id(request))
        return io.respond(wire.created(endpoint, secret, self.registry.clock()))

    async def test(self, request: Request) -> Response:
        await self._admin(request)
        attempt = await self.registry.test(self._id(request))
        return io.respond(wire.attempt_info(attempt))

    async def deliveries(self, request: Request) -> Response:
        await self._admin(request)
        endpoint_id = self._id(request)
        limit, before = _page(request)
        attempts = await self.registry.attempts(endpoint_id, before=before, limit=limit)
        headers = []
        if len(attempts) == limit:
            after = f"/webhooks/{endpoint_id}/deliveries?limit={limit}&before={attempts[-1].id}"
            headers.append((b"link", f'<{after}>; rel="next"'.encode()))
        return io.respond([wire.attempt_info(attempt) for attempt in attempts], headers=headers)

    async def retry(self, request: Request) -> Response:
        await self._admin(request)
        endpoint_id = self._id(request)
        message_id: str = request.path_params["delivery"]
        if not wire.is_message_id(message_id):
            raise NotFound(f"The webhook {endpoint_id!r} has no message {message_id!r}.")
        message = await self.registry.retry(endpoint_id, message_id)
        queued = wire.RetryQueued(message.id, message.status, message.next_attempt_at)
        return io.respond(queued, 202)


def _page(request: Request) -> tuple[int, str | None]:
    found = single_values(request.query_params, _PAGE_PARAMETERS)
    before = found.get("before")
    if before is not None and not io.is_id(before):
        raise BadRequest(
            "before must be the id of a delivery attempt (from the previous page).",
            parameter="before",
        )
    limit = found.get("limit")
    if limit is None:
        return DELIVERIES_PAGE, before
    return whole_number("limit", limit, 1, MAX_DELIVERIES_PAGE), before
