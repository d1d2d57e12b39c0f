"""The OpenAPI 3.1 description of the service, built from the same types that validate.

Schemas come from msgspec (the structs in ``domain.events``), so the document
cannot drift from what the server accepts. Rules JSON Schema can say are added
here (one of ``title``/``Title``; time zone names; the merge patch's members);
the ones it cannot say (``ends_at >= starts_at``; an ``id`` in a PUT or PATCH
body is the one in the URL) are stated in descriptions, and
``tests/schemathesis/hooks.py`` tells schemathesis about them.
"""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any, Final

import msgspec

from eventsapi import __version__
from eventsapi.api.body import JSON, JSON_PATCH, MERGE_PATCH
from eventsapi.api.idempotency import KEY_MAX_LENGTH
from eventsapi.api.listing import Q_MAX, STATUSES, TAGS_MAX_IN_QUERY
from eventsapi.api.openapi_accounts import (
    SECURITY_SCHEMES,
    SIGNED_IN,
    account_paths,
    account_schemas,
)
from eventsapi.api.openapi_slo import slo_paths, slo_schemas
from eventsapi.api.problems import PROBLEM_JSON, PROBLEM_TYPES
from eventsapi.domain.events import (
    DOT_SEGMENTS,
    ID_PATTERN,
    LEGACY_KEYS,
    OWNER,
    SERVER_OWNED,
    TAG_MAX,
    VERSION_STAMPS,
    Event,
    EventInput,
)
from eventsapi.domain.query import SORTS
from eventsapi.domain.text import NOT_SPACE, ONE_LINE

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str, headers: dict[str, Any] | None = None) -> Schema:
    response: Schema = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": _ref("Problem")}},
    }
    if headers:
        response["headers"] = headers
    return response


_ALLOW = {"Allow": {"description": "Methods this resource allows", "schema": {"type": "string"}}}
_LOCATION = {
    "Location": {
        "description": "URL of the event",
        "required": True,
        "schema": {"type": "string", "format": "uri-reference"},
    }
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}
_ETAG = {
    "ETag": {
        "description": "Strong entity tag of the event (changes with its version); send it "
        "back in If-Match to write only if nobody else has, in If-None-Match to revalidate",
        "required": True,
        "schema": {"type": "string"},
    }
}
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the saved response of an earlier request with "
        "the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
# RFC 9110 §13.1.1: "*" or a comma-separated list of entity tags. "*" is a branch of
# its own (not an alternative in the pattern) so that generators that build header
# values from letters and digits still find a valid value to send.
_ENTITY_TAG = r'(W/)?"[!#-~]*"'
_TAG_LIST: Schema = {
    "anyOf": [
        {"type": "string", "const": "*"},
        {"type": "string", "pattern": rf"^{_ENTITY_TAG}([ \t]*,[ \t]*{_ENTITY_TAG})*$"},
    ]
}


def _header(name: str, description: str, schema: Schema) -> Schema:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": schema,
    }


_IF_MATCH = _header(
    "If-Match",
    "Write only if the event's current ETag is one of these (or `*`: if it exists); "
    "else 412 and nothing changes.",
    _TAG_LIST,
)
_IF_NONE_MATCH_GET = _header(
    "If-None-Match",
    "Answer 304 Not Modified, without a body, if the event's ETag is one of these.",
    _TAG_LIST,
)
_IF_NONE_MATCH_PUT = _header(
    "If-None-Match",
    "`*`: create only; 412 if the event exists.",
    _TAG_LIST,
)
_IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "A unique key (e.g. a UUID) that makes retries safe: a retry with the same key and "
    "the same request gets the first response again (`Idempotent-Replayed: true`) "
    "without a second effect; the same key with another request gets 422; a retry while "
    "the first is running gets 409. Keys are kept at least 24 hours.",
    {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": "^[ -~]+$"},
)
_PRECONDITION_ERRORS = {
    "412": _problem("A precondition (If-Match / If-None-Match) does not hold; nothing changed"),
    "428": _problem(
        "Preconditions are required on this service (setting "
        "require_preconditions) and the request has none"
    ),
}

_RATE_LIMIT_FIELDS = {
    "RateLimit": {
        "description": "What is left of the limit (draft-ietf-httpapi-ratelimit-headers)",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": "The limit of the route group: requests per window",
        "schema": {"type": "string"},
    },
}
_COMMON_ERRORS = {
    "405": _problem("Method not allowed here", _ALLOW),
    "429": _problem(
        "Over the rate limit of this route group for this client: wait `Retry-After` "
        "seconds (`too-many-requests`)",
        {**_RETRY_AFTER, **_RATE_LIMIT_FIELDS},
    ),
    "500": _problem("An unexpected failure (logged; nothing changed unless a 2xx was sent)"),
    "503": _problem("The database is unavailable", _RETRY_AFTER),
}
# The probes and /metrics are never rate limited (api/ratelimits.py).
_UNLIMITED_ERRORS = {status: r for status, r in _COMMON_ERRORS.items() if status != "429"}
_BODY_ERRORS = {
    "400": _problem("Malformed JSON or empty body"),
    "413": _problem("Body over the size limit"),
    "415": _problem("Unsupported Content-Type"),
    "422": _problem("Invalid fields; `errors` lists each"),
}

_ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The event's id.",
    "schema": {
        "type": "string",
        "pattern": ID_PATTERN,
        # "." and ".." are dot segments: clients resolve /events/.. to /
        "not": {"enum": sorted(DOT_SEGMENTS)},
    },
    "example": "01JD7X3Q9M5T8V2W4Y6Z8A0B1C",
}

_EXAMPLE_EVENT = {
    "title": "Go meetup",
    "description": "Talks, then pizza.",
    "starts_at": "2025-03-01T18:00:00+01:00",
    "ends_at": "2025-03-01T21:00:00+01:00",
    "timezone": "Europe/Paris",
    "location": "Paris",
    "tags": ["go", "meetup"],
    "capacity": 80,
}
_EXAMPLE_TUTORIAL = {
    "ID": "1",
    "Title": "Introduction to Golang",
    "Description": "Come join us for a chance to learn how golang works and get to "
    "eventually try it out",
}
_INPUT_EXAMPLES = {
    "event": {"summary": "An event", "value": _EXAMPLE_EVENT},
    "tutorial": {"summary": "As the Go tutorial sends it", "value": _EXAMPLE_TUTORIAL},
}
_REPLACE_EXAMPLES = {
    "event": _INPUT_EXAMPLES["event"],
    "tutorial": {
        "summary": "With the Go tutorial's keys (the id is the one in the URL)",
        "value": {k: v for k, v in _EXAMPLE_TUTORIAL.items() if k != "ID"},
    },
}
_PATCH_EXAMPLES = {
    "retitle": {
        "summary": "Change the title, clear the description",
        "value": {"title": "Go meetup (moved)", "description": None},
    },
    "tutorial": {"summary": "As the Go tutorial sends it", "value": {"Title": "New title"}},
}

_JSON_PATCH_EXAMPLES = {
    "checked": {
        "summary": "Retitle only if still at version 1, and add a tag",
        "value": [
            {"op": "test", "path": "/version", "value": 1},
            {"op": "replace", "path": "/title", "value": "Go meetup (moved)"},
            {"op": "add", "path": "/tags/-", "value": "moved"},
        ],
    }
}


def _query(name: str, description: str, schema: Schema, **extra: Any) -> Schema:
    return {"name": name, "in": "query", "description": description, "schema": schema, **extra}


_INSTANT = {"type": "string", "format": "date-time"}
_LIST_PARAMETERS = [
    _query(
        "limit",
        "Events per page (default 50).",
        {"type": "integer", "minimum": 1, "maximum": 500},
        example=10,
    ),
    _query(
        "cursor",
        "Opaque position from a `Link` header (signed; a changed one gets 400).",
        # base64url without padding, as the server issues it
        {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
    ),
    _query(
        "starts_after",
        "Events starting at or after this instant (RFC 3339, with "
        "an offset). Events without a start are left out.",
        _INSTANT,
    ),
    _query(
        "starts_before",
        "Events starting before this instant (RFC 3339, with an "
        "offset). Events without a start are left out.",
        _INSTANT,
    ),
    _query(
        "tag",
        "Events with this tag; repeat for events with every one of them.",
        {
            "type": "array",
            "maxItems": TAGS_MAX_IN_QUERY,
            "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": TAG_MAX,
                # white space and control characters as domain/text.py spells them
                "pattern": f"^{NOT_SPACE}({ONE_LINE}*{NOT_SPACE})?$",
            },
        },
        style="form",
        explode=True,
    ),
    _query("status", "Events with this status.", {"type": "string", "enum": sorted(STATUSES)}),
    _query(
        "q",
        "Full-text search in title, description and location: events holding "
        "every word (case and accents ignored), best match first unless `sort` is given. "
        "Words are runs of letters and digits; a search without one finds nothing.",
        {"type": "string", "minLength": 1, "maxLength": Q_MAX},
    ),
    _query(
        "sort",
        "Order: by start (`starts_at`; events without a start last, or first "
        "with `-`), creation (`created_at`), last change (`updated_at`) or `title`; "
        "`-` for descending. Ties are broken by id.",
        {"type": "string", "enum": list(SORTS)},
    ),
    _query(
        "count",
        "`exact`: also count the matches, in `X-Total-Count`; past the ceiling (setting "
        "`max_exact_count`, 10,000 by default) the count stops and `X-Total-Count-Above` "
        "says so instead.",
        {"type": "string", "enum": ["exact"]},
    ),
]

_EVENT_LINKS = {
    "GetEvent": {
        "operationId": "getEvent",
        "parameters": {"id": "$response.body#/id"},
    },
    "PatchEvent": {
        "operationId": "patchEvent",
        "parameters": {"id": "$response.body#/id"},
    },
    "ReplaceEvent": {
        "operationId": "putEvent",
        "parameters": {"id": "$response.body#/id"},
    },
    "DeleteEvent": {
        "operationId": "deleteEvent",
        "parameters": {"id": "$response.body#/id"},
    },
}


def _event_response(
    description: str, *, location: bool = False, links: bool = False, replay: bool = False
) -> Schema:
    response: Schema = {
        "description": description,
        "headers": {**_ETAG, **(_LOCATION if location else {}), **(_REPLAYED if replay else {})},
        "content": {JSON: {"schema": _ref("Event")}},
    }
    if links:
        response["links"] = _EVENT_LINKS
    return response


def _input_body(media_types: tuple[str, ...], schema: str, examples: Schema) -> Schema:
    return {
        "required": True,
        "content": {media: {"schema": _ref(schema), "examples": examples} for media in media_types},
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
        if name in ("title", "Title") or name in SERVER_OWNED:
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
    event["required"] = [name for name in properties if name != OWNER]
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
        "`starts_at`. `created_at`, `updated_at` and `version` are the server's: "
        "they are accepted, so a fetched event can be sent back, and ignored. `owner` is "
        "the server's too: leave it out (it may be sent back exactly as GET gave it; any "
        "other value is refused)."
    )
    event_input["anyOf"] = [{"required": ["title"]}, {"required": ["Title"]}]
    event_input["not"] = {
        "anyOf": [{"required": [ours, legacy]} for legacy, ours in LEGACY_KEYS.items()]
    }
    properties = event_input["properties"]
    properties["timezone"] = {
        "anyOf": [{"type": "string", "enum": _time_zones()}, {"type": "null"}],
        "description": "IANA time zone name",
        "default": None,
    }
    # The server takes a whole float (80.0) as a capacity: that is JSON Schema's
    # "integer" already, so the float branch of the type is not shown.
    capacity = properties["capacity"]
    capacity["anyOf"] = [branch for branch in capacity["anyOf"] if branch.get("type") != "number"]
    for server_owned in VERSION_STAMPS:
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
        "to the event as GET returns it. Server-owned members (`id`, `version`, "
        "`created_at`, `updated_at`, `owner`) may be tested, not changed.",
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
    schemas.update(slo_schemas())
    schemas.update(account_schemas())
    schemas["Health"] = {
        "type": "object",
        "properties": {"status": {"type": "string"}},
        "required": ["status"],
    }
    return schemas


@functools.cache
def _time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _paths() -> dict[str, Schema]:
    create = {
        "summary": "Create an event",
        "description": "Creates an event. The id is generated (a ULID) unless the body gives one.",
        "parameters": [_IDEMPOTENCY_KEY],
        "requestBody": _input_body((JSON,), "EventInput", _INPUT_EXAMPLES),
        "responses": {
            "201": _event_response("Created", location=True, links=True, replay=True),
            **_BODY_ERRORS,
            "409": _problem(
                "The id is taken, or a request with this Idempotency-Key is still running"
            ),
            "422": _problem(
                "Invalid fields (`errors` lists each), or the Idempotency-Key was used for "
                "another request"
            ),
            **_COMMON_ERRORS,
        },
    }
    return {
        "/": {
            "get": {
                "operationId": "welcome",
                "summary": "Welcome, with links to the API and its documentation",
                "responses": {
                    "200": {
                        "description": "Welcome",
                        "content": {JSON: {"schema": _ref("Welcome")}},
                    },
                    **_COMMON_ERRORS,
                },
            }
        },
        "/events": {
            "get": {
                "operationId": "listEvents",
                "summary": "List, filter, search and sort events, a page at a time",
                "description": (
                    "Returns a JSON array. Without `sort`, events come in the order they "
                    "were created (with `q`: best match first). Pages are keyset pages: "
                    'the `Link` header has the URL of the next page (rel="next") and of '
                    'the previous one (rel="prev"), with the same filters and sort; page '
                    "N costs what page 1 does. A cursor only works with the filters and "
                    "sort it was issued for."
                ),
                "parameters": _LIST_PARAMETERS,
                "responses": {
                    "200": {
                        "description": "A page of events",
                        "headers": {
                            "Link": {
                                "description": 'RFC 8288 links to the next (rel="next") and '
                                'previous (rel="prev") pages',
                                "schema": {"type": "string"},
                            },
                            "X-Total-Count": {
                                "description": "With `count=exact`: how many events match, "
                                "on every page",
                                "schema": {"type": "string", "pattern": "^[0-9]+$"},
                            },
                            "X-Total-Count-Above": {
                                "description": "With `count=exact`, in place of "
                                "`X-Total-Count` when more events match than the service "
                                "counts (setting `max_exact_count`): more than this many match",
                                "schema": {"type": "string", "pattern": "^[0-9]+$"},
                            },
                        },
                        "content": {JSON: {"schema": {"type": "array", "items": _ref("Event")}}},
                    },
                    "400": _problem("An invalid query parameter (`parameter` names it)"),
                    **_COMMON_ERRORS,
                    "429": _problem(
                        "Over the rate limit of this route group for this client, or this "
                        "client already has as many listings running as it may "
                        "(`max_listings_per_client`): wait `Retry-After` seconds "
                        "(`too-many-requests`)",
                        {**_RETRY_AFTER, **_RATE_LIMIT_FIELDS},
                    ),
                    "503": _problem(
                        "The database is unavailable, or the listing ran past its time "
                        "budget (`query-too-expensive`: narrow it, or retry after "
                        "`Retry-After` seconds)",
                        _RETRY_AFTER,
                    ),
                },
            },
            "post": {"operationId": "createEvent", **create},
        },
        "/event": {
            "post": {
                "operationId": "createEventTutorial",
                **create,
                "summary": "Create an event (the Go tutorial's route)",
            }
        },
        "/events/{id}": {
            "parameters": [_ID_PARAMETER],
            "get": {
                "operationId": "getEvent",
                "summary": "Get one event",
                "parameters": [_IF_NONE_MATCH_GET],
                "responses": {
                    "200": _event_response("The event"),
                    "304": {"description": "Not modified (If-None-Match)", "headers": _ETAG},
                    "400": _problem("A malformed If-None-Match"),
                    "404": _problem("No such event"),
                    **_COMMON_ERRORS,
                },
            },
            "put": {
                "operationId": "putEvent",
                "summary": "Replace an event, or create it with this id",
                "parameters": [_IF_MATCH, _IF_NONE_MATCH_PUT],
                "requestBody": _input_body((JSON,), "EventInput", _REPLACE_EXAMPLES),
                "responses": {
                    "200": _event_response("Replaced"),
                    "201": _event_response("Created", location=True),
                    "404": _problem(
                        "No event can have this id (it breaks the id pattern), or the event "
                        "is another member's"
                    ),
                    **_BODY_ERRORS,
                    **_PRECONDITION_ERRORS,
                    **_COMMON_ERRORS,
                },
            },
            "patch": {
                "operationId": "patchEvent",
                "summary": "Change an event: JSON Merge Patch (RFC 7396) or JSON Patch (RFC 6902)",
                "description": "`application/json` is read as a merge patch too (as the "
                "tutorial sends it). A JSON Patch applies to the event as GET returns it, "
                "so a `test` of `/version` is an optimistic check.",
                "parameters": [_IF_MATCH, _IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        **{
                            media: {"schema": _ref("EventPatch"), "examples": _PATCH_EXAMPLES}
                            for media in (MERGE_PATCH, JSON)
                        },
                        JSON_PATCH: {
                            "schema": _ref("JsonPatch"),
                            "examples": _JSON_PATCH_EXAMPLES,
                        },
                    },
                },
                "responses": {
                    "200": _event_response("Changed", replay=True),
                    "404": _problem("No such event"),
                    "409": _problem(
                        "A JSON Patch `test` failed or a path is missing, or a request with "
                        "this Idempotency-Key is still running"
                    ),
                    **_BODY_ERRORS,
                    "422": _problem(
                        "The patched event is invalid (`errors` lists each), or the "
                        "Idempotency-Key was used for another request"
                    ),
                    **_PRECONDITION_ERRORS,
                    **_COMMON_ERRORS,
                },
            },
            "delete": {
                "operationId": "deleteEvent",
                "summary": "Delete an event",
                "parameters": [_IF_MATCH],
                "responses": {
                    "204": {"description": "Deleted"},
                    "400": _problem("A malformed If-Match"),
                    "404": _problem("No such event"),
                    **_PRECONDITION_ERRORS,
                    **_COMMON_ERRORS,
                },
            },
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness: the process answers",
                "responses": {
                    "200": {"description": "Alive", "content": {JSON: {"schema": _ref("Health")}}},
                    **_UNLIMITED_ERRORS,
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: the database answers",
                "responses": {
                    "200": {"description": "Ready", "content": {JSON: {"schema": _ref("Health")}}},
                    **_UNLIMITED_ERRORS,
                },
            }
        },
        **account_paths(
            _COMMON_ERRORS, _BODY_ERRORS, _problem, {**_RETRY_AFTER, **_RATE_LIMIT_FIELDS}
        ),
        **slo_paths(
            _COMMON_ERRORS,
            _problem("A malformed period or an unknown query parameter"),
            _problem("No SLA measures the SLO named"),
            _UNLIMITED_ERRORS,
        ),
    }


_WRITES: Final = ("createEvent", "createEventTutorial", "putEvent", "patchEvent", "deleteEvent")


def _secured_writes(paths: dict[str, Schema], *, anonymous_writes: bool) -> dict[str, Schema]:
    """Who may change events: anyone on a loopback service (anonymous writes on), else an
    account; credentials that are sent must be valid either way (401)."""
    security = [*SIGNED_IN, {}] if anonymous_writes else SIGNED_IN
    refusals = {
        "401": _problem("Invalid credentials, or none while anonymous writes are off"),
        "403": _problem(
            "A token without the `events:write` scope, or a session cookie from a foreign Origin"
        ),
    }
    for item in paths.values():
        for key, operation in item.items():
            if key != "parameters" and operation["operationId"] in _WRITES:
                operation["security"] = security
                operation["responses"] = dict(
                    sorted({**operation["responses"], **refusals}.items())
                )
    return paths


@functools.cache
def openapi_document(*, anonymous_writes: bool, public_url: str = "") -> bytes:
    """The whole document, encoded once for each mode of ``anonymous_writes``. Without a
    ``public_url`` it names no server: clients resolve its paths against its own URL."""
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
            {"name": "service", "description": "The welcome page and the health probes"},
            {
                "name": "accounts",
                "description": "Login, sessions, two-step verification, "
                "API tokens, the audit log, and user management",
            },
            {"name": "slo", "description": "Service level objectives, SLA reports, metrics"},
        ],
        "paths": _tagged(_secured_writes(_paths(), anonymous_writes=anonymous_writes)),
        "components": {"schemas": _components(), "securitySchemes": SECURITY_SCHEMES},
    }
    if public_url:
        document["servers"] = [{"url": public_url}]
    return msgspec.json.encode(document)


def _tagged(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Group operations in the docs page: event routes apart from the service's own."""
    for path, item in paths.items():
        if path.startswith("/event"):
            tag = "events"
        elif path in ("/slo", "/sla", "/metrics"):
            tag = "slo"
        elif path.startswith(("/auth/", "/users")):
            tag = "accounts"
        else:
            tag = "service"
        for key, operation in item.items():
            if key != "parameters":
                operation["tags"] = [tag]
    return paths
