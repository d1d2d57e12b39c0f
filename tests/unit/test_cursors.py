"""Pagination cursors: opaque, signed positions bound to their listing (``api.cursors``)."""

from __future__ import annotations

import base64

import pytest

from eventsapi.api.cursors import Cursor, decode_cursor, encode_cursor
from eventsapi.domain.query import Position
from eventsapi.errors import BadRequest

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
LISTING = "a1b2c3d4e5f6"


def _cursor(position: Position = (42,), *, backwards: bool = False, key: bytes = KEY) -> str:
    return encode_cursor(key, LISTING, Cursor(position, backwards))


@pytest.mark.parametrize(
    "position",
    [
        (0,),
        (2**63 - 1,),
        ("2026-05-01T18:00:00+00:00", "01JABCDEF"),
        ("~", "id.with~odd-chars_"),
        (-3.25, 17),
        ("Titre accentué 🎉", "x"),
    ],
)
@pytest.mark.parametrize("backwards", [False, True])
def test_round_trip(position: Position, backwards: bool) -> None:
    decoded = decode_cursor(KEY, LISTING, _cursor(position, backwards=backwards))

    assert decoded == Cursor(position, backwards)
    assert [type(value) for value in decoded.position] == [type(value) for value in position]


def test_cursors_are_url_safe() -> None:
    cursor = _cursor((123456,))

    assert all(c.isalnum() or c in "-_" for c in cursor)


def test_a_cursor_of_another_listing_is_refused_naming_cursor() -> None:
    with pytest.raises(BadRequest) as caught:
        decode_cursor(KEY, "ffffffffffff", _cursor())

    assert caught.value.parameter == "cursor"
    assert "other filters" in str(caught.value)


def _forged(position: int) -> str:
    """A payload for ``position`` under a genuine cursor's signature: a tampering attempt."""
    genuine = base64.urlsafe_b64decode(_cursor((1,)) + "==")
    mac, payload = genuine[:12], genuine[12:]
    forged = payload.replace(b"[1]", f"[{position}]".encode())
    assert forged != payload
    return base64.urlsafe_b64encode(mac + forged).rstrip(b"=").decode()


def _flip_one_character(cursor: str) -> str:
    index = len(cursor) // 2
    replacement = "A" if cursor[index] != "A" else "B"
    return cursor[:index] + replacement + cursor[index + 1 :]


@pytest.mark.parametrize(
    "cursor",
    [
        _flip_one_character(_cursor()),
        _cursor()[:-2],
        _cursor() + "AA",
        _cursor(key=OTHER_KEY),
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
        decode_cursor(KEY, LISTING, cursor)

    assert caught.value.parameter == "cursor"


def test_every_one_character_change_of_a_cursor_is_refused() -> None:
    cursor = _cursor(("2026-05-01T18:00:00+00:00", "01J"))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, original in enumerate(cursor):
        for replacement in alphabet:
            if replacement == original:
                continue
            tampered = cursor[:index] + replacement + cursor[index + 1 :]
            with pytest.raises(BadRequest):
                decode_cursor(KEY, LISTING, tampered)
