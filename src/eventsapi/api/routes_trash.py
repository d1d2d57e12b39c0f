"""The route table's entries for the trash: ``GET /trash``, ``POST /trash/{id}/restore`` and
``DELETE /trash/{id}`` (handlers in ``api/trash.py``).

In the events' rate-limit groups (reads and writes), and callable as event writes are: an
account with ``events:write``, or anyone while anonymous writes are on.
"""

from __future__ import annotations

from typing import Final

from eventsapi.api.body import JSON
from eventsapi.api.openapi import Schema, problem, ref
from eventsapi.api.routes import Access, Limits, Op, Route
from eventsapi.api.trash import LIMIT_DEFAULT, TrashedEvent
from eventsapi.domain.events import ID_PATTERN, ID_SCHEMA_EXCLUDES, Event
from eventsapi.storage.trash import LIMIT_MAX

__all__ = ["TRASH_ROUTES"]

_TAG: Final = "events"
_NOT_YOURS: Final = {
    "404": problem(
        "No event with this id is in the trash, or it is another member's (answered alike)"
    )
}
_ID: Final[Schema] = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The deleted event's id.",
    "schema": {"type": "string", "pattern": ID_PATTERN, "not": ID_SCHEMA_EXCLUDES},
}
_URI: Final[Schema] = {"type": "string", "format": "uri-reference"}

TRASH_ROUTES: Final = (
    Route(
        path="/trash",
        limits=Limits.EVENTS,
        tag=_TAG,
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.trash.list_trash,
                access=Access.WRITER,
                operation_id="listTrash",
                summary="Deleted events: your own, or everyone's for an admin",
                description="Most recently deleted first. Each stays `trash_retention_days` "
                '(30 by default), then is purged for good. Follow `Link: rel="next"` for '
                "the next page.",
                parameters=[
                    {
                        "name": "limit",
                        "in": "query",
                        "description": f"Events per page at most (default {LIMIT_DEFAULT}).",
                        "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "Where the page starts: from the `Link` header of "
                        "the page before, as it is.",
                        "schema": {"type": "string", "maxLength": 1000},
                    },
                ],
                responses={
                    "200": {
                        "description": "A page of the trash",
                        "headers": {
                            "Link": {
                                "description": 'The next page (`rel="next"`), if any',
                                "schema": {"type": "string"},
                            }
                        },
                        "content": {
                            JSON: {"schema": {"type": "array", "items": ref(TrashedEvent)}}
                        },
                    },
                    "400": problem(
                        "A bad `limit`, a cursor that is not this listing's, or an unknown "
                        "parameter (`parameter` names it)"
                    ),
                },
            ),
        ),
    ),
    Route(
        path="/trash/{id}",
        limits=Limits.EVENTS,
        tag=_TAG,
        parameters=(_ID,),
        ops=(
            Op(
                method="DELETE",
                handler=lambda s: s.trash.purge,
                access=Access.WRITER,
                operation_id="purgeEvent",
                summary="Purge a deleted event for good",
                responses={"204": {"description": "Purged"}, **_NOT_YOURS},
            ),
        ),
    ),
    Route(
        path="/trash/{id}/restore",
        limits=Limits.EVENTS,
        tag=_TAG,
        parameters=(_ID,),
        ops=(
            Op(
                method="POST",
                handler=lambda s: s.trash.restore,
                access=Access.WRITER,
                operation_id="restoreEvent",
                summary="Bring a deleted event back, with its id and a new version",
                responses={
                    "201": {
                        "description": "Restored",
                        "headers": {
                            "ETag": {
                                "description": "Strong entity tag of the restored event",
                                "required": True,
                                "schema": {"type": "string"},
                            },
                            "Location": {
                                "description": "URL of the event",
                                "required": True,
                                "schema": _URI,
                            },
                        },
                        "content": {JSON: {"schema": ref(Event)}},
                    },
                    **_NOT_YOURS,
                    "409": problem(
                        "An event with this id exists again (made by an import): nothing "
                        "was changed"
                    ),
                },
            ),
        ),
    ),
)
