"""``api/identities.py``: credentials verified lately, bounded and short-lived."""

from __future__ import annotations

import time

import pytest

from eventsapi.api.identities import RecentIdentities


def test_a_verified_credential_is_found_by_its_value_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    table = RecentIdentities(ttl=60)
    table.remember("eas_secret", "user:u1")
    assert table.identity_of(b"eas_secret") == "user:u1"
    assert table.identity_of(b"eas_other") is None
    now[0] += 59
    assert table.identity_of(b"eas_secret") == "user:u1"
    table.remember("eas_secret", "user:u1")  # verified again: 60 s more
    now[0] += 59
    assert table.identity_of(b"eas_secret") == "user:u1"
    now[0] += 2
    assert table.identity_of(b"eas_secret") is None  # revoked since? its address pays


def test_the_table_never_holds_more_than_its_bound() -> None:
    table = RecentIdentities(max_entries=100)
    for n in range(1000):
        table.remember(f"eas_{n}", f"user:{n}")
        assert len(table) <= 100
    assert table.identity_of(b"eas_999") == "user:999"  # the latest stay
    assert table.identity_of(b"eas_0") is None
