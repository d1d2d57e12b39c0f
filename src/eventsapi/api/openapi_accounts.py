"""The OpenAPI description of the account routes (``/auth/...``, ``/users...``), their
schemas (generated from the structs of ``api/account_io.py``) and the security schemes.

Every operation states its ``security``: a session or API token as a bearer token, or the
session cookie. The login needs none; the logout takes either or none (it answers 204
without a live session, so that a browser whose session has expired loses its cookie).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

import msgspec

from eventsapi.api import account_io as io
from eventsapi.api.accounts import AUDIT_PAGE
from eventsapi.api.body import JSON
from eventsapi.auth.service import MAX_AUDIT_PAGE
from eventsapi.auth.sessions import COOKIE_NAME, COOKIE_NAME_INSECURE

__all__ = ["SECURITY_SCHEMES", "SIGNED_IN", "account_paths", "account_schemas"]

Schema = dict[str, Any]
Problem = Callable[..., Schema]

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
_SESSION_ONLY: Final = (
    " Needs a login session (bearer session token or cookie): an API token gets 403."
)

_NO_STORE: Final[Schema] = {
    "Cache-Control": {
        "description": "`no-store`: account responses must not be cached",
        "required": True,
        "schema": {"type": "string", "const": "no-store"},
    }
}
_SET_COOKIE: Final[Schema] = {
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


_SESSION_ID: Final = _path_parameter("id", "The session's id (from `GET /auth/sessions`).")
_TOKEN_ID: Final = _path_parameter("id", "The API token's id (from `GET /auth/tokens`).")
_USERNAME: Final = _path_parameter("username", "The account's username.")


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(description: str, schema: Schema | None, **headers: Schema) -> Schema:
    response: Schema = {"description": description, "headers": {**_NO_STORE, **headers}}
    if schema is not None:
        response["content"] = {JSON: {"schema": schema}}
    return response


def _body(name: str) -> Schema:
    # Inline, not a $ref: schemathesis's sign-up detection (it takes POST /users for a
    # sign-up) reads a body's properties without resolving references, and crashes.
    return {"required": True, "content": {JSON: {"schema": _input_schemas()[name]}}}


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


def account_paths(
    common_errors: Schema, body_errors: Schema, problem: Problem, retry_after: Schema
) -> dict[str, Schema]:
    """The path items. ``problem(description, headers=None)`` makes a problem response."""
    unauthenticated = {"401": problem("No valid credentials: log in, or send a token")}
    throttled = {
        "429": problem(
            "Too many failed attempts (`too-many-attempts`), or over the rate limit "
            "(`too-many-requests`): wait `Retry-After` seconds",
            retry_after,
        )
    }
    hashing = {
        "503": problem(
            "The database is unavailable, or too many password checks are waiting in this "
            "worker, or from your address (`server-busy`): retry after `Retry-After` seconds",
            retry_after,
        )
    }
    forbidden_token = {"403": problem("An API token cannot do this (log in), or a foreign Origin")}
    admin_only = {"403": problem("Needs the admin scope")}

    def signed_in(operation: Schema) -> Schema:
        responses = {**unauthenticated, **operation["responses"]}  # a specific 401 wins
        ordered = dict(sorted(responses.items()))
        common = {status: r for status, r in common_errors.items() if status not in ordered}
        return {**operation, "security": SIGNED_IN, "responses": {**ordered, **common}}

    reauthenticated = {
        "401": problem(
            "No valid credentials; or the password or two-step code is wrong "
            "(`authentication-failed`), or a code is needed (`second-factor-required`)"
        ),
        **throttled,
        **hashing,
    }
    return {
        "/auth/login": {
            "post": {
                "operationId": "login",
                "summary": "Log in: a session token, also set as the session cookie",
                "description": "With two-step verification on, send `totp` too (a code or a "
                "recovery code). Unknown usernames and wrong passwords get the same answer. "
                "Failed attempts are throttled per account and per client (429).",
                "security": [],
                "requestBody": _body("LoginRequest"),
                "responses": {
                    "200": _ok("Logged in", _ref("LoginResult"), **_SET_COOKIE),
                    **body_errors,
                    "401": problem(
                        "The login failed (`authentication-failed`, whatever the reason), "
                        "or the password was right and a two-step code is needed "
                        "(`second-factor-required`)"
                    ),
                    **common_errors,
                    **throttled,
                    **hashing,
                },
            }
        },
        "/auth/logout": {
            "post": {
                "operationId": "logout",
                "summary": "Log out: end this session and remove the cookie",
                "description": "204 also without a live session (there is nothing to end).",
                "security": [{}, *SIGNED_IN],
                "responses": {
                    "204": _ok("Logged out", None, **_SET_COOKIE),
                    **forbidden_token,
                    **common_errors,
                },
            }
        },
        "/auth/me": {
            "get": signed_in(
                {
                    "operationId": "me",
                    "summary": "Your account",
                    "responses": {"200": _ok("Your account", _ref("UserInfo"))},
                }
            )
        },
        "/auth/sessions": {
            "get": signed_in(
                {
                    "operationId": "listSessions",
                    "summary": "Your active sessions, newest first; `current` marks this one",
                    "description": _SESSION_ONLY.strip(),
                    "responses": {
                        "200": _ok(
                            "Active sessions", {"type": "array", "items": _ref("SessionInfo")}
                        ),
                        **forbidden_token,
                    },
                }
            ),
            "delete": signed_in(
                {
                    "operationId": "terminateOtherSessions",
                    "summary": "Terminate every session but this one",
                    "description": _SESSION_ONLY.strip(),
                    "responses": {
                        "200": _ok("How many were ended", _ref("SessionsEnded")),
                        **forbidden_token,
                    },
                }
            ),
        },
        "/auth/sessions/{id}": {
            "parameters": [_SESSION_ID],
            "delete": signed_in(
                {
                    "operationId": "terminateSession",
                    "summary": "Terminate one of your sessions (at once, on every replica)",
                    "description": "Ending the current session also removes the cookie."
                    + _SESSION_ONLY,
                    "responses": {
                        "204": _ok("Ended", None),
                        **forbidden_token,
                        "404": problem("You have no active session with this id"),
                    },
                }
            ),
        },
        "/auth/password": {
            "post": signed_in(
                {
                    "operationId": "changePassword",
                    "summary": "Change your password: every session ends, you get a new one",
                    "description": "Needs the current password, and a code when two-step "
                    "verification is on. API tokens stay valid." + _SESSION_ONLY,
                    "requestBody": _body("PasswordChange"),
                    "responses": {
                        "200": _ok("Changed", _ref("SessionGranted"), **_SET_COOKIE),
                        **body_errors,
                        "422": problem(
                            "The new password breaks the policy (`password-rejected`, with "
                            "advice), or the body's fields are invalid"
                        ),
                        **forbidden_token,
                        **reauthenticated,
                    },
                }
            )
        },
        "/auth/totp": {
            "post": signed_in(
                {
                    "operationId": "startTotp",
                    "summary": "Start setting up two-step verification (TOTP)",
                    "description": "A new secret, its `otpauth://` URI and a QR code (SVG), "
                    "shown once; confirm with `POST /auth/totp/confirm`. No body is read."
                    + _SESSION_ONLY,
                    "responses": {
                        "200": _ok("Enrolment started", _ref("TotpSetup")),
                        "403": problem(
                            "An API token cannot do this, or two-step verification is on already"
                        ),
                    },
                }
            ),
            "delete": signed_in(
                {
                    "operationId": "disableTotp",
                    "summary": "Turn two-step verification off (password and a code)",
                    "description": "Refused (422) if the password is shorter than a "
                    "password alone must be: change it first." + _SESSION_ONLY,
                    "requestBody": _body("TotpRemoval"),
                    "responses": {
                        "204": _ok("Turned off", None),
                        **body_errors,
                        "403": problem(
                            "An API token cannot do this, or two-step verification is not on"
                        ),
                        **reauthenticated,
                    },
                }
            ),
        },
        "/auth/totp/confirm": {
            "post": signed_in(
                {
                    "operationId": "confirmTotp",
                    "summary": "Turn two-step verification on with a code from the app",
                    "description": "Returns 10 recovery codes (shown once) and a new session: "
                    "every other session ends." + _SESSION_ONLY,
                    "requestBody": _body("TotpConfirmation"),
                    "responses": {
                        "200": _ok("Turned on", _ref("TotpEnabled"), **_SET_COOKIE),
                        **body_errors,
                        "422": problem("The code is not the one the app shows now"),
                        "403": problem("An API token cannot do this, or no set-up was started"),
                        **reauthenticated,
                    },
                }
            )
        },
        "/auth/tokens": {
            "get": signed_in(
                {
                    "operationId": "listTokens",
                    "summary": "Your API tokens (never their values), newest first",
                    "description": _SESSION_ONLY.strip(),
                    "responses": {
                        "200": _ok("API tokens", {"type": "array", "items": _ref("TokenInfo")}),
                        **forbidden_token,
                    },
                }
            ),
            "post": signed_in(
                {
                    "operationId": "createToken",
                    "summary": "Create a personal API token (its value is shown once)",
                    "description": "Scopes: `events:read`, `events:write`, `admin` (only "
                    "those you have)." + _SESSION_ONLY,
                    "requestBody": _body("TokenRequest"),
                    "responses": {
                        "201": _ok(
                            "Created",
                            _ref("NewToken"),
                            Location={
                                "description": "URL of the token (to revoke it with DELETE)",
                                "required": True,
                                "schema": {"type": "string", "format": "uri-reference"},
                            },
                        ),
                        **body_errors,
                        "403": problem("An API token cannot do this, or a scope you do not have"),
                    },
                }
            ),
        },
        "/auth/tokens/{id}": {
            "parameters": [_TOKEN_ID],
            "delete": signed_in(
                {
                    "operationId": "revokeToken",
                    "summary": "Revoke one of your API tokens (at once)",
                    "description": _SESSION_ONLY.strip(),
                    "responses": {
                        "204": _ok("Revoked", None),
                        **forbidden_token,
                        "404": problem("You have no active API token with this id"),
                    },
                }
            ),
        },
        "/auth/audit": {
            "get": signed_in(
                {
                    "operationId": "audit",
                    "summary": "Your security events (logins, failures, 2FA, sessions, "
                    "tokens), newest first",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "description": f"Entries per page (default {AUDIT_PAGE}).",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_PAGE},
                        },
                        {
                            "name": "before",
                            "in": "query",
                            "description": "Entries older than this one: the last id of the "
                            "previous page (the `Link` header has the next page's URL).",
                            "schema": {"type": "string", "pattern": io.ID_PATTERN},
                        },
                    ],
                    "responses": {
                        "200": _ok(
                            "Audit entries",
                            {"type": "array", "items": _ref("AuditRecord")},
                            Link={
                                "description": 'The next page (rel="next") when this one is full',
                                "schema": {"type": "string"},
                            },
                        ),
                        "400": problem("An invalid query parameter (`parameter` names it)"),
                    },
                }
            )
        },
        "/users": {
            "get": signed_in(
                {
                    "operationId": "listUsers",
                    "summary": "Every account, by username (admin)",
                    "responses": {
                        "200": _ok("Accounts", {"type": "array", "items": _ref("UserInfo")}),
                        **admin_only,
                    },
                }
            ),
            "post": signed_in(
                {
                    "operationId": "createUser",
                    "summary": "Create an account (admin)",
                    "requestBody": _body("NewUser"),
                    "responses": {
                        "201": _ok("Created", _ref("UserInfo")),
                        **body_errors,
                        "422": problem(
                            "An invalid username (or one that mixes scripts), or a password "
                            "the policy refuses (`password-rejected`, with advice)"
                        ),
                        **admin_only,
                        "409": problem("The username is taken (`username-taken`)"),
                    },
                }
            ),
        },
        "/users/{username}/unlock": {
            "parameters": [_USERNAME],
            "post": signed_in(
                {
                    "operationId": "unlockUser",
                    "summary": "Lift an account's lock and forget its failed logins (admin)",
                    "responses": {
                        "200": _ok("Unlocked", _ref("UserInfo")),
                        **admin_only,
                        "404": problem("No user has this name"),
                    },
                }
            ),
        },
        "/users/{username}/role": {
            "parameters": [_USERNAME],
            "put": signed_in(
                {
                    "operationId": "setUserRole",
                    "summary": "Give an account another role; its sessions end (admin)",
                    "requestBody": _body("RoleChange"),
                    "responses": {
                        "200": _ok("Changed", _ref("UserInfo")),
                        **body_errors,
                        "403": problem("Needs the admin scope, or this is the last admin"),
                        "404": problem("No user has this name"),
                    },
                }
            ),
        },
    }
