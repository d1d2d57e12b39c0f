"""The route table's entries for the change log: ``GET /changes`` (incremental sync,
``api/changes.py``), and the ``Sync-Token`` header of ``GET /events``.

Reads are public, as ``GET /events`` is: a change holds what that listing shows.
"""

from __future__ import annotations

from typing import Final

from eventsapi.api.body import JSON
from eventsapi.api.changes import LIMIT_DEFAULT, LIMIT_MAX, TOKEN_SCHEMA
from eventsapi.api.openapi import Schema, problem, ref
from eventsapi.api.routes import Access, Limits, Op, Route

__all__ = ["CHANGE_ROUTES", "SYNC_TOKEN"]

SYNC_TOKEN: Final[Schema] = {
    "Sync-Token": {
        "description": "The change log's position when this listing began: after listing "
        "every page, follow `GET /changes?since=` this token to learn what changed since "
        "(a change made while you paged may come again there; apply it again, it is the "
        "same state)",
        "required": True,
        "schema": TOKEN_SCHEMA,
    }
}


CHANGE_ROUTES: Final = (
    Route(
        path="/changes",
        limits=Limits.EVENTS,
        tag="changes",
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.changes.list_changes,
                access=Access.READER,
                operation_id="listChanges",
                summary="What changed after a sync token (incremental sync)",
                description=(
                    "The changes to events after `since`, oldest first: each one that was "
                    "made, exactly once and in the order they were made. Start from the "
                    "`Sync-Token` header of `GET /events` (after listing every page), then "
                    "continue from each answer's `next`; while `more` is true, ask again "
                    "at once. A token that cannot be continued from is `410` "
                    "(`sync-token-expired`): list the events in full again and start over "
                    "from that listing's `Sync-Token`."
                ),
                parameters=[
                    {
                        "name": "since",
                        "in": "query",
                        "required": True,
                        "description": "A sync token: a `Sync-Token` header of "
                        "`GET /events`, or the `next` of an earlier answer.",
                        "schema": TOKEN_SCHEMA,
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "description": f"Changes per answer at most (default {LIMIT_DEFAULT}).",
                        "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX},
                    },
                ],
                responses={
                    "200": {
                        "description": "The changes after `since`",
                        "headers": {
                            "Cache-Control": {
                                "description": "`no-store`: the same URL answers more later",
                                "schema": {"type": "string", "const": "no-store"},
                            }
                        },
                        "content": {JSON: {"schema": ref("ChangePage")}},
                    },
                    "400": problem(
                        "`since` is missing, `limit` is not a whole number from 1 to "
                        f"{LIMIT_MAX}, or an unknown parameter (`parameter` names it)"
                    ),
                    "410": problem(
                        "The sync token cannot be continued from: older than the change log "
                        "keeps, from another database, altered, or ahead of the log "
                        "(`sync-token-expired`): sync again in full"
                    ),
                },
            ),
        ),
    ),
)
