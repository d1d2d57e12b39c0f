"""The route table: what each entry declares is what the service does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route as StarletteRoute
from starlette.testclient import TestClient

from eventsapi.api.hotpath import EventsApp, HotPath
from eventsapi.api.route_table import TABLE
from eventsapi.api.routes import Access, Limits, Op, Route, RouteGroups
from eventsapi.api.stream import EVENT_STREAM
from eventsapi.app import create_app
from eventsapi.settings import Settings
from tests.api.test_auth_endpoints import add_user, bearer, token_of

NEEDS_AN_ACCOUNT = {Access.WRITER, Access.MEMBER, Access.SESSION, Access.ADMIN}
VALUES = {
    "{id}": "01JD7X3Q9M5T8V2W4Y6Z8A0B1C",
    "{delivery}": "msg_01JD7X3Q9M5T8V2W4Y6Z8A0B1C",
    "{username}": "ann",
    "{slug}": "not-found",
}


def _concrete(path: str) -> str:
    for parameter, value in VALUES.items():
        path = path.replace(parameter, value)
    return path


def _operations(*accesses: Access) -> list[Any]:  # pytest.param()s
    return [
        pytest.param(route, op, id=f"{op.method} {route.path}")
        for route in TABLE
        for op in route.ops
        if not accesses or op.access in accesses
    ]


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A service without anonymous writes and without rate limits."""
    database = tmp_path_factory.mktemp("routes") / "events.db"
    settings = Settings(database=str(database), anonymous_writes="off", rate_limits=[])
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(("route", "op"), _operations())
def test_an_anonymous_request_is_refused_where_the_entry_says_an_account_is_needed(
    public: TestClient, route: Route, op: Op
) -> None:
    # A stream's GET never ends (the test client would wait for its end): its HEAD is
    # answered as the GET would begin, refusals included.
    method = "HEAD" if EVENT_STREAM in op.responses.get("200", {}).get("content", {}) else op.method
    response = public.request(method, _concrete(route.path))

    assert (response.status_code == 401) == (op.access in NEEDS_AN_ACCOUNT), response.text


@pytest.mark.parametrize(("route", "op"), _operations(Access.READER))
def test_credentials_sent_to_a_read_are_checked_where_the_entry_says_so(
    public: TestClient, route: Route, op: Op
) -> None:
    # What a reader may see depends on who they are (domain/visibility.py): a stale token
    # is refused, whatever the id, rather than read as anyone's.
    method = "HEAD" if EVENT_STREAM in op.responses.get("200", {}).get("content", {}) else op.method
    stale = {"Authorization": "Bearer eas_thisisnotasessionanyoneknows"}
    response = public.request(method, _concrete(route.path), headers=stale)

    assert response.status_code == 401, response.text


@pytest.fixture(scope="module")
def member(public: TestClient) -> dict[str, str]:
    """The headers of a member's requests (a session token)."""
    add_user(public, public.app, "member")  # type: ignore[arg-type]
    return bearer(token_of(public, "member"))


@pytest.mark.parametrize(("route", "op"), _operations(Access.ADMIN))
def test_a_member_is_refused_where_the_entry_says_an_admin_is_needed(
    public: TestClient, member: dict[str, str], route: Route, op: Op
) -> None:
    response = public.request(op.method, _concrete(route.path), headers=member)

    assert response.status_code == 403, response.text


@pytest.mark.parametrize(("route", "op"), _operations(Access.MEMBER))
def test_a_member_is_served_where_the_entry_says_any_account_will_do(
    public: TestClient, member: dict[str, str], route: Route, op: Op
) -> None:
    response = public.request(op.method, _concrete(route.path), headers=member)

    assert response.status_code == 200, response.text


def test_the_hot_routes_are_served_by_the_router_too(app: EventsApp) -> None:
    # The router answers their OPTIONS and their 405s.
    served = {route.path for route in app.routes if isinstance(route, StarletteRoute)}

    assert set(app.hot_path.exact) | {item[3] for item in app.hot_path.items} == {
        route.path for route in TABLE if route.hot
    }
    assert {route.path for route in TABLE if route.hot} <= served


def test_an_unrouted_path_is_in_the_group_of_its_first_segment() -> None:
    groups = RouteGroups(TABLE)

    assert groups.group_of("GET", "/events/a/b") == "read"
    assert groups.group_of("POST", "/auth/nothing/here") == "auth"
    assert groups.group_of("GET", "/auth") == "auth"
    assert groups.group_of("GET", "/event/a") == "other"
    assert groups.group_of("GET", "/healthz/a") == "other"
    assert groups.hot_folder == "/events/"


def test_routes_under_one_first_segment_share_their_rate_limit_group() -> None:
    table = [
        Route(path="/a/b", limits=Limits.AUTH),
        Route(path="/a/{c}", limits=Limits.OTHER),
    ]

    with pytest.raises(ValueError, match="/a/"):
        RouteGroups(table)


def test_the_hot_path_serves_only_a_trailing_parameter() -> None:
    with pytest.raises(ValueError, match=re.escape("/a/{b}/c")):
        HotPath({"/a/{b}/c": {}})


def test_a_route_without_a_served_handler_is_not_routed(tmp_path: Path) -> None:
    settings = Settings(database=str(tmp_path / "events.db"), metrics=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404
        assert "/metrics" in client.get("/openapi.json").json()["paths"]
