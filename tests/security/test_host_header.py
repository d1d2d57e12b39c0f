"""Issue 13, item 5: no answer names a host taken from the request.

Starlette's slash redirect built its ``Location`` from ``Host``: ``GET /events/`` with
``Host: evil.example`` answered 307 to ``http://evil.example/events``, an open redirect that
a cache or a proxy forwarding ``Host`` as it came would hand to every user. Every route that
redirects or links (slash redirects of each kind of route, ``Location`` of a create, ``Link``
of the event listing and of the audit log, the OpenAPI document, the docs and welcome pages,
problems) is asked here with a forged ``Host``, ``X-Forwarded-Host`` or ``Forwarded``, on
SQLite and PostgreSQL. Redirects and links must be paths, or start with the configured
``public_url``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.public import ADMIN, ADMIN_PASSWORD, Answer, exchange, login, public_server
from tests.security.support_hardening import JSON, bearer

pytestmark = pytest.mark.slow

EVIL = "evil.example"
FORGED: tuple[dict[str, str], ...] = (
    {"Host": EVIL},
    {"Host": f"{EVIL}:8443"},
    {"X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https"},
    {"Forwarded": f"host={EVIL};proto=https"},
    {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Port": "443"},
)
PUBLIC_URL = "https://events.example.com"


def uri_references(answer: Answer) -> list[str]:
    """The targets of ``Location`` and of every ``Link`` of an answer."""
    found = answer.all("location")
    for value in answer.all("link"):
        found += [part.split(">", 1)[0].strip().lstrip("<") for part in value.split(",")]
    return found


def assert_names_no_forged_host(answer: Answer, what: str, base: str = "") -> None:
    for name, value in answer.fields:
        assert EVIL not in value, f"{what}: {name}: {value}"
    assert EVIL.encode() not in answer.body, f"{what}: the body names {EVIL}"
    for target in uri_references(answer):
        # A path on this host ("//host/..." would be another host), or the public URL.
        relative = target.startswith("/") and not target.startswith("//")
        assert relative or (base and target.startswith(base + "/")), f"{what}: {target}"


class Probe:
    """Asks a running public server every question of the item, with each forged header."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.token = login("127.0.0.2", port, ADMIN, ADMIN_PASSWORD)
        self.event_ids = [self.create(f"Event {n}") for n in range(3)]

    def create(self, title: str) -> str:
        answer = exchange(
            "127.0.0.2",
            self.port,
            "POST",
            "/events",
            body=json.dumps({"title": title}).encode(),
            headers={**JSON, **bearer(self.token)},
        )
        assert answer.status == 201, answer.body
        document: dict[str, Any] = json.loads(answer.body)
        event_id: str = document["id"]
        return event_id

    def requests(self) -> Iterator[tuple[str, str, bytes | None, dict[str, str]]]:
        """(method, path, body, headers) of each request to try."""
        event = self.event_ids[0]
        authorized = bearer(self.token)
        yield "GET", "/events/", None, {}
        yield "GET", "/events/?limit=1&tag=a%20b", None, {}
        yield "HEAD", "/events/", None, {}
        yield "POST", "/events/", b'{"title": "x"}', JSON
        yield "GET", f"/events/{event}/", None, {}
        yield "GET", "/docs/", None, {}
        yield "GET", "/openapi.json/", None, {}
        yield "GET", "/healthz/", None, {}
        yield "POST", "/auth/login/", b"{}", JSON
        yield "GET", "/auth/audit/", None, authorized
        yield "GET", "/events?limit=1", None, {}
        yield "GET", "/auth/audit?limit=1", None, authorized
        yield "POST", "/events", b'{"title": "created"}', {**JSON, **authorized}
        yield (
            "POST",
            "/auth/tokens",
            b'{"name": "ci", "scopes": ["events:read"]}',
            {**JSON, **authorized},
        )
        yield "GET", "/openapi.json", None, {}
        yield "GET", "/docs", None, {}
        yield "GET", "/", None, {}
        yield "GET", "/no/such/page", None, {}
        yield "GET", "/events/no-such-event", None, {}

    def run(self, base: str = "") -> dict[str, Answer]:
        """Every request with every forged header; the answers, by request."""
        answers = {}
        for number, forged in enumerate(FORGED):
            source = f"127.0.0.{10 + number}"  # one client per forgery: no limit is reached
            for method, path, body, headers in self.requests():
                what = f"{method} {path} with {forged}"
                answer = exchange(
                    source, self.port, method, path, body=body, headers={**headers, **forged}
                )
                assert answer.status < 500, f"{what}: {answer.status} {answer.body!r}"
                assert_names_no_forged_host(answer, what, base)
                answers[what] = answer
        return answers


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_no_redirect_or_link_names_a_forged_host(tmp_path: Path, backend: str) -> None:
    with public_server(tmp_path, backend=backend) as server:
        probe = Probe(server.port)
        answers = probe.run()

    # The redirects still happen, to the same host (a path), the query kept.
    first = f" with {FORGED[0]}"
    assert answers["GET /events/" + first].status == 307
    assert answers["GET /events/" + first].get("location") == "/events"
    assert answers["GET /events/?limit=1&tag=a%20b" + first].get("location") == (
        "/events?limit=1&tag=a%20b"
    )
    assert answers["POST /events/" + first].status == 307  # the method and body are kept
    event = probe.event_ids[0]
    assert answers[f"GET /events/{event}/" + first].get("location") == f"/events/{event}"
    assert answers["GET /docs/" + first].get("location") == "/docs"
    # The listing and the audit log link their next pages.
    assert answers["GET /events?limit=1" + first].get("link").startswith("</events?")
    assert answers["GET /auth/audit?limit=1" + first].get("link").startswith("</auth/audit?")
    assert answers["POST /events" + first].get("location").startswith("/events/")
    assert answers["POST /auth/tokens" + first].get("location").startswith("/auth/tokens/")


def test_redirects_and_the_openapi_servers_follow_public_url(tmp_path: Path) -> None:
    env = {"EVENTSAPI_PUBLIC_URL": PUBLIC_URL}
    with public_server(tmp_path, env=env) as server:
        answers = Probe(server.port).run(base=PUBLIC_URL)
        log = server.log()

    assert "public_url" not in log, log  # a known setting, taken without a warning
    first = f" with {FORGED[0]}"
    assert answers["GET /events/?limit=1&tag=a%20b" + first].get("location") == (
        f"{PUBLIC_URL}/events?limit=1&tag=a%20b"
    )
    document: Any = answers["GET /openapi.json" + first].json()
    assert document["servers"] == [{"url": PUBLIC_URL}]


def test_a_public_url_that_is_not_an_origin_stops_the_server(tmp_path: Path) -> None:
    env = {"EVENTSAPI_PUBLIC_URL": "https://events.example.com/api/"}
    # wait_ready fails with the server's log, which must name the setting.
    with pytest.raises(AssertionError, match="public_url"), public_server(tmp_path, env=env):
        pass
