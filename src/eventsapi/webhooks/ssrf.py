"""Which URLs a webhook may call: the defence against server-side request forgery (SSRF).

A webhook makes the service send requests where an admin says, from inside its network. So
an endpoint's URL must name a public host, and the check is made twice: when the URL is
registered (a clear 422 naming ``/url``) and again at each delivery, since a name can point
elsewhere by then. At delivery every address the name resolves to is checked, and the
request then goes to the address checked (``delivery.py`` pins it: the name is only sent
as ``Host`` and TLS SNI), so a second lookup cannot point the connection elsewhere (DNS
rebinding).

Refused, unless the setting ``webhook_allow_private`` is on: loopback, private (RFC 1918,
unique local), link-local, shared (CGNAT, 100.64.0.0/10), multicast, unspecified and
reserved addresses, the cloud metadata addresses, and anything not globally routable; an
IPv6 address that embeds an IPv4 one (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64)
is judged by that one too. Always refused: a scheme other than http and https, user and
password in the URL, control characters or spaces, more than ``MAX_URL_LENGTH``
characters; plain http in public mode unless the setting is on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import msgspec

if TYPE_CHECKING:  # imported when a URL is first checked: a service without webhooks
    import httpx  # never pays for httpx (docs/benchmarks.md, "Idle memory and start-up")

__all__ = [
    "MAX_URL_LENGTH",
    "IPAddress",
    "Resolver",
    "UnsafeURL",
    "UrlPolicy",
    "check_url",
    "forbidden",
    "resolve",
    "vet",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

MAX_URL_LENGTH: Final = 2048
RESOLVE_TIMEOUT: Final = 5.0
METADATA: Final = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_SHARED: Final = ipaddress.ip_network("100.64.0.0/10")
_NAT64: Final = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE: Final = ipaddress.ip_network("::/96")


class UnsafeURL(Exception):
    """A URL that may not be called; the message says why (it names no secret)."""


class UrlPolicy(msgspec.Struct, frozen=True):
    allow_private: bool = False
    """The setting ``webhook_allow_private``: private addresses and plain http allowed."""
    require_https: bool = True
    """Public mode: plain http is refused (unless ``allow_private``)."""


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses an IPv6 address carries, which a network may route to."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    found: list[IPAddress] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64[0] or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def forbidden(ip: IPAddress) -> str | None:
    """Why a webhook may not call ``ip`` (``None``: it is a public address)."""
    for candidate in (ip, *_embedded(ip)):
        if candidate in METADATA:
            return "a cloud metadata address"
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_multicast:
            return "a multicast address"
        if isinstance(candidate, ipaddress.IPv4Address) and candidate in _SHARED:
            return "a shared (CGNAT) address"
        if candidate.is_private:
            return "a private address"
        if candidate.is_reserved or not candidate.is_global:
            return "not a public address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64[1]:
        return "not a public address"
    return None


def check_url(text: str, policy: UrlPolicy) -> httpx.URL:
    """``text`` as a URL a webhook may have, before any lookup; ``UnsafeURL`` if not."""
    if len(text) > MAX_URL_LENGTH:
        raise UnsafeURL(f"A webhook URL has at most {MAX_URL_LENGTH} characters.")
    if any(ord(character) <= 0x20 or ord(character) == 0x7F for character in text):
        raise UnsafeURL("A webhook URL has no spaces or control characters.")
    import httpx

    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise UnsafeURL(f"Not a valid URL: {exc}.") from None
    if url.scheme not in ("http", "https"):
        raise UnsafeURL("A webhook URL starts with https:// (or http://).")
    if not url.host:
        raise UnsafeURL("A webhook URL names a host.")
    if url.userinfo:
        raise UnsafeURL(
            "A webhook URL carries no user name or password; the signature proves the sender."
        )
    if url.scheme == "http" and policy.require_https and not policy.allow_private:
        raise UnsafeURL(
            "A webhook URL must use https:// on a public service (setting "
            "webhook_allow_private allows http)."
        )
    return url


def port_of(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to now (an IP literal is itself)."""
    ip = literal(host)
    if ip is not None:
        return [ip]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise UnsafeURL(f"The host {host} did not resolve within {RESOLVE_TIMEOUT:g} s.") from None
    except OSError as exc:
        raise UnsafeURL(f"The host {host} does not resolve ({exc.strerror or exc}).") from None
    except UnicodeError:
        # A label over 63 characters, or one IDNA cannot encode: no such host can exist.
        raise UnsafeURL("The host is not a valid host name.") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, address in infos:
        ip = ipaddress.ip_address(str(address[0]).partition("%")[0])
        if ip not in found:
            found.append(ip)
    return found


async def vet(url: httpx.URL, policy: UrlPolicy, resolver: Resolver = resolve) -> list[IPAddress]:
    """The addresses of ``url``'s host, every one of them allowed; ``UnsafeURL`` if any is
    not (a name with one private address among public ones is refused whole)."""
    host = url.raw_host.decode("ascii")
    addresses = await resolver(host, port_of(url))
    if not addresses:
        raise UnsafeURL(f"The host {host} resolves to no address.")
    if policy.allow_private:
        return addresses
    for ip in addresses:
        reason = forbidden(ip)
        if reason is not None:
            shown = host if literal(host) is not None else f"{host} resolves to {ip}, which"
            raise UnsafeURL(
                f"{shown} is {reason}: webhooks call public addresses only (setting "
                "webhook_allow_private)."
            )
    return addresses
