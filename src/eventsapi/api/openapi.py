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
from typing import Any

import msgspec

from eventsapi import __version__
from eventsapi.api.body import JSON, MERGE_PATCH
from eventsapi.api.problems import PROBLEM_JSON, PROBLEM_TYPES
from eventsapi.domain.events import (
    DOT_SEGMENTS,
    ID_PATTERN,
    LEGACY_KEYS,
    SERVER_OWNED,
    Event,
    EventInput,
)

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

_COMMON_ERRORS = {
    "405": _problem("Method not allowed here", _ALLOW),
    "500": _problem("An unexpected failure (logged; nothing changed unless a 2xx was sent)"),
    "503": _problem("The database is unavailable", _RETRY_AFTER),
}
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


def _event_response(description: str, *, location: bool = False, links: bool = False) -> Schema:
    response: Schema = {
        "description": description,
        "content": {JSON: {"schema": _ref("Event")}},
    }
    if location:
        response["headers"] = _LOCATION
    if links:
        response["links"] = _EVENT_LINKS
    return response


def _input_body(media_types: tuple[str, ...], schema: str, examples: Schema) -> Schema:
    return {
        "required": True,
        "content": {
            media: {"schema": _ref(schema), "examples": examples} for media in media_types
        },
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
    event["required"] = list(properties)
    return event


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
        "they are accepted, so a fetched event can be sent back, and ignored."
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
    for server_owned in ("created_at", "updated_at", "version"):
        properties[server_owned] = {"description": "Server-owned: ignored if sent."}
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
        "requestBody": _input_body((JSON,), "EventInput", _INPUT_EXAMPLES),
        "responses": {
            "201": _event_response("Created", location=True, links=True),
            **_BODY_ERRORS,
            "409": _problem("The id is taken"),
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
                "summary": "List events, oldest first, a page at a time",
                "description": (
                    "Returns a JSON array. When there are more events, the `Link` header "
                    'has the URL of the next page (rel="next").'
                ),
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "Events per page (default 50).",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                        "example": 10,
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "Opaque position from a `Link` header.",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "A page of events",
                        "headers": {
                            "Link": {
                                "description": 'RFC 8288 link to the next page (rel="next")',
                                "schema": {"type": "string"},
                            }
                        },
                        "content": {JSON: {"schema": {"type": "array", "items": _ref("Event")}}},
                    },
                    "400": _problem("An invalid query parameter (`parameter` names it)"),
                    **_COMMON_ERRORS,
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
                "responses": {
                    "200": _event_response("The event"),
                    "404": _problem("No such event"),
                    **_COMMON_ERRORS,
                },
            },
            "put": {
                "operationId": "putEvent",
                "summary": "Replace an event, or create it with this id",
                "requestBody": _input_body((JSON,), "EventInput", _REPLACE_EXAMPLES),
                "responses": {
                    "200": _event_response("Replaced"),
                    "201": _event_response("Created", location=True),
                    "404": _problem("No event can have this id (it breaks the id pattern)"),
                    **_BODY_ERRORS,
                    **_COMMON_ERRORS,
                },
            },
            "patch": {
                "operationId": "patchEvent",
                "summary": "Change an event with a JSON Merge Patch (RFC 7396)",
                "description": "`application/json` is read as a merge patch too (as the "
                "tutorial sends it).",
                "requestBody": _input_body((MERGE_PATCH, JSON), "EventPatch", _PATCH_EXAMPLES),
                "responses": {
                    "200": _event_response("Changed"),
                    "404": _problem("No such event"),
                    **_BODY_ERRORS,
                    **_COMMON_ERRORS,
                },
            },
            "delete": {
                "operationId": "deleteEvent",
                "summary": "Delete an event",
                "responses": {
                    "204": {"description": "Deleted"},
                    "404": _problem("No such event"),
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
                    **_COMMON_ERRORS,
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: the database answers",
                "responses": {
                    "200": {"description": "Ready", "content": {JSON: {"schema": _ref("Health")}}},
                    **_COMMON_ERRORS,
                },
            }
        },
    }


@functools.cache
def openapi_document() -> bytes:
    """The whole document, encoded once."""
    document = {
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
        ],
        "paths": _tagged(_paths()),
        "components": {"schemas": _components()},
    }
    return msgspec.json.encode(document)


def _tagged(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Group operations in the docs page: event routes apart from the service's own."""
    for path, item in paths.items():
        tag = "events" if path.startswith("/event") else "service"
        for key, operation in item.items():
            if key != "parameters":
                operation["tags"] = [tag]
    return paths
