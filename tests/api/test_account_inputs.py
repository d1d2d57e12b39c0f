"""What the account routes make of the text they are sent, on every backend (issue 13).

Usernames: a taken one gets its own 409 (``username-taken``), compared as RFC 8265's
UsernameCaseMapped profile compares; a new one that mixes scripts is refused; an account
stored under the spelling names had before the profile is still found by it.

The fuzz pass sends every account route text no field can hold (NUL, other control
characters, lone surrogates as JSON ``\\ud800`` escapes and as invalid UTF-8 in a path,
strings longer than any limit) and requires a problem below 500 every time, on the
memory, SQLite and PostgreSQL backends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from eventsapi.auth.throttle import FREE_FAILURES
from eventsapi.domain.accounts import Role
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.api.asserts import PROBLEM_JSON, assert_problem, send_json
from tests.api.test_auth_endpoints import PASSWORD, add_user, bearer, fast_app, token_of
from tests.support import FakeClock

ADMIN = "root"
NEW_PASSWORD = "saffron lighthouse carousel ninety"  # noqa: S105 - a test account's


@pytest.fixture
def app(settings: Settings, store: Backend, clock: FakeClock) -> Starlette:
    return fast_app(Settings(database=settings.database, rate_limits=[]), store, clock)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as client:
        add_user(client, app, ADMIN, role=Role.ADMIN)
        yield client


def _create(client: TestClient, username: str) -> Any:
    admin = bearer(token_of(client, ADMIN))
    body = {"username": username, "password": NEW_PASSWORD}
    return send_json(client, "POST", "/users", body, {**admin, "Content-Type": "application/json"})


# -- usernames ----------------------------------------------------------------------------


@pytest.mark.parametrize("again", ["dana", "DANA", "\uff24\uff41\uff4e\uff41", " Dana "])
def test_a_taken_username_is_a_409_that_says_so(client: TestClient, again: str) -> None:
    assert _create(client, "Dana").status_code == 201

    problem = assert_problem(_create(client, again), 409)

    assert problem["type"] == "/problems/username-taken"
    assert problem["title"] == "This username is taken"
    assert "'dana' is taken" in problem["detail"]
    assert "event" not in json.dumps(problem).lower()


@pytest.mark.parametrize(
    ("name", "scripts"),
    [
        ("p\u0430ypal", "Cyrillic and Latin"),  # Cyrillic a
        ("\u0440aypal", "Cyrillic and Latin"),  # Cyrillic er, a Latin p's look-alike
        ("p\u03b1ypal", "Greek and Latin"),  # Greek alpha
        ("\u0430\u03b1", "Cyrillic and Greek"),
        ("g\u0585ogle", "Armenian and Latin"),  # Armenian oh
    ],
)
def test_a_new_username_that_mixes_scripts_is_refused(
    client: TestClient, name: str, scripts: str
) -> None:
    problem = assert_problem(_create(client, name), 422)

    [error] = problem["errors"]
    assert error["pointer"] == "#/username"
    assert error["detail"] == f"a username is written in one script; this one mixes {scripts}"


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("\u0438\u0432\u0430\u043d", "\u0438\u0432\u0430\u043d"),  # Cyrillic only
        ("tanaka\u7530\u4e2d", "tanaka\u7530\u4e2d"),  # Latin with Han
        ("\u3084\u307e\u3060\u30bf\u30ed\u30a6\u5c71", None),  # Hiragana, Katakana, Han
        ("\u0391\u03b8\u03b7\u03bd\u0391", "\u03b1\u03b8\u03b7\u03bd\u03b1"),  # Greek
        ("bob.smith_2-x", "bob.smith_2-x"),
    ],
)
def test_a_username_in_one_script_is_created(
    client: TestClient, name: str, stored: str | None
) -> None:
    response = _create(client, name)

    assert response.status_code == 201, response.text
    assert response.json()["username"] == (stored or name)


def test_an_account_stored_in_the_old_spelling_is_found_and_keeps_it(
    client: TestClient, app: Starlette
) -> None:
    # Names were NFKC case-folded: "Straße" was stored as "strasse"; the profile keeps ß.
    add_user(client, app, "strasse")

    assert send_json(
        client, "POST", "/auth/login", {"username": "Stra\u00dfe", "password": PASSWORD}
    ).json()["user"]["username"] == ("strasse")
    problem = assert_problem(_create(client, "STRA\u00dfE"), 409)
    assert problem["type"] == "/problems/username-taken"


@pytest.mark.parametrize("name", ["ghost", "dana"])  # an unknown name, and an account's
def test_failed_logins_count_on_one_name_whatever_its_spelling(
    client: TestClient, app: Starlette, name: str
) -> None:
    add_user(client, app, "dana")
    spellings = [name, name.upper(), name.title(), f" {name} ", _full_width(name.upper())]
    for attempt in range(FREE_FAILURES + 1):
        wrong = {"username": spellings[attempt % len(spellings)], "password": "not it"}
        assert_problem(send_json(client, "POST", "/auth/login", wrong), 401)

    right = {"username": _full_width(name), "password": PASSWORD}
    assert assert_problem(send_json(client, "POST", "/auth/login", right), 429)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# -- fuzz -----------------------------------------------------------------------------------

NASTY = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "root\x00",
            "\x1b[2J",
            "\x7f",
            "\x85",
            "\x9b31m",
            "\u2028",
            "\ufeff",
            "\ud800",
            "a\udfffb",
            "\udbff\udfff",  # a whole pair: a real character
            "r\u043e\u043et",  # Cyrillic look-alikes
            "\uff52\uff4f\uff4f\uff54",  # root in full width
        ]
    ),
    st.text(st.characters(codec=None, categories=["Cc", "Cs", "Cf", "Zs", "Zl", "Zp"])),
    st.text(max_size=20),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from("a\x00\u0430\ud800"),
        st.sampled_from([65, 257, 1025, 70_000]),
    ),
)
ANY_JSON = st.one_of(NASTY, st.none(), st.integers(), st.lists(NASTY, max_size=3))

# (method, path template, members of the body: None for no body)
ROUTES: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("POST", "/auth/login", ("username", "password", "totp")),
    ("POST", "/auth/logout", None),
    ("GET", "/auth/me", None),
    ("GET", "/auth/sessions", None),
    ("DELETE", "/auth/sessions", None),
    ("DELETE", "/auth/sessions/{}", None),
    ("POST", "/auth/password", ("current_password", "new_password", "totp")),
    ("POST", "/auth/totp", None),
    ("DELETE", "/auth/totp", ("password", "code")),
    ("POST", "/auth/totp/confirm", ("code", "password")),
    ("GET", "/auth/audit?limit={}&before={}", None),
    ("GET", "/auth/tokens", None),
    ("POST", "/auth/tokens", ("name", "scopes", "expires_in_days")),
    ("DELETE", "/auth/tokens/{}", None),
    ("GET", "/users", None),
    ("POST", "/users", ("username", "password", "role")),
    ("POST", "/users/{}/unlock", None),
    ("PUT", "/users/{}/role", ("role",)),
    ("DELETE", "/users/{}/sessions", None),
]


def _in_path(text: str) -> str:
    """``text`` percent-encoded as UTF-8; a lone surrogate as the bytes it would have
    been (invalid UTF-8, which is what a client can send)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes | None, dict[str, Any]]:
    method, template, members = draw(st.sampled_from(ROUTES))
    # a URL longer than 64 KiB is refused by the test client itself
    in_path = NASTY.filter(lambda text: len(text) < 10_000)
    path = template.format(*(_in_path(draw(in_path)) for _ in range(template.count("{}"))))
    body = None
    if members is not None:
        # every member, so that the request gets past "required" to the rules of each
        document: dict[str, Any] = {member: draw(NASTY) for member in members}
        if draw(st.booleans()):
            document[draw(st.sampled_from(members))] = draw(ANY_JSON)
        # ensure_ascii: a lone surrogate travels as a \\ud800 escape, as JSON allows
        body = json.dumps(document, ensure_ascii=True).encode()
    # Header values travel as bytes: 0x80-0xff (obs-text) reach the server as C1 controls.
    agent = draw(st.binary(max_size=40).map(lambda raw: bytes(b | 0x80 for b in raw)))
    return method, path, body, {"User-Agent": agent}


def test_no_account_route_answers_nasty_text_with_a_5xx(
    client: TestClient, clock: FakeClock
) -> None:
    # Inside the test: hypothesis then runs against this backend's app and store.
    @seed(20261206)
    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests())
    def fuzz(request: tuple[str, str, bytes | None, dict[str, Any]]) -> None:
        method, path, body, headers = request
        clock.advance(24 * 3600)  # past every throttle's window: each example is checked
        headers = {**headers, **bearer(token_of(client, ADMIN))}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = client.request(method, path, content=body, headers=headers)

        assert response.status_code < 500, (method, path, body, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == PROBLEM_JSON, response.text

    fuzz()


@pytest.mark.parametrize(("days", "status"), [(30.0, 201), (30, 201), (2.5, 422), (0.0, 422)])
def test_a_tokens_lifetime_is_a_whole_number_of_days_in_either_spelling(
    client: TestClient, days: float, status: int
) -> None:
    # JSON Schema's "integer" takes 30.0 (schemathesis sends it): so does the server.
    body = {"name": "ci", "scopes": ["events:read"], "expires_in_days": days}
    headers = {**bearer(token_of(client, ADMIN)), "Content-Type": "application/json"}

    response = send_json(client, "POST", "/auth/tokens", body, headers)

    assert response.status_code == status, response.text
