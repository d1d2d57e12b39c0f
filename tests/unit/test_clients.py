"""``api/clients.py``: who the client is, through trusted proxies or not."""

from __future__ import annotations

from typing import Any

import pytest

from eventsapi.api.clients import Client, Proxies, client_of
from eventsapi.errors import ConfigurationError
from eventsapi.settings import Settings


def scope(peer: str | None, *fields: tuple[str, str], scheme: str = "http") -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": scheme,
        "client": None if peer is None else (peer, 40000),
        "headers": [(name.lower().encode(), value.encode()) for name, value in fields],
    }


PROXIES = Proxies(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "local"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.1", False),
        ("2001:db8::1", False),
        ("testclient", True),  # not an IP: a Unix socket's peer, a test client
        (None, True),
    ],
)
def test_a_request_without_forwarding_fields_is_local_from_loopback(
    peer: str | None, local: bool
) -> None:
    found = PROXIES.resolve(scope(peer))
    assert found == Client(peer or "", "http", forwarded=False, local=local)


@pytest.mark.parametrize(
    "field",
    [
        ("Forwarded", "for=192.0.2.60"),
        ("X-Forwarded-For", "192.0.2.60"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "example.com"),
        ("X-Real-IP", "192.0.2.60"),
    ],
)
def test_any_forwarding_field_makes_a_request_not_local(field: tuple[str, str]) -> None:
    for proxies in (Proxies(), PROXIES):
        found = proxies.resolve(scope("127.0.0.1", field))
        assert found.forwarded
        assert not found.local


def test_fields_from_an_untrusted_peer_are_ignored() -> None:
    request = scope("192.0.2.9", ("X-Forwarded-For", "10.1.2.3"), ("X-Forwarded-Proto", "https"))
    assert PROXIES.resolve(request) == Client("192.0.2.9", "http", forwarded=True, local=False)
    assert request["scheme"] == "http"


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7, 10.0.0.2", "203.0.113.7"),  # 10.0.0.2 is a trusted proxy: skipped
        ("198.51.100.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),  # the client wrote the left
        ("10.0.0.3, 10.0.0.2", "10.0.0.3"),  # all trusted: the farthest
        ("junk, 10.0.0.2", "10.0.0.2"),  # not an address: the last trusted hop
        ("unknown", "127.0.0.1"),
        ("203.0.113.7:4711", "203.0.113.7"),
        ("[2001:db8::7]:4711", "2001:db8::7"),
        ("2001:DB8:0::7", "2001:db8::7"),  # canonical: one client, one key
        ("::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_x_forwarded_for_is_walked_from_the_right(chain: str, client: str) -> None:
    found = PROXIES.resolve(scope("127.0.0.1", ("X-Forwarded-For", chain)))
    assert found.address == client
    assert not found.local


@pytest.mark.parametrize(
    ("value", "client", "scheme"),
    [
        ("for=203.0.113.7;proto=https", "203.0.113.7", "https"),
        ('for="[2001:db8::7]:4711";proto=https, for=10.0.0.2', "2001:db8::7", "https"),
        ("for=198.51.100.1, for=203.0.113.7;proto=http, for=10.0.0.2", "203.0.113.7", "http"),
        ("for=_hidden;proto=https", "127.0.0.1", "https"),
        ("proto=https", "127.0.0.1", "https"),
    ],
)
def test_forwarded_gives_the_client_and_its_scheme(value: str, client: str, scheme: str) -> None:
    request = scope("127.0.0.1", ("Forwarded", value))
    found = PROXIES.resolve(request)
    assert (found.address, found.scheme) == (client, scheme)
    assert request["scheme"] == scheme


def test_x_forwarded_proto_sets_the_scheme_from_the_nearest_proxy() -> None:
    request = scope("10.0.0.2", ("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"))
    assert PROXIES.resolve(request) == Client("203.0.113.7", "https", forwarded=True, local=False)
    assert request["scheme"] == "https"
    spoofed = scope("10.0.0.2", ("X-Forwarded-Proto", "gopher"))
    assert PROXIES.resolve(spoofed).scheme == "http"


def test_both_kinds_of_fields_are_believed_neither(caplog: pytest.LogCaptureFixture) -> None:
    request = scope(
        "127.0.0.1", ("Forwarded", "for=203.0.113.7"), ("X-Forwarded-For", "198.51.100.1")
    )
    assert Proxies(["127.0.0.1"]).resolve(request).address == "127.0.0.1"
    assert "neither is believed" in caplog.text


def test_client_of_keeps_the_resolution_in_the_scope() -> None:
    request = scope("10.0.0.2", ("X-Forwarded-For", "203.0.113.7"))
    PROXIES.resolve(request)
    request["headers"] = []
    assert client_of(request).address == "203.0.113.7"
    # A scope nothing resolved trusts no proxy.
    assert client_of(scope("10.0.0.2", ("X-Forwarded-For", "203.0.113.7"))).address == "10.0.0.2"


@pytest.mark.parametrize("bad", ["10.0.0.1/8", "proxy.example", "10.0.0.0/33", ""])
def test_trusted_proxies_are_checked_at_start(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="trusted_proxies"):
        Settings(trusted_proxies=[bad])
    assert Settings(trusted_proxies=["10.0.0.0/8", "::1", "fd00::/8"]).trusted_proxies
