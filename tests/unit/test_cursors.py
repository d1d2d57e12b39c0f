"""Pagination cursors: opaque, signed positions (``api.cursors``)."""

from __future__ import annotations

import base64

import pytest

from eventsapi.api.cursors import decode_cursor, encode_cursor
from eventsapi.errors import BadRequest

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


@pytest.mark.parametrize("position", [0, 1, 50, 2**31, 2**63 - 1])
def test_round_trip(position: int) -> None:
    cursor = encode_cursor(KEY, position)

    assert decode_cursor(KEY, cursor) == position


def test_cursors_are_url_safe_and_do_not_show_the_position() -> None:
    cursor = encode_cursor(KEY, 123456)

    assert "123456" not in cursor
    assert all(c.isalnum() or c in "-_" for c in cursor)


def _forged(position: int) -> str:
    """The cursor for ``position`` with a valid cursor's signature: a tampering attempt."""
    genuine = base64.urlsafe_b64decode(encode_cursor(KEY, 1) + "==")
    _, _, mac = genuine.partition(b".")
    return base64.urlsafe_b64encode(str(position).encode() + b"." + mac).rstrip(b"=").decode()


def _flip_one_character(cursor: str) -> str:
    index = len(cursor) // 2
    replacement = "A" if cursor[index] != "A" else "B"
    return cursor[:index] + replacement + cursor[index + 1 :]


@pytest.mark.parametrize(
    "cursor",
    [
        _flip_one_character(encode_cursor(KEY, 42)),
        encode_cursor(KEY, 42)[:-2],
        encode_cursor(KEY, 42) + "AA",
        encode_cursor(OTHER_KEY, 42),
        _forged(2),
        "",
        "not a cursor",
        "%%%",
        "é",
        "42",
        base64.urlsafe_b64encode(b"42").decode(),
    ],
)
def test_tampered_or_foreign_cursors_are_a_bad_request_naming_cursor(cursor: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_cursor(KEY, cursor)

    assert caught.value.parameter == "cursor"


def test_every_one_character_change_of_a_cursor_is_refused() -> None:
    key = b"k" * 32
    cursor = encode_cursor(key, 123456)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, original in enumerate(cursor):
        for replacement in alphabet:
            if replacement == original:
                continue
            tampered = cursor[:index] + replacement + cursor[index + 1 :]
            with pytest.raises(BadRequest):
                decode_cursor(key, tampered)
