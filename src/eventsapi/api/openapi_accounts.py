"""What the OpenAPI description of the account routes (``/auth/...``, ``/users...``) shares:
their schemas (generated from the structs of ``api/account_io.py``), the security schemes,
and the parts of their answers. The operations are in the route table
(``api/routes_accounts.py``).

Every operation states its ``security``: a session or API token as a bearer token, or the
session cookie. The login needs none; the logout takes either or none (it answers 204
without a live session, so that a browser whose session has expired loses its cookie).
"""

from __future__ import annotations

import functools
from typing import Any, Final

import msgspec

from eventsapi.api import account_io as io
from eventsapi.api.body import JSON
from eventsapi.auth.sessions import COOKIE_NAME, COOKIE_NAME_INSECURE

__all__ = [
    "SECURITY_SCHEMES",
    "SESSION_ID",
    "SET_COOKIE",
    "SIGNED_IN",
    "TOKEN_ID",
    "USERNAME",
    "account_schemas",
    "body",
    "ok",
]

Schema = dict[str, Any]

SECURITY_SCHEMES: Final[Schema] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A session token (`eas_...`, from `POST /auth/login`) or a personal "
        "API token (`eat_...`, from `POST /auth/tokens`).",
    },
    "session_cookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE_NAME,
        "description": "The session cookie that `POST /auth/login` sets (HttpOnly, Secure, "
        f"SameSite=Strict). Named `{COOKIE_NAME_INSECURE}`, without Secure, when the service "
        "is served over plain http on loopback.",
    },
}
SIGNED_IN: Final[list[Schema]] = [{"bearer": []}, {"session_cookie": []}]

_NO_STORE: Final[Schema] = {
    "Cache-Control": {
        "description": "`no-store`: account responses must not be cached",
        "required": True,
        "schema": {"type": "string", "const": "no-store"},
    }
}
SET_COOKIE: Final[Schema] = {
    "Set-Cookie": {
        "description": "The session cookie (HttpOnly, SameSite=Strict; Secure unless on loopback)",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _path_parameter(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


SESSION_ID: Final = _path_parameter("id", "The session's id (from `GET /auth/sessions`).")
TOKEN_ID: Final = _path_parameter("id", "The API token's id (from `GET /auth/tokens`).")
USERNAME: Final = _path_parameter("username", "The account's username.")


def ok(description: str, schema: Schema | None, **headers: Schema) -> Schema:
    response: Schema = {"description": description, "headers": {**_NO_STORE, **headers}}
    if schema is not None:
        response["content"] = {JSON: {"schema": schema}}
    return response


def body(kind: type) -> Schema:
    """The request body of the struct ``kind`` (one of ``account_io.INPUTS``)."""
    # Inline, not a $ref: schemathesis's sign-up detection (it takes POST /users for a
    # sign-up) reads a body's properties without resolving references, and crashes.
    return {"required": True, "content": {JSON: {"schema": _input_schemas()[kind.__name__]}}}


@functools.cache
def _input_schemas() -> dict[str, Schema]:
    _, schemas = msgspec.json.schema_components(
        io.INPUTS, ref_template="#/components/schemas/{name}"
    )
    return schemas


def account_schemas() -> dict[str, Schema]:
    """The request and response schemas, from the structs the server decodes and encodes."""
    _, schemas = msgspec.json.schema_components(
        (*io.INPUTS, *io.OUTPUTS), ref_template="#/components/schemas/{name}"
    )
    return schemas
