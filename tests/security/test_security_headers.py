"""Issue 13, item 8 (headers): every answer carries the browser security fields.

A public server is asked for every kind of answer of both of its paths: the hot path's
events, its problems and its 429, and the layered path's pages, static files, redirects,
404s, 405s, preflights, problems and 429s (with CORS off and on). Each must carry
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy:
no-referrer`` and exactly one ``Content-Security-Policy`` with ``frame-ancestors 'none'``:
``default-src 'none'`` for the API, and for the docs page one that runs this service's own
scripts only, which the page must then do without inline script. The web UI's pages have
their own policy and ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.security.public import ADMIN, ADMIN_PASSWORD, Answer, exchange, login, public_server
from tests.security.support_hardening import JSON

pytestmark = pytest.mark.slow

# Low limits, so that a few requests reach a 429 on either path.
LIMITS = {"EVENTSAPI_RATE_LIMITS": "read=3/60,write=300/60,auth=3/60,other=600/60"}
APP_ORIGIN = "https://app.example.com"
API_CSP = "default-src 'none'; frame-ancestors 'none'"


class Scripts(HTMLParser):
    """The ``<script>`` elements of a page: their ``src`` and their inline text."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str | None] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.sources.append(dict(attrs).get("src"))
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def assert_security_fields(answer: Answer, what: str) -> str:
    """The answer's one Content-Security-Policy, after checking every field."""
    assert answer.all("x-content-type-options") == ["nosniff"], what
    assert answer.all("x-frame-options") == ["DENY"], what
    assert answer.all("referrer-policy") == ["no-referrer"], what
    policies = answer.all("content-security-policy")
    assert len(policies) == 1, f"{what}: {policies}"
    assert "frame-ancestors 'none'" in policies[0], what
    return policies[0]


def requests(event_id: str) -> Iterator[tuple[str, str, bytes | None, dict[str, str], int]]:
    """(method, path, body, headers, expected status): one of each kind of answer."""
    item = f"/events/{event_id}"
    yield "GET", item, None, {}, 200  # the hot path
    yield "HEAD", item, None, {}, 200
    yield "GET", "/events?limit=1", None, {}, 200
    yield "GET", "/events/no-such-event", None, {}, 404  # a hot-path problem
    yield "POST", "/events", b'{"title": "x"}', JSON, 401
    yield "POST", "/events", b"{", JSON, 401
    yield "GET", item, None, {"Accept-Encoding": "gzip"}, 200  # a hot route, layered
    yield "GET", "/", None, {}, 200  # Starlette
    yield "GET", "/openapi.json", None, {}, 200
    yield "GET", "/docs/static/swagger-init.js", None, {}, 200
    yield "GET", "/docs/static/swagger-ui.css", None, {}, 200
    yield "GET", "/ui/static/ui.css", None, {}, 200  # the web UI's files
    yield "GET", "/ui", None, {}, 307
    yield "GET", "/events/", None, {}, 307
    yield "GET", "/no/such/page", None, {}, 404
    yield "DELETE", "/healthz", None, {}, 405
    yield "OPTIONS", "/events", None, {}, 204
    yield "POST", "/auth/login", b'{"username": 1}', JSON, 422
    yield "GET", "/auth/me", None, {}, 401


def ask_all(port: int, event_id: str) -> dict[str, Answer]:
    answers = {}
    for number, (method, path, body, headers, status) in enumerate(requests(event_id)):
        what = f"{method} {path} {headers} {body!r}"
        # Each from its own address: the low limits are for the 429s below only.
        answer = exchange(f"127.0.0.{20 + number}", port, method, path, body=body, headers=headers)
        assert assert_security_fields(answer, what) == API_CSP, what
        assert answer.status == status, f"{what}: {answer.status} {answer.body!r}"
        answers[what] = answer
    return answers


def refused(port: int, source: str, method: str, path: str, body: bytes | None) -> Answer:
    """The first 429 of one client repeating a request (the limits above are 3 a minute)."""
    for _ in range(10):
        answer = exchange(source, port, method, path, body=body, headers=JSON)
        if answer.status == 429:
            return answer
    raise AssertionError(f"{method} {path} was never refused")


def create_event(port: int) -> str:
    """An event, written the way public mode allows: with an account's token."""
    token = login("127.0.0.2", port, ADMIN, ADMIN_PASSWORD)
    answer = exchange(
        "127.0.0.2",
        port,
        "POST",
        "/events",
        body=b'{"title": "Headers"}',
        headers={**JSON, "Authorization": f"Bearer {token}"},
    )
    assert answer.status == 201, answer.body
    document: dict[str, Any] = json.loads(answer.body)
    event_id: str = document["id"]
    return event_id


@pytest.mark.parametrize("cors", [False, True], ids=["cors-off", "cors-on"])
def test_every_answer_carries_the_security_fields(tmp_path: Path, cors: bool) -> None:
    env = {**LIMITS, **({"EVENTSAPI_CORS_ORIGINS": APP_ORIGIN} if cors else {})}
    with public_server(tmp_path, env=env) as server:
        event_id = create_event(server.port)
        answers = ask_all(server.port, event_id)
        answers["hot-path 429"] = refused(
            server.port, "127.0.0.60", "GET", f"/events/{event_id}", None
        )
        answers["layered 429"] = refused(
            server.port, "127.0.0.61", "POST", "/auth/login", b'{"username": "a", "password": "b"}'
        )
        preflight = exchange(
            "127.0.0.62",
            server.port,
            "OPTIONS",
            "/events",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        answers["preflight"] = preflight
        docs = exchange("127.0.0.63", server.port, "GET", "/docs")
        ui_page = exchange("127.0.0.64", server.port, "GET", "/ui/")

    for what, answer in answers.items():
        assert assert_security_fields(answer, what) == API_CSP, what
    assert preflight.status == 204

    docs_policy = assert_security_fields(docs, "GET /docs")
    directives = {}
    for directive in docs_policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        directives[name] = value
    assert directives["script-src"] == "'self'", docs_policy
    assert directives["default-src"] == "'none'", docs_policy
    assert "unsafe" not in docs_policy
    page = Scripts()
    page.feed(docs.body.decode())
    assert page.sources == ["/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-init.js"]
    assert page.inline == [], "the docs page runs inline script, which its policy refuses"

    # The web UI's pages: a policy of their own, and a referrer policy that lets a form's
    # Origin name the origin (ui/csrf.py), each given once.
    assert ui_page.status == 200
    assert ui_page.all("x-content-type-options") == ["nosniff"]
    assert ui_page.all("x-frame-options") == ["DENY"]
    assert ui_page.all("referrer-policy") == ["same-origin"]
    [ui_policy] = ui_page.all("content-security-policy")
    assert ui_policy.startswith("default-src 'self';"), ui_policy
    assert "frame-ancestors 'none'" in ui_policy
    assert "unsafe" not in ui_policy
    ui_scripts = Scripts()
    ui_scripts.feed(ui_page.body.decode())
    assert ui_scripts.inline == [], "a UI page runs inline script, which its policy refuses"
