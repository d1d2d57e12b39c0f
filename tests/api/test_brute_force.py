"""A password brute force over HTTP: 10,000 guesses, 0 successes, throttled all along.

The guesses are the shipped blocklist's common passwords, with the account's real
password slipped in among them, as a leaked-password list would have it. Two attackers:

- an impatient one sends the 10,000 guesses back to back from one address: after the free
  failures every guess is refused with 429 and ``Retry-After`` before its password is
  even checked;
- a patient one waits out every ``Retry-After`` (the clock is a fake one) and sends each
  guess from a new address, so the per-client throttle never bites: the account's
  growing waits and its lock after 100 failures still hold, and the real password,
  guessed after the lock, is refused like a wrong one.

The store is the in-memory one (the rules are the service's, the same on every backend:
tests/contract/test_account_service_backends.py), so 20,000 requests take seconds.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from eventsapi.auth.password_policy import common_passwords
from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from eventsapi.auth.throttle import FREE_FAILURES, LOCK_AFTER
from eventsapi.settings import Settings
from tests.api.test_auth_endpoints import PASSWORD, fast_app
from tests.support import FakeClock, make_store

GUESSES = 10_000
REAL_PASSWORD_AT = 5_000
"""The real password's place among the guesses: well after the lock."""


def guesses() -> list[str]:
    common = sorted(common_passwords())[: GUESSES - 1]
    assert len(common) == GUESSES - 1
    return [*common[:REAL_PASSWORD_AT], PASSWORD, *common[REAL_PASSWORD_AT:]]


class NewAddressEachRequest:
    """Each request seems to come from another IPv4 address (a botnet's worth)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.addresses = (f"198.18.{n // 250}.{n % 250 + 1}" for n in itertools.count())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": (next(self.addresses), 40000)}
        await self.app(scope, receive, send)


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Starlette:
    # Rate limits off: the throttles of the login itself are under test.
    settings = Settings(database=str(tmp_path / "events.db"), rate_limits=[])
    app = fast_app(settings, make_store("memory", tmp_path), clock)
    accounts: AccountService = app.state.accounts
    create = functools.partial(accounts.admin.create_user, "alice", PASSWORD, actor=OPERATOR)
    with TestClient(app) as client:
        client.portal.call(create)  # type: ignore[union-attr]
    return app


def attempt(client: TestClient, password: str) -> tuple[int, int | None]:
    """The status of one login, and its ``Retry-After`` (seconds) if it has one."""
    response = client.post("/auth/login", json={"username": "alice", "password": password})
    assert response.status_code in (200, 401, 429), response.text
    retry_after = response.headers.get("retry-after")
    return response.status_code, None if retry_after is None else int(retry_after)


def test_10000_guesses_in_a_row_from_one_address_are_refused_after_the_free_ones(
    app: Starlette,
) -> None:
    with TestClient(app) as client:
        answers = [attempt(client, guess) for guess in guesses()]

    statuses = Counter(status for status, _ in answers)
    assert statuses[200] == 0
    # The only passwords ever checked: the free failures, and the one whose failure
    # starts the first wait.
    assert statuses[401] == FREE_FAILURES + 1
    assert statuses[429] == GUESSES - FREE_FAILURES - 1
    assert all(wait is not None and wait >= 1 for status, wait in answers if status == 429)


def test_a_patient_attacker_from_many_addresses_is_slowed_then_locked_out(
    app: Starlette, clock: FakeClock
) -> None:
    checked: list[int] = []  # the answers of the guesses whose password was checked
    waited = 0
    with TestClient(NewAddressEachRequest(app)) as client:
        for guess in guesses():
            status, wait = attempt(client, guess)
            while status == 429:  # wait as told, then send the same guess again
                assert wait is not None
                assert wait >= 1
                clock.advance(wait)
                waited += wait
                status, wait = attempt(client, guess)
            checked.append(status)
        user = client.portal.call(app.state.store.user_by_name, "alice")  # type: ignore[union-attr]

    assert len(checked) == GUESSES
    assert 200 not in checked, "a guess logged in"
    assert checked.count(401) == GUESSES
    assert user is not None
    assert user.locked
    # The lock came at the 100th failure and the real password, sent later, was refused;
    # to get there the attacker waited out the growing delays: over 21 hours for the
    # first 100 guesses, and 15 minutes for each after.
    assert REAL_PASSWORD_AT > LOCK_AFTER
    assert waited >= 21 * 3600 + (GUESSES - LOCK_AFTER) * 15 * 60
