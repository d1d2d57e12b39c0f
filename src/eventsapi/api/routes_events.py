"""The route table's entries for the events resource: ``/events``, ``/events/{id}`` and the
Go tutorial's ``/event``, served by ``api/events.py`` on the hot path, and the parts of
their OpenAPI operations (parameters, examples, answers).

Reads are public; writes need an account with ``events:write``, or none while anonymous
writes are on (``Authn.writer``, first thing in each write handler).
"""

from __future__ import annotations

from typing import Any, Final

from eventsapi.api.body import JSON, JSON_PATCH, MERGE_PATCH
from eventsapi.api.idempotency import KEY_MAX_LENGTH
from eventsapi.api.listing import Q_MAX, STATUSES, TAGS_MAX_IN_QUERY
from eventsapi.api.openapi import BODY_ERRORS, RATE_LIMIT_FIELDS, RETRY_AFTER, Schema, problem, ref
from eventsapi.api.routes import Access, Limits, Op, Route
from eventsapi.api.routes_changes import SYNC_TOKEN
from eventsapi.domain.events import ID_PATTERN, ID_SCHEMA_EXCLUDES, TAG_MAX, Event, EventInput
from eventsapi.domain.query import SORTS
from eventsapi.domain.text import NOT_SPACE, ONE_LINE

__all__ = ["ENTITY_TAG", "EVENT_ROUTES", "FILTER_PARAMETERS", "IF_NONE_MATCH_GET"]

_LOCATION = {
    "Location": {
        "description": "URL of the event",
        "required": True,
        "schema": {"type": "string", "format": "uri-reference"},
    }
}

_ETAG = {
    "ETag": {
        "description": "Strong entity tag of the event as shown, counts included "
        '(`"<version>-<digest>.<registered>.<waitlisted>"`); send it back in If-Match to write '
        "only if nobody has changed the event since (the part before the first `.` is compared: "
        "the counts may change), in If-None-Match to revalidate (a new count is a new tag)",
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
# values from letters and digits (schemathesis' coverage phase) still find a valid value
# to send. It is a one-member enum, not a const: openapi-python-client skips an
# operation with a const header (a const is no type it sends in a header); an enum it
# takes, and x-enum-varnames names the member.
_ENTITY_TAG = r'(W/)?"[!#-~]*"'
_TAG_LIST: Schema = {
    "anyOf": [
        {"type": "string", "enum": ["*"], "x-enum-varnames": ["ANY"]},
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
    "Write only if the event is still as one of these ETags showed it, whatever its counts "
    "then (the part of each tag before its first `.` is compared), or `*`: if it exists; "
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
    "412": problem("A precondition (If-Match / If-None-Match) does not hold; nothing changed"),
    "428": problem(
        "Preconditions are required on this service (setting "
        "require_preconditions) and the request has none"
    ),
}

_ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The event's id.",
    "schema": {
        "type": "string",
        "pattern": ID_PATTERN,
        # "." and ".." are dot segments: clients resolve /events/.. to /; and
        # /events/x.ics is the calendar of x (api/routes_feeds.py)
        "not": ID_SCHEMA_EXCLUDES,
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

FILTER_PARAMETERS: Final = {
    parameter["name"]: parameter
    for parameter in _LIST_PARAMETERS
    if parameter["name"] in ("starts_after", "starts_before", "tag", "status", "q")
}
"""The filters of ``GET /events``, which its calendar feed takes too (``api/routes_feeds.py``)."""
ENTITY_TAG: Final = _ETAG
IF_NONE_MATCH_GET: Final = _IF_NONE_MATCH_GET

# The operations a created event links to (each id written once, here).
_GET, _PUT, _PATCH, _DELETE = "getEvent", "putEvent", "patchEvent", "deleteEvent"
_EVENT_LINKS = {
    "GetEvent": {
        "operationId": _GET,
        "parameters": {"id": "$response.body#/id"},
    },
    "PatchEvent": {
        "operationId": _PATCH,
        "parameters": {"id": "$response.body#/id"},
    },
    "ReplaceEvent": {
        "operationId": _PUT,
        "parameters": {"id": "$response.body#/id"},
    },
    "DeleteEvent": {
        "operationId": _DELETE,
        "parameters": {"id": "$response.body#/id"},
    },
}


def _event_response(
    description: str, *, location: bool = False, links: bool = False, replay: bool = False
) -> Schema:
    response: Schema = {
        "description": description,
        "headers": {**_ETAG, **(_LOCATION if location else {}), **(_REPLAYED if replay else {})},
        "content": {JSON: {"schema": ref(Event)}},
    }
    if links:
        response["links"] = _EVENT_LINKS
    return response


def _input_body(media_types: tuple[str, ...], schema: type, examples: Schema) -> Schema:
    return {
        "required": True,
        "content": {media: {"schema": ref(schema), "examples": examples} for media in media_types},
    }


_CREATE: Final[dict[str, Any]] = {
    "description": "Creates an event. The id is generated (a ULID) unless the body gives one.",
    "parameters": [_IDEMPOTENCY_KEY],
    "body": _input_body((JSON,), EventInput, _INPUT_EXAMPLES),
    "responses": {
        "201": _event_response("Created", location=True, links=True, replay=True),
        **BODY_ERRORS,
        "409": problem(
            "The id is taken, by an event or one in the trash (`in-trash`), or a request "
            "with this Idempotency-Key is still running"
        ),
        "422": problem(
            "Invalid fields (`errors` lists each), or the Idempotency-Key was used for "
            "another request"
        ),
    },
}
_TAG: Final = "events"

EVENT_ROUTES: Final = (
    Route(
        path="/events",
        limits=Limits.EVENTS,
        tag=_TAG,
        hot=True,
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.events.list_events,
                access=Access.ANYONE,
                operation_id="listEvents",
                summary="List, filter, search and sort events, a page at a time",
                description=(
                    "Returns a JSON array. Without `sort`, events come in the order they "
                    "were created (with `q`: best match first). Pages are keyset pages: "
                    'the `Link` header has the URL of the next page (rel="next") and of '
                    'the previous one (rel="prev"), with the same filters and sort; page '
                    "N costs what page 1 does. A cursor only works with the filters and "
                    "sort it was issued for."
                ),
                parameters=_LIST_PARAMETERS,
                responses={
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
                            **SYNC_TOKEN,
                        },
                        "content": {JSON: {"schema": {"type": "array", "items": ref(Event)}}},
                    },
                    "400": problem("An invalid query parameter (`parameter` names it)"),
                },
                overrides={
                    "429": problem(
                        "Over the rate limit of this route group for this client, or this "
                        "client already has as many listings running as it may "
                        "(`max_listings_per_client`): wait `Retry-After` seconds "
                        "(`too-many-requests`)",
                        {**RETRY_AFTER, **RATE_LIMIT_FIELDS},
                    ),
                    "503": problem(
                        "The database is unavailable, or the listing ran past its time "
                        "budget (`query-too-expensive`: narrow it, or retry after "
                        "`Retry-After` seconds)",
                        RETRY_AFTER,
                    ),
                },
            ),
            Op(
                method="POST",
                handler=lambda s: s.events.create_event,
                access=Access.WRITER,
                operation_id="createEvent",
                summary="Create an event",
                **_CREATE,
            ),
        ),
    ),
    Route(
        path="/event",
        limits=Limits.EVENTS,
        tag=_TAG,
        hot=True,
        ops=(
            Op(
                method="POST",
                handler=lambda s: s.events.create_event,
                access=Access.WRITER,
                operation_id="createEventTutorial",
                summary="Create an event (the Go tutorial's route)",
                **_CREATE,
            ),
        ),
    ),
    Route(
        path="/events/{id}",
        limits=Limits.EVENTS,
        tag=_TAG,
        hot=True,
        parameters=(_ID_PARAMETER,),
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.events.get_event,
                access=Access.ANYONE,
                operation_id=_GET,
                summary="Get one event",
                parameters=[_IF_NONE_MATCH_GET],
                responses={
                    "200": _event_response("The event"),
                    "304": {"description": "Not modified (If-None-Match)", "headers": _ETAG},
                    "400": problem("A malformed If-None-Match"),
                    "404": problem("No such event"),
                },
            ),
            Op(
                method="PUT",
                handler=lambda s: s.events.put_event,
                access=Access.WRITER,
                operation_id=_PUT,
                summary="Replace an event, or create it with this id",
                parameters=[_IF_MATCH, _IF_NONE_MATCH_PUT],
                body=_input_body((JSON,), EventInput, _REPLACE_EXAMPLES),
                responses={
                    "200": _event_response("Replaced"),
                    "201": _event_response("Created", location=True),
                    "404": problem(
                        "No event can have this id (it breaks the id pattern), or the event "
                        "is another member's"
                    ),
                    "409": problem(
                        "The event with this id is in the trash (`in-trash`): restore it, "
                        "or purge it first"
                    ),
                    **BODY_ERRORS,
                    **_PRECONDITION_ERRORS,
                },
            ),
            Op(
                method="PATCH",
                handler=lambda s: s.events.patch_event,
                access=Access.WRITER,
                operation_id=_PATCH,
                summary="Change an event: JSON Merge Patch (RFC 7396) or JSON Patch (RFC 6902)",
                description="`application/json` is read as a merge patch too (as the "
                "tutorial sends it). A JSON Patch applies to the event as GET returns it "
                "(but for its counts, which are not the event's to patch), so a `test` of "
                "`/version` is an optimistic check.",
                parameters=[_IF_MATCH, _IDEMPOTENCY_KEY],
                body={
                    "required": True,
                    "content": {
                        **{
                            media: {"schema": ref("EventPatch"), "examples": _PATCH_EXAMPLES}
                            for media in (MERGE_PATCH, JSON)
                        },
                        JSON_PATCH: {"schema": ref("JsonPatch"), "examples": _JSON_PATCH_EXAMPLES},
                    },
                },
                responses={
                    "200": _event_response("Changed", replay=True),
                    "404": problem("No such event"),
                    "409": problem(
                        "A JSON Patch `test` failed or a path is missing, or a request with "
                        "this Idempotency-Key is still running"
                    ),
                    **BODY_ERRORS,
                    "422": problem(
                        "The patched event is invalid (`errors` lists each), or the "
                        "Idempotency-Key was used for another request"
                    ),
                    **_PRECONDITION_ERRORS,
                },
            ),
            Op(
                method="DELETE",
                handler=lambda s: s.events.delete_event,
                access=Access.WRITER,
                operation_id=_DELETE,
                summary="Delete an event: it moves to the trash",
                description="The event leaves every listing, search, feed and `GET`, and "
                "goes to the trash (`GET /trash`), where its owner or an admin can restore "
                "it for `trash_retention_days` (30 by default).",
                parameters=[_IF_MATCH],
                responses={
                    "204": {"description": "Moved to the trash"},
                    "400": problem("A malformed If-Match"),
                    "404": problem("No such event"),
                    **_PRECONDITION_ERRORS,
                },
            ),
        ),
    ),
)
