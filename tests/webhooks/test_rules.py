"""The pure rules of webhooks: the SSRF guard's verdicts, the retry schedule, signatures."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from eventsapi.webhooks import schedule
from eventsapi.webhooks.signing import new_secret, signatures
from eventsapi.webhooks.ssrf import (
    IPAddress,
    UnsafeURL,
    UrlPolicy,
    check_url,
    forbidden,
    resolve,
    vet,
)

PUBLIC_MODE = UrlPolicy(allow_private=False, require_https=True)
LOCAL_MODE = UrlPolicy(allow_private=False, require_https=False)
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "fd12:3456::1",
        "169.254.169.254",
        "169.254.1.1",
        "fe80::1",
        "fd00:ec2::254",
        "100.64.0.1",
        "100.100.100.200",
        "192.0.0.192",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",  # noqa: S104 - an address judged, not bound
        "::",
        "240.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::7f00:1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ],
)
def test_a_private_loopback_link_local_or_metadata_address_is_forbidden(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_a_public_address_is_allowed(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://93.184.216.34/x", "https://"),
        ("https://user:pw@93.184.216.34/x", "no user name or password"),
        ("https://93.184.216.34/a b", "no spaces"),
        ("https://93.184.216.34/" + "a" * 2048, "at most 2048"),
        ("https:///path", "names a host"),
    ],
)
def test_a_url_is_refused_before_any_lookup(url: str, why: str) -> None:
    with pytest.raises(UnsafeURL, match=why):
        check_url(url, LOCAL_MODE)


def test_plain_http_is_refused_in_public_mode_only_unless_allowed() -> None:
    with pytest.raises(UnsafeURL, match="https://"):
        check_url("http://93.184.216.34/hook", PUBLIC_MODE)
    assert check_url("http://93.184.216.34/hook", LOCAL_MODE).scheme == "http"
    allowed = UrlPolicy(allow_private=True, require_https=True)
    assert check_url("http://93.184.216.34/hook", allowed).scheme == "http"


@pytest.mark.anyio
async def test_a_name_that_resolves_to_loopback_is_refused_after_its_lookup() -> None:
    url = check_url("https://localhost:8443/hook", PUBLIC_MODE)

    with pytest.raises(UnsafeURL, match=r"localhost resolves to .* loopback"):
        await vet(url, PUBLIC_MODE)
    allowed = await vet(url, UrlPolicy(allow_private=True))
    assert all(address.is_loopback for address in allowed)


@pytest.mark.anyio
async def test_a_name_is_refused_if_any_of_its_addresses_is_private() -> None:
    async def public_and_private(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.IPv4Address("93.184.216.34"), ipaddress.IPv4Address("10.0.0.7")]

    url = check_url("https://hooks.example/x", PUBLIC_MODE)
    with pytest.raises(UnsafeURL, match=r"10\.0\.0\.7, which is a private address"):
        await vet(url, PUBLIC_MODE, public_and_private)
    assert await resolve("192.0.2.1", 443) == [ipaddress.IPv4Address("192.0.2.1")]


def test_retries_follow_the_schedule_with_at_most_a_tenth_more_and_then_fail() -> None:
    now = NOW
    delays = []
    step = 0
    while True:
        outcome = schedule.outcome(step, 500, now)
        if outcome.status == "failed":
            break
        assert outcome.next_attempt_at is not None
        delays.append(outcome.next_attempt_at - now)
        step = outcome.step
    expected = [timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 50400, 72000)]
    assert len(delays) == len(expected) + 1  # and the 24-hour one
    for delay, planned in zip(delays, [*expected, timedelta(hours=24)], strict=True):
        assert planned <= delay <= planned * 1.1
    assert schedule.outcome(0, 204, now).status == "delivered"
    assert schedule.outcome(0, 410, now).disable is not None


def test_retry_after_on_429_and_503_is_honoured_but_not_on_other_answers() -> None:
    wait = schedule.retry_after("120", NOW)
    assert wait == timedelta(seconds=120)
    for status in (429, 503):
        outcome = schedule.outcome(0, status, NOW, wait=wait)
        assert outcome.next_attempt_at is not None
        assert outcome.next_attempt_at - NOW >= timedelta(seconds=120)
    other = schedule.outcome(0, 500, NOW, wait=wait).next_attempt_at
    assert other is not None
    assert other - NOW < timedelta(seconds=6)
    http_date = schedule.retry_after("Thu, 02 Jan 2025 03:14:05 GMT", NOW)
    assert http_date == timedelta(minutes=10)


def test_a_signature_verifies_with_the_reference_library_for_each_live_secret() -> None:
    new, old = new_secret(), new_secret()
    assert new.startswith("whsec_")
    assert len(base64.b64decode(new.removeprefix("whsec_"))) >= 24
    body = b'{"type":"event.created"}'
    at = datetime.now(UTC)
    header = signatures([new, old], "msg_1", int(at.timestamp()), body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(at.timestamp()))}
    for secret in (new, old):
        Webhook(secret).verify(body, {**headers, "webhook-signature": header})
    assert header.split(" ")[0] == Webhook(new).sign("msg_1", at, body)


@pytest.mark.anyio
@pytest.mark.parametrize("host", ["0" * 64, "a" * 300 + ".example", "x..example"])
async def test_a_host_name_no_resolver_can_encode_is_refused_not_a_crash(host: str) -> None:
    # schemathesis found a 64-character label answered 500 (the IDNA codec raised).
    with pytest.raises(UnsafeURL):
        await resolve(host, 443)
