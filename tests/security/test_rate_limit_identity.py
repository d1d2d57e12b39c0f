"""Issue 13, item 1: invented credentials reset the rate limits.

The limiter keyed on the ``Authorization: Bearer`` value as sent, before anything checked it,
so a client that sent a new junk token with each request had a fresh budget each time (and,
with Redis, a new key each time). A budget now belongs to a verified identity (the user of a
valid session or token) or else to the client address; a request with an invalid credential
spends its address's budget, and the limiter's state holds user ids and addresses only.
(Each such read is refused, 401: what a reader may see depends on who they are.)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from eventsapi.auth.ratelimit import KEY_PREFIX
from tests.security.public import ADMIN, ADMIN_PASSWORD, login, public_server
from tests.security.support_limits import statuses

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
READS = 20
JUNK = READS + 30


def limits(reads: int = READS, window: int = 600) -> dict[str, str]:
    return {"EVENTSAPI_RATE_LIMITS": f"read={reads}/{window},auth=20/60,other=600/60"}


def junk_credentials(count: int) -> list[dict[str, str]]:
    """Made-up credentials, a new one per request: bearer tokens shaped like sessions' and
    API tokens' (so that checking them needs the database), garbage, and session cookies."""
    made: list[dict[str, str]] = []
    for n in range(count):
        value = secrets.token_urlsafe(32)
        kind = n % 4
        if kind == 0:
            made.append({"Authorization": f"Bearer eas_{value}"})
        elif kind == 1:
            made.append({"Authorization": f"Bearer eat_{value}"})
        elif kind == 2:
            made.append({"Authorization": f"Bearer {value}"})
        else:
            made.append({"Cookie": f"__Host-eventsapi_session=eas_{value}"})
    return made


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_invented_credentials_spend_the_address_budget(tmp_path: Path, backend: str) -> None:
    with public_server(tmp_path, backend=backend, env=limits()) as server:
        found = statuses("127.0.0.2", server.port, "GET", "/events", junk_credentials(JUNK))
        assert found == [401] * READS + [429] * (JUNK - READS)

        # A real session, from the same address, spends a budget of its own.
        token = login("127.0.0.2", server.port, ADMIN, ADMIN_PASSWORD)
        real = [{"Authorization": f"Bearer {token}"}] * (READS + 1)
        assert statuses("127.0.0.2", server.port, "GET", "/events", real) == [200] * READS + [429]
        # Another address is untouched by both.
        assert statuses("127.0.0.3", server.port, "GET", "/events", [{}]) == [200]


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        client.close()


def test_invented_credentials_make_no_redis_keys(tmp_path: Path, redis_client: redis.Redis) -> None:
    # A window no other test uses: the keys under it are this test's alone.
    window = 1000 + secrets.randbelow(80_000)
    pattern = f"{KEY_PREFIX}{READS}/{window}:*"
    env = {**limits(window=window), "EVENTSAPI_RATE_LIMIT_REDIS": REDIS_URL}
    try:
        with public_server(tmp_path, env=env) as server:
            found = statuses("127.0.0.2", server.port, "GET", "/events", junk_credentials(JUNK))
            keys = sorted(key.decode() for key in redis_client.scan_iter(match=pattern))
            assert keys == [f"{KEY_PREFIX}{READS}/{window}:read:client:127.0.0.2"], len(keys)
            assert found == [401] * READS + [429] * (JUNK - READS)

            token = login("127.0.0.2", server.port, ADMIN, ADMIN_PASSWORD)
            real = [{"Authorization": f"Bearer {token}"}] * (READS + 1)
            found = statuses("127.0.0.2", server.port, "GET", "/events", real)
            assert found == [200] * READS + [429]
            keys = sorted(key.decode() for key in redis_client.scan_iter(match=pattern))
            assert len(keys) == 2, keys
            assert keys[1].startswith(f"{KEY_PREFIX}{READS}/{window}:read:user:"), keys
    finally:
        for key in redis_client.scan_iter(match=pattern):
            redis_client.delete(key)
