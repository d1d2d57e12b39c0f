"""Slash redirects (``api/redirects.py``) and the ``public_url`` setting they may use."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import Response
from starlette.routing import Mount, Route, Router

from eventsapi.api.redirects import SlashRedirects
from eventsapi.errors import ConfigurationError
from eventsapi.settings import Settings
from eventsapi.settings_load import load_settings


async def _ok(request: Any) -> Response:
    return Response()


ROUTER = Router(
    [
        Route("/", _ok),
        Route("/events", _ok, methods=["GET", "POST"]),
        Route("/events/{id}", _ok),
        Route("/docs", _ok),
        Mount("/docs/static", Router([Route("/a.js", _ok)])),
    ]
)


def scope(path: str, query: bytes = b"", method: str = "GET") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(b"host", b"evil.example")],
        "root_path": "",
    }


@pytest.mark.parametrize(
    ("path", "query", "target"),
    [
        ("/events/", b"", "/events"),
        ("/events//", b"", "/events"),
        ("/events/01ABC/", b"", "/events/01ABC"),
        ("/docs/", b"", "/docs"),
        ("/events/", b"limit=1&tag=a%20b", "/events?limit=1&tag=a%20b"),
        # Decoded characters go back out percent-encoded; a raw byte of the query too.
        ("/events/caf\u00e9 100%/", b"", "/events/caf%C3%A9%20100%25"),
        ("/events/", b"q=\xe9", "/events?q=%E9"),
        ("/events/", b"a=<b>", "/events?a=%3Cb%3E"),
    ],
)
def test_the_target_is_a_path_on_this_host(path: str, query: bytes, target: str) -> None:
    assert SlashRedirects(ROUTER, "").target(scope(path, query)) == target


@pytest.mark.parametrize(
    "path",
    [
        "/",  # the root has nowhere to go
        "/nothing/",  # no route either way
        "/nothing",
        "//evil.example/",  # "//evil.example" would be another host
        "/\\evil.example/",
    ],
)
def test_no_target_where_no_route_would_answer_or_the_path_names_a_host(path: str) -> None:
    assert SlashRedirects(ROUTER, "").target(scope(path)) is None


def test_with_a_public_url_the_target_is_absolute_there() -> None:
    redirects = SlashRedirects(ROUTER, "https://events.example.com")
    assert redirects.target(scope("/events/", b"limit=2")) == (
        "https://events.example.com/events?limit=2"
    )


@pytest.mark.parametrize(
    "url", ["https://events.example.com", "http://127.0.0.1:8001", "https://[2001:db8::1]:8443"]
)
def test_public_url_takes_an_origin(url: str) -> None:
    assert load_settings(environ={"EVENTSAPI_PUBLIC_URL": url}).public_url == url


@pytest.mark.parametrize(
    "url",
    [
        "events.example.com",  # no scheme
        "ftp://events.example.com",
        "https://events.example.com/",  # a path, even "/"
        "https://events.example.com/api",
        "https://events.example.com?x=1",
        "https://events.example.com#top",
        "https://user@events.example.com",
        "https://Events.example.com",  # browsers send origins in lower case
        "https://events.example.com:0x50",
        "https://events.example.com:70000",
        "https://",
    ],
)
def test_public_url_refuses_anything_but_an_origin(url: str) -> None:
    with pytest.raises(ConfigurationError, match="public_url"):
        Settings(public_url=url)
