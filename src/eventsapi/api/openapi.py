"""The OpenAPI 3.1 description of the service, built from the same types that validate.

Schemas come from msgspec (the structs in ``domain.events``), so the document
cannot drift from what the server accepts. Rules JSON Schema can say are added
here (one of ``title``/``Title``; time zone names); the one it cannot say
(``ends_at >= starts_at``) is stated in the description.
"""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

import msgspec

from eventsapi import __version__
from eventsapi.api.body import JSON, MERGE_PATCH
from eventsapi.api.problems import PROBLEM_JSON, PROBLEM_TYPES
from eventsapi.domain.events import LEGACY_KEYS, Event, EventInput

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
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._~-]{1,64}$"},
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


def _input_body(media_types: tuple[str, ...], schema: str) -> Schema:
    return {
        "required": True,
        "content": {media: {"schema": _ref(schema)} for media in media_types},
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
    for server_owned in ("created_at", "updated_at", "version"):
        properties[server_owned] = {"description": "Server-owned: ignored if sent."}
    schemas["EventPatch"] = {
        "type": "object",
        "description": (
            "A JSON Merge Patch (RFC 7396) of an event: members to set, `null` to clear "
            "an optional member. The patched event must be a valid EventInput."
        ),
    }
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
        "requestBody": _input_body((JSON,), "EventInput"),
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
                "requestBody": _input_body((JSON,), "EventInput"),
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
                "requestBody": _input_body((MERGE_PATCH, JSON), "EventPatch"),
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
        "paths": _paths(),
        "components": {"schemas": _components()},
    }
    return msgspec.json.encode(document)
