"""The in-flight cap per client and the body deadline (api/slow_clients.py), in the app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.types import Message, Scope

from eventsapi.api.slow_clients import SlowClients
from eventsapi.errors import RequestTimeout
from eventsapi.settings import Settings

PUBLIC = Settings(host="0.0.0.0", max_requests_per_client=2)  # noqa: S104 - public mode


def scope(address: str) -> Scope:
    return {"type": "http", "client": (address, 50_000), "headers": []}


def test_a_client_at_the_cap_is_refused_and_others_are_not() -> None:
    slow = SlowClients(PUBLIC)
    first, second = slow.admit(scope("192.0.2.1")), slow.admit(scope("192.0.2.1"))
    assert first == second == "192.0.2.1"
    assert slow.admit(scope("192.0.2.1")) is None
    assert slow.admit(scope("192.0.2.2")) == "192.0.2.2"
    slow.release("192.0.2.1")
    assert slow.admit(scope("192.0.2.1")) == "192.0.2.1"


def test_an_ipv6_client_is_its_64() -> None:
    slow = SlowClients(PUBLIC)
    assert slow.admit(scope("2001:db8::1")) == slow.admit(scope("2001:db8::2")) == "2001:db8::/64"
    assert slow.admit(scope("2001:db8::3")) is None


def test_the_table_holds_only_clients_in_flight() -> None:
    slow = SlowClients(PUBLIC)
    keys = [slow.admit(scope(f"198.51.100.{n}")) for n in range(1, 200)]
    assert len(slow.in_flight) == 199
    for key in keys:
        assert key is not None
        slow.release(key)
    assert len(slow.in_flight) == 0


def test_the_refusal_is_a_429_problem_that_closes_the_connection() -> None:
    refusal = SlowClients(PUBLIC).refusal()
    assert refusal.status_code == 429
    assert refusal.headers["content-type"] == "application/problem+json"
    assert refusal.headers["retry-after"] == "1"
    assert refusal.headers["connection"] == "close"
    assert json.loads(bytes(refusal.body))["type"] == "/problems/too-many-requests-in-flight"


def test_local_requests_in_local_mode_are_not_counted_and_0_counts_none() -> None:
    local = SlowClients(Settings(host="127.0.0.1", max_requests_per_client=2))
    assert not local.counts(scope("127.0.0.1"))
    # Through a proxy on this machine, a request is not local: it is counted.
    proxied = {**scope("127.0.0.1"), "headers": [(b"x-forwarded-for", b"198.51.100.7")]}
    assert local.counts(proxied)
    assert SlowClients(PUBLIC).counts(scope("127.0.0.1"))
    off = SlowClients(Settings(host="0.0.0.0", max_requests_per_client=0))  # noqa: S104
    assert not off.counts(scope("192.0.2.1"))


def _receiver(messages: list[Message], pause: float) -> Any:
    async def receive() -> Message:
        await asyncio.sleep(pause)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


def test_a_body_that_arrives_in_time_passes_and_later_waits_are_not_timed() -> None:
    settings = Settings(host="0.0.0.0", request_body_timeout=0.2)  # noqa: S104

    async def run() -> list[Message]:
        chunks: list[Message] = [
            {"type": "http.request", "body": b"{", "more_body": True},
            {"type": "http.request", "body": b"}", "more_body": False},
        ]
        receive = SlowClients(settings).receive_before_deadline(_receiver(chunks, 0.05))
        got = [await receive(), await receive()]
        await asyncio.sleep(0.3)  # past the deadline: the body is whole, nothing is timed
        got.append(await receive())
        return got

    got = asyncio.run(run())
    assert [m["type"] for m in got] == ["http.request", "http.request", "http.disconnect"]


def test_a_body_still_coming_at_the_deadline_ends_the_request() -> None:
    settings = Settings(host="0.0.0.0", request_body_timeout=0.2)  # noqa: S104

    async def run() -> None:
        endless: list[Message] = [
            {"type": "http.request", "body": b"x", "more_body": True} for _ in range(100)
        ]
        receive = SlowClients(settings).receive_before_deadline(_receiver(endless, 0.05))
        while True:
            await receive()

    with pytest.raises(RequestTimeout, match=r"within 0\.2 seconds"):
        asyncio.run(asyncio.wait_for(run(), 5))
