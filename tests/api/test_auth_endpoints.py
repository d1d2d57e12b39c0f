"""The account API over HTTP (issue 6): login and logout, the session cookie, sessions,
password change, two-step verification, API tokens, the audit log, user management.

The rules themselves are tested on ``AccountService`` (tests/unit/test_signin.py,
test_own_account.py and test_administration.py); these tests check what a client sees:
statuses, problem types, headers, cookies, and that no secret ever leaves the server.
Every response of every test here passes through ``Recorder``, and after each test:

- no response body holds an argon2 hash (``$argon2``), a password, a token's hash (hex or
  base64), or a TOTP secret outside the one response that enrols it;
- every JSON response of an account route matches the schema the OpenAPI document gives
  for its operation and status (schemathesis cannot log in, so it sees only the 401s).

(``tests/api/conftest.py`` also scans every response for the secrets in the store.)

Passwords are hashed with ``Hasher.for_tests()`` (the ``app`` fixture below swaps the
service for one that uses it).
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgspec
import pyotp
import pytest
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from eventsapi.api.route_table import document as openapi_document
from eventsapi.app import create_app
from eventsapi.auth.passwords import Hasher
from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from eventsapi.auth.throttle import FREE_FAILURES
from eventsapi.auth.tokens import token_hash
from eventsapi.domain.accounts import Role
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.api.asserts import assert_problem, send_json
from tests.support import FakeClock

# Passwords of test accounts, not secrets:
PASSWORD = "plum tractor whisper eleven lagoon"  # noqa: S105
NEW_PASSWORD = "quiet harbor pencil marmalade"  # noqa: S105
AGENT = "test-agent/1.0"
TOKEN_VALUE = re.compile(r"ea[st]_[A-Za-z0-9_-]{43}")


# -- fixtures: a cheap hasher, and every response recorded -----------------------------


def fast_app(settings: Settings, store: Backend, clock: FakeClock) -> Starlette:
    """``create_app``, with the account service hashing passwords in microseconds."""
    app = create_app(settings, store=store, clock=clock.now)
    fast = AccountService(
        store,
        clock.now,
        hasher=Hasher.for_tests(),
        session_policy=app.state.accounts.session_policy,
    )
    # The routes take the service from the gate at each request: one swap swaps both.
    app.state.accounts = app.state.authn.accounts = fast
    return app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Rate limits off: they have tests of their own, and a test here logs in more often
    # than the auth group allows one address in a minute.
    return Settings(database=str(tmp_path / "events.db"), rate_limits=[])


@pytest.fixture
def app(settings: Settings, store: Backend, clock: FakeClock) -> Starlette:
    return fast_app(settings, store, clock)


@dataclass
class Exchange:
    method: str
    path: str
    route: str | None
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """The app, recording every request's route template and response."""

    app: Starlette
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def state(self) -> State:
        """The app's state: what conftest.py's suite-wide scan reads the store from."""
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent: list[Message] = []

        async def record(message: Message) -> None:
            sent.append(message)
            await send(message)

        await self.app(scope, receive, record)
        start = sent[0]
        headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        body = b"".join(m.get("body", b"") for m in sent[1:])
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        route = getattr(scope.get("route"), "path", None)
        self.exchanges.append(
            Exchange(scope["method"], scope["path"], route, start["status"], headers, body)
        )


@pytest.fixture
def recorder(app: Starlette) -> Recorder:
    return Recorder(app)


@pytest.fixture
def client(recorder: Recorder) -> Iterator[TestClient]:
    with TestClient(recorder, headers={"User-Agent": AGENT}) as test_client:
        yield test_client
    check_no_secret_in(recorder.exchanges)
    check_documented(recorder.exchanges)


def _encodings(digest: bytes) -> list[str]:
    return [
        digest.hex(),
        base64.b64encode(digest).decode().rstrip("="),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
    ]


def check_no_secret_in(exchanges: list[Exchange]) -> None:
    """No body holds a password hash, a password, a token's hash, or a TOTP secret
    outside the enrolment response that shows it."""
    bodies = [exchange.body.decode() for exchange in exchanges]
    cookies = [exchange.headers.get("set-cookie", "") for exchange in exchanges]
    values = {match for text in bodies + cookies for match in TOKEN_VALUE.findall(text)}
    hashes = [encoded for value in values for encoded in _encodings(token_hash(value))]
    secrets = {
        json.loads(exchange.body)["secret"]
        for exchange in exchanges
        if _enrols(exchange) and exchange.status == 200
    }
    for exchange, body in zip(exchanges, bodies, strict=True):
        where = f"{exchange.method} {exchange.path} ({exchange.status})"
        assert "$argon2" not in body, where
        for password in (PASSWORD, NEW_PASSWORD):
            assert password not in body, where
        for encoded in hashes:
            assert encoded not in body, where
        if not _enrols(exchange):
            for secret in secrets:
                assert secret not in body, where


def _enrols(exchange: Exchange) -> bool:
    return exchange.route == "/auth/totp" and exchange.method == "POST"


@functools.cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(openapi_document(anonymous_writes=True))
    return document


def check_documented(exchanges: list[Exchange]) -> None:
    """Each account route's JSON answer matches its documented schema and status."""
    document = _document()
    for exchange in exchanges:
        route = exchange.route
        if route is None or not route.startswith(("/auth/", "/users")):
            continue
        if exchange.method in ("HEAD", "OPTIONS"):
            continue  # not operations of their own in the document
        method = exchange.method.lower()
        where = f"{exchange.method} {exchange.path} ({exchange.status})"
        responses = document["paths"][route][method]["responses"]
        assert str(exchange.status) in responses, f"{where} is not documented"
        response = responses[str(exchange.status)]
        for name, header in response.get("headers", {}).items():
            if header.get("required"):
                assert name.lower() in exchange.headers, f"{where} lacks {name}"
        content = response.get("content")
        if not content:
            assert exchange.body == b"", where
            continue
        [(media_type, described)] = content.items()
        assert exchange.headers["content-type"] == media_type, where
        schema = {**described["schema"], "components": document["components"]}
        validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        errors = [error.message for error in validator.iter_errors(json.loads(exchange.body))]
        assert not errors, f"{where}: {errors}"


# -- helpers ---------------------------------------------------------------------------


def add_user(
    client: TestClient, app: Starlette, name: str = "alice", *, role: Role = Role.MEMBER
) -> None:
    """An account made by the operator (the command line's way)."""
    accounts: AccountService = app.state.accounts
    create = functools.partial(
        accounts.admin.create_user, name, PASSWORD, role=role, actor=OPERATOR
    )
    client.portal.call(create)  # type: ignore[union-attr]


def login(
    client: TestClient,
    name: str = "alice",
    password: str = PASSWORD,
    *,
    totp: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"username": name, "password": password}
    if totp is not None:
        body["totp"] = totp
    response = send_json(client, "POST", "/auth/login", body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_of(client: TestClient, name: str = "alice") -> str:
    """A session token of ``name``, used as a bearer token (the cookie is dropped)."""
    token: str = login(client, name)["token"]
    client.cookies.clear()
    return token


def me(client: TestClient, token: str) -> int:
    return client.get("/auth/me", headers=bearer(token)).status_code


def code_at(secret: str, clock: FakeClock) -> str:
    return pyotp.TOTP(secret).at(clock.now())


def kinds(client: TestClient, token: str) -> list[str]:
    response = client.get("/auth/audit", headers=bearer(token))
    assert response.status_code == 200, response.text
    return [entry["kind"] for entry in response.json()]


# -- login, the cookie, logout ---------------------------------------------------------


def test_login_sets_an_httponly_samesite_strict_session_cookie(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)

    response = send_json(client, "POST", "/auth/login", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200, response.text
    body = response.json()
    assert TOKEN_VALUE.fullmatch(body["token"])
    assert body["token"].startswith("eas_")
    cookie = response.headers["set-cookie"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0] == f"eventsapi_session={body['token']}"
    assert {"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=86400"} <= set(attributes)
    assert "Secure" not in attributes  # the app listens on loopback: plain http
    assert response.headers["cache-control"] == "no-store"
    assert set(body["user"]) == {
        "id",
        "username",
        "role",
        "totp_enabled",
        "locked",
        "created_at",
        "password_changed_at",
    }
    assert body["user"]["username"] == "alice"
    assert body["session"]["current"] is True
    assert body["session"]["user_agent"] == AGENT


def test_off_loopback_the_cookie_is_secure_and_host_prefixed(
    settings: Settings, store: Backend, clock: FakeClock
) -> None:
    app = fast_app(msgspec.structs.replace(settings, host="0.0.0.0"), store, clock)  # noqa: S104
    with TestClient(app) as client:
        add_user(client, app)
        response = send_json(
            client, "POST", "/auth/login", {"username": "alice", "password": PASSWORD}
        )
        logout = client.post("/auth/logout", headers=bearer(response.json()["token"]))

    attributes = [part.strip() for part in response.headers["set-cookie"].split(";")]
    assert attributes[0].startswith("__Host-eventsapi_session=eas_")
    assert {"Secure", "HttpOnly", "SameSite=Strict", "Path=/"} <= set(attributes)
    assert logout.headers["set-cookie"].startswith("__Host-eventsapi_session=;")
    assert "Secure" in logout.headers["set-cookie"]


def test_the_cookie_and_the_bearer_token_both_authenticate(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)
    token = login(client)["token"]

    by_cookie = client.get("/auth/me")
    client.cookies.clear()
    without = client.get("/auth/me")
    by_bearer = client.get("/auth/me", headers=bearer(token))

    assert by_cookie.status_code == 200, by_cookie.text
    assert by_cookie.json()["username"] == "alice"
    assert assert_problem(without, 401)["type"] == "/problems/authentication-required"
    assert without.headers["www-authenticate"].startswith("Bearer")
    assert by_bearer.json() == by_cookie.json()
    assert assert_problem(client.get("/auth/me", headers=bearer("eas_" + "x" * 43)), 401)


def test_with_public_url_a_cookie_write_must_come_from_that_origin(
    settings: Settings, store: Backend, clock: FakeClock
) -> None:
    public = "https://events.example.com"
    app = fast_app(msgspec.structs.replace(settings, public_url=public), store, clock)
    with TestClient(app) as client:
        add_user(client, app)
        login(client)
        # The origin the request's Host names is not the service's own any more.
        from_host = client.post(
            "/events", json={"title": "x"}, headers={"Origin": "http://testserver"}
        )
        from_public = client.post("/events", json={"title": "x"}, headers={"Origin": public})

    assert assert_problem(from_host, 403)["type"] == "/problems/forbidden"
    assert from_public.status_code == 201, from_public.text


def test_wrong_password_and_unknown_user_get_byte_identical_answers(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)

    wrong = send_json(client, "POST", "/auth/login", {"username": "alice", "password": "nope"})
    unknown = send_json(client, "POST", "/auth/login", {"username": "bob", "password": "nope"})

    assert assert_problem(wrong, 401)["type"] == "/problems/authentication-failed"
    assert wrong.content == unknown.content
    assert {k: v for k, v in wrong.headers.items() if k != "x-request-id"} == {
        k: v for k, v in unknown.headers.items() if k != "x-request-id"
    }
    assert "set-cookie" not in wrong.headers


def test_repeated_failures_are_throttled_with_retry_after(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)
    wrong = {"username": "alice", "password": "not the password"}
    for _ in range(FREE_FAILURES + 1):
        assert_problem(send_json(client, "POST", "/auth/login", wrong), 401)

    refused = send_json(client, "POST", "/auth/login", {"username": "alice", "password": PASSWORD})

    assert assert_problem(refused, 429)["type"] == "/problems/too-many-requests"
    assert int(refused.headers["retry-after"]) >= 1


def test_logout_ends_the_session_and_removes_the_cookie(client: TestClient, app: Starlette) -> None:
    add_user(client, app)
    token = login(client)["token"]

    response = client.post("/auth/logout")
    again = client.post("/auth/logout", headers=bearer(token))

    assert response.status_code == 204
    assert response.headers["set-cookie"].startswith("eventsapi_session=;")
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert "eventsapi_session" not in client.cookies
    assert me(client, token) == 401
    assert again.status_code == 204  # nothing left to end


# -- sessions --------------------------------------------------------------------------


def test_the_session_list_marks_the_current_one(client: TestClient, app: Starlette) -> None:
    add_user(client, app)
    first, second = token_of(client), token_of(client)

    response = client.get("/auth/sessions", headers=bearer(second))

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    sessions = response.json()
    assert len(sessions) == 2
    assert [session["current"] for session in sessions] == [True, False]  # newest first
    assert {session["client_address"] for session in sessions} == {"testclient"}
    assert {session["user_agent"] for session in sessions} == {AGENT}
    listed_by_first = client.get("/auth/sessions", headers=bearer(first)).json()
    assert [session["current"] for session in listed_by_first] == [False, True]


def test_a_terminated_session_is_refused_at_once(client: TestClient, app: Starlette) -> None:
    add_user(client, app)
    add_user(client, app, "bob")
    mine, other = token_of(client), token_of(client)
    bobs = token_of(client, "bob")
    [bob_session] = client.get("/auth/sessions", headers=bearer(bobs)).json()
    other_id = next(
        session["id"]
        for session in client.get("/auth/sessions", headers=bearer(mine)).json()
        if not session["current"]
    )

    ended = client.delete(f"/auth/sessions/{other_id}", headers=bearer(mine))
    again = client.delete(f"/auth/sessions/{other_id}", headers=bearer(mine))
    not_mine = client.delete(f"/auth/sessions/{bob_session['id']}", headers=bearer(mine))

    assert ended.status_code == 204
    assert "set-cookie" not in ended.headers  # not the caller's own session
    assert me(client, other) == 401
    assert me(client, mine) == 200
    assert_problem(again, 404)
    assert_problem(not_mine, 404)
    assert not_mine.content == again.content  # no sign that bob's exists
    assert me(client, bobs) == 200


def test_ending_ones_own_session_removes_the_cookie(client: TestClient, app: Starlette) -> None:
    add_user(client, app)
    session = login(client)["session"]

    response = client.delete(f"/auth/sessions/{session['id']}")

    assert response.status_code == 204
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert client.get("/auth/me").status_code == 401


def test_terminate_all_other_sessions(client: TestClient, app: Starlette) -> None:
    add_user(client, app)
    tokens = [token_of(client) for _ in range(3)]

    response = client.delete("/auth/sessions", headers=bearer(tokens[0]))

    assert response.status_code == 200, response.text
    assert response.json() == {"terminated": 2}
    assert [me(client, token) for token in tokens] == [200, 401, 401]
    assert len(client.get("/auth/sessions", headers=bearer(tokens[0])).json()) == 1


# -- password --------------------------------------------------------------------------


def test_a_password_change_revokes_every_session_and_grants_a_new_one(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)
    other = token_of(client)
    current = login(client)["token"]
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}

    response = send_json(client, "POST", "/auth/password", change)

    assert response.status_code == 200, response.text
    new = response.json()["token"]
    assert response.headers["set-cookie"].startswith(f"eventsapi_session={new};")
    assert response.headers["cache-control"] == "no-store"
    assert [me(client, token) for token in (other, current, new)] == [401, 401, 200]
    assert client.get("/auth/me").status_code == 200  # the replaced cookie
    wrong = {"username": "alice", "password": PASSWORD}
    assert_problem(send_json(client, "POST", "/auth/login", wrong), 401)
    login(client, password=NEW_PASSWORD)


def test_a_password_change_needs_the_current_password_and_a_good_new_one(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)
    token = token_of(client)
    headers = {"Content-Type": "application/json", **bearer(token)}

    wrong = send_json(
        client,
        "POST",
        "/auth/password",
        {"current_password": "guess", "new_password": NEW_PASSWORD},
        headers,
    )
    weak = send_json(
        client,
        "POST",
        "/auth/password",
        {"current_password": PASSWORD, "new_password": "password1234567"},
        headers,
    )

    assert assert_problem(wrong, 401)["type"] == "/problems/authentication-failed"
    rejected = assert_problem(weak, 422)
    assert rejected["type"] == "/problems/password-rejected"
    assert rejected["errors"][0]["pointer"] == "#/new_password"
    assert rejected["suggestions"]
    assert me(client, token) == 200  # nothing changed


# -- two-step verification -------------------------------------------------------------


def test_two_step_verification_end_to_end(
    client: TestClient, app: Starlette, clock: FakeClock
) -> None:
    add_user(client, app)
    old = token_of(client)
    headers = {"Content-Type": "application/json", **bearer(old)}

    started = client.post("/auth/totp", headers=bearer(old))
    assert started.status_code == 200, started.text
    assert started.headers["cache-control"] == "no-store"
    setup = started.json()
    secret = setup["secret"]
    assert setup["otpauth_uri"].startswith("otpauth://totp/eventsapi:alice?")
    assert f"secret={secret}" in setup["otpauth_uri"]
    assert setup["qr_svg"].startswith("<svg")

    bad = {"code": "000000" if code_at(secret, clock) != "000000" else "111111"}
    refused = send_json(
        client, "POST", "/auth/totp/confirm", {**bad, "password": PASSWORD}, headers
    )
    assert assert_problem(refused, 422)["errors"][0]["pointer"] == "#/code"

    confirm = {"code": code_at(secret, clock), "password": PASSWORD}
    confirmed = send_json(client, "POST", "/auth/totp/confirm", confirm, headers)
    assert confirmed.status_code == 200, confirmed.text
    enabled = confirmed.json()
    codes = enabled["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert me(client, old) == 401  # a privilege change: every session replaced
    assert client.get("/auth/me", headers=bearer(enabled["token"])).json()["totp_enabled"]

    clock.advance(30)  # the next step: the confirming code's step is spent
    needs_code = send_json(
        client, "POST", "/auth/login", {"username": "alice", "password": PASSWORD}
    )
    assert assert_problem(needs_code, 401)["type"] == "/problems/second-factor-required"
    code = code_at(secret, clock)
    token = login(client, totp=code)["token"]
    replayed = send_json(
        client, "POST", "/auth/login", {"username": "alice", "password": PASSWORD, "totp": code}
    )
    assert assert_problem(replayed, 401)["type"] == "/problems/authentication-failed"
    login(client, totp=codes[0])
    reused = send_json(
        client, "POST", "/auth/login", {"username": "alice", "password": PASSWORD, "totp": codes[0]}
    )
    assert assert_problem(reused, 401)["type"] == "/problems/authentication-failed"

    clock.advance(30)
    remove = {"password": PASSWORD, "code": code_at(secret, clock)}
    removed = client.request(
        "DELETE",
        "/auth/totp",
        content=msgspec.json.encode(remove),
        headers={"Content-Type": "application/json", **bearer(token)},
    )
    assert removed.status_code == 204, removed.text
    assert not client.get("/auth/me", headers=bearer(token)).json()["totp_enabled"]
    assert kinds(client, token)[:1] == ["totp_disabled"]
    login(client)  # the password alone again


# -- API tokens ------------------------------------------------------------------------


def test_api_tokens_are_shown_once_and_limited_to_their_scopes(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)
    session = token_of(client)
    headers = {"Content-Type": "application/json", **bearer(session)}

    created = send_json(
        client, "POST", "/auth/tokens", {"name": "ci", "scopes": ["events:read"]}, headers
    )

    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    token = created.json()
    assert token["token"].startswith("eat_")
    assert created.headers["location"] == f"/auth/tokens/{token['id']}"
    assert token["scopes"] == ["events:read"]
    assert token["expires_at"] is not None  # 90 days unless asked otherwise
    [listed] = client.get("/auth/tokens", headers=bearer(session)).json()
    assert "token" not in listed
    assert listed["id"] == token["id"]

    api = bearer(token["token"])
    assert client.get("/auth/me", headers=api).status_code == 200
    more = send_json(client, "POST", "/auth/tokens", {"name": "x", "scopes": ["events:read"]}, api)
    assert assert_problem(more, 403)["type"] == "/problems/forbidden"
    assert_problem(client.get("/auth/tokens", headers=api), 403)
    assert_problem(client.get("/auth/sessions", headers=api), 403)
    assert_problem(client.post("/auth/logout", headers=api), 403)
    admin_scope = {"name": "root", "scopes": ["admin"]}
    assert_problem(send_json(client, "POST", "/auth/tokens", admin_scope, headers), 403)

    revoked = client.delete(f"/auth/tokens/{token['id']}", headers=bearer(session))
    assert revoked.status_code == 204
    assert client.get("/auth/me", headers=api).status_code == 401
    assert_problem(client.delete(f"/auth/tokens/{token['id']}", headers=bearer(session)), 404)
    assert client.get("/auth/tokens", headers=bearer(session)).json() == []


def test_a_token_that_never_expires_must_be_asked_for(client: TestClient, app: Starlette) -> None:
    add_user(client, app)
    headers = {"Content-Type": "application/json", **bearer(token_of(client))}
    body = {"name": "forever", "scopes": ["events:read"], "expires_in_days": None}

    forever = send_json(client, "POST", "/auth/tokens", body, headers)
    week = send_json(client, "POST", "/auth/tokens", {**body, "expires_in_days": 7}, headers)

    assert forever.status_code == week.status_code == 201
    assert forever.json()["expires_at"] is None
    created, expires = (datetime.fromisoformat(week.json()[key]) for key in CREATED_EXPIRES)
    assert expires - created == timedelta(days=7)


CREATED_EXPIRES = ("created_at", "expires_at")


# -- bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"username": "alice"}, "#/password"),
        ({"username": "alice", "password": PASSWORD, "role": "admin"}, "#/role"),
        ({"username": 5, "password": PASSWORD}, "#/username"),
        (["alice", PASSWORD], "#"),
    ],
)
def test_a_body_that_breaks_the_schema_is_422_naming_the_member(
    client: TestClient, app: Starlette, body: Any, pointer: str
) -> None:
    add_user(client, app)

    problem = assert_problem(send_json(client, "POST", "/auth/login", body), 422)

    assert [error["pointer"] for error in problem["errors"]] == [pointer]


def test_mass_assignment_through_the_account_routes_stores_nothing(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)
    headers = {"Content-Type": "application/json", **bearer(token_of(client))}
    token = {"name": "ci", "scopes": ["events:read"], "user_id": "someone", "id": "chosen"}

    refused = send_json(client, "POST", "/auth/tokens", token, headers)

    assert_problem(refused, 422)
    assert client.get("/auth/tokens", headers=headers).json() == []


@pytest.mark.parametrize("name", ["ci\x00", "ci\n", "two\nlines", " ", "\u3000"])
def test_a_token_name_is_one_line_of_text(client: TestClient, app: Starlette, name: str) -> None:
    add_user(client, app)
    headers = {"Content-Type": "application/json", **bearer(token_of(client))}
    body = {"name": name, "scopes": ["events:read"]}

    problem = assert_problem(send_json(client, "POST", "/auth/tokens", body, headers), 422)

    assert [error["pointer"] for error in problem["errors"]] == ["#/name"]


@pytest.mark.parametrize("path", ["/auth/sessions/%00", "/auth/tokens/%00", "/auth/tokens/x"])
def test_an_id_that_cannot_be_ours_is_not_found(
    client: TestClient, app: Starlette, path: str
) -> None:
    add_user(client, app)

    assert_problem(client.delete(path, headers=bearer(token_of(client))), 404)


@pytest.mark.parametrize(
    ("content", "status"), [(b"{", 400), (b"", 400), (b'{"username": "a", "password": 1}', 422)]
)
def test_malformed_login_bodies(client: TestClient, content: bytes, status: int) -> None:
    response = client.post(
        "/auth/login", content=content, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, status)


# Every route that needs credentials, with a body it would accept.
SIGNED_IN_ROUTES = [
    ("GET", "/auth/me", None),
    ("GET", "/auth/sessions", None),
    ("DELETE", "/auth/sessions", None),
    ("DELETE", "/auth/sessions/01JD7X3Q9M5T8V2W4Y6Z8A0B1C", None),
    ("POST", "/auth/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    ("POST", "/auth/totp", None),
    ("POST", "/auth/totp/confirm", {"code": "123456", "password": PASSWORD}),
    ("DELETE", "/auth/totp", {"code": "123456", "password": PASSWORD}),
    ("GET", "/auth/tokens", None),
    ("POST", "/auth/tokens", {"name": "ci", "scopes": ["events:read"]}),
    ("DELETE", "/auth/tokens/01JD7X3Q9M5T8V2W4Y6Z8A0B1C", None),
    ("GET", "/auth/audit", None),
    ("GET", "/users", None),
    ("POST", "/users", {"username": "eve", "password": PASSWORD}),
    ("POST", "/users/alice/unlock", None),
    ("PUT", "/users/alice/role", {"role": "admin"}),
    ("DELETE", "/users/alice/sessions", None),
]


@pytest.mark.parametrize(("method", "path", "body"), SIGNED_IN_ROUTES)
def test_every_account_route_needs_credentials(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    content = b"" if body is None else msgspec.json.encode(body)
    headers = {"Content-Type": "application/json"}

    response = client.request(method, path, content=content, headers=headers)
    garbage = client.request(method, path, content=content, headers={**headers, **bearer("x")})

    assert assert_problem(response, 401)["type"] == "/problems/authentication-required"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(garbage, 401)


# -- audit -----------------------------------------------------------------------------


def test_the_audit_log_lists_the_callers_security_events_newest_first(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app)
    add_user(client, app, "bob")
    wrong = {"username": "alice", "password": "not it"}
    assert_problem(send_json(client, "POST", "/auth/login", wrong), 401)
    first = token_of(client)
    token_of(client, "bob")
    current = token_of(client)
    client.delete("/auth/sessions", headers=bearer(current))

    entries = client.get("/auth/audit", headers=bearer(current))

    assert entries.status_code == 200, entries.text
    assert entries.headers["cache-control"] == "no-store"
    assert [entry["kind"] for entry in entries.json()] == [
        "session_terminated",
        "login",
        "login",
        "login_failed",
        "user_created",
    ]
    assert me(client, first) == 401
    page = client.get("/auth/audit?limit=2", headers=bearer(current))
    assert len(page.json()) == 2
    next_page = re.fullmatch(r'<(/auth/audit\?[^>]+)>; rel="next"', page.headers["link"])
    assert next_page is not None
    rest = client.get(next_page[1], headers=bearer(current)).json()
    assert [entry["kind"] for entry in rest] == ["login", "login_failed"]
    for query in ("limit=0", "limit=1001", "before=nope", "colour=blue", "limit=1&limit=2"):
        assert_problem(client.get(f"/auth/audit?{query}", headers=bearer(current)), 400)


# -- admin -----------------------------------------------------------------------------


def test_user_management_needs_an_admin(client: TestClient, app: Starlette) -> None:
    add_user(client, app)
    member = {"Content-Type": "application/json", **bearer(token_of(client))}
    new = {"username": "eve", "password": PASSWORD}

    refused = [
        send_json(client, "POST", "/users", new, member),
        client.get("/users", headers=member),
        client.post("/users/alice/unlock", headers=member),
        send_json(client, "PUT", "/users/alice/role", {"role": "admin"}, member),
        client.delete("/users/alice/sessions", headers=member),
    ]

    for response in refused:
        assert assert_problem(response, 403)["type"] == "/problems/forbidden"
    assert client.get("/auth/me", headers=member).json()["role"] == "member"


def test_an_admin_ends_a_users_sessions_and_it_is_audited(
    client: TestClient, app: Starlette
) -> None:
    add_user(client, app, "root", role=Role.ADMIN)
    add_user(client, app)
    admin = bearer(token_of(client, "root"))
    first, second = token_of(client), token_of(client)

    ended = client.delete("/users/alice/sessions", headers=admin)
    again = client.delete("/users/alice/sessions", headers=admin)
    missing = client.delete("/users/nobody/sessions", headers=admin)

    assert ended.status_code == 200, ended.text
    assert ended.json() == {"terminated": 2}
    assert again.json() == {"terminated": 0}
    assert_problem(missing, 404)
    assert me(client, first) == 401
    assert me(client, second) == 401
    assert me(client, admin["Authorization"].removeprefix("Bearer ")) == 200
    audit = client.get("/auth/audit", headers=bearer(token_of(client))).json()
    ended_entry = next(e for e in audit if e["kind"] == "session_terminated")
    assert ended_entry["detail"]["count"] == 2


def test_an_admin_manages_users(client: TestClient, app: Starlette) -> None:
    add_user(client, app, "root", role=Role.ADMIN)
    add_user(client, app)
    admin = {"Content-Type": "application/json", **bearer(token_of(client, "root"))}
    alice = token_of(client)

    created = send_json(client, "POST", "/users", {"username": "Dana", "password": PASSWORD}, admin)
    taken = send_json(client, "POST", "/users", {"username": "dana", "password": PASSWORD}, admin)
    weak = send_json(client, "POST", "/users", {"username": "mallory", "password": "short"}, admin)
    promoted = send_json(client, "PUT", "/users/alice/role", {"role": "admin"}, admin)
    unlocked = client.post("/users/alice/unlock", headers=admin)
    missing = client.post("/users/nobody/unlock", headers=admin)
    listed = client.get("/users", headers=admin)

    assert created.status_code == 201, created.text
    assert created.json()["username"] == "dana"
    assert created.json()["role"] == "member"
    assert_problem(taken, 409)
    assert assert_problem(weak, 422)["type"] == "/problems/password-rejected"
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "admin"
    assert me(client, alice) == 401  # a role change ends the user's sessions
    assert unlocked.status_code == 200
    assert_problem(missing, 404)
    assert [user["username"] for user in listed.json()] == ["alice", "dana", "root"]
    login(client, "dana")


def test_an_admins_token_needs_the_admin_scope(client: TestClient, app: Starlette) -> None:
    add_user(client, app, "root", role=Role.ADMIN)
    session = {"Content-Type": "application/json", **bearer(token_of(client, "root"))}
    tokens = {
        scope: send_json(
            client, "POST", "/auth/tokens", {"name": scope, "scopes": [scope]}, session
        ).json()["token"]
        for scope in ("events:write", "admin")
    }

    without = client.get("/users", headers=bearer(tokens["events:write"]))
    with_scope = client.get("/users", headers=bearer(tokens["admin"]))

    assert_problem(without, 403)
    assert with_scope.status_code == 200
