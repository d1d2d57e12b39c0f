"""What every route does, hot path included: HEAD, OPTIONS, CORS, gzip, request ids, access log.

The event routes are served by ``api/hotpath.py`` ahead of Starlette, and a hot-path request
that is neither cross-origin-configured nor gzip-accepting takes a shorter way still; so the
tests below send requests both with ``Accept-Encoding: gzip`` (the test client's default)
and with ``identity``, to cover each way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import msgspec
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message

from eventsapi.api.sync_tokens import encode_sync_token
from eventsapi.app import create_app
from eventsapi.domain.visibility import ANONYMOUS, Reader
from eventsapi.errors import StorageUnavailable
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from eventsapi.storage.events import EventRow
from eventsapi.storage.memory import MemoryStore
from tests.api.asserts import assert_problem, create
from tests.support import FakeClock

IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
ENCODINGS = [pytest.param(IDENTITY, id="identity"), pytest.param(GZIP, id="gzip")]

# Every route, as a concrete path, with the methods its Allow header lists.
ROUTES: dict[str, set[str]] = {
    "/events": {"GET", "HEAD", "POST", "OPTIONS"},
    "/event": {"POST", "OPTIONS"},
    "/events/some-id": {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"},
    "/events.ics": {"GET", "HEAD", "OPTIONS"},
    "/events/some-id.ics": {"GET", "HEAD", "OPTIONS"},
    "/changes": {"GET", "HEAD", "OPTIONS"},
    "/changes/stream": {"GET", "HEAD", "OPTIONS"},
    "/": {"GET", "HEAD", "OPTIONS"},
    "/healthz": {"GET", "HEAD", "OPTIONS"},
    "/readyz": {"GET", "HEAD", "OPTIONS"},
    "/openapi.json": {"GET", "HEAD", "OPTIONS"},
    "/docs": {"GET", "HEAD", "OPTIONS"},
    "/docs/static/swagger-ui.css": {"GET", "HEAD", "OPTIONS"},
    "/problems/not-found": {"GET", "HEAD", "OPTIONS"},
    "/slo": {"GET", "HEAD", "OPTIONS"},
    "/sla": {"GET", "HEAD", "OPTIONS"},
    "/metrics": {"GET", "HEAD", "OPTIONS"},
}
# The account routes: all but the login and the logout need credentials (401 without).
ACCOUNT_ROUTES: dict[str, set[str]] = {
    "/auth/login": {"POST", "OPTIONS"},
    "/auth/logout": {"POST", "OPTIONS"},
    "/auth/me": {"GET", "HEAD", "OPTIONS"},
    "/auth/sessions": {"GET", "HEAD", "DELETE", "OPTIONS"},
    "/auth/sessions/some-id": {"DELETE", "OPTIONS"},
    "/auth/password": {"POST", "OPTIONS"},
    "/auth/totp": {"POST", "DELETE", "OPTIONS"},
    "/auth/totp/confirm": {"POST", "OPTIONS"},
    "/auth/tokens": {"GET", "HEAD", "POST", "OPTIONS"},
    "/auth/tokens/some-id": {"DELETE", "OPTIONS"},
    "/auth/audit": {"GET", "HEAD", "OPTIONS"},
    "/users": {"GET", "HEAD", "POST", "OPTIONS"},
    "/users/some-name/unlock": {"POST", "OPTIONS"},
    "/users/some-name/role": {"PUT", "OPTIONS"},
    "/users/some-name/sessions": {"DELETE", "OPTIONS"},
}
# The webhook routes: every one needs an admin (401 without credentials).
WEBHOOK_ROUTES: dict[str, set[str]] = {
    "/webhooks": {"GET", "HEAD", "POST", "OPTIONS"},
    "/webhooks/some-id": {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"},
    "/webhooks/some-id/rotate-secret": {"POST", "OPTIONS"},
    "/webhooks/some-id/test": {"POST", "OPTIONS"},
    "/webhooks/some-id/deliveries": {"GET", "HEAD", "OPTIONS"},
    "/webhooks/some-id/deliveries/some-id/retry": {"POST", "OPTIONS"},
}
# The trash: as event writes, an account or a local anonymous client (issue 16).
TRASH_ROUTES: dict[str, set[str]] = {
    "/trash": {"GET", "HEAD", "OPTIONS"},
    "/trash/some-id": {"DELETE", "OPTIONS"},
    "/trash/some-id/restore": {"POST", "OPTIONS"},
}
# Registrations: registering as event writes; reading and cancelling as their registrant,
# the event's owner or an admin (issue 16).
REGISTRATION_ROUTES: dict[str, set[str]] = {
    "/events/some-id/registrations": {"GET", "HEAD", "POST", "OPTIONS"},
    "/events/some-id/registrations/some-id": {"GET", "HEAD", "DELETE", "OPTIONS"},
    "/me/registrations": {"GET", "HEAD", "OPTIONS"},
}
# The web UI's pages (issue 17; tests/ui): the service's, not the API's, so not in the
# sweeps of API answers below.
UI_ROUTES: dict[str, set[str]] = {
    "/ui/": {"GET", "HEAD", "OPTIONS"},
    "/ui/new-event": {"GET", "HEAD", "POST", "OPTIONS"},
    "/ui/events/some-id": {"GET", "HEAD", "OPTIONS"},
    "/ui/calendar": {"GET", "HEAD", "OPTIONS"},
    "/ui/events/some-id/register": {"POST", "OPTIONS"},
    "/ui/events/some-id/cancel": {"POST", "OPTIONS"},
    "/ui/sign-in": {"GET", "HEAD", "POST", "OPTIONS"},
    "/ui/sign-in/code": {"POST", "OPTIONS"},
    "/ui/sign-in/new-password": {"POST", "OPTIONS"},
    "/ui/sign-out": {"POST", "OPTIONS"},
    "/ui/static/some-name": {"GET", "HEAD", "OPTIONS"},
    # The owner's pages and the trash
    "/ui/events/some-id/edit": {"GET", "HEAD", "POST", "OPTIONS"},
    "/ui/events/some-id/registrations": {"GET", "HEAD", "OPTIONS"},
    "/ui/events/some-id/registrations.csv": {"GET", "HEAD", "OPTIONS"},
    "/ui/events/some-id/delete": {"POST", "OPTIONS"},
    "/ui/trash": {"GET", "HEAD", "OPTIONS"},
    "/ui/trash/some-id/restore": {"POST", "OPTIONS"},
    "/ui/trash/some-id/purge": {"POST", "OPTIONS"},
    # The SLO dashboard and the admin pages
    "/ui/slo": {"GET", "HEAD", "OPTIONS"},
    "/ui/admin/users": {"GET", "HEAD", "POST", "OPTIONS"},
    "/ui/admin/users/some-name/role": {"POST", "OPTIONS"},
    "/ui/admin/users/some-name/unlock": {"POST", "OPTIONS"},
    "/ui/admin/users/some-name/sessions": {"POST", "OPTIONS"},
    "/ui/admin/webhooks": {"GET", "HEAD", "OPTIONS"},
    "/ui/admin/webhooks/some-id/deliveries/some-id/retry": {"POST", "OPTIONS"},
    # Account security
    "/ui/account": {"GET", "HEAD", "OPTIONS"},
    "/ui/account/password": {"GET", "HEAD", "POST", "OPTIONS"},
    "/ui/account/two-step": {"GET", "HEAD", "OPTIONS"},
    "/ui/account/two-step/start": {"POST", "OPTIONS"},
    "/ui/account/two-step/confirm": {"POST", "OPTIONS"},
    "/ui/account/two-step/off": {"POST", "OPTIONS"},
    "/ui/account/two-step/recovery-codes": {"POST", "OPTIONS"},
    "/ui/account/sessions": {"GET", "HEAD", "OPTIONS"},
    "/ui/account/sessions/terminate-others": {"POST", "OPTIONS"},
    "/ui/account/sessions/some-id/terminate": {"POST", "OPTIONS"},
    "/ui/account/tokens": {"GET", "HEAD", "POST", "OPTIONS"},
    "/ui/account/tokens/some-id/revoke": {"POST", "OPTIONS"},
    "/ui/account/activity": {"GET", "HEAD", "OPTIONS"},
}
ROUTES.update(ACCOUNT_ROUTES)
ROUTES.update(WEBHOOK_ROUTES)
ROUTES.update(TRASH_ROUTES)
ROUTES.update(REGISTRATION_ROUTES)
STREAMS = {"/changes/stream"}
"""Routes whose GET never ends (tests/stream reads them): left out of the GET sweeps."""
GET_ROUTES = [path for path, m in ROUTES.items() if "GET" in m and path not in STREAMS]
PUBLIC_GET_ROUTES = [
    path
    for path in GET_ROUTES
    if path not in ACCOUNT_ROUTES and path not in WEBHOOK_ROUTES and path != "/me/registrations"
]
UNKNOWN_GET_ROUTES = {"/events/some-id/registrations/some-id"}
"""Public GET routes that answer 404 for the sweep: there is no such registration."""
EXPOSED = {
    "etag",
    "location",
    "link",
    "x-request-id",
    "x-total-count",
    "x-total-count-above",
    "idempotent-replayed",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "sync-token",
}
ORIGIN = "https://app.example"
ClientMaker = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings, store: Backend, clock: FakeClock) -> Iterator[ClientMaker]:
    """``make_client(**changes)``: a client of an app whose settings have ``changes``."""
    with ExitStack() as stack:

        def make(**changes: Any) -> TestClient:
            app = create_app(
                msgspec.structs.replace(settings, **changes), store=store, clock=clock.now
            )
            return stack.enter_context(TestClient(app, raise_server_exceptions=False))

        yield make


def allowed(header: str) -> set[str]:
    return {method.strip() for method in header.split(",")}


def listed(header: str | None) -> set[str]:
    return {name.strip().lower() for name in (header or "").split(",") if name.strip()}


# --- OPTIONS and HEAD ---------------------------------------------------------------


@pytest.mark.parametrize("path", list(ROUTES))
def test_options_is_204_with_allow_on_every_route(client: TestClient, path: str) -> None:
    response = client.options(path)

    assert response.status_code == 204, response.text
    assert allowed(response.headers["allow"]) == ROUTES[path]
    assert response.content == b""


def test_the_route_list_above_is_every_route(app: Starlette) -> None:
    templates = {
        route.path: {*(route.methods or ()), "OPTIONS"}
        for route in app.routes
        if isinstance(route, Route)
    }
    concrete = {re.sub(r"\{[^}]+\}", "x", path): methods for path, methods in templates.items()}
    expected = {
        re.sub(r"/(some-id|some-name|not-found)(?=[/.]|$)", "/x", path): m
        for path, m in {**ROUTES, **UI_ROUTES}.items()
    }
    # A file of the route /docs/static/{name}.
    expected["/docs/static/x"] = expected.pop("/docs/static/swagger-ui.css")

    assert concrete == expected


@pytest.mark.parametrize("path", ["/nope", "/events/a/b", "/docs/static/a/b.css", "/eventsx"])
def test_options_on_an_unknown_path_is_404(client: TestClient, path: str) -> None:
    assert_problem(client.options(path), 404)


def test_405_allow_lists_options_too(client: TestClient) -> None:
    response = client.request("TRACE", "/events/some-id")

    assert_problem(response, 405)
    assert allowed(response.headers["allow"]) == ROUTES["/events/some-id"]


async def asgi(
    app: Starlette,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """One request over raw ASGI: status, headers (lower-case names) and body as sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    names = [name.decode() for name, _ in sent[0]["headers"]]
    assert len(names) == len(set(names)), f"a header is repeated: {names}"
    found = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:] if m["type"] == "http.response.body")
    return sent[0]["status"], found, body


@pytest.mark.anyio
@pytest.mark.parametrize("headers", ENCODINGS)
async def test_head_on_every_get_route_has_the_get_headers_and_no_body(
    app: Starlette, headers: dict[str, str]
) -> None:
    async with app.router.lifespan_context(app):
        await _put(app, "some-id")
        # GET /changes needs a sync token: the one before every change.
        since = encode_sync_token(await app.state.store.instance_key(), 0)
        for route in GET_ROUTES:
            path = f"{route}?since={since}" if route == "/changes" else route
            get_status, get_headers, get_body = await asgi(app, "GET", path, headers)
            head_status, head_headers, head_body = await asgi(app, "HEAD", path, headers)

            expected = 200 if route in PUBLIC_GET_ROUTES else 401
            if route in UNKNOWN_GET_ROUTES:
                expected = 404
            assert get_status == head_status == expected, path
            assert get_body, path
            assert head_body == b"", path
            del get_headers["x-request-id"], head_headers["x-request-id"]
            # RateLimit counts requests down: the HEAD's is one less than the GET's.
            get_headers.pop("ratelimit", None)
            head_headers.pop("ratelimit", None)
            assert head_headers == get_headers, path


async def _put(app: Starlette, event_id: str) -> None:
    status, _, body = await asgi(
        app,
        "PUT",
        f"/events/{event_id}",
        {"Content-Type": "application/json"},
        b'{"title": "Launch", "description": "Long enough to be worth compressing? No."}',
    )
    assert status in (200, 201), body


@pytest.mark.anyio
async def test_both_ways_to_a_hot_route_answer_alike(app: Starlette) -> None:
    """Without gzip a hot-path request skips the layers; below the gzip threshold, the
    answers are the same either way."""
    async with app.router.lifespan_context(app):
        await _put(app, "e1")
        for path in ["/events/e1", "/events/missing", "/events?limit=1", "/events?limit=0"]:
            direct = await asgi(app, "GET", path, IDENTITY)
            layered = await asgi(app, "GET", path, GZIP)
            for answer in (direct, layered):
                del answer[1]["x-request-id"]
                # Counts requests down, one less each time (none for this local client).
                answer[1].pop("ratelimit", None)
            assert direct == layered, path


# --- CORS ---------------------------------------------------------------------------


@pytest.mark.parametrize("headers", ENCODINGS)
@pytest.mark.parametrize("path", ["/events", "/healthz", "/nope"])
def test_cors_is_off_by_default(client: TestClient, path: str, headers: dict[str, str]) -> None:
    response = client.get(path, headers={"Origin": ORIGIN, **headers})

    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert "origin" not in listed(response.headers.get("vary"))


def test_without_cors_a_preflight_is_a_plain_options(client: TestClient) -> None:
    response = client.options(
        "/events", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )

    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers
    assert allowed(response.headers["allow"]) == ROUTES["/events"]


def preflight(
    client: TestClient, path: str, method: str, headers: str | None = None, origin: str = ORIGIN
) -> Any:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=request_headers)


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        ("/events", "POST", "content-type, idempotency-key, x-request-id"),
        ("/events/e1", "PUT", "Content-Type,If-Match"),
        ("/events/e1", "PATCH", "content-type, if-match, authorization"),
        ("/events/e1", "DELETE", "if-match"),
        ("/events/e1", "GET", "if-none-match"),
        ("/events", "GET", None),
    ],
)
def test_an_allowed_preflight_is_204_with_the_cors_grant(
    make_client: ClientMaker, path: str, method: str, headers: str | None
) -> None:
    client = make_client(cors_origins=[ORIGIN, "http://localhost:3000"])

    response = preflight(client, path, method, headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert method in allowed(response.headers["access-control-allow-methods"])
    assert listed(headers) <= listed(response.headers["access-control-allow-headers"])
    assert response.headers["access-control-max-age"] == "600"
    assert "origin" in listed(response.headers["vary"])
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("origin", "method", "headers", "refused"),
    [
        ("https://evil.example", "GET", None, "origin"),
        ("https://app.example.evil", "GET", None, "origin"),
        ("http://app.example", "GET", None, "origin"),
        (ORIGIN, "TRACE", None, "method"),
        (ORIGIN, "PUT", "content-type, x-secret", "headers"),
    ],
)
def test_a_refused_preflight_is_a_403_problem_without_the_grant(
    make_client: ClientMaker, origin: str, method: str, headers: str | None, refused: str
) -> None:
    client = make_client(cors_origins=[ORIGIN])

    response = preflight(client, "/events/e1", method, headers, origin=origin)

    problem = assert_problem(response, 403)
    assert refused in problem["detail"]
    if refused == "origin":
        assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("headers", ENCODINGS)
def test_cors_responses_grant_the_origin_and_expose_the_headers(
    make_client: ClientMaker, headers: dict[str, str]
) -> None:
    client = make_client(cors_origins=[ORIGIN])
    request_headers = {"Origin": ORIGIN, **headers}
    created = client.post("/events", json={"title": "x"}, headers=request_headers)
    event_id = created.json()["id"]

    for response in [
        created,
        client.get(f"/events/{event_id}", headers=request_headers),
        client.get("/events?limit=1", headers=request_headers),
        client.get("/events/missing", headers=request_headers),
        client.get("/healthz", headers=request_headers),
        client.options("/events", headers=request_headers),
        client.get("/nope", headers=request_headers),
    ]:
        where = (response.request.method, response.request.url.path)
        assert response.headers["access-control-allow-origin"] == ORIGIN, where
        assert "origin" in listed(response.headers["vary"]), where
        assert listed(response.headers["access-control-expose-headers"]) == EXPOSED, where


def test_cors_responses_vary_by_origin_even_without_one(make_client: ClientMaker) -> None:
    client = make_client(cors_origins=[ORIGIN])

    for path in ["/events", "/healthz"]:
        response = client.get(path, headers=IDENTITY)
        assert "origin" in listed(response.headers["vary"]), path
        assert "access-control-allow-origin" not in response.headers


def test_an_origin_not_listed_gets_no_grant(make_client: ClientMaker) -> None:
    client = make_client(cors_origins=[ORIGIN])

    response = client.get("/events", headers={"Origin": "https://evil.example"})

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_any_origin_is_granted_with_a_star(make_client: ClientMaker) -> None:
    client = make_client(cors_origins=["*"], cors_max_age=60)

    actual = client.get("/events", headers={"Origin": "https://anyone.example"})
    response = preflight(client, "/events", "POST", "content-type", origin="https://a.example")

    assert actual.headers["access-control-allow-origin"] == "*"
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-max-age"] == "60"


def test_credentials_are_granted_only_when_set(make_client: ClientMaker) -> None:
    client = make_client(cors_origins=[ORIGIN], cors_credentials=True)

    actual = client.get("/events", headers={"Origin": ORIGIN})
    response = preflight(client, "/events", "POST", "content-type, authorization")

    for answer in (actual, response):
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert answer.headers["access-control-allow-credentials"] == "true"


# --- gzip ---------------------------------------------------------------------------


def fill(client: TestClient, count: int = 20) -> None:
    for number in range(count):
        create(client, description=f"Event number {number}, described at some length.")


def test_a_large_list_is_gzipped_when_the_client_accepts_it(client: TestClient) -> None:
    fill(client)
    plain = client.get("/events", headers=IDENTITY)
    assert len(plain.content) >= 1024

    response = client.get("/events", headers=GZIP)

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in listed(response.headers["vary"])
    assert int(response.headers["content-length"]) < len(plain.content) / 2
    assert response.json() == plain.json()


@pytest.mark.parametrize("path", ["/events", "/openapi.json"])
def test_a_large_response_is_not_gzipped_without_accept_encoding_but_varies(
    client: TestClient, path: str
) -> None:
    fill(client)

    response = client.get(path, headers=IDENTITY)

    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content) >= 1024
    assert "accept-encoding" in listed(response.headers["vary"])


@pytest.mark.parametrize("headers", ENCODINGS)
@pytest.mark.parametrize("path", ["/events/e1", "/healthz", "/events/missing"])
def test_a_small_response_is_never_gzipped(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    create(client, id="e1")

    response = client.get(path, headers=headers)

    assert "content-encoding" not in response.headers
    assert "accept-encoding" not in listed(response.headers.get("vary"))


def test_the_gzip_threshold_is_a_setting(make_client: ClientMaker) -> None:
    client = make_client(gzip_min_size=100)
    create(client, id="e1")

    assert client.get("/events/e1", headers=GZIP).headers["content-encoding"] == "gzip"
    assert client.get("/healthz", headers=GZIP).headers.get("content-encoding") is None


@pytest.mark.parametrize("headers", ENCODINGS)
def test_gzip_min_size_0_turns_compression_off(
    make_client: ClientMaker, headers: dict[str, str]
) -> None:
    client = make_client(gzip_min_size=0)
    fill(client)

    for path in ["/events", "/openapi.json"]:
        response = client.get(path, headers=headers)
        assert "content-encoding" not in response.headers, path
        assert "vary" not in response.headers, path


# --- request ids --------------------------------------------------------------------


REQUESTS = [
    ("GET", "/events"),
    ("GET", "/events/missing"),
    ("POST", "/event"),
    ("DELETE", "/events"),
    ("OPTIONS", "/events"),
    ("HEAD", "/"),
    ("GET", "/healthz"),
    ("GET", "/nope"),
    ("GET", "/docs/static/swagger-ui.css"),
]


@pytest.mark.parametrize("headers", ENCODINGS)
def test_every_response_has_a_new_request_id(client: TestClient, headers: dict[str, str]) -> None:
    ids = [
        client.request(method, path, headers=headers).headers["x-request-id"]
        for _ in range(3)
        for method, path in REQUESTS
    ]

    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{12}-[0-9]+", request_id) for request_id in ids), ids


@pytest.mark.parametrize("headers", ENCODINGS)
@pytest.mark.parametrize("method_path", REQUESTS)
@pytest.mark.parametrize("request_id", ["abc-123", "x" * 200, "Trace:01J9Z/!~"])
def test_a_valid_client_request_id_is_kept(
    client: TestClient, method_path: tuple[str, str], request_id: str, headers: dict[str, str]
) -> None:
    method, path = method_path

    response = client.request(method, path, headers={"X-Request-Id": request_id, **headers})

    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize("headers", ENCODINGS)
@pytest.mark.parametrize(
    "request_id", [b"", b"x" * 201, b"has space", b"tab\there", "caf\u00e9".encode(), b"\xff"]
)
def test_an_invalid_client_request_id_is_replaced(
    client: TestClient, request_id: bytes, headers: dict[str, str]
) -> None:
    for path in ["/events/missing", "/healthz"]:
        response = client.get(path, headers=[(b"x-request-id", request_id), *_pairs(headers)])

        assert response.headers["x-request-id"] != request_id.decode("latin-1"), path
        assert re.fullmatch(r"[0-9a-f]{12}-[0-9]+", response.headers["x-request-id"]), path


def _pairs(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in headers.items()]


class FailingStore(MemoryStore):
    """Reads fail unexpectedly; listing finds the database unreachable."""

    async def get_json(self, event_id: str, *, reader: Reader = ANONYMOUS) -> EventRow | None:
        raise RuntimeError("boom in the store")

    async def check(self) -> None:
        raise StorageUnavailable("disk I/O error")


@pytest.fixture
def failing_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings, store=FailingStore(), clock=clock.now)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("headers", ENCODINGS)
@pytest.mark.parametrize(("path", "status"), [("/events/e1", 500), ("/readyz", 503)])
def test_a_5xx_quotes_the_request_id_and_logs_it(
    failing_client: TestClient,
    caplog: pytest.LogCaptureFixture,
    path: str,
    status: int,
    headers: dict[str, str],
) -> None:
    with caplog.at_level(logging.WARNING, logger="eventsapi"):
        response = failing_client.get(path, headers=headers)
        quoted = failing_client.get(path, headers={"X-Request-Id": "ticket-42", **headers})

    problem = assert_problem(response, status)
    assert problem["request_id"] == response.headers["x-request-id"]
    assert assert_problem(quoted, status)["request_id"] == "ticket-42"
    logged = [r for r in caplog.records if r.name == "eventsapi"]
    assert [getattr(r, "request_id", None) for r in logged] == [problem["request_id"], "ticket-42"]
    assert all(r.getMessage().count(getattr(r, "request_id", "")) for r in logged)


# --- access log ---------------------------------------------------------------------


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "eventsapi.access"]


@pytest.mark.parametrize("headers", ENCODINGS)
def test_the_access_log_has_one_line_per_request_with_its_id(
    make_client: ClientMaker, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    client = make_client(access_log=True)

    with caplog.at_level(logging.INFO, logger="eventsapi.access"):
        client.get("/events/missing?x=1", headers={"X-Request-Id": "trace-me-1", **headers})
        generated = client.get("/healthz", headers=headers).headers["x-request-id"]
        client.post("/events", json={"title": "x"}, headers=headers)
        client.options("/nope", headers=headers)

    lines = access_lines(caplog)
    assert len(lines) == 4, lines
    assert re.fullmatch(
        r"GET /events/missing\?x=1 404 \d+\.\dms id=trace-me-1 client=testclient:\d+", lines[0]
    ), lines[0]
    assert lines[1].startswith("GET /healthz 200 ")
    assert f" id={generated} " in lines[1]
    assert lines[2].startswith("POST /events 201 ")
    assert lines[3].startswith("OPTIONS /nope 404 ")


def test_no_access_log_unless_set(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="eventsapi.access"):
        client.get("/events", headers=IDENTITY)
        client.get("/healthz")

    assert access_lines(caplog) == []
