"""Incremental sync over HTTP: ``GET /changes?since=TOKEN``, and the sync tokens it shares
with ``GET /events``.

A client lists the events in full once (``GET /events``, every page), keeping the
``Sync-Token`` header of its first page: the change log's last position, read *before* the
listing, so a change made while it pages is in the listing or after the token (replayed,
harmlessly, by the next sync), never lost. Then it asks ``GET /changes?since=TOKEN`` for
what changed after it, and continues from each answer's ``next`` token.

Each reader is told what they may see (``api/change_views.py``): a change that hid an event
from them as its deletion, one that showed it as its creation, and nothing of the events they
may not see; so a page may hold fewer than ``limit`` changes, even none, with ``more`` true.

A token the log cannot continue from is 410 ``sync-token-expired``, never an empty page:
older than what the log keeps (its records were pruned), from another database or
altered (``api/sync_tokens.py``), or ahead of the log (a database restored from a backup
taken before the token was issued). Text that is no token at all is a 400.

The horizon is read *after* the records, so that a prune running meanwhile cannot hand out
a page with a hole in it: ``pruned_through`` only grows, so if it is still at or below the
token after the read, nothing the read needed had been pruned before it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.authn import Authn
from eventsapi.api.change_views import told
from eventsapi.api.parameters import single_values, whole_number
from eventsapi.api.responses import JSONBytes
from eventsapi.api.store import EventStore
from eventsapi.api.sync_tokens import decode_sync_token, encode_sync_token
from eventsapi.domain.changes import CHANGE_TYPES, ChangeRecord, ChangeType
from eventsapi.errors import BadRequest, SyncTokenExpired

__all__ = [
    "Change",
    "ChangePage",
    "ChangesAPI",
    "change_of",
    "change_schemas",
    "encode_change",
]

LIMIT_DEFAULT: Final = 100
LIMIT_MAX: Final = 1000
TOKEN_MAX: Final = 64
TOKEN_SCHEMA: Final[dict[str, Any]] = {
    "type": "string",
    "minLength": 1,
    "maxLength": TOKEN_MAX,
    "pattern": "^[A-Za-z0-9_-]+$",
}
"""A sync token in the OpenAPI document: base64url without padding, as issued."""
_WELL_FORMED: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{TOKEN_MAX}}}").fullmatch


class Change(msgspec.Struct, kw_only=True):
    """One change of the log as clients see it (``GET /changes``; the stream and webhooks
    send the same body)."""

    type: ChangeType
    id: str
    version: int
    at: datetime
    event: msgspec.Raw | None
    """The event after the change, exactly as ``GET /events/{id}`` answered it then;
    ``null`` for a delete and a purge."""


class ChangePage(msgspec.Struct, kw_only=True):
    """An answer of ``GET /changes``."""

    changes: list[Change]
    next: str
    """The token to continue from (the same token when nothing changed)."""
    more: bool
    """Whether more changes are waiting after ``next`` (ask again at once)."""


_encode = msgspec.json.Encoder().encode


def change_schemas() -> dict[str, Any]:
    """``Change`` and ``ChangePage``, from the structs the server encodes; the event is an
    ``Event`` (the struct embeds the stored document as it is)."""
    _, schemas = msgspec.json.schema_components(
        (Change, ChangePage), ref_template="#/components/schemas/{name}"
    )
    change = schemas["Change"]
    change["properties"]["type"] = {"type": "string", "enum": list(CHANGE_TYPES)}
    change["properties"]["at"] = {
        "type": "string",
        "format": "date-time",
        "description": "When the change was recorded",
    }
    change["properties"]["version"] = {
        "type": "integer",
        "minimum": 1,
        "description": "The event's version after the change; for a delete or a purge, the "
        "version deleted",
    }
    change["properties"]["event"] = {
        "anyOf": [{"$ref": "#/components/schemas/Event"}, {"type": "null"}],
        "description": "The event after the change, as `GET /events/{id}` answered then; "
        "`null` for a delete (`event.deleted`: moved to the trash) and a purge "
        "(`event.purged`: gone from the trash for good)",
    }
    page = schemas["ChangePage"]
    page["properties"]["next"] = {
        **TOKEN_SCHEMA,
        "description": "The sync token to continue from (the one sent when nothing changed)",
    }
    page["properties"]["more"] = {
        "type": "boolean",
        "description": "More changes wait after `next`: ask again at once",
    }
    return schemas


def change_of(record: ChangeRecord) -> Change:
    """The client's view of ``record``: its document embedded as stored, not re-encoded."""
    document = None if record.document is None else msgspec.Raw(record.document)
    return Change(
        type=record.type,
        id=record.event_id,
        version=record.version,
        at=record.at,
        event=document,
    )


def encode_change(record: ChangeRecord) -> bytes:
    """``record`` as the JSON of one ``Change``."""
    return _encode(change_of(record))


class ChangesAPI:
    """``GET /changes``, bound to one store (the route table: ``api/routes_changes.py``)."""

    def __init__(self, store: EventStore, authn: Authn) -> None:
        self.store = store
        self.authn = authn
        self._key = b""

    async def start(self) -> None:
        self._key = await self.store.instance_key()

    def token(self, position: int) -> str:
        """The sync token of ``position``."""
        return encode_sync_token(self._key, position)

    async def list_changes(self, request: Request) -> Response:
        reader = await self.authn.reader(request)
        given = single_values(request.query_params, ("since", "limit"))
        limit = LIMIT_DEFAULT
        if "limit" in given:
            limit = whole_number("limit", given["limit"], 1, LIMIT_MAX)
        if "since" not in given:
            raise BadRequest(
                "since is required: start from the Sync-Token header of GET /events (after "
                "listing every event), then continue from each answer's next.",
                parameter="since",
            )
        if _WELL_FORMED(given["since"]) is None:
            # Not a token at all (a client's bug): 400. One that is well formed but not
            # ours, or altered, is 410 (decode_sync_token): sync again in full.
            raise BadRequest(
                "since must be a sync token as the service issues them (up to "
                f"{TOKEN_MAX} letters, digits, '-' and '_').",
                parameter="since",
            )
        since = decode_sync_token(self._key, given["since"])
        records = await self.store.changes_after(since, limit + 1)
        pruned_through, last = await self.store.change_horizon()
        if since < pruned_through:
            raise SyncTokenExpired(
                "The changes after this sync token are no longer kept (the change log keeps "
                "change_retention_days); sync again in full."
            )
        if since > last:
            raise SyncTokenExpired(
                "This sync token is ahead of the change log (was the database restored from "
                "a backup?); sync again in full."
            )
        more = len(records) > limit
        page = records[:limit]
        position = page[-1].position if page else since
        shown = [record for record in await told(self.store, reader, page) if record is not None]
        body = ChangePage(
            changes=[change_of(record) for record in shown], next=self.token(position), more=more
        )
        return JSONBytes(_encode(body), headers=[(b"cache-control", b"no-store")])
