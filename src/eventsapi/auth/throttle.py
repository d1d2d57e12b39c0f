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
- **Per client address** (``ClientThrottle``): 20 failed logins per 5 minutes from one
  address (an IPv6 client's whole /64), then 429 until the oldest of them is 5 minutes
  old. This slows one client spraying guesses over many accounts (credential stuffing),
  which no per-account counter sees. It is in memory, per process: a limit per replica.
  A success does not clear it, or an attacker could log in to their own account between
  guesses to reset their budget.
- **Per unknown username** (``EventStore.update_unknown_login``): a login for a name with
  no account must be throttled exactly like a real one, or a 429 after 6 tries would tell
  an attacker which names exist. Its count is in the database too, so that every replica
  sees it, and so that it costs the same write an account's count costs (the same time).
  It is forgotten ``UNKNOWN_NAMES_FORGOTTEN_AFTER`` (a year) after the name's last
  failure, which bounds the table; an account's count is kept until its next success. A
  shorter memory would tell: after six failures on a name, a wait on the next one long
  after means the name has an account. (The audit log keeps every failure anyway.)

How a login uses them
---------------------
Before checking anything, refuse with 429 and ``Retry-After`` if ``retry_after`` (the
account's, or the unknown name's) or the client's ``retry_after`` says to wait; such a
refused attempt is neither checked (no argon2 cost, no information) nor counted. Then
check the credentials: on failure add one to the account's count and record the failure
with the client throttle, and lock the account if ``should_lock`` says so; on success
(with the second factor if the account is locked or has 2FA) set the count to 0 and unlock.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Final

from eventsapi.clock import Clock, system_clock

__all__ = [
    "FREE_FAILURES",
    "LOCK_AFTER",
    "MAX_DELAY",
    "UNKNOWN_NAMES_FORGOTTEN_AFTER",
    "ClientThrottle",
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


class ClientThrottle:
    """Failed logins per client address in a sliding window, in this process's memory.

    ``retry_after(address)`` before a login attempt; ``record_failure(address)`` after a
    failed one. At most ``max_clients`` addresses are remembered: past that, the least
    recently failing are forgotten (an attacker must spend that many addresses to be
    forgotten, and then has that many budgets anyway).
    """

    def __init__(
        self,
        *,
        limit: int = 20,
        window: timedelta = timedelta(minutes=5),
        clock: Clock = system_clock,
        max_clients: int = 100_000,
    ) -> None:
        if limit < 1:
            raise ValueError(f"the limit must be at least 1, not {limit}")
        if window <= _NO_WAIT:
            raise ValueError(f"the window must be positive, not {window}")
        if max_clients < 1:
            raise ValueError(f"max_clients must be at least 1, not {max_clients}")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_clients = max_clients
        # Per client, the times of its latest failures (at most ``limit``: only the
        # oldest of the last ``limit`` decides), least recently failing client first.
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        # The HTTP layer may call from more than one thread; every method is short.
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> timedelta | None:
        """How long until ``address`` may try to log in again, or ``None`` if it may now."""
        now = self._clock()
        with self._lock:
            times = self._failures.get(client_key(address))
            if times is None or len(times) < self.limit:
                return None
            wait = times[0] + self.window - now
        return wait if wait > _NO_WAIT else None

    def record_failure(self, address: str) -> None:
        """Count a failed login from ``address``."""
        now = self._clock()
        key = client_key(address)
        with self._lock:
            times = self._failures.pop(key, None)
            if times is None:
                times = deque(maxlen=self.limit)
            times.append(now)
            self._failures[key] = times
            if len(self._failures) > self._max_clients:
                self._forget(now)

    def _forget(self, now: datetime) -> None:
        # Clients are in the order of their latest failure, so those with none left in the
        # window come first. Forget those, and more down to 90% of the bound, so this runs
        # once per tenth of ``max_clients`` new clients, not on every one.
        keep = self._max_clients * 9 // 10
        horizon = now - self.window
        while self._failures:
            oldest = next(iter(self._failures.values()))
            if len(self._failures) <= keep and oldest[-1] > horizon:
                break
            self._failures.popitem(last=False)


UNKNOWN_NAMES_FORGOTTEN_AFTER: Final = timedelta(days=365)
"""How long the failed logins of a username with no account are kept after the last one
(``EventStore.update_unknown_login``); a real account's are kept until its next success."""
