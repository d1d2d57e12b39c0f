"""Who sent a request: the client's address and scheme, through trusted reverse proxies.

Every user of the client's address (rate limits, the login throttle, the audit log, the
access log, limits on requests in flight) asks ``client_of(scope)``. ``EventsApp`` resolves
it once per request, first, with the ``trusted_proxies`` setting (``Proxies.resolve``), and
the answer stays in the ASGI scope.

The rules
---------
- A proxy's fields are believed only from a peer in ``trusted_proxies``: anyone else can
  write ``X-Forwarded-For: 10.0.0.1`` and would pick their own address, and a fresh rate-limit
  budget with each request.
- From a trusted peer, the client is found by walking the chain of addresses from the right
  (the nearest hop first), skipping trusted proxies: the first address that is not one is the
  client. Everything to its left was written by the client and is ignored. An entry that is
  not an IP address (``unknown``, an obfuscated ``_hidden`` name, garbage) ends the walk: the
  client is then the last trusted hop reached, never a value an attacker chose.
- ``Forwarded`` (RFC 7239: ``for=`` and ``proto=``) or ``X-Forwarded-For`` with
  ``X-Forwarded-Proto``: a request that carries both kinds believes neither, since a proxy
  that writes one kind passes the other through from the client untouched.
- The scheme (``https`` from a TLS-terminating proxy) decides whether cookies are ``Secure``;
  it is also written to ``scope["scheme"]``, so that ``request.url`` is the client's URL.
- A request with any forwarding field, believed or not, is never *local*: a proxy on this
  machine would otherwise make every client that reaches it look like the machine's own user
  (anonymous writes and no rate limits in local mode).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Sequence
from typing import Final, NamedTuple

from starlette.types import Scope

from eventsapi.auth.throttle import client_key
from eventsapi.settings import IPNetwork, Settings, parse_networks

__all__ = ["Client", "Proxies", "client_of", "is_loopback", "local_mode"]

logger = logging.getLogger("eventsapi")

SCOPE_KEY: Final = "eventsapi.client"
_FORWARDED: Final = b"forwarded"
_X_FOR: Final = b"x-forwarded-for"
_X_PROTO: Final = b"x-forwarded-proto"
_FORWARDING: Final = frozenset(
    {_FORWARDED, _X_FOR, _X_PROTO, b"x-forwarded-host", b"x-forwarded-port", b"x-real-ip"}
)
_SCHEMES: Final = frozenset({"http", "https"})
_MAX_REMEMBERED: Final = 4096
_LONGEST_ADDRESS: Final = 64  # "[v6 with an embedded v4]:port", quoted, with spaces
_MAX_HOPS: Final = 32  # a longer chain is abuse, not a deployment: its rest is not read


class Client(NamedTuple):
    """Who sent a request, as ``client_of`` resolves it.

    - ``address``: the client's IP address (the peer's, or the one the trusted proxies
      forwarded), in canonical form; the peer's name as the server gave it when it is not an
      IP address; empty when the server gave none.
    - ``scheme``: ``http`` or ``https``, as the client used it.
    - ``forwarded``: the request carries a forwarding field (``Forwarded``, ``X-Forwarded-*``,
      ``X-Real-IP``), believed or not.
    - ``local``: from this machine: a loopback peer (or one that is not an IP address: a Unix
      socket) and no forwarding field.
    """

    address: str
    scheme: str
    forwarded: bool
    local: bool

    @property
    def key(self) -> str:
        """The key the client is counted under by the per-client limits: its address, an
        IPv6 client's /64 (``auth/throttle.client_key``)."""
        return _key_of_address(self.address)


# Parsing an address costs a few microseconds; a client's next requests find its key here.
# Only canonical addresses (or the server's own peer names) get here: the cache is bounded.
_key_of_address: Final = functools.lru_cache(maxsize=4096)(client_key)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (the address the service listens on) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_mode(settings: Settings) -> bool:
    """Whether the service is one machine's own: on loopback, anonymous writes not off."""
    return is_loopback(settings.host) and settings.anonymous_writes != "off"


@functools.lru_cache(maxsize=4096)
def _is_local_peer(peer: str) -> bool:
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return True  # a Unix socket's peer, or none: only this machine reaches those
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _canonical(text: str) -> str | None:
    """``text`` (an address, perhaps with a port or in brackets) as a canonical IP address,
    or ``None`` if it is not one."""
    # No address is longer: a longer text is not one, and stays out of the cache.
    return None if len(text) > _LONGEST_ADDRESS else _canonical_cached(text)


@functools.lru_cache(maxsize=4096)
def _canonical_cached(text: str) -> str | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # [2001:db8::1] or [2001:db8::1]:4711
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # 192.0.2.1:4711
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:192.0.2.1 is 192.0.2.1
    return str(mapped or ip)


def _forwarded_elements(value: str) -> list[tuple[str, str]]:
    """``(for, proto)`` of each element of a ``Forwarded`` value, left to right."""
    elements = []
    for element in value.split(","):
        found = {"for": "", "proto": ""}
        for pair in element.split(";"):
            key, _, text = pair.partition("=")
            key = key.strip().lower()
            if key in found:
                found[key] = text.strip().strip('"')
        elements.append((found["for"], found["proto"].lower()))
    return elements


class Proxies:
    """The ``trusted_proxies`` of the settings, and the resolution of a request's client."""

    def __init__(self, trusted: Sequence[str] = ()) -> None:
        self.networks: tuple[IPNetwork, ...] = parse_networks(list(trusted))
        self._trust: dict[str, bool] = {}
        # The answer for a peer that sends no forwarding field, made once per peer: every
        # request pays for this resolution, and building a Client costs most of it.
        self._direct: dict[str, Client] = {}
        self._warned = False

    def trusts(self, address: str) -> bool:
        """Whether ``address`` (canonical) is one of the trusted proxies."""
        if not self.networks:
            return False
        trusted = self._trust.get(address)
        if trusted is None:
            if len(self._trust) >= _MAX_REMEMBERED:
                self._trust.clear()  # addresses come from headers: the table stays bounded
            ip = ipaddress.ip_address(address)
            trusted = self._trust[address] = any(ip in network for network in self.networks)
        return trusted

    def resolve(self, scope: Scope) -> Client:
        """The client of the request of ``scope``, now kept in it for ``client_of``."""
        peer_field = scope.get("client")
        peer: str = peer_field[0] if peer_field else ""
        scheme: str = scope.get("scheme", "http")
        fields: list[tuple[bytes, bytes]] | None = None
        for name, value in scope["headers"]:
            if name in _FORWARDING:
                if fields is None:
                    fields = []
                fields.append((name, value))
        if fields is None:
            found = self._direct.get(peer) if scheme == "http" else None
            if found is None:
                found = Client(peer, scheme, False, _is_local_peer(peer))
                if scheme == "http":
                    if len(self._direct) >= _MAX_REMEMBERED:
                        self._direct.clear()
                    self._direct[peer] = found
            client = found
        else:
            canonical_peer = _canonical(peer)
            if canonical_peer is not None and self.trusts(canonical_peer):
                address, proto = self._believe(fields, canonical_peer)
                if proto and proto != scheme:
                    scheme = scope["scheme"] = proto
                client = Client(address, scheme, True, False)
            else:
                client = Client(canonical_peer or peer, scheme, True, False)
        scope[SCOPE_KEY] = client
        return client

    def _believe(self, fields: list[tuple[bytes, bytes]], peer: str) -> tuple[str, str]:
        """The client address and scheme that a trusted peer's ``fields`` say."""
        joined: dict[bytes, str] = {}
        for name, value in fields:
            text = value.decode("latin-1")
            joined[name] = f"{joined[name]},{text}" if name in joined else text
        if _FORWARDED in joined and (_X_FOR in joined or _X_PROTO in joined):
            self._warn_once()
            return peer, ""
        if _FORWARDED in joined:
            hops = _forwarded_elements(joined[_FORWARDED])
        else:
            protos = [p.strip().lower() for p in joined.get(_X_PROTO, "").split(",")]
            addresses = joined[_X_FOR].split(",") if _X_FOR in joined else []
            # X-Forwarded-Proto is set (not appended) by the nearest proxy.
            hops = [(text, "") for text in addresses] or [("", "")]
            hops[-1] = (hops[-1][0], protos[-1])
        address, proto = peer, ""
        for text, hop_proto in reversed(hops[-_MAX_HOPS:]):
            if hop_proto:
                proto = hop_proto
            found = _canonical(text) if text else None
            if found is None:
                break  # not an address: the last trusted hop is as far as we know
            address = found
            if not self.trusts(found):
                break
        return address, proto if proto in _SCHEMES else ""

    def _warn_once(self) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "A request from a trusted proxy carries both Forwarded and X-Forwarded-* "
                "fields: neither is believed (its client is the proxy). Make the proxy set "
                'one kind and remove the other (nginx: proxy_set_header Forwarded "";).'
            )


_UNTRUSTING: Final = Proxies()


def client_of(scope: Scope) -> Client:
    """The client of the request of ``scope``: as ``EventsApp`` resolved it on arrival, or
    (for a scope that did not come through it) with no proxy trusted."""
    client: Client | None = scope.get(SCOPE_KEY)
    if client is None:
        client = _UNTRUSTING.resolve(scope)
    return client
