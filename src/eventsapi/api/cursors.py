"""Opaque pagination cursors: a signed page position, bound to its listing.

A cursor holds the sort key of the event a page ends (or starts) at, which way
to go from it, and a fingerprint of the listing's filters and sort. It is
signed with the database's instance key (shared by every replica), so a
tampered cursor, or one used with other filters or another sort, is refused
with 400 instead of silently giving a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import msgspec

from eventsapi.domain.query import Position, SortValue
from eventsapi.errors import BadRequest

_MAC_BYTES = 12


class _Payload(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    listing: str
    backwards: bool
    position: list[SortValue]


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Payload).decode


class Cursor(msgspec.Struct, frozen=True):
    position: Position
    backwards: bool
    """Go back from ``position`` (a previous page) rather than on after it."""


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(key: bytes, listing: str, cursor: Cursor) -> str:
    """``cursor`` for the listing whose fingerprint is ``listing``, signed with ``key``."""
    payload = _encode(_Payload(listing, cursor.backwards, list(cursor.position)))
    return base64.urlsafe_b64encode(_mac(key, payload) + payload).rstrip(b"=").decode()


def decode_cursor(key: bytes, listing: str, text: str) -> Cursor:
    """The cursor in ``text``; 400 naming ``cursor`` unless it is ours, for ``listing``."""
    invalid = BadRequest(
        "The cursor is invalid; use the URL from the Link header as it is.",
        parameter="cursor",
    )
    try:
        token = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    # Base64 has several spellings of the same bytes (unused low bits of the last
    # character, stray characters the decoder skips): only ours is accepted, so any
    # change to a cursor is refused.
    if base64.urlsafe_b64encode(token).rstrip(b"=").decode() != text:
        raise invalid
    mac, payload = token[:_MAC_BYTES], token[_MAC_BYTES:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, _mac(key, payload)):
        raise invalid
    try:
        decoded = _decode(payload)
    except msgspec.DecodeError:
        raise invalid from None
    if decoded.listing != listing:
        raise BadRequest(
            "The cursor belongs to a listing with other filters or another sort; "
            "keep the query of the Link header, or start again without a cursor.",
            parameter="cursor",
        )
    return Cursor(tuple(decoded.position), decoded.backwards)
