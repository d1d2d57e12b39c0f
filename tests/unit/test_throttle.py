"""Brute-force resistance: growing waits and a lock per account, a window per client."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from eventsapi.auth.throttle import (
    LOCK_AFTER,
    MAX_DELAY,
    ClientBudget,
    account_delay,
    client_key,
    retry_after,
    should_lock,
)
from eventsapi.errors import TooManyAttempts
from tests.support import START, FakeClock

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)

# Per account


def test_the_first_five_failures_cost_no_wait_then_it_doubles_from_one_second() -> None:
    delays = [account_delay(failures) for failures in range(12)]

    assert delays[:6] == [timedelta(0)] * 6
    assert delays[6:] == [SECOND * 2**n for n in range(6)]


def test_the_wait_is_capped_at_15_minutes_and_never_shrinks() -> None:
    delays = [account_delay(failures) for failures in range(LOCK_AFTER * 3)]

    assert max(delays) == timedelta(minutes=15)
    assert delays[16] == MAX_DELAY
    assert delays == sorted(delays)
    assert account_delay(10**9) == MAX_DELAY


def test_retry_after_is_the_rest_of_the_wait_since_the_last_failure() -> None:
    last = START
    assert retry_after(8, last, last) == 4 * SECOND
    assert retry_after(8, last, last + 3 * SECOND) == SECOND
    assert retry_after(8, last, last + 4 * SECOND) is None
    assert retry_after(8, last, last + 5 * SECOND) is None


def test_no_wait_without_enough_failures_or_without_a_recorded_failure() -> None:
    assert retry_after(5, START, START) is None
    assert retry_after(0, None, START) is None
    assert retry_after(50, None, START) is None


def test_an_account_locks_at_100_consecutive_failures() -> None:
    assert LOCK_AFTER == 100
    assert not should_lock(LOCK_AFTER - 1)
    assert should_lock(LOCK_AFTER)
    assert should_lock(LOCK_AFTER + 1)


def test_a_guesser_going_as_fast_as_allowed_gets_100_guesses_in_about_21_hours() -> None:
    """10,000 attempts at one account, each sent the moment the throttle allows: it is
    locked after 100 guesses, never more than 100 in any hour (OWASP ASVS 2.2.1), and
    reaching the lock takes most of a day."""
    clock = FakeClock()
    failures, last_failure = 0, None
    guesses_at = []
    for _ in range(10_000):
        if should_lock(failures):
            break
        wait = retry_after(failures, last_failure, clock.now())
        if wait is not None:
            clock.advance(wait.total_seconds())
        failures, last_failure = failures + 1, clock.now()
        guesses_at.append(clock.now())

    assert len(guesses_at) == LOCK_AFTER
    assert guesses_at[-1] - guesses_at[0] > timedelta(hours=21)
    for i, start in enumerate(guesses_at):
        in_an_hour = [t for t in guesses_at[i:] if t - start < timedelta(hours=1)]
        assert len(in_an_hour) <= 20


# Client keys


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_64(address: str, key: str) -> None:
    assert client_key(address) == key


# Per client address: the rule (the store keeps the times; tests/contract has its atomicity)


def fail(budget: ClientBudget, times: tuple[datetime, ...], now: datetime, count: int) -> Times:
    for _ in range(count):
        times = budget.reserve(now)(times)
    return times


Times = tuple[datetime, ...]


def test_a_client_may_fail_20_times_in_5_minutes_then_must_wait() -> None:
    budget = ClientBudget()
    times = fail(budget, (), START, 19)
    assert budget.retry_after(times, START) is None

    times = budget.reserve(START)(times)
    assert budget.retry_after(times, START) == timedelta(minutes=5)
    with pytest.raises(TooManyAttempts) as refused:
        budget.reserve(START)(times)
    assert refused.value.retry_after == 300


def test_the_window_slides_one_failure_at_a_time() -> None:
    budget = ClientBudget(limit=3, window=timedelta(minutes=5))
    times: Times = ()
    for minute in range(3):
        times = budget.reserve(START + minute * MINUTE)(times)
    now = START + 3 * MINUTE  # failures at 0, 1 and 2 minutes

    assert budget.retry_after(times, now) == timedelta(minutes=2)
    assert budget.retry_after(times, now + 119 * SECOND) == SECOND
    now += 120 * SECOND
    assert budget.retry_after(times, now) is None
    # One more failure (at 5 minutes) fills the window again until the one at 1 minute ages.
    times = budget.reserve(now)(times)
    assert budget.retry_after(times, now) == timedelta(minutes=1)
    assert len(times) == 3  # only the latest `limit` are kept


def test_an_attempt_leaves_the_window_exactly_one_window_later() -> None:
    budget = ClientBudget(limit=1, window=timedelta(minutes=5))  # 1: the least limit

    assert budget.recent((START,), START + 5 * MINUTE - timedelta(microseconds=1)) == (START,)
    assert budget.recent((START,), START + 5 * MINUTE) == ()
    assert budget.retry_after((START,), START + 5 * MINUTE) is None


def test_a_released_reservation_no_longer_counts() -> None:
    budget = ClientBudget(limit=2)
    times = fail(budget, (), START, 2)
    assert budget.retry_after(times, START) is not None

    times = budget.release(START)(times)
    assert times == (START,)
    assert budget.retry_after(times, START) is None
    assert budget.release(START + SECOND)(times) == times  # nothing reserved then


def test_an_ipv6_64_is_one_client() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2::2")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, r"^the limit must be at least 1, not 0$"),
        ({"window": timedelta(0)}, r"^the window must be positive, not 0:00:00$"),
    ],
)
def test_a_budget_that_cannot_work_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClientBudget(**kwargs)  # type: ignore[arg-type]
