"""HTTP-level rules: methods, media types, body size, syntax, validation, problem details."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Message

from eventsapi.app import create_app
from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery
from eventsapi.errors import StorageUnavailable
from eventsapi.settings import Settings
from eventsapi.storage.events import EventRow, Page
from eventsapi.storage.memory import MemoryStore
from tests.api.asserts import (
    JSON_HEADERS,
    MERGE_PATCH_HEADERS,
    all_events,
    assert_problem,
    create,
    get,
    send_json,
)
from tests.support import FakeClock

LIMIT = Settings().max_body_bytes
assert LIMIT == 1024 * 1024


# --- 405 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/events", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("PUT", "/events", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("POST", "/events/some-id", {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
        ("TRACE", "/events/some-id", {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
        ("GET", "/event", {"POST", "OPTIONS"}),
        ("DELETE", "/event", {"POST", "OPTIONS"}),
        ("POST", "/", {"GET", "HEAD", "OPTIONS"}),
        ("POST", "/healthz", {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", "/readyz", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/openapi.json", {"GET", "HEAD", "OPTIONS"}),
        ("POST", "/docs", {"GET", "HEAD", "OPTIONS"}),
        ("POST", "/docs/static/swagger-ui.css", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_wrong_method_is_405_with_allow(
    client: TestClient, method: str, path: str, allowed: set[str]
) -> None:
    response = client.request(method, path, content=b"{}", headers=JSON_HEADERS)

    assert_problem(response, 405)
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


# --- 415 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/merge-patch+json",
        "application/xml",
        "multipart/form-data; boundary=x",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/events"), ("POST", "/event"), ("PUT", "/events/e1")]
)
def test_create_and_replace_read_only_json(
    client: TestClient, method: str, path: str, content_type: str
) -> None:
    response = send_json(client, method, path, {"title": "x"}, {"Content-Type": content_type})

    problem = assert_problem(response, 415)
    assert "application/json" in problem["accepted"]
    assert all_events(client) == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_patch_reads_only_merge_patch_json_and_json_patch(
    client: TestClient, content_type: str
) -> None:
    event = create(client, description="Kept")

    response = send_json(
        client, "PATCH", f"/events/{event['id']}", {"title": "x"}, {"Content-Type": content_type}
    )

    problem = assert_problem(response, 415)
    assert set(problem["accepted"]) == {
        "application/merge-patch+json",
        "application/json",
        "application/json-patch+json",
    }
    assert get(client, event["id"]) == event


@pytest.mark.parametrize("headers", [MERGE_PATCH_HEADERS, JSON_HEADERS])
def test_patch_accepts_merge_patch_and_plain_json(
    client: TestClient, headers: dict[str, str]
) -> None:
    event = create(client, description="Old")

    response = send_json(client, "PATCH", f"/events/{event['id']}", {"description": "New"}, headers)

    assert response.status_code == 200
    assert response.json()["description"] == "New"


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/json "]
)
def test_media_type_parameters_and_case_do_not_matter(
    client: TestClient, content_type: str
) -> None:
    response = send_json(client, "POST", "/events", {"title": "x"}, {"Content-Type": content_type})

    assert response.status_code == 201


def test_a_body_without_content_type_is_read_as_json(client: TestClient) -> None:
    response = client.post("/events", content=b'{"title": "curl -d without -H"}')

    assert response.status_code == 201
    assert response.json()["title"] == "curl -d without -H"


# --- 413 ------------------------------------------------------------------------------


def padded(document: Any, size: int) -> bytes:
    """``document`` as JSON, padded with insignificant white space to exactly ``size`` bytes."""
    raw = msgspec.json.encode(document)
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


@pytest.mark.parametrize(("method", "path"), [("POST", "/events"), ("PUT", "/events/big")])
def test_a_body_of_exactly_1_mib_is_accepted(client: TestClient, method: str, path: str) -> None:
    response = client.request(
        method, path, content=padded({"title": "x"}, LIMIT), headers=JSON_HEADERS
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/events"), ("POST", "/event"), ("PUT", "/events/big"), ("PATCH", "/events/big")],
)
def test_a_body_over_1_mib_is_413(client: TestClient, method: str, path: str) -> None:
    if method == "PATCH":
        send_json(client, "PUT", path, {"title": "before"})

    response = client.request(
        method, path, content=padded({"title": "x"}, LIMIT + 1), headers=JSON_HEADERS
    )

    assert_problem(response, 413)
    assert [(e["id"], e["title"]) for e in all_events(client)] == (
        [("big", "before")] if method == "PATCH" else []
    )


def test_a_chunked_body_over_1_mib_without_content_length_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"title": "x", "description": "'
        for _ in range(17):
            yield b"d" * 65_536
        yield b'"}'

    response = client.post("/events", content=chunks(), headers=JSON_HEADERS)

    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)
    assert all_events(client) == []


@pytest.mark.anyio
async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(
    app: Starlette,
) -> None:
    """Driven over raw ASGI: chunks keep coming; the server stops reading at the limit."""
    chunk = b" " * 65_536
    received: list[int] = []
    sent: list[Message] = []

    async def receive() -> Message:
        # 4 MiB in all: a server that reads it all has read far past the limit.
        received.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": len(received) < 64}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/events",
        "raw_path": b"/events",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)

    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 413
    assert sum(received) <= LIMIT + len(chunk)


# --- 400 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"{", b'{"title": "x",}', b"{'title': 'x'}", b"title=x", b'{"title": "x"}}', b"\xff"]
)
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/events"), ("PUT", "/events/e1"), ("PATCH", "/events/e1")]
)
def test_malformed_json_is_400(client: TestClient, method: str, path: str, raw: bytes) -> None:
    send_json(client, "PUT", "/events/e1", {"title": "Before"})

    response = client.request(method, path, content=raw, headers=JSON_HEADERS)

    assert_problem(response, 400)
    assert [(e["id"], e["title"], e["version"]) for e in all_events(client)] == [
        ("e1", "Before", 1)
    ]


@pytest.mark.parametrize("raw", [b"", b"   ", b"\n"])
def test_an_empty_body_is_400(client: TestClient, raw: bytes) -> None:
    assert_problem(client.post("/events", content=raw, headers=JSON_HEADERS), 400)


# --- 422 ------------------------------------------------------------------------------


def test_invalid_fields_are_422_listing_each_with_a_json_pointer(client: TestClient) -> None:
    response = send_json(
        client,
        "POST",
        "/events",
        {
            "title": "",
            "capacity": -1,
            "tags": ["a", "a"],
            "timezone": "Nowhere/Special",
            "starts_at": "2025-06-01T18:00:00Z",
            "ends_at": "2025-06-01T17:00:00Z",
            "surprise": True,
        },
    )

    problem = assert_problem(response, 422)
    errors = problem["errors"]
    assert {e["pointer"] for e in errors} == {
        "#/title",
        "#/capacity",
        "#/tags",
        "#/timezone",
        "#/ends_at",
        "#/surprise",
    }
    assert all(isinstance(e["detail"], str) and e["detail"] for e in errors)
    assert all_events(client) == []


def test_a_document_that_is_not_an_object_is_422(client: TestClient) -> None:
    problem = assert_problem(send_json(client, "POST", "/events", ["title"]), 422)

    assert [e["pointer"] for e in problem["errors"]] == ["#"]


def test_a_missing_title_is_422(client: TestClient) -> None:
    problem = assert_problem(send_json(client, "POST", "/events", {"description": "x"}), 422)

    assert [e["pointer"] for e in problem["errors"]] == ["#/title"]


# --- 404 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/events/a/b",
        "/eventsx",
        "/Events",
        "/docs/static/missing.js",
        "/problems/no-such-problem",
    ],
)
def test_unknown_routes_are_404(client: TestClient, path: str) -> None:
    assert_problem(client.get(path), 404)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("event_id", ["missing", "not%20an%20id", "x" * 65])
def test_missing_events_are_404(client: TestClient, method: str, event_id: str) -> None:
    response = client.request(
        method, f"/events/{event_id}", content=b'{"title": "x"}', headers=JSON_HEADERS
    )

    assert_problem(response, 404)


@pytest.mark.parametrize("event_id", ["not%20an%20id", "x" * 65, "a%2Fb"])
def test_put_to_an_id_no_event_can_have_is_404(client: TestClient, event_id: str) -> None:
    response = send_json(client, "PUT", f"/events/{event_id}", {"title": "x"})

    assert_problem(response, 404)
    assert all_events(client) == []


# --- every error is a problem ---------------------------------------------------------------


ERRORS: list[tuple[str, str, bytes | None, dict[str, str], int]] = [
    ("GET", "/nowhere", None, {}, 404),
    ("GET", "/events/missing", None, {}, 404),
    ("DELETE", "/events", None, {}, 405),
    ("POST", "/events", b'{"title": "x"}', {"Content-Type": "text/plain"}, 415),
    ("POST", "/events", b"{", JSON_HEADERS, 400),
    ("POST", "/events", b'{"title": 1}', JSON_HEADERS, 422),
    ("POST", "/events", b'{"id": "taken", "title": "x"}', JSON_HEADERS, 409),
    ("POST", "/events", b" " * (LIMIT + 1), JSON_HEADERS, 413),
    ("GET", "/events?limit=501", None, {}, 400),
    ("GET", "/events?cursor=forged", None, {}, 400),
    ("GET", "/events?sort=colour", None, {}, 400),
]


@pytest.mark.parametrize(
    ("method", "path", "content", "headers", "status"),
    ERRORS,
    ids=[f"{status}-{method}-{path}" for method, path, _, _, status in ERRORS],
)
def test_every_error_is_an_rfc9457_problem_whose_type_is_documented(
    client: TestClient,
    method: str,
    path: str,
    content: bytes | None,
    headers: dict[str, str],
    status: int,
) -> None:
    create(client, id="taken")

    problem = assert_problem(client.request(method, path, content=content, headers=headers), status)

    described = client.get(problem["type"])
    assert described.status_code == 200
    assert described.json()["status"] == status


# --- failures inside the service ------------------------------------------------------------


class BrokenStore(MemoryStore):
    """A store whose reads fail: unexpectedly, or because the database is unreachable."""

    async def get(self, event_id: str) -> Event | None:
        raise RuntimeError("secret internals in /srv/app/secret.py")

    async def get_json(self, event_id: str) -> EventRow | None:
        raise RuntimeError("secret internals in /srv/app/secret.py")

    async def list_page(self, query: EventQuery) -> Page:
        raise StorageUnavailable("disk I/O error at /var/lib/secret.db")

    async def check(self) -> None:
        raise StorageUnavailable("disk I/O error at /var/lib/secret.db")


@pytest.fixture
def broken_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings, store=BrokenStore(), clock=clock.now)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_unexpected_failure_is_a_500_problem_without_internals(
    broken_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = broken_client.get("/events/some-id")

    problem = assert_problem(response, 500)
    assert "secret" not in response.text
    assert problem["type"] == "/problems/internal-error"
    assert "secret internals" in caplog.text, "the cause is logged for the operator"


@pytest.mark.parametrize("path", ["/events", "/readyz"])
def test_an_unreachable_database_is_a_503_problem_with_retry_after(
    broken_client: TestClient, path: str
) -> None:
    response = broken_client.get(path)

    assert_problem(response, 503)
    assert "secret" not in response.text
    assert int(response.headers["retry-after"]) >= 1


def test_healthz_stays_200_when_the_database_is_unreachable(broken_client: TestClient) -> None:
    assert broken_client.get("/healthz").status_code == 200
