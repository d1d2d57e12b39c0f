"""Rate limits per client and route group, over HTTP: 429 with ``Retry-After`` and the
``RateLimit`` / ``RateLimit-Policy`` fields, budgets per bearer token or address, probes never
limited, and limits shared by replicas through Redis (127.0.0.1:6379), failing open when it
is down.

Requests are sent both with ``Accept-Encoding: identity`` (the hot path's shortest way) and
``gzip`` (through the layers) where the way could matter. Time is the app's clock, which the
tests move by hand to see budgets refill.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
import redis.exceptions
from starlette.testclient import TestClient

from eventsapi.api.ratelimits import GroupLimit, RateLimits
from eventsapi.api.route_table import TABLE
from eventsapi.api.routes import RouteGroups
from eventsapi.app import create_app
from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.ratelimit import KEY_PREFIX, Decision
from eventsapi.auth.ratelimit import headers as limiter_fields
from eventsapi.domain.accounts import Role
from eventsapi.settings import Settings
from eventsapi.storage.memory import MemoryStore
from tests.api.asserts import JSON_HEADERS, assert_problem
from tests.server_process import free_port
from tests.support import FakeClock

REDIS_URL = "redis://127.0.0.1:6379/0"
IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
ENCODINGS = [pytest.param(IDENTITY, id="identity"), pytest.param(GZIP, id="gzip")]
ORIGIN = "https://app.example"
PASSWORD = "violet tractor humming seashell"  # noqa: S105 - a test account's
Maker = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path, clock: FakeClock) -> Iterator[Maker]:
    """``make_client(rate_limits, client=(address, port), **settings)``: a client of a new
    app (its own memory store) with these limits, sending from ``address``."""
    with ExitStack() as stack:

        def make(
            rate_limits: list[str], client: tuple[str, int] = ("192.0.2.7", 4000), **changes: Any
        ) -> TestClient:
            settings = Settings(
                database=str(tmp_path / "unused.db"), rate_limits=rate_limits, **changes
            )
            app = create_app(settings, store=MemoryStore(), clock=clock.now)
            return stack.enter_context(TestClient(app, client=client))

        yield make


def fields(response: httpx2.Response) -> tuple[str | None, str | None]:
    return response.headers.get("ratelimit-policy"), response.headers.get("ratelimit")


# --- which group, whose budget ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("GET", "/events", "read"),
        ("HEAD", "/events/e1", "read"),
        ("OPTIONS", "/events", "read"),
        ("GET", "/event", "read"),
        ("POST", "/events", "write"),
        ("POST", "/event", "write"),
        ("PUT", "/events/e1", "write"),
        ("PATCH", "/events/e1", "write"),
        ("DELETE", "/events/e1", "write"),
        ("POST", "/auth/login", "auth"),
        ("GET", "/auth/sessions", "auth"),
        ("GET", "/users", "auth"),
        ("PATCH", "/users/ann", "auth"),
        ("GET", "/", "other"),
        ("GET", "/openapi.json", "other"),
        ("GET", "/slo", "other"),
        ("GET", "/nope", "other"),
        ("GET", "/healthz", None),
        ("HEAD", "/readyz", None),
        ("GET", "/metrics", None),
    ],
)
def test_each_route_is_in_its_group(method: str, path: str, group: str | None) -> None:
    assert RouteGroups(TABLE).group_of(method, path) == group


def test_the_fields_of_an_allowed_request_are_those_of_the_limiter() -> None:
    group = GroupLimit("read", 1200, 60)
    cases = [(r, us) for r in (0, 7, 1199) for us in (1, 999_999, 1_000_000, 12_000_001, 60e6)]
    for _ in range(2):  # made, then taken from the cache
        for remaining, reset_us in cases:
            decision = Decision(True, remaining, reset_after=reset_us / 1e6, retry_after=None)
            expected = limiter_fields(decision, group.limit, "read")

            made = group.fields(remaining, int(reset_us))

            assert [(name.decode(), value.decode()) for name, value in made] == [
                (name.lower(), value) for name, value in expected
            ]


# --- refusals and the fields ---------------------------------------------------------------


@pytest.mark.parametrize("headers", ENCODINGS)
def test_the_sixth_read_in_a_minute_is_refused_with_retry_after(
    make_client: Maker, headers: dict[str, str]
) -> None:
    client = make_client(["read=5/60"])
    # One request every 12 s at the steady rate: each read pushes the full refill 12 s on.
    for n, path in enumerate(["/events", "/events/nope", "/events", "/events/e1", "/events"]):
        response = client.get(path, headers=headers)
        assert response.status_code in (200, 404), response.text
        assert fields(response) == ('"read";q=5;w=60', f'"read";r={4 - n};t={12 * (n + 1)}')

    refused = client.get("/events", headers=headers)

    problem = assert_problem(refused, 429)
    assert problem["type"] == "/problems/too-many-requests"
    assert "at most 5 per 60 seconds" in problem["detail"]
    assert refused.headers["retry-after"] == "12"
    assert fields(refused) == ('"read";q=5;w=60', '"read";r=0;t=12')
    assert refused.headers["x-request-id"]


@pytest.mark.parametrize("headers", ENCODINGS)
def test_a_refused_head_has_no_body(make_client: Maker, headers: dict[str, str]) -> None:
    client = make_client(["read=1/60"])
    assert client.head("/events", headers=headers).status_code == 200

    refused = client.head("/events", headers=headers)

    assert refused.status_code == 429
    assert refused.content == b""
    assert refused.headers["retry-after"] == "60"


def test_budgets_refill_with_time(make_client: Maker, clock: FakeClock) -> None:
    client = make_client(["read=5/60"])
    for _ in range(5):
        assert client.get("/events").status_code == 200
    assert client.get("/events").status_code == 429

    clock.advance(11.999)
    assert client.get("/events").status_code == 429
    clock.advance(0.001)
    once = client.get("/events")
    assert once.status_code == 200
    assert fields(once)[1] == '"read";r=0;t=60'
    assert client.get("/events").status_code == 429

    clock.advance(60)
    assert fields(client.get("/events"))[1] == '"read";r=4;t=12'


def test_writes_have_a_budget_of_their_own(make_client: Maker, clock: FakeClock) -> None:
    client = make_client(["read=2/60", "write=2/60"], anonymous_writes="on")
    for _ in range(2):
        assert client.get("/events").status_code == 200
    assert client.get("/events").status_code == 429

    for n in range(2):
        created = client.post("/events", content=b'{"title": "Launch"}', headers=JSON_HEADERS)
        assert created.status_code == 201, created.text
        assert fields(created) == ('"write";q=2;w=60', f'"write";r={1 - n};t={30 * (n + 1)}')
    refused = client.post("/events", content=b'{"title": "Lost"}', headers=JSON_HEADERS)
    assert_problem(refused, 429)
    assert fields(refused) == ('"write";q=2;w=60', '"write";r=0;t=30')

    clock.advance(60)
    assert [event["title"] for event in client.get("/events").json()] == ["Launch", "Launch"]


def test_a_group_not_listed_is_not_limited(make_client: Maker) -> None:
    client = make_client(["write=1/60"])
    for _ in range(50):
        response = client.get("/events")
        assert response.status_code == 200
        assert fields(response) == (None, None)


def test_an_empty_list_turns_limits_off(make_client: Maker) -> None:
    client = make_client([])
    for _ in range(50):
        for path in ("/events", "/", "/auth/sessions"):
            response = client.get(path)
            assert response.status_code != 429
            assert fields(response) == (None, None)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_and_scrapes_are_never_limited(make_client: Maker, path: str) -> None:
    client = make_client(["other=1/60"])
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 429  # the rest of "other" is limited

    for _ in range(20):
        response = client.get(path)
        assert response.status_code == 200
        assert fields(response) == (None, None)


def test_auth_routes_have_a_budget_of_their_own(make_client: Maker) -> None:
    client = make_client(["auth=2/60", "other=1/60"])
    login = {"username": "nobody", "password": "not the password"}
    for _ in range(2):
        response = client.post("/auth/login", json=login)
        assert response.status_code != 429
        assert fields(response)[0] == '"auth";q=2;w=60'

    refused = client.post("/auth/login", json=login)

    assert_problem(refused, 429)
    assert fields(refused) == ('"auth";q=2;w=60', '"auth";r=0;t=30')
    assert client.get("/").status_code == 200


def test_a_refusal_is_readable_by_an_allowed_cross_origin_page(make_client: Maker) -> None:
    client = make_client(["read=1/60"], cors_origins=[ORIGIN])
    assert client.get("/events", headers={"Origin": ORIGIN}).status_code == 200

    refused = client.get("/events", headers={"Origin": ORIGIN})

    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    exposed = refused.headers["access-control-expose-headers"].lower().replace(" ", "")
    assert {"retry-after", "ratelimit", "ratelimit-policy"} <= set(exposed.split(","))


# --- whose budget ----------------------------------------------------------------------------


def session_token(client: TestClient, name: str) -> str:
    """A session of a new member ``name``, made by the account service itself, so that the
    rate limits have not seen it verified (as after a restart, or in another worker)."""
    accounts = client.app.state.accounts  # type: ignore[attr-defined]

    async def make() -> str:
        await accounts.admin.create_user(name, PASSWORD, role=Role.MEMBER, actor=OPERATOR)
        _, _, token = await accounts.signin.login(
            name, PASSWORD, client="test", user_agent="pytest"
        )
        return str(token)

    portal = client.portal
    assert portal is not None
    return portal.call(make)


def test_a_valid_session_has_a_budget_wherever_it_is_sent_from(make_client: Maker) -> None:
    client = make_client(["read=2/60"])
    token = session_token(client, "alice")
    for _ in range(2):
        assert client.get("/events").status_code == 200
    assert client.get("/events").status_code == 429

    # The address's budget is spent: the session is checked then, and spends its own.
    bearer = {"Authorization": f"Bearer {token}"}
    mine = client.get("/events", headers=bearer)
    assert mine.status_code == 200
    assert fields(mine)[1] == '"read";r=1;t=30'
    # The same session from another address, in the cookie, is the same budget.
    elsewhere = TestClient(client.app, client=("198.51.100.1", 4000))
    cookie = {"Cookie": f"eventsapi_session={token}"}
    assert elsewhere.get("/events", headers=cookie).status_code == 200
    assert elsewhere.get("/events", headers=bearer).status_code == 429
    assert elsewhere.get("/events").status_code == 200  # that address's own budget


@pytest.mark.parametrize(
    "junk",
    [
        {"Authorization": "Bearer first-token"},
        {"Authorization": "Bearer eas_" + "A" * 43},
        {"Authorization": "Bearer eat_" + "B" * 43},
        {"Cookie": "eventsapi_session=eas_" + "C" * 43},
        {"Cookie": "__Host-eventsapi_session=junk"},
    ],
)
def test_an_invented_credential_spends_its_address_budget(
    make_client: Maker, junk: dict[str, str]
) -> None:
    client = make_client(["read=2/60"])
    for n in range(2):
        # Refused (what a reader sees depends on who they are), and counted all the same.
        assert (
            client.get("/events", headers={"Authorization": f"Bearer junk-{n}"}).status_code == 401
        )
    assert client.get("/events", headers=junk).status_code == 429
    rate_limits: RateLimits = client.app.state.rate_limits  # type: ignore[attr-defined]
    assert len(rate_limits.identities) == 0
    assert rate_limits.groups["read"].buckets.keys() == ["client:192.0.2.7"]


def test_an_address_without_a_token_has_one_budget(make_client: Maker) -> None:
    client = make_client(["read=2/60"])
    for _ in range(2):
        assert client.get("/events").status_code == 200

    assert client.get("/events").status_code == 429
    # Credentials that are not a bearer token do not make a new budget.
    assert client.get("/events", headers={"Authorization": "Basic YTpi"}).status_code == 429
    assert client.get("/events", headers={"Authorization": "Bearer "}).status_code == 429
    other = TestClient(client.app, client=("192.0.2.8", 4000))
    assert other.get("/events").status_code == 200


def test_in_local_mode_the_machine_s_own_requests_are_not_limited(make_client: Maker) -> None:
    client = make_client(["read=2/60"], client=("127.0.0.1", 4000))
    for _ in range(5):
        response = client.get("/events")
        assert response.status_code == 200
        assert fields(response) == (None, None)
    # A forwarding field, believed or not, makes a request not local.
    forwarded = {"X-Forwarded-For": "127.0.0.1"}
    found = [client.get("/events", headers=forwarded).status_code for _ in range(3)]
    assert found == [200, 200, 429]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"anonymous_writes": "off"}, id="anonymous-writes-off"),
        pytest.param({"rate_limit_local": True}, id="rate-limit-local"),
        pytest.param({"host": "0.0.0.0"}, id="public"),  # noqa: S104
    ],
)
def test_outside_local_mode_loopback_requests_are_limited(
    make_client: Maker, changes: dict[str, Any]
) -> None:
    client = make_client(["read=2/60"], client=("127.0.0.1", 4000), **changes)
    assert [client.get("/events").status_code for _ in range(3)] == [200, 200, 429]


def test_an_ipv6_client_is_its_whole_64(make_client: Maker) -> None:
    client = make_client(["read=2/60"], client=("2001:db8:1:2::1", 4000))
    same_64 = TestClient(client.app, client=("2001:db8:1:2:ffff::9", 4000))
    next_64 = TestClient(client.app, client=("2001:db8:1:3::1", 4000))
    assert client.get("/events").status_code == 200
    assert same_64.get("/events").status_code == 200

    assert client.get("/events").status_code == 429
    assert same_64.get("/events").status_code == 429
    assert next_64.get("/events").status_code == 200


# --- Redis -----------------------------------------------------------------------------------


@pytest.fixture
def redis_network() -> Iterator[str]:
    """A /64 of its own for the test's client, so that its Redis keys are its own; they are
    deleted at the end."""
    network = f"2001:db8:{secrets.randbelow(0x10000):x}:{secrets.randbelow(0x10000):x}::"
    with redis.Redis.from_url(REDIS_URL) as connection:
        try:
            connection.ping()
        except redis.exceptions.ConnectionError as exc:
            pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}).", pytrace=False)
        try:
            yield network
        finally:
            keys = _keys_of(connection, network)
            if keys:
                connection.delete(*keys)


def _keys_of(connection: redis.Redis, network: str) -> list[bytes]:
    return list(connection.scan_iter(match=f"{KEY_PREFIX}*:client:{network}/64"))


def test_replicas_share_their_limits_through_redis(make_client: Maker, redis_network: str) -> None:
    address = (redis_network + "1", 4000)
    replicas = [
        make_client(["read=5/60"], client=address, rate_limit_redis=REDIS_URL) for _ in range(2)
    ]
    for n in range(5):
        response = replicas[n % 2].get("/events")
        assert response.status_code == 200
        assert fields(response)[1] == f'"read";r={4 - n};t={12 * (n + 1)}'

    for replica in replicas:
        refused = replica.get("/events")
        assert_problem(refused, 429)
        assert refused.headers["retry-after"] == "12"
    # The bucket is one key in Redis, where both replicas found it.
    with redis.Redis.from_url(REDIS_URL) as connection:
        assert len(_keys_of(connection, redis_network)) == 1


def test_requests_are_served_while_redis_is_down(
    make_client: Maker, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()
    client = make_client(["read=2/60"], rate_limit_redis=f"redis://127.0.0.1:{closed}/0")
    caplog.set_level(logging.WARNING, logger="eventsapi")

    for headers in [IDENTITY, GZIP] * 5:
        response = client.get("/events", headers=headers)
        assert response.status_code == 200
        assert fields(response) == (None, None)

    warnings = [r for r in caplog.records if "Rate limits are not enforced" in r.getMessage()]
    assert len(warnings) == 1
