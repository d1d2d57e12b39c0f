"""Rate limits in front of every route: which group a request is in, and whose budget it spends.

The setting ``rate_limits`` gives each route group a limit (``read=1200/60``); a group it
does not list, and every route when the list is empty, is not limited. Each route of the
table (``api/route_table.py``) names its groups (``routes.Limits``), and ``RouteGroups``
finds them for any path, routed or not:

- ``read``: ``GET`` and ``HEAD`` (and ``OPTIONS``, which changes nothing and which browsers
  send before each cross-origin write) of ``/events``, ``/events/{id}`` and ``/event``;
- ``write``: the other methods of those paths;
- ``auth``: ``/auth/...`` and ``/users...`` (logins, sessions, tokens, accounts);
- ``other``: every other path, except ``/healthz``, ``/readyz`` and ``/metrics``, which are
  never limited: a refused probe would take a healthy replica out of its load balancer,
  and a refused scrape would blind the monitoring when traffic peaks.

The budget is per client, and only a verified identity is one: the user of a session or
API token that authentication has verified lately (``api/identities.py``: a table in this
process, no database lookup per request), else the client address (an IPv6 client's whole
/64, as ``auth/throttle.client_key`` decides; ``api/clients.py`` finds it behind trusted
proxies). A credential not verified (invented, revoked, or not seen lately) spends its
address's budget; when that budget is spent, the credential is verified once (``Verify.FIRST``)
so that a real user's first request after a quiet spell is not refused for its neighbours'.
Nothing an attacker invents becomes a key: the keys are user ids and client addresses.

A local request (``api/clients.py``: the service on loopback in local mode, a loopback
peer, no forwarding field) is the machine's own user and is not limited, unless the
``rate_limit_local`` setting says so.

``api/hotpath.py`` calls ``check`` for every request, before the hot path or Starlette, and
sends the 429 it returns instead of an answer, or adds the ``RateLimit`` and
``RateLimit-Policy`` fields it returns to the answer. Limits are counted in this process
(``auth/ratelimit_local.py``: about 3 us a request, see docs/benchmarks.md) unless
``limiter`` is set, which ``app.py`` does at start-up with a ``RedisRateLimiter`` when
``rate_limit_redis`` is. ``app.py`` also sets ``verify``, which authenticates a credential.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final, TypeAlias

from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import Scope

from eventsapi.api import problems
from eventsapi.api.clients import client_of, local_mode
from eventsapi.api.identities import RecentIdentities
from eventsapi.api.routes import READS, Limits, RouteGroups
from eventsapi.auth.ratelimit import (
    Decision,
    Limit,
    LimiterUnavailable,
    RateLimiter,
    epoch_microseconds,
    headers,
)
from eventsapi.auth.ratelimit_local import LocalBuckets
from eventsapi.auth.sessions import COOKIE_NAME, COOKIE_NAME_INSECURE
from eventsapi.auth.throttle import client_key
from eventsapi.clock import Clock, system_clock
from eventsapi.settings import Settings, parse_rate_limits

__all__ = ["Fields", "GroupLimit", "RateLimits", "Verifier", "Verify"]

logger = logging.getLogger("eventsapi")

Fields: TypeAlias = tuple[tuple[bytes, bytes], ...]
"""Response header fields, as ``Response.raw_headers`` holds them."""
Verifier: TypeAlias = Callable[[str, Scope], Awaitable[str | None]]
"""Authenticates a credential sent with a request: its identity (``user:<id>``) or ``None``."""


class Verify(enum.Enum):
    """``decide``'s answer when the address's budget is spent and the request carries a
    credential not verified lately: ``after_verifying`` decides, once it is checked."""

    FIRST = "first"


_BEARER: Final = b"bearer"
_RATELIMIT: Final = b"ratelimit"
_SESSION_COOKIES: Final = (COOKIE_NAME, COOKIE_NAME_INSECURE)
_MAX_REMEMBERED_ADDRESSES: Final = 10_000
_PAUSE_AFTER_FAILURE: Final = 5.0  # seconds without asking the limiter after it failed
_WARN_EVERY: Final = 60.0  # seconds between two warnings that limits are not enforced
_US: Final = 1_000_000
_time_ns: Final = time.time_ns


def _microseconds_of(clock: Clock) -> Callable[[], int]:
    return lambda: epoch_microseconds(clock())


class GroupLimit:
    """A route group's limit, its buckets in this process, and its response fields."""

    __slots__ = ("_fields", "buckets", "limit", "name", "policy_field", "state_prefix")

    def __init__(self, name: str, requests: int, seconds: int) -> None:
        self.name = name
        self.limit = Limit(requests, timedelta(seconds=seconds))
        self.buckets = LocalBuckets(self.limit)
        sample = Decision(allowed=True, remaining=0, reset_after=0.0, retry_after=None)
        (_, policy), (_, state) = headers(sample, self.limit, name)
        self.policy_field = (b"ratelimit-policy", policy.encode())  # "read";q=1200;w=60
        self.state_prefix = state[: state.index(";r=") + 3].encode()  # "read";r=
        self._fields: dict[int, Fields] = {}

    def fields(self, remaining: int, reset_us: int) -> Fields:
        """``RateLimit-Policy`` and ``RateLimit`` for an allowed request that leaves
        ``remaining`` requests and ``reset_us`` until the whole quota is back: the fields
        of ``auth.ratelimit.headers`` (the tests compare them).

        Every request pays for these, and formatting them costs more than the limit's
        decision: they are made once per value. There are few values, as ``remaining``
        and the reset are tied (the reset is the time to refill the requests spent), so at
        most about ``requests + window seconds`` per group.
        """
        reset = -(-reset_us // _US)  # whole seconds, rounded up: at most a day and a second
        key = remaining * 100_000 + reset
        made = self._fields.get(key)
        if made is None:
            state = b"%s%d;t=%d" % (self.state_prefix, remaining, reset)
            made = self._fields[key] = (self.policy_field, (_RATELIMIT, state))
        return made

    def refusal(self, decision: Decision) -> Response:
        """The 429 problem, with ``Retry-After`` and the RateLimit fields."""
        fields = dict(headers(decision, self.limit, self.name))
        return problems.problem(
            429,
            f"Too many requests from this client to the {self.name} routes: at most "
            f"{self.limit.requests} per {self.limit.window_seconds} seconds. Retry in "
            f"{fields['Retry-After']} seconds.",
            slug="too-many-requests",
            headers=fields,
        )


class RateLimits:
    """The rate limits of ``settings`` on the route groups of ``routes``, at ``clock``'s time
    (the system's by default).

    ``limiter``: where requests are counted; ``None`` (the default) for this process.
    """

    def __init__(
        self,
        settings: Settings,
        limiter: RateLimiter | None = None,
        *,
        routes: RouteGroups,
        clock: Clock | None = None,
        identities: RecentIdentities | None = None,
    ) -> None:
        self.groups: dict[str, GroupLimit] = {
            name: GroupLimit(name, requests, seconds)
            for name, (requests, seconds) in parse_rate_limits(settings.rate_limits).items()
        }
        self.limiter = limiter
        self.identities = identities if identities is not None else RecentIdentities()
        self.verify: Verifier | None = None
        self.exempt_local = local_mode(settings) and not settings.rate_limit_local
        self._clock = clock or system_clock
        self._now_us = None if clock is None else _microseconds_of(clock)
        self.routes = routes
        # The GroupLimits of each path and folder of the table, for reads then writes: the
        # lookup every request pays for, made once.
        pairs = {
            limits: tuple(None if name is None else self.groups.get(name) for name in limits.value)
            for limits in Limits
        }
        self._paths = {path: pairs[limits] for path, limits in routes.exact.items()}
        self._folders = {folder: pairs[limits] for folder, limits in routes.folders.items()}
        self._other = pairs[Limits.OTHER]
        # The hot routes' folder is looked at first, with one startswith ("": there is none).
        hot = routes.hot_folder
        self._hot_folder = hot or ""
        self._hot_pair = self._other if hot is None else self._folders[hot]
        self._addresses: dict[str, str] = {}
        self._paused_until = 0.0
        self._warned_at: float | None = None

    @property
    def active(self) -> bool:
        """Whether any route group is limited (an empty ``rate_limits`` turns limits off)."""
        return bool(self.groups)

    def key_of(self, scope: Scope) -> str:
        """Whose budget the request spends: ``user:<id>`` for a credential verified lately,
        else ``client:<address>``."""
        credential = _credential(scope)
        if credential is not None:
            identity = self.identities.identity_of(credential)
            if identity is not None:
                return identity
        return self._address_key(scope)

    def _address_key(self, scope: Scope) -> str:
        address = client_of(scope).address
        # client_key parses the address (a few microseconds); a client's next requests
        # find it here. Forgetting all at once past the bound keeps this a plain dict.
        key = self._addresses.get(address)
        if key is None:
            if len(self._addresses) >= _MAX_REMEMBERED_ADDRESSES:
                self._addresses.clear()
            key = self._addresses[address] = "client:" + client_key(address)
        return key

    async def check(self, scope: Scope) -> Response | Fields | None:
        """Count the request against its group's limit. ``None``: not limited; a
        ``Response``: the 429 to send instead of an answer; else the fields to add to it."""
        limiter = self.limiter
        if limiter is None:
            decided = self.decide(scope)
            if decided is Verify.FIRST:
                return await self.after_verifying(scope)
            return decided
        if self.exempt_local and client_of(scope).local:
            return None
        name = self.routes.group_of(scope["method"], scope["path"])
        group = None if name is None else self.groups.get(name)
        if group is None:
            return None
        return await self._check_shared(limiter, group, scope)

    def decide(self, scope: Scope, *, may_verify: bool = True) -> Response | Fields | Verify | None:
        """``check`` when ``limiter`` is ``None``: counted in this process, with no waiting,
        so the hot path calls it without a coroutine; ``Verify.FIRST`` when the request's
        credential must be verified before a refusal (then ``after_verifying`` decides).
        Every request pays for this, so it finds the group itself (as
        ``RouteGroups.group_of`` would), with no call."""
        if self.exempt_local and client_of(scope).local:
            return None
        path: str = scope["path"]
        if self._hot_folder and path.startswith(self._hot_folder):
            pair = self._hot_pair
        else:
            found = self._paths.get(path)  # the paths of one segment, without parameters
            if found is None:
                end = path.find("/", 1)
                folder = path[: end + 1] if end > 0 else path + "/"
                found = self._folders.get(folder, self._other)
            pair = found
        group = pair[0] if scope["method"] in READS else pair[1]
        if group is None:
            return None
        now_us = _time_ns() // 1000 if self._now_us is None else self._now_us()
        buckets = group.buckets
        credential = _credential(scope)
        identity = None if credential is None else self.identities.identity_of(credential)
        level = buckets.take(identity or self._address_key(scope), now_us)
        if level > 0:  # allowed, and the bucket's level (LocalBuckets.remaining, inline)
            return group.fields((buckets.capacity_us - level) // buckets.interval_us, level)
        if credential is not None and identity is None and may_verify and self.verify:
            return Verify.FIRST
        return group.refusal(buckets.decision(level))

    async def after_verifying(self, scope: Scope) -> Response | Fields | None:
        """``decide`` for a request refused on its address's budget, once its credential is
        verified: a valid one spends its user's budget instead."""
        await self._verify(scope)
        decided = self.decide(scope, may_verify=False)
        return None if decided is Verify.FIRST else decided  # never FIRST, without may_verify

    async def _verify(self, scope: Scope) -> bool:
        """Authenticate the request's credential (``verify`` records it in ``identities``)."""
        credential = _credential(scope)
        if credential is None or self.verify is None:
            return False
        identity = await self.verify(credential.decode("latin-1"), scope)
        return identity is not None

    async def _check_shared(
        self, limiter: RateLimiter, group: GroupLimit, scope: Scope
    ) -> Response | Fields | None:
        paused_until = self._paused_until
        if paused_until and time.monotonic() < paused_until:
            return None
        try:
            identity = self.key_of(scope)
            decision = await limiter.hit(f"{group.name}:{identity}", group.limit, self._clock())
            if (
                not decision.allowed
                and identity.startswith("client:")
                and await self._verify(scope)
            ):
                identity = self.key_of(scope)
                decision = await limiter.hit(f"{group.name}:{identity}", group.limit, self._clock())
        except LimiterUnavailable as exc:
            # Fail open: when Redis is down or slow, serve the request unlimited. A shared
            # limit protects the service from overload by one client; refusing every
            # request while Redis is away would be the outage it exists to prevent, so the
            # API's availability comes first. Nothing that needs strictness depends on it:
            # guessing passwords is throttled separately, per account in the database
            # (auth/throttle.py), whatever Redis does.
            self._fail_open(exc)
            return None
        if paused_until:
            self._paused_until = 0.0
            logger.info("Rate limits are enforced again: their store answers.")
        if not decision.allowed:
            return group.refusal(decision)
        return group.fields(decision.remaining, round(decision.reset_after * _US))

    def _fail_open(self, exc: Exception) -> None:
        now = time.monotonic()
        # A Redis that hangs makes each request wait for its timeout: after a failure,
        # the next requests skip it for a few seconds rather than each waiting too.
        self._paused_until = now + _PAUSE_AFTER_FAILURE
        if self._warned_at is None or now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            logger.warning(
                "Rate limits are not enforced: their store failed (%s: %s). Requests are "
                "served unlimited until it answers again (checked every %.0f s; this "
                "warning repeats at most once a minute).",
                type(exc).__name__,
                exc,
                _PAUSE_AFTER_FAILURE,
            )


def _credential(scope: Scope) -> bytes | None:
    """The session or API token the request sends, as ``Authn`` reads it: in
    ``Authorization: Bearer``, else in the session cookie; ``None`` without one."""
    cookies = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            return token if token and scheme.lower() == _BEARER else None
        if name == b"cookie":
            cookies = value
    if cookies is None:
        return None
    jar = cookie_parser(cookies.decode("latin-1"))
    for cookie in _SESSION_COOKIES:
        found = jar.get(cookie)
        if found:
            return found.encode("latin-1")
    return None
