"""Setting values with a syntax of their own (origins, statuses, networks, rate limits), and
the rules between settings.

Each raises :class:`~eventsapi.errors.ConfigurationError` naming the setting, so that
:class:`~eventsapi.settings.Settings` refuses a bad value however it was given.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Final, TypeAlias
from urllib.parse import urlsplit

from eventsapi import extras
from eventsapi.errors import ConfigurationError

if TYPE_CHECKING:
    from eventsapi.settings import Settings

__all__ = [
    "RATE_LIMIT_GROUPS",
    "IPNetwork",
    "check_settings",
    "parse_networks",
    "parse_rate_limits",
    "parse_statuses",
]

IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

# A serialized origin as browsers send it: lower case, no path, no trailing slash.
_ORIGIN: Final = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#@\sA-Z]+").fullmatch


def check_settings(settings: Settings) -> None:
    """``ConfigurationError`` for a value of ``settings`` out of its syntax, or settings that
    contradict each other."""
    for origin in settings.cors_origins:
        if origin != "*" and _ORIGIN(origin) is None:
            raise ConfigurationError(
                f"Invalid setting: cors_origins: {origin!r} is not an origin; write "
                "scheme://host[:port] in lower case without a path or a trailing slash "
                "(https://app.example.com), or * for any origin."
            )
    if settings.public_url and not _is_public_url(settings.public_url):
        raise ConfigurationError(
            f"Invalid setting: public_url: {settings.public_url!r} is not the service's "
            "address; write http:// or https:// then the host name in lower case and an "
            "optional port, with no path, query or trailing slash "
            "(https://events.example.com)."
        )
    if settings.pool_max_size < settings.pool_min_size:
        raise ConfigurationError(
            f"Invalid setting: pool_max_size ({settings.pool_max_size}) is less than "
            f"pool_min_size ({settings.pool_min_size})."
        )
    if settings.database.startswith(("postgres://", "postgresql://")):
        extras.require("postgres", "Setting database (a postgresql:// URL)")
    if settings.rate_limit_redis:
        extras.require("redis", "Setting rate_limit_redis")
    parse_statuses(settings.sli_error_statuses)
    parse_networks(settings.trusted_proxies)
    parse_rate_limits(settings.rate_limits)
    if settings.session_idle_minutes > settings.session_hours * 60:
        raise ConfigurationError(
            f"Invalid setting: session_idle_minutes ({settings.session_idle_minutes}) is "
            f"longer than the whole session (session_hours: {settings.session_hours})."
        )
    if settings.cors_credentials and "*" in settings.cors_origins:
        raise ConfigurationError(
            "Invalid setting: cors_credentials needs cors_origins to list the origins "
            "allowed; browsers refuse credentials with any origin (*)."
        )


def _is_public_url(url: str) -> bool:
    """An http(s) origin, as ``public_url`` needs: no user, path, query or fragment."""
    if _ORIGIN(url) is None:
        return False
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.username


RATE_LIMIT_GROUPS: Final = ("read", "write", "auth", "other")


def parse_rate_limits(items: list[str]) -> dict[str, tuple[int, int]]:
    """``{group: (requests, seconds)}`` from ``group=requests/seconds`` items."""
    limits: dict[str, tuple[int, int]] = {}
    for item in items:
        group, _, rate = item.strip().partition("=")
        count, _, seconds = rate.partition("/")
        group = group.strip()
        if group not in RATE_LIMIT_GROUPS or not (count.isdigit() and seconds.isdigit()):
            raise ConfigurationError(
                f"Invalid setting: rate_limits: {item!r} is not group=requests/seconds with "
                f"a group among {', '.join(RATE_LIMIT_GROUPS)} (read=1200/60)."
            )
        if int(count) < 1 or not 1 <= int(seconds) <= 86_400:
            raise ConfigurationError(
                f"Invalid setting: rate_limits: {item!r} needs at least 1 request and a "
                "window of 1 to 86400 seconds."
            )
        limits[group] = (int(count), int(seconds))
    return limits


def parse_networks(items: list[str]) -> tuple[IPNetwork, ...]:
    """The networks of ``trusted_proxies`` (an address is a network of one)."""
    networks: list[IPNetwork] = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip()))
        except ValueError as exc:
            raise ConfigurationError(
                f"Invalid setting: trusted_proxies: {item!r} is not an IP address or a "
                f"network (10.0.0.0/8, fd00::/8): {exc}."
            ) from None
    return tuple(networks)


def parse_statuses(items: list[str]) -> frozenset[int]:
    """The statuses ``items`` names (``"503"``, ``"500-599"``); ``ConfigurationError`` if bad."""
    statuses: set[int] = set()
    for item in items:
        low, dash, high = item.strip().partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            first = last = 0
        if not 100 <= first <= last <= 599:
            raise ConfigurationError(
                f"Invalid setting: sli_error_statuses: {item!r} is not a status (503) or a "
                "range of statuses (500-599) between 100 and 599."
            )
        statuses.update(range(first, last + 1))
    return frozenset(statuses)
