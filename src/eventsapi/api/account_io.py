"""What the account routes read and write: request bodies, response documents, headers.

Bodies are decoded into msgspec structs that refuse unknown members (a body cannot set
``role`` or ``totp_enabled`` by adding them: mass assignment has nowhere to go); the
OpenAPI document (``api/openapi_accounts.py``) is generated from the same structs, so it
cannot drift from what is accepted and sent.

The response structs are the only way an account object reaches the wire: each one
names the members it shows, so a password hash, a TOTP secret (after enrolment), a
recovery code's hash or a token's hash has no member to travel in.

Every account response carries ``Cache-Control: no-store``: some hold secrets shown once
(a session token, an API token, a TOTP secret, recovery codes), the rest are personal
data; no shared or browser cache may keep either (OWASP Session Management Cheat Sheet).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Final, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.body import JSON, read_body
from eventsapi.api.responses import JSONBytes
from eventsapi.auth.service import MAX_TOKEN_NAME
from eventsapi.auth.usernames import MAX_USERNAME_LENGTH
from eventsapi.domain.accounts import ApiToken, AuditEntry, AuditKind, Role, Scope, Session, User
from eventsapi.domain.text import NOT_SPACE, ONE_LINE, ONE_LINE_PATTERN
from eventsapi.errors import BadRequest, FieldError, ValidationFailed

__all__ = [
    "ID_PATTERN",
    "INPUTS",
    "MAX_TOKEN_DAYS",
    "NO_STORE",
    "OUTPUTS",
    "AuditRecord",
    "LoginRequest",
    "LoginResult",
    "NewToken",
    "NewUser",
    "PasswordChange",
    "RoleChange",
    "SessionGranted",
    "SessionInfo",
    "SessionsEnded",
    "TokenInfo",
    "TokenRequest",
    "TotpConfirmation",
    "TotpEnabled",
    "TotpRemoval",
    "TotpSetup",
    "UserInfo",
    "audit_record",
    "is_id",
    "no_content",
    "read_json",
    "respond",
    "session_info",
    "token_info",
    "user_info",
]

MAX_TOKEN_DAYS: Final = 3650
Instant = Annotated[datetime, msgspec.Meta(tz=True)]  # documented as format: date-time
NO_STORE: Final = (b"cache-control", b"no-store")
_T = TypeVar("_T")


# -- request bodies -------------------------------------------------------------------


# The text rules of domain/text.py, per field: a name is one line without control
# characters; a password may hold anything (it is only hashed), up to a length no
# password of the policy reaches; a two-step code is short.
MAX_PASSWORD_INPUT: Final = 1024
MAX_CODE_INPUT: Final = 64
Username = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_USERNAME_LENGTH * 4,
        pattern=ONE_LINE_PATTERN,
        description="The username, in any case or width (compared as RFC 8265's "
        "UsernameCaseMapped profile compares).",
    ),
]
Password = Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD_INPUT)]
Code = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_CODE_INPUT,
        pattern=ONE_LINE_PATTERN,
        description="A code of the authenticator app, or a recovery code.",
    ),
]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`totp`: the code of the authenticator app, or a recovery code, when the account
    has two-step verification (send it with the password, or after a
    `second-factor-required` answer). `new_password`: after a `password-change-required`
    answer, a password of your own to replace the one an administrator reset."""

    username: Username
    password: Password
    totp: Code | None = None
    new_password: Password | None = None
    """After a `password-change-required` answer: the password that replaces the one an
    administrator reset."""


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    """`totp`: a code (or recovery code) when two-step verification is on."""

    current_password: Password
    new_password: Password
    totp: Code | None = None


class TotpConfirmation(msgspec.Struct, forbid_unknown_fields=True):
    """The code the authenticator app shows now, and the account's password."""

    code: Code
    password: Password


class TotpRemoval(msgspec.Struct, forbid_unknown_fields=True):
    """The password, and a code of the authenticator app or a recovery code."""

    password: Password
    code: Code


# one line of text, and something visible in it
_NAME_PATTERN: Final = f"^{ONE_LINE}*{NOT_SPACE}{ONE_LINE}*$"
TokenName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_TOKEN_NAME,
        pattern=_NAME_PATTERN,
        description="A name to recognise the token by (where it is used): one line.",
    ),
]
TokenDays = Annotated[int, msgspec.Meta(ge=1, le=MAX_TOKEN_DAYS)]
# JSON has one number type: 30.0 is the integer 30 (JSON Schema agrees), so a whole
# float is a number of days too
WholeTokenDays = Annotated[float, msgspec.Meta(ge=1, le=MAX_TOKEN_DAYS, multiple_of=1)]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`expires_in_days`: the token's lifetime; `null` for a token that never
    expires; 90 days when left out."""

    name: TokenName
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=len(Scope))]
    expires_in_days: TokenDays | WholeTokenDays | UnsetType | None = UNSET


NewUsername = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_USERNAME_LENGTH,
        pattern=ONE_LINE_PATTERN,
        description="Letters, digits, '.', '_' and '-', all of one script (Latin may go "
        "with Chinese, Japanese or Korean); stored as the PRECIS UsernameCaseMapped "
        "profile (RFC 8265) has it, in lower case, so `Dana` and `dana` are one account.",
    ),
]


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    """A new account; `role` is `member` when left out."""

    username: NewUsername
    password: Password
    role: Role = Role.MEMBER


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


INPUTS: Final = (
    LoginRequest,
    PasswordChange,
    TotpConfirmation,
    TotpRemoval,
    TokenRequest,
    NewUser,
    RoleChange,
)

ID_PATTERN: Final = "^[0-9A-HJKMNP-TV-Z]{26}$"
"""Ids of sessions, tokens and audit entries: ULIDs."""
_ID: Final = re.compile(ID_PATTERN)


def is_id(value: str) -> bool:
    """Whether ``value`` can be an id of ours: anything else is looked up nowhere (and
    PostgreSQL could not even take a NUL in it)."""
    return _ID.fullmatch(value) is not None


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {
    kind: msgspec.json.Decoder(kind) for kind in INPUTS
}


def _decoder(kind: type[_T]) -> msgspec.json.Decoder[_T]:
    found = _decoders.get(kind)
    if found is None:
        found = _decoders[kind] = msgspec.json.Decoder(kind)
    return found


async def read_json(
    request: Request, kind: type[_T], *, limit: int, accepted: tuple[str, ...] = (JSON,)
) -> _T:
    """The JSON body (of a media type in ``accepted``) as `kind`: 400 if it is not JSON,
    422 naming the member that is missing, unknown or of the wrong type."""
    body = await read_body(request, accepted=accepted, limit=limit)
    try:
        decoded: _T = _decoder(kind).decode(body)
    except msgspec.ValidationError as exc:
        raise ValidationFailed([_field_error(str(exc))], subject="request") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    return decoded


_NAMED = re.compile(r"Object (missing required|contains unknown) field `([^`]*)`")
_INDEX = re.compile(r"\[(\d+)\]")


def _field_error(message: str) -> FieldError:
    """msgspec's message ("Expected `str`, got `int` - at `$.username`") as the field
    ("username", for the problem's JSON pointer) and what is wrong with it."""
    text, _, at = message.partition(" - at `$")
    field = _INDEX.sub(r".\1", at.rstrip("`")).lstrip(".")
    named = _NAMED.fullmatch(text)
    if named is not None:
        field = f"{field}.{named[2]}" if field else named[2]
        text = "required" if named[1] == "missing required" else "unknown field"
    return FieldError(field, text)


# -- response documents ---------------------------------------------------------------


class UserInfo(msgspec.Struct):
    """An account as the API shows it. `locked`: too many failed logins; a login with
    the second factor, or an admin, lifts it."""

    id: str
    username: str
    role: Role
    totp_enabled: bool
    locked: bool
    created_at: Instant
    password_changed_at: Instant


class SessionInfo(msgspec.Struct):
    """A login. `current`: the session of the request that lists it. It ends at
    `expires_at`, or earlier after the idle timeout without a request."""

    id: str
    created_at: Instant
    last_seen_at: Instant
    expires_at: Instant
    client_address: str
    user_agent: str
    current: bool


class LoginResult(msgspec.Struct):
    """`token`: the session token, shown once (also set as the session cookie); send it
    as `Authorization: Bearer`."""

    token: str
    session: SessionInfo
    user: UserInfo


class SessionGranted(msgspec.Struct):
    """A new session after a privilege change (every other session has ended):
    `token` replaces the one used so far (the cookie is replaced too)."""

    token: str
    session: SessionInfo


class TotpSetup(msgspec.Struct):
    """Enrolment in progress: add `secret` to an authenticator app (scan `qr_svg`, an
    SVG image of `otpauth_uri`), then confirm with a code. Shown this once."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpEnabled(msgspec.Struct):
    """Two-step verification is on. `recovery_codes`: 10 single-use codes that stand in
    for the app (keep them offline; they are shown this once); `token`: the new session's
    token (every other session has ended)."""

    recovery_codes: list[str]
    token: str
    session: SessionInfo


class SessionsEnded(msgspec.Struct):
    terminated: int


class TokenInfo(msgspec.Struct):
    """A personal API token, without its value (which is shown only when created)."""

    id: str
    name: str
    scopes: list[Scope]
    created_at: Instant
    expires_at: Instant | None
    last_used_at: Instant | None


class NewToken(msgspec.Struct):
    """`token`: the value, shown this once (only its hash is kept); send it as
    `Authorization: Bearer`."""

    token: str
    id: str
    name: str
    scopes: list[Scope]
    created_at: Instant
    expires_at: Instant | None


class AuditRecord(msgspec.Struct):
    """A security event of the account (`kind`), from where (`client_address`), with
    what the event concerns (`detail`: ids of sessions and tokens, a reason, a count)."""

    id: str
    at: Instant
    kind: AuditKind
    client_address: str
    detail: dict[str, Any]


OUTPUTS: Final = (
    UserInfo,
    SessionInfo,
    LoginResult,
    SessionGranted,
    TotpSetup,
    TotpEnabled,
    SessionsEnded,
    TokenInfo,
    NewToken,
    AuditRecord,
)


def user_info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        username=user.username,
        role=user.role,
        totp_enabled=user.totp_enabled,
        locked=user.locked,
        created_at=user.created_at,
        password_changed_at=user.password_changed_at,
    )


def session_info(session: Session, *, current: bool) -> SessionInfo:
    return SessionInfo(
        id=session.id,
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        expires_at=session.expires_at,
        client_address=session.client_address,
        user_agent=session.user_agent,
        current=current,
    )


def token_info(token: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=token.id,
        name=token.name,
        scopes=sorted(token.scopes),
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
    )


def audit_record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=entry.id,
        at=entry.at,
        kind=entry.kind,
        client_address=entry.client_address,
        detail=entry.detail,
    )


_encode = msgspec.json.Encoder().encode


def respond(
    document: object, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> Response:
    """`document` as JSON, never to be stored by a cache."""
    return JSONBytes(_encode(document), status, [NO_STORE, *(headers or ())])


def no_content(headers: list[tuple[bytes, bytes]] | None = None) -> Response:
    response = Response(status_code=204)
    response.raw_headers.extend([NO_STORE, *(headers or ())])
    return response
