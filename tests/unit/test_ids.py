"""Server-made ULIDs (``domain/ids.py``): the spec's layout and encoding, sorted by time,
and in order within a millisecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventsapi.domain.ids import new_ulid, ulid_text

START = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _value(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + CROCKFORD.index(char)
    return value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # Written by python-ulid 4.1 (ULID.from_int), which the service used before.
        ((1469918176385 << 80) | 0x0123456789ABCDEF0123, "01ARYZ6S4104HMASW9NF6YY093"),
        (0, "00000000000000000000000000"),
        (2**128 - 1, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"),
        (int.from_bytes(bytes(range(16)), "big"), "00041061050R3GG28A1C60T3GF"),
    ],
)
def test_the_encoding_is_the_specs(value: int, text: str) -> None:
    assert ulid_text(value) == text


@pytest.mark.parametrize("value", [-1, 2**128])
def test_a_value_beyond_128_bits_is_refused(value: int) -> None:
    with pytest.raises(ValueError, match="128 bits"):
        ulid_text(value)


def test_the_time_part_is_the_millisecond_given() -> None:
    made = new_ulid(START)

    assert len(made) == 26
    assert set(made) <= set(CROCKFORD)
    assert _value(made) >> 80 == int(START.timestamp() * 1000)


def test_later_ids_sort_after_earlier_ones() -> None:
    assert new_ulid(START) < new_ulid(START + timedelta(milliseconds=1))
    assert new_ulid(START) < new_ulid(START + timedelta(days=400))


def test_ids_of_one_millisecond_are_made_in_increasing_order() -> None:
    made = [new_ulid(START) for _ in range(1000)]

    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert {_value(text) >> 80 for text in made} == {int(START.timestamp() * 1000)}


def test_the_random_part_differs_between_milliseconds() -> None:
    randoms = {_value(new_ulid(START + timedelta(milliseconds=n))) & (2**80 - 1) for n in range(50)}

    assert len(randoms) == 50
