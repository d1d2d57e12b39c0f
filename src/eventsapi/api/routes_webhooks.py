"""The route table's entries for webhooks: ``/webhooks`` and ``/webhooks/{id}/...`` (admin).

The handlers are in ``api/webhooks.py``; the bodies and documents in ``api/webhook_io.py``.
"""

from __future__ import annotations

from typing import Any, Final

from eventsapi.api import webhook_io as wire
from eventsapi.api.body import JSON, MERGE_PATCH
from eventsapi.api.openapi import BODY_ERRORS, problem, ref
from eventsapi.api.openapi_accounts import ok
from eventsapi.api.routes import Access, Limits, Op, Route
from eventsapi.api.webhooks import DELIVERIES_PAGE, MAX_DELIVERIES_PAGE

__all__ = ["WEBHOOK_ROUTES"]

_TAG: Final = "webhooks"
_ADMIN_ONLY: Final = {"403": problem("Needs the admin scope")}
_NOT_FOUND: Final = {"404": problem("No webhook has this id")}
_URL_REFUSED: Final = {
    "422": problem(
        "Invalid fields (`errors` points at each): an unknown type, or a URL that is refused "
        "(not https on a public service, credentials in it, or a host that resolves to a "
        "loopback, private, link-local or metadata address)"
    )
}
_ID: Final = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The webhook's id (from `GET /webhooks`).",
    "schema": {"type": "string"},
}
_DELIVERY: Final = {
    "name": "delivery",
    "in": "path",
    "required": True,
    "description": "The message's id (`message_id` of its attempts; its `webhook-id`).",
    "schema": {"type": "string", "pattern": wire.MESSAGE_ID_PATTERN},
}


def _body(kind: type, media_type: str) -> dict[str, Any]:
    # A reference to the schema generated from the struct: one model in generated clients.
    return {"required": True, "content": {media_type: {"schema": ref(kind)}}}


def _route(path: str, *ops: Op, parameters: tuple[dict[str, Any], ...] = (_ID,)) -> Route:
    return Route(path=path, ops=ops, limits=Limits.OTHER, tag=_TAG, parameters=parameters)


_SHOWN_ONCE: Final = (
    "The signing secret (`secret`) is in this answer only: no other answer shows it."
)

WEBHOOK_ROUTES: Final = (
    _route(
        "/webhooks",
        Op(
            method="GET",
            handler=lambda s: s.webhooks.list_webhooks,
            access=Access.ADMIN,
            operation_id="listWebhooks",
            summary="Every webhook endpoint, oldest first, without secrets (admin)",
            responses={
                "200": ok("Endpoints", {"type": "array", "items": ref(wire.WebhookInfo)}),
                **_ADMIN_ONLY,
            },
        ),
        Op(
            method="POST",
            handler=lambda s: s.webhooks.create,
            access=Access.ADMIN,
            operation_id="createWebhook",
            summary="Register an endpoint for changes; its signing secret is shown once (admin)",
            description="The endpoint gets the changes made from now on, signed as the "
            "Standard Webhooks specification says. " + _SHOWN_ONCE,
            body=_body(wire.NewWebhook, JSON),
            responses={
                "201": ok(
                    "Registered",
                    ref(wire.CreatedWebhook),
                    Location={
                        "description": "URL of the endpoint",
                        "required": True,
                        "schema": {"type": "string", "format": "uri-reference"},
                    },
                ),
                **BODY_ERRORS,
                **_URL_REFUSED,
                **_ADMIN_ONLY,
            },
        ),
        parameters=(),
    ),
    _route(
        "/webhooks/{id}",
        Op(
            method="GET",
            handler=lambda s: s.webhooks.get,
            access=Access.ADMIN,
            operation_id="getWebhook",
            summary="One endpoint, without its secret (admin)",
            responses={
                "200": ok("The endpoint", ref(wire.WebhookInfo)),
                **_ADMIN_ONLY,
                **_NOT_FOUND,
            },
        ),
        Op(
            method="PATCH",
            handler=lambda s: s.webhooks.patch,
            access=Access.ADMIN,
            operation_id="updateWebhook",
            summary="Change an endpoint's URL, types, description, or turn it on or off (admin)",
            description="A JSON Merge Patch (RFC 7396); sent as `application/json`, it is "
            "read the same.",
            body=_body(wire.WebhookPatch, MERGE_PATCH),
            responses={
                "200": ok("Changed", ref(wire.WebhookInfo)),
                **BODY_ERRORS,
                **_URL_REFUSED,
                **_ADMIN_ONLY,
                **_NOT_FOUND,
            },
        ),
        Op(
            method="DELETE",
            handler=lambda s: s.webhooks.delete,
            access=Access.ADMIN,
            operation_id="deleteWebhook",
            summary="Remove an endpoint, with its queued messages and attempts (admin)",
            responses={"204": ok("Removed", None), **_ADMIN_ONLY, **_NOT_FOUND},
        ),
    ),
    _route(
        "/webhooks/{id}/rotate-secret",
        Op(
            method="POST",
            handler=lambda s: s.webhooks.rotate_secret,
            access=Access.ADMIN,
            operation_id="rotateWebhookSecret",
            summary="A new signing secret; the old one signs beside it for 24 hours (admin)",
            description="Until `previous_secret_until`, `webhook-signature` carries a "
            "signature with each secret, the new one first. " + _SHOWN_ONCE,
            responses={"200": ok("Rotated", ref(wire.CreatedWebhook)), **_ADMIN_ONLY, **_NOT_FOUND},
        ),
    ),
    _route(
        "/webhooks/{id}/test",
        Op(
            method="POST",
            handler=lambda s: s.webhooks.test,
            access=Access.ADMIN,
            operation_id="testWebhook",
            summary="Send a `webhook.test` message now: the attempt's result (admin)",
            description="Sent once, not retried; a 200 whatever the receiver answered "
            "(`status_code` and `error` say what that was).",
            responses={
                "200": ok("The attempt", ref(wire.DeliveryAttempt)),
                **_ADMIN_ONLY,
                **_NOT_FOUND,
            },
        ),
    ),
    _route(
        "/webhooks/{id}/deliveries",
        Op(
            method="GET",
            handler=lambda s: s.webhooks.deliveries,
            access=Access.ADMIN,
            operation_id="listWebhookDeliveries",
            summary="The endpoint's delivery attempts, newest first (admin)",
            parameters=[
                {
                    "name": "limit",
                    "in": "query",
                    "description": f"Attempts per page (default {DELIVERIES_PAGE}).",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERIES_PAGE},
                },
                {
                    "name": "before",
                    "in": "query",
                    "description": "Attempts older than this one: the last id of the previous "
                    "page (the `Link` header has the next page's URL).",
                    "schema": {"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{26}$"},
                },
            ],
            responses={
                "200": ok(
                    "Attempts",
                    {"type": "array", "items": ref(wire.DeliveryAttempt)},
                    Link={
                        "description": 'The next page (rel="next") when this one is full',
                        "schema": {"type": "string"},
                    },
                ),
                "400": problem("An invalid query parameter (`parameter` names it)"),
                **_ADMIN_ONLY,
                **_NOT_FOUND,
            },
        ),
    ),
    _route(
        "/webhooks/{id}/deliveries/{delivery}/retry",
        Op(
            method="POST",
            handler=lambda s: s.webhooks.retry,
            access=Access.ADMIN,
            operation_id="retryWebhookDelivery",
            summary="Send a message again now, its retry schedule started over (admin)",
            responses={
                "202": ok("Due now", ref(wire.RetryQueued)),
                **_ADMIN_ONLY,
                "404": problem("No webhook has this id, or it has no such message"),
            },
        ),
        parameters=(_ID, _DELIVERY),
    ),
)
