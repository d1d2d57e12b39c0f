"""The OpenAPI 3.1 description of the service, built from the same types that validate.

Schemas come from msgspec (the structs in ``domain.events``), so the document
cannot drift from what the server accepts. Rules JSON Schema can say are added
here (one of ``title``/``Title``; time zone names; the merge patch's members);
the ones it cannot say (``ends_at >= starts_at``; an ``id`` in a PUT or PATCH
body is the one in the URL) are stated in descriptions, and
``tests/schemathesis/hooks.py`` tells schemathesis about them.

The ``paths`` are the route table's (``api/route_table.py``): ``operation`` makes each
operation from its entry, adding what follows from the route (its tag, the answers
every operation shares, the 429 of a rate-limited route) and from who may call it (its
``security``, the 401 and 403 answers). This module keeps what cannot be derived: the
document's info, the shared problem answers, and the rules added to the schemas.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from eventsapi import __version__
from eventsapi.api.changes import change_schemas
from eventsapi.api.openapi_accounts import SECURITY_SCHEMES, SIGNED_IN, account_schemas
from eventsapi.api.openapi_slo import slo_schemas
from eventsapi.api.problems import PROBLEM_JSON, PROBLEM_TYPES
from eventsapi.api.registrations import registration_schemas
from eventsapi.api.routes import SIGNED_IN_ACCESS, Access, Limits, Op, Route
from eventsapi.api.trash import trash_schemas
from eventsapi.api.webhook_io import webhook_schemas
from eventsapi.domain.events import (
    COUNTS,
    LEGACY_KEYS,
    OWNER,
    SERVER_OWNED,
    VERSION_STAMPS,
    Event,
    EventInput,
)

Schema = dict[str, Any]


def ref(target: str | type) -> Schema:
    """A reference to a schema: one made here (by name), or a msgspec Struct's, which
    ``schema_components`` names after its class."""
    name = target if isinstance(target, str) else target.__name__
    return {"$ref": f"#/components/schemas/{name}"}


def problem(description: str, headers: dict[str, Any] | None = None) -> Schema:
    response: Schema = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": ref("Problem")}},
    }
    if headers:
        response["headers"] = headers
    return response


ALLOW = {"Allow": {"description": "Methods this resource allows", "schema": {"type": "string"}}}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}

RATE_LIMIT_FIELDS = {
    "RateLimit": {
        "description": "What is left of the limit (draft-ietf-httpapi-ratelimit-headers)",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": "The limit of the route group: requests per window",
        "schema": {"type": "string"},
    },
}
COMMON_ERRORS = {
    "405": problem("Method not allowed here", ALLOW),
    "429": problem(
        "Over the rate limit of this route group for this client: wait `Retry-After` "
        "seconds (`too-many-requests`)",
        {**RETRY_AFTER, **RATE_LIMIT_FIELDS},
    ),
    "500": problem("An unexpected failure (logged; nothing changed unless a 2xx was sent)"),
    "503": problem("The database is unavailable", RETRY_AFTER),
}
# The probes and /metrics are never rate limited (api/ratelimits.py).
UNLIMITED_ERRORS = {status: r for status, r in COMMON_ERRORS.items() if status != "429"}
BODY_ERRORS = {
    "400": problem("Malformed JSON or empty body"),
    "413": problem("Body over the size limit"),
    "415": problem("Unsupported Content-Type"),
    "422": problem("Invalid fields; `errors` lists each"),
}


def _nullable(schema: Schema) -> Schema:
    """``schema`` or ``null``, without a default (a patch has none)."""
    schema = {k: v for k, v in schema.items() if k != "default"}
    if {"type": "null"} in schema.get("anyOf", []):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _event_patch(event_input: Schema) -> Schema:
    """EventInput's members, each also ``null`` (clears it) but the title (required)."""
    properties = {}
    for name, schema in event_input["properties"].items():
        if name in ("title", "Title") or name in SERVER_OWNED or name in COUNTS:
            properties[name] = schema
        else:
            properties[name] = _nullable(schema)
    return {
        "type": "object",
        "description": (
            "A JSON Merge Patch (RFC 7396) of an event: members to set, `null` to clear an "
            "optional member (the title cannot be cleared). Unknown members are refused, "
            "even as `null`. `id`, if given, must be the id in the URL. The patched event "
            "must be a valid EventInput: `ends_at` must not be before `starts_at`."
        ),
        "properties": properties,
        "additionalProperties": False,
        "not": event_input["not"],
    }


def _event(event: Schema) -> Schema:
    """Event as the server sends it: every member, always."""
    properties = event["properties"]
    instant = {"type": "string", "format": "date-time"}
    for name in ("created_at", "updated_at"):
        properties[name] = instant
    for name in ("starts_at", "ends_at"):
        properties[name] = {"anyOf": [instant, {"type": "null"}]}
    properties["version"] = {"type": "integer", "minimum": 1}
    properties[OWNER] = {
        "type": "string",
        "description": "The id of the account that created the event; absent when none did "
        "(anonymous writes, events stored before accounts). A member may change only the "
        "events they own, an admin any.",
    }
    window = "registrations open; absent when not set (always open until the event starts)"
    properties["registration_opens_at"] = {**instant, "description": f"When {window}"}
    properties["registration_closes_at"] = {
        **instant,
        "description": "When registrations close; absent when not set",
    }
    read_only = "Read only: ignored if sent back."
    properties["registered"] = {
        "type": "integer",
        "minimum": 0,
        "readOnly": True,
        "description": f"Confirmed registrations. {read_only}",
    }
    properties["waitlisted"] = {
        "type": "integer",
        "minimum": 0,
        "readOnly": True,
        "description": f"Registrations on the waitlist. {read_only}",
    }
    properties["spots_left"] = {
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}],
        "readOnly": True,
        "description": "The capacity less the confirmed registrations, never below 0; `null` "
        f"without a capacity. {read_only}",
    }
    absent = {OWNER, "registration_opens_at", "registration_closes_at"}
    event["required"] = [name for name in properties if name not in absent]
    return event


# RFC 6902 section 4: the members each operation needs (others are ignored).
_PATCH_OPS = {
    "add": ("path", "value"),
    "remove": ("path",),
    "replace": ("path", "value"),
    "move": ("from", "path"),
    "copy": ("from", "path"),
    "test": ("path", "value"),
}
# RFC 6901: empty (the whole document) or "/"-prefixed tokens, "~" escaped as "~0" or "~1".
_POINTER = {"type": "string", "pattern": "^(/([^~/]|~[01])*)*$"}


def _patch_operation(op: str, members: tuple[str, ...]) -> Schema:
    """One JSON Patch operation object, with its required members."""
    properties: Schema = {"op": {"const": op}}
    for member in members:
        properties[member] = {"description": "Any JSON value"} if member == "value" else _POINTER
    if op == "remove":
        # removing the whole document ("") is refused: an event cannot be nothing
        properties["path"] = {**_POINTER, "minLength": 1}
    return {
        "type": "object",
        "title": op,
        "properties": properties,
        "required": ["op", *members],
    }


def _components() -> dict[str, Schema]:
    _, schemas = msgspec.json.schema_components(
        (EventInput, Event), ref_template="#/components/schemas/{name}"
    )
    event_input = schemas["EventInput"]
    event_input["description"] = (
        "An event as a client sends it. `title` (or the tutorial's `Title`) is required. "
        "The tutorial's keys `ID`, `Title` and `Description` are accepted in place of "
        "`id`, `title` and `description`, not beside them. `ends_at` must not be before "
        "`starts_at`. `created_at`, `updated_at`, `version`, `registered`, `waitlisted` and "
        "`spots_left` are the server's: they are accepted, so a fetched event can be sent "
        "back, and ignored. `owner` is "
        "the server's too: leave it out (it may be sent back exactly as GET gave it; any "
        "other value is refused)."
    )
    event_input["anyOf"] = [{"required": ["title"]}, {"required": ["Title"]}]
    event_input["not"] = {
        "anyOf": [{"required": [ours, legacy]} for legacy, ours in LEGACY_KEYS.items()]
    }
    properties = event_input["properties"]
    zones = _time_zones()
    properties["timezone"] = {
        "anyOf": [
            {
                "type": "string",
                "enum": zones,
                "x-enum-varnames": [_zone_member(z) for z in zones],
            },
            {"type": "null"},
        ],
        "description": "IANA time zone name",
        "default": None,
    }
    # The server takes a whole float (80.0) as a capacity: that is JSON Schema's
    # "integer" already, so the float branch of the type is not shown.
    capacity = properties["capacity"]
    capacity["anyOf"] = [branch for branch in capacity["anyOf"] if branch.get("type") != "number"]
    for server_owned in (*VERSION_STAMPS, *COUNTS):
        properties[server_owned] = {"description": "Server-owned: ignored if sent."}
    # Not a value a client may choose: the schema allows none (the server also takes
    # the event's own owner back unchanged, which no schema can say).
    properties[OWNER] = {"not": {}, "description": "Server-owned: leave it out."}
    schemas["EventPatch"] = _event_patch(event_input)
    schemas["Event"] = _event(schemas["Event"])
    schemas["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "parameter": {"type": "string", "description": "The offending query parameter"},
            "accepted": {"type": "array", "items": {"type": "string"}},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string", "description": "JSON Pointer to the field"},
                        "detail": {"type": "string"},
                    },
                    "required": ["pointer", "detail"],
                },
            },
        },
        "required": ["type", "title", "status", "detail"],
    }
    schemas["JsonPatch"] = {
        "type": "array",
        "description": "A JSON Patch (RFC 6902): operations applied in order, all or none, "
        "to the event as GET returns it, but for its counts. Server-owned members (`id`, "
        "`version`, `created_at`, `updated_at`, `owner`) may be tested, not changed. The "
        "counts (`registered`, `waitlisted`, `spots_left`) change without a new version and "
        "are not members of the document patched: a `test` of one is a 409 (no such member), "
        "an `add` a 422.",
        "items": {"oneOf": [_patch_operation(op, members) for op, members in _PATCH_OPS.items()]},
    }
    schemas["Welcome"] = {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "service": {"type": "string"},
            "version": {"type": "string"},
            "links": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["message", "service", "version", "links"],
    }
    schemas.update(change_schemas())
    schemas.update(slo_schemas())
    schemas.update(account_schemas())
    schemas.update(webhook_schemas())
    schemas.update(trash_schemas())
    schemas.update(registration_schemas())
    schemas["Health"] = {
        "type": "object",
        "properties": {"status": {"type": "string"}},
        "required": ["status"],
    }
    return schemas


@functools.cache
def _time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _zone_member(zone: str) -> str:
    """The name of ``zone`` in a generated client's enum (``x-enum-varnames``, read by
    openapi-python-client and OpenAPI Generator): ``GMT+0`` and ``GMT-0`` are
    ``GMT_PLUS_0`` and ``GMT_MINUS_0``, not ``GMT0`` as a name made of the value's
    letters and digits would be, which is ``GMT0``'s own."""
    signed = re.sub(r"[+-](?=[0-9])", lambda sign: "_PLUS_" if sign[0] == "+" else "_MINUS_", zone)
    return re.sub(r"[^A-Za-z0-9]+", "_", signed).strip("_").upper()


_SESSION_ONLY: Final = (
    " Needs a login session (bearer session token or cookie): an API token gets 403."
)
_UNAUTHENTICATED: Final = {"401": problem("No valid credentials: log in, or send a token")}
_WRITE_REFUSALS: Final = {
    "401": problem("Invalid credentials, or none while anonymous writes are off"),
    "403": problem(
        "A token without the `events:write` scope, or a session cookie from a foreign Origin"
    ),
}
# Security stated before the body and the answers (an operation anyone may call), or after
# them (one that needs an account): the order the document has always had.
_SECURITY_FIRST: Final = {
    Access.UNAUTHENTICATED: [],
    Access.OPTIONAL: [{}, *SIGNED_IN],
}


def operation(route: Route, op: Op, *, anonymous_writes: bool) -> Schema:
    """The OpenAPI operation of ``op``, a method of ``route``: the one way to make one."""
    if op.document is not None:
        made = {**op.document()}  # made elsewhere (api/openapi_slo.py), as it is
    else:
        made = {"operationId": op.operation_id, "summary": op.summary}
        description = op.description
        if op.access is Access.SESSION:
            description = description + _SESSION_ONLY if description else _SESSION_ONLY.strip()
        if description is not None:
            made["description"] = description
        if op.parameters:
            made["parameters"] = list(op.parameters)
        if op.access in _SECURITY_FIRST:
            made["security"] = _SECURITY_FIRST[op.access]
        if op.body is not None:
            made["requestBody"] = op.body
        made["responses"] = _responses(route, op)
    if op.access is Access.WRITER:
        # Anyone on a loopback service (anonymous writes on), else an account; credentials
        # that are sent must be valid either way (401).
        made["security"] = [*SIGNED_IN, {}] if anonymous_writes else SIGNED_IN
        made["responses"] = dict(sorted({**made["responses"], **_WRITE_REFUSALS}.items()))
    elif op.access in SIGNED_IN_ACCESS:
        made["security"] = SIGNED_IN
    if route.tag is not None:
        made["tags"] = [route.tag]
    return made


def _responses(route: Route, op: Op) -> Schema:
    # The probes and /metrics are never rate limited: no 429.
    common = UNLIMITED_ERRORS if route.limits is Limits.NONE else COMMON_ERRORS
    if op.access in SIGNED_IN_ACCESS:
        ordered = dict(sorted({**_UNAUTHENTICATED, **op.responses}.items()))  # a specific 401 wins
        return {**ordered, **{status: r for status, r in common.items() if status not in ordered}}
    return {**op.responses, **common, **op.overrides}


def openapi_paths(table: Sequence[Route], *, anonymous_writes: bool) -> dict[str, Schema]:
    """The ``paths`` of the document: every described route of ``table``, in its order."""
    paths: dict[str, Schema] = {}
    for route in table:
        if route.tag is None:
            continue
        item: Schema = {"parameters": list(route.parameters)} if route.parameters else {}
        for op in route.ops:
            if op.documented:
                item[op.method.lower()] = operation(route, op, anonymous_writes=anonymous_writes)
        paths[route.path] = item
    return paths


def openapi_document(
    table: Sequence[Route], *, anonymous_writes: bool, public_url: str = ""
) -> bytes:
    """The whole document of ``table``. Without a ``public_url`` it names no server:
    clients resolve its paths against its own URL."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "eventsapi",
            "version": __version__,
            "description": (
                "Events REST API. Errors are RFC 9457 problem details; problem types: "
                + ", ".join(f"`{p.uri}`" for p in PROBLEM_TYPES.values())
                + "."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "events", "description": "The events resource"},
            {
                "name": "changes",
                "description": "The change log: what changed to events, for incremental sync",
            },
            {"name": "service", "description": "The welcome page and the health probes"},
            {
                "name": "accounts",
                "description": "Login, sessions, two-step verification, "
                "API tokens, the audit log, and user management",
            },
            {"name": "slo", "description": "Service level objectives, SLA reports, metrics"},
            {
                "name": "webhooks",
                "description": "Signed webhooks: endpoints that receive every change (admin)",
            },
        ],
        "paths": openapi_paths(table, anonymous_writes=anonymous_writes),
        "components": {"schemas": _components(), "securitySchemes": SECURITY_SCHEMES},
    }
    if public_url:
        document["servers"] = [{"url": public_url}]
    return msgspec.json.encode(document)
