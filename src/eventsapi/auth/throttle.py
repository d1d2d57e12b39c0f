"""Brute-force resistance for logins: per account, per client address, per unknown name.

The numbers, and where they come from
-------------------------------------
NIST SP 800-63B-4, section 3.2.2 (Rate Limiting): the verifier SHALL limit consecutive
failed attempts on one subscriber account to no more than 100, then disable the
authenticator; it MAY make the claimant wait after a failure "for a period of time that
increases as the account approaches its maximum allowance" (its example: 30 seconds up to
an hour), and SHOULD forget the failures once the subscriber succeeds. OWASP's
Authentication Cheat Sheet (Login Throttling) adds: count failures on the account, not
only on the address, and beware that a lockout is a denial-of-service tool in an
attacker's hand. OWASP ASVS 4.0.3 (2.2.1): no more than 100 failed attempts per hour on
one account.

- **Per account** (``account_delay``, ``retry_after``, ``LOCK_AFTER``): the first
  ``FREE_FAILURES`` (5) failures cost nothing (typos); after the 6th the next attempt
  waits 1 s, and the wait doubles with each failure up to ``MAX_DELAY`` (15 min, reached
  at the 16th). Reaching the lock takes about 21 hours of attempts spaced exactly as
  allowed, so a guesser gets 100 guesses a day at most, never 100 an hour; and
  because the delay, not a lockout, does the slowing, a griefer cannot lock someone out in
  minutes. After ``LOCK_AFTER`` (100) consecutive failures the account is locked: only a
  login with the password and a correct second factor, or an admin, lifts it. The count
  is per account, across all its authenticators, which is stricter than NIST's per
  authenticator. The counter lives in the database (``User.failed_logins``), so every
  replica sees the same one.
- **Per client address** (``ClientBudget``): 20 failed logins per 5 minutes from one
  address (an IPv6 client's whole /64), then 429 until the oldest of them is 5 minutes
  old. This slows one client spraying guesses over many accounts (credential stuffing),
  which no per-account counter sees. The times are kept in the database
  (``AccountStore.update_client_logins``), so every replica spends the same budget. A
  success does not clear it, or an attacker could log in to their own account between
  guesses to reset their budget.
- **Per unknown username** (``AccountStore.update_unknown_login``): a login for a name with
  no account must be throttled exactly like a real one, or a 429 after 6 tries would tell
  an attacker which names exist. Its count is in the database too, so that every replica
  sees it, and so that it costs the same write an account's count costs (the same time).
  It is forgotten ``UNKNOWN_NAMES_FORGOTTEN_AFTER`` (a year) after the name's last
  failure, which bounds the table; an account's count is kept until its next success. A
  shorter memory would tell: after six failures on a name, a wait on the next one long
  after means the name has an account. (The audit log keeps every failure anyway.)

How a login uses them
---------------------
Every budget is *reserved* before anything is checked: one atomic update per budget
counts the attempt as failed, and refuses it with 429 and ``Retry-After`` instead if the
client's budget is spent (``ClientBudget.reserve``) or the account (or the unknown name)
must still wait (``retry_after``). A refused attempt is neither checked (no argon2 cost,
no information) nor counted. So N logins sent at once cost at most the budget in argon2
checks, on one replica or several: each waits for the others' reservations on the same
row. Then the credentials are checked: a failure keeps what was reserved (and locks the
account if ``should_lock`` says so); a success (with the second factor if the account is
locked or has 2FA) gives the client's reservation back, sets the account's count to 0
and unlocks. An attempt that turns out not to be a guess at all (the password was right
and the second factor is still to come; another budget refused it) gives its
reservations back too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from eventsapi.errors import TooManyAttempts

__all__ = [
    "FREE_FAILURES",
    "LOCK_AFTER",
    "MAX_DELAY",
    "UNKNOWN_NAMES_FORGOTTEN_AFTER",
    "ClientBudget",
    "account_delay",
    "client_key",
    "retry_after",
    "should_lock",
]

FREE_FAILURES = 5
"""Consecutive failures that cost no wait."""
FIRST_DELAY = timedelta(seconds=1)
"""The wait after failure ``FREE_FAILURES + 1``; it doubles with each further failure."""
MAX_DELAY = timedelta(minutes=15)
"""The longest wait between two attempts on one account."""
LOCK_AFTER = 100
"""Consecutive failures that lock an account (NIST SP 800-63B-4's upper bound)."""

_NO_WAIT = timedelta(0)


def account_delay(failures: int) -> timedelta:
    """How long an account with ``failures`` consecutive failures waits after the last one."""
    if failures <= FREE_FAILURES:
        return _NO_WAIT
    # 2**40 s is past any sane cap and still a valid timedelta: the exponent stops there.
    doublings = min(failures - FREE_FAILURES - 1, 40)
    return min(FIRST_DELAY * (1 << doublings), MAX_DELAY)


def retry_after(failures: int, last_failure_at: datetime | None, now: datetime) -> timedelta | None:
    """How long until the account may try again, or ``None`` if it may try now.

    ``last_failure_at``: when the latest of the ``failures`` happened (``None``: none
    recorded, so nothing to wait for).
    """
    if last_failure_at is None:
        return None
    wait = last_failure_at + account_delay(failures) - now
    return wait if wait > _NO_WAIT else None


def should_lock(failures: int) -> bool:
    """Whether ``failures`` consecutive failures lock the account."""
    return failures >= LOCK_AFTER


def client_key(address: str) -> str:
    """The key a client address is throttled under.

    An IPv6 client usually holds a whole /64 (one per home or cloud machine) and can use a
    new address for each request, so its /64 is one client. An IPv4-mapped IPv6 address
    is its IPv4 address. Anything that is not an IP address (a Unix socket, a test
    client's name) is its own key.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class ClientBudget:
    """Failed logins per client address in a sliding window: the rule, not the storage.

    The times of a client's latest attempts live in the database
    (``AccountStore.update_client_logins``), so that every replica spends one budget, and
    the store runs ``reserve`` and ``release`` inside its atomic update: concurrent
    attempts queue on the client's row and each sees the others' reservations.
    """

    def __init__(self, *, limit: int = 20, window: timedelta = timedelta(minutes=5)) -> None:
        if limit < 1:
            raise ValueError(f"the limit must be at least 1, not {limit}")
        if window <= _NO_WAIT:
            raise ValueError(f"the window must be positive, not {window}")
        self.limit = limit
        self.window = window

    def recent(self, times: tuple[datetime, ...], now: datetime) -> tuple[datetime, ...]:
        """The ``times`` still in the window at ``now``, oldest first."""
        horizon = now - self.window
        return tuple(sorted(t for t in times if t > horizon))

    def retry_after(self, times: tuple[datetime, ...], now: datetime) -> timedelta | None:
        """How long until a client with attempts at ``times`` may try again, or ``None``."""
        recent = self.recent(times, now)
        if len(recent) < self.limit:
            return None
        wait = recent[-self.limit] + self.window - now
        return wait if wait > _NO_WAIT else None

    def reserve(self, now: datetime) -> Callable[[tuple[datetime, ...]], tuple[datetime, ...]]:
        """The change that counts an attempt at ``now`` as failed, before it is checked;
        it raises ``TooManyAttempts`` (and nothing is counted) if the budget is spent."""

        def change(times: tuple[datetime, ...]) -> tuple[datetime, ...]:
            wait = self.retry_after(times, now)
            if wait is not None:
                raise TooManyAttempts(wait)
            # Only the latest ``limit`` attempts can ever decide a wait.
            return (*self.recent(times, now), now)[-self.limit :]

        return change

    def release(self, at: datetime) -> Callable[[tuple[datetime, ...]], tuple[datetime, ...]]:
        """The change that takes back one attempt reserved at ``at`` (it was not a failure)."""

        def change(times: tuple[datetime, ...]) -> tuple[datetime, ...]:
            if at not in times:
                return times
            kept = list(times)
            kept.remove(at)
            return tuple(kept)

        return change


UNKNOWN_NAMES_FORGOTTEN_AFTER: Final = timedelta(days=365)
"""How long the failed logins of a username with no account are kept after the last one
(``AccountStore.update_unknown_login``); a real account's are kept until its next success."""
