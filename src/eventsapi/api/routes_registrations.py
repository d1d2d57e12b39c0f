"""The route table's entries for registrations: ``/events/{id}/registrations``, one
registration, and ``GET /me/registrations`` (handlers in ``api/registrations.py``).

In the events' rate-limit groups: listing and reading are reads, registering and cancelling
are writes.
"""

from __future__ import annotations

from typing import Final

from eventsapi.api.body import JSON
from eventsapi.api.openapi import Schema, problem, ref
from eventsapi.api.registrations import LIMIT_DEFAULT, LIMIT_MAX
from eventsapi.api.routes import Access, Limits, Op, Route
from eventsapi.domain.events import ID_PATTERN, ID_SCHEMA_EXCLUDES

__all__ = ["REGISTRATION_ROUTES"]

_TAG: Final = "registrations"
_URI: Final[Schema] = {"type": "string", "format": "uri-reference"}
_ID: Final[Schema] = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The event's id.",
    "schema": {"type": "string", "pattern": ID_PATTERN, "not": ID_SCHEMA_EXCLUDES},
}
_RID: Final[Schema] = {
    "name": "rid",
    "in": "path",
    "required": True,
    "description": "The registration's id.",
    "schema": {"type": "string"},
}
_TOKEN: Final[Schema] = {
    "name": "Registration-Token",
    "in": "header",
    "description": "The `cancel_token` of a registration made without an account.",
    "schema": {"type": "string", "maxLength": 200},
}
_PAGING: Final[tuple[Schema, ...]] = (
    {
        "name": "limit",
        "in": "query",
        "description": f"Registrations per page at most (default {LIMIT_DEFAULT}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "Where the page starts: from the `Link` header of the page before.",
        "schema": {"type": "string", "maxLength": 1000},
    },
)
_UNKNOWN: Final = {
    "404": problem(
        "No such event or registration, or one you may not see (answered alike: the "
        "registrant's account or cancel token, the event's owner and admins may)"
    )
}


def _page(description: str) -> Schema:
    return {
        "description": description,
        "headers": {
            "Link": {"description": 'The next page (`rel="next"`), if any', "schema": {}},
        },
        "content": {JSON: {"schema": {"type": "array", "items": ref("Registration")}}},
    }


REGISTRATION_ROUTES: Final = (
    Route(
        path="/events/{id}/registrations",
        limits=Limits.EVENTS,
        tag=_TAG,
        parameters=(_ID,),
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.registrations.list_registrations,
                access=Access.READER,
                operation_id="listRegistrations",
                summary="The event's registrations: all for its owner and admins, else your own",
                description="In the order people joined. With credentials, the event's owner "
                "and admins see every registration, anyone else only their own; without, an "
                "empty list (but for an event without an owner while anonymous writes are on).",
                parameters=_PAGING,
                responses={
                    "200": _page("A page of registrations"),
                    "400": problem("A bad `limit` or `cursor`, or an unknown parameter"),
                    "404": problem("No event with this id"),
                },
            ),
            Op(
                method="POST",
                handler=lambda s: s.registrations.register,
                access=Access.WRITER,
                operation_id="register",
                summary="Register for the event: confirmed while it has room, else waitlisted",
                description="`name` defaults to the account's username. Without an account, "
                "the answer carries a `cancel_token`, shown this once (and to retries with the "
                "same `Idempotency-Key`). `Idempotency-Key` works as on `POST /events`.",
                body={"required": True, "content": {JSON: {"schema": ref("RegistrationInput")}}},
                responses={
                    "201": {
                        "description": "Registered",
                        "headers": {
                            "Location": {
                                "description": "URL of the registration",
                                "required": True,
                                "schema": _URI,
                            }
                        },
                        "content": {JSON: {"schema": ref("Registration")}},
                    },
                    "400": problem("A body that is not JSON, or none"),
                    "404": problem("No event with this id"),
                    "409": problem(
                        "`already-registered` (`Location` names the existing registration), "
                        "`registration-closed` (`reason`), or the `Idempotency-Key` in use"
                    ),
                    "422": problem("A bad name or e-mail address (`errors` points at each)"),
                },
            ),
        ),
    ),
    Route(
        path="/events/{id}/registrations/{rid}",
        limits=Limits.EVENTS,
        tag=_TAG,
        parameters=(_ID, _RID),
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.registrations.get_registration,
                access=Access.READER,
                operation_id="getRegistration",
                summary="One registration (its registrant, the event's owner, admins)",
                parameters=(_TOKEN,),
                responses={
                    "200": {
                        "description": "The registration",
                        "content": {JSON: {"schema": ref("Registration")}},
                    },
                    **_UNKNOWN,
                },
            ),
            Op(
                method="DELETE",
                handler=lambda s: s.registrations.cancel,
                access=Access.READER,
                operation_id="cancelRegistration",
                summary="Cancel a registration; a confirmed one's spot goes to the waitlist",
                description="By its registrant (account, or `Registration-Token`), the "
                "event's owner or an admin. The first waitlisted are confirmed in the same "
                "step, in the order they joined.",
                parameters=(_TOKEN,),
                responses={"204": {"description": "Cancelled"}, **_UNKNOWN},
            ),
        ),
    ),
    Route(
        path="/me/registrations",
        limits=Limits.EVENTS,
        tag=_TAG,
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.registrations.mine,
                access=Access.MEMBER,
                operation_id="myRegistrations",
                summary="Your registrations, every event, in the order you made them",
                parameters=_PAGING,
                responses={
                    "200": _page("A page of your registrations"),
                    "400": problem("A bad `limit` or `cursor`, or an unknown parameter"),
                },
            ),
        ),
    ),
)
