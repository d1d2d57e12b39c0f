"""The route table's entries for the account routes: ``/auth/...`` and ``/users...``.

The handlers are in ``api/accounts.py``, ``api/account_tokens.py`` and ``api/users.py``;
each authenticates first, as its entry's ``access`` says.
"""

from __future__ import annotations

from typing import Final

from eventsapi.api import account_io as io
from eventsapi.api.accounts import AUDIT_PAGE
from eventsapi.api.openapi import BODY_ERRORS, RATE_LIMIT_FIELDS, RETRY_AFTER, problem, ref
from eventsapi.api.openapi_accounts import SESSION_ID, SET_COOKIE, TOKEN_ID, USERNAME, body, ok
from eventsapi.api.routes import Access, Limits, Op, Route
from eventsapi.auth.service import MAX_AUDIT_PAGE

__all__ = ["ACCOUNT_ROUTES"]

_RETRY: Final = {**RETRY_AFTER, **RATE_LIMIT_FIELDS}
_THROTTLED: Final = {
    "429": problem(
        "Too many failed attempts (`too-many-attempts`), or over the rate limit "
        "(`too-many-requests`): wait `Retry-After` seconds",
        _RETRY,
    )
}
_HASHING: Final = {
    "503": problem(
        "The database is unavailable, or too many password checks are waiting in this "
        "worker, or from your address (`server-busy`): retry after `Retry-After` seconds",
        _RETRY,
    )
}
_FORBIDDEN_TOKEN: Final = {
    "403": problem("An API token cannot do this (log in), or a foreign Origin")
}
_ADMIN_ONLY: Final = {"403": problem("Needs the admin scope")}
_REAUTHENTICATED: Final = {
    "401": problem(
        "No valid credentials; or the password or two-step code is wrong "
        "(`authentication-failed`), or a code is needed (`second-factor-required`)"
    ),
    **_THROTTLED,
    **_HASHING,
}
_TAG: Final = "accounts"


def _route(path: str, *ops: Op, parameters: tuple[dict[str, object], ...] = ()) -> Route:
    return Route(path=path, ops=ops, limits=Limits.AUTH, tag=_TAG, parameters=parameters)


ACCOUNT_ROUTES: Final = (
    _route(
        "/auth/login",
        Op(
            method="POST",
            handler=lambda s: s.accounts.login,
            access=Access.UNAUTHENTICATED,
            operation_id="login",
            summary="Log in: a session token, also set as the session cookie",
            description="With two-step verification on, send `totp` too (a code or a "
            "recovery code). Unknown usernames and wrong passwords get the same answer. "
            "Failed attempts are throttled per account and per client (429). After "
            "an administrator reset the password, send `new_password` too.",
            body=body(io.LoginRequest),
            responses={
                "200": ok("Logged in", ref(io.LoginResult), **SET_COOKIE),
                **BODY_ERRORS,
                "401": problem(
                    "The login failed (`authentication-failed`, whatever the reason), "
                    "or the password was right and a two-step code is needed "
                    "(`second-factor-required`), or a new password, the old one having "
                    "been reset (`password-change-required`)"
                ),
            },
            overrides={**_THROTTLED, **_HASHING},
        ),
    ),
    _route(
        "/auth/logout",
        Op(
            method="POST",
            handler=lambda s: s.accounts.logout,
            access=Access.OPTIONAL,
            operation_id="logout",
            summary="Log out: end this session and remove the cookie",
            description="204 also without a live session (there is nothing to end).",
            responses={"204": ok("Logged out", None, **SET_COOKIE), **_FORBIDDEN_TOKEN},
        ),
    ),
    _route(
        "/auth/me",
        Op(
            method="GET",
            handler=lambda s: s.accounts.me,
            access=Access.MEMBER,
            operation_id="me",
            summary="Your account",
            responses={"200": ok("Your account", ref(io.UserInfo))},
        ),
    ),
    _route(
        "/auth/sessions",
        Op(
            method="GET",
            handler=lambda s: s.accounts.list_sessions,
            access=Access.SESSION,
            operation_id="listSessions",
            summary="Your active sessions, newest first; `current` marks this one",
            responses={
                "200": ok("Active sessions", {"type": "array", "items": ref(io.SessionInfo)}),
                **_FORBIDDEN_TOKEN,
            },
        ),
        Op(
            method="DELETE",
            handler=lambda s: s.accounts.terminate_other_sessions,
            access=Access.SESSION,
            operation_id="terminateOtherSessions",
            summary="Terminate every session but this one",
            responses={
                "200": ok("How many were ended", ref(io.SessionsEnded)),
                **_FORBIDDEN_TOKEN,
            },
        ),
    ),
    _route(
        "/auth/sessions/{id}",
        Op(
            method="DELETE",
            handler=lambda s: s.accounts.terminate_session,
            access=Access.SESSION,
            operation_id="terminateSession",
            summary="Terminate one of your sessions (at once, on every replica)",
            description="Ending the current session also removes the cookie.",
            responses={
                "204": ok("Ended", None),
                **_FORBIDDEN_TOKEN,
                "404": problem("You have no active session with this id"),
            },
        ),
        parameters=(SESSION_ID,),
    ),
    _route(
        "/auth/password",
        Op(
            method="POST",
            handler=lambda s: s.accounts.change_password,
            access=Access.SESSION,
            operation_id="changePassword",
            summary="Change your password: every session ends, you get a new one",
            description="Needs the current password, and a code when two-step "
            "verification is on. API tokens stay valid.",
            body=body(io.PasswordChange),
            responses={
                "200": ok("Changed", ref(io.SessionGranted), **SET_COOKIE),
                **BODY_ERRORS,
                "422": problem(
                    "The new password breaks the policy (`password-rejected`, with "
                    "advice), or the body's fields are invalid"
                ),
                **_FORBIDDEN_TOKEN,
                **_REAUTHENTICATED,
            },
        ),
    ),
    _route(
        "/auth/totp",
        Op(
            method="POST",
            handler=lambda s: s.accounts.start_totp,
            access=Access.SESSION,
            operation_id="startTotp",
            summary="Start setting up two-step verification (TOTP)",
            description="A new secret, its `otpauth://` URI and a QR code (SVG), "
            "shown once; confirm with `POST /auth/totp/confirm`. No body is read.",
            responses={
                "200": ok("Enrolment started", ref(io.TotpSetup)),
                "403": problem(
                    "An API token cannot do this, or two-step verification is on already"
                ),
            },
        ),
        Op(
            method="DELETE",
            handler=lambda s: s.accounts.disable_totp,
            access=Access.SESSION,
            operation_id="disableTotp",
            summary="Turn two-step verification off (password and a code)",
            description="Refused (422) if the password is shorter than a "
            "password alone must be: change it first.",
            body=body(io.TotpRemoval),
            responses={
                "204": ok("Turned off", None),
                **BODY_ERRORS,
                "403": problem("An API token cannot do this, or two-step verification is not on"),
                **_REAUTHENTICATED,
            },
        ),
    ),
    _route(
        "/auth/totp/confirm",
        Op(
            method="POST",
            handler=lambda s: s.accounts.confirm_totp,
            access=Access.SESSION,
            operation_id="confirmTotp",
            summary="Turn two-step verification on with a code from the app",
            description="Returns 10 recovery codes (shown once) and a new session: "
            "every other session ends.",
            body=body(io.TotpConfirmation),
            responses={
                "200": ok("Turned on", ref(io.TotpEnabled), **SET_COOKIE),
                **BODY_ERRORS,
                "422": problem("The code is not the one the app shows now"),
                "403": problem("An API token cannot do this, or no set-up was started"),
                **_REAUTHENTICATED,
            },
        ),
    ),
    _route(
        "/auth/tokens",
        Op(
            method="GET",
            handler=lambda s: s.tokens.list_tokens,
            access=Access.SESSION,
            operation_id="listTokens",
            summary="Your API tokens (never their values), newest first",
            responses={
                "200": ok("API tokens", {"type": "array", "items": ref(io.TokenInfo)}),
                **_FORBIDDEN_TOKEN,
            },
        ),
        Op(
            method="POST",
            handler=lambda s: s.tokens.create_token,
            access=Access.SESSION,
            operation_id="createToken",
            summary="Create a personal API token (its value is shown once)",
            description="Scopes: `events:read`, `events:write`, `admin` (only those you have).",
            body=body(io.TokenRequest),
            responses={
                "201": ok(
                    "Created",
                    ref(io.NewToken),
                    Location={
                        "description": "URL of the token (to revoke it with DELETE)",
                        "required": True,
                        "schema": {"type": "string", "format": "uri-reference"},
                    },
                ),
                **BODY_ERRORS,
                "403": problem("An API token cannot do this, or a scope you do not have"),
            },
        ),
    ),
    _route(
        "/auth/tokens/{id}",
        Op(
            method="DELETE",
            handler=lambda s: s.tokens.revoke_token,
            access=Access.SESSION,
            operation_id="revokeToken",
            summary="Revoke one of your API tokens (at once)",
            responses={
                "204": ok("Revoked", None),
                **_FORBIDDEN_TOKEN,
                "404": problem("You have no active API token with this id"),
            },
        ),
        parameters=(TOKEN_ID,),
    ),
    _route(
        "/auth/audit",
        Op(
            method="GET",
            handler=lambda s: s.accounts.audit,
            access=Access.MEMBER,
            operation_id="audit",
            summary="Your security events (logins, failures, 2FA, sessions, tokens), newest first",
            parameters=[
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
            responses={
                "200": ok(
                    "Audit entries",
                    {"type": "array", "items": ref(io.AuditRecord)},
                    Link={
                        "description": 'The next page (rel="next") when this one is full',
                        "schema": {"type": "string"},
                    },
                ),
                "400": problem("An invalid query parameter (`parameter` names it)"),
            },
        ),
    ),
    _route(
        "/users",
        Op(
            method="GET",
            handler=lambda s: s.users.list_users,
            access=Access.ADMIN,
            operation_id="listUsers",
            summary="Every account, by username (admin)",
            responses={
                "200": ok("Accounts", {"type": "array", "items": ref(io.UserInfo)}),
                **_ADMIN_ONLY,
            },
        ),
        Op(
            method="POST",
            handler=lambda s: s.users.create_user,
            access=Access.ADMIN,
            operation_id="createUser",
            summary="Create an account (admin)",
            body=body(io.NewUser),
            responses={
                "201": ok("Created", ref(io.UserInfo)),
                **BODY_ERRORS,
                "422": problem(
                    "An invalid username (or one that mixes scripts), or a password "
                    "the policy refuses (`password-rejected`, with advice)"
                ),
                **_ADMIN_ONLY,
                "409": problem("The username is taken (`username-taken`)"),
            },
        ),
    ),
    _route(
        "/users/{username}/unlock",
        Op(
            method="POST",
            handler=lambda s: s.users.unlock,
            access=Access.ADMIN,
            operation_id="unlockUser",
            summary="Lift an account's lock and forget its failed logins (admin)",
            responses={
                "200": ok("Unlocked", ref(io.UserInfo)),
                **_ADMIN_ONLY,
                "404": problem("No user has this name"),
            },
        ),
        parameters=(USERNAME,),
    ),
    _route(
        "/users/{username}/role",
        Op(
            method="PUT",
            handler=lambda s: s.users.set_role,
            access=Access.ADMIN,
            operation_id="setUserRole",
            summary="Give an account another role; its sessions end (admin)",
            body=body(io.RoleChange),
            responses={
                "200": ok("Changed", ref(io.UserInfo)),
                **BODY_ERRORS,
                "403": problem("Needs the admin scope, or this is the last admin"),
                "404": problem("No user has this name"),
            },
        ),
        parameters=(USERNAME,),
    ),
    _route(
        "/users/{username}/sessions",
        Op(
            method="DELETE",
            handler=lambda s: s.users.end_sessions,
            access=Access.ADMIN,
            operation_id="endUserSessions",
            summary="End every session of an account; its API tokens stay (admin)",
            responses={
                "200": ok("How many were ended", ref(io.SessionsEnded)),
                **_ADMIN_ONLY,
                "404": problem("No user has this name"),
            },
        ),
        parameters=(USERNAME,),
    ),
)
