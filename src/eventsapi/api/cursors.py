"""Opaque pagination cursors: a position, signed so that a tampered one is refused."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from eventsapi.errors import BadRequest

_MAC_BYTES = 12


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(key: bytes, position: int) -> str:
    payload = str(position).encode()
    token = payload + b"." + _mac(key, payload)
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def decode_cursor(key: bytes, cursor: str) -> int:
    """The position in ``cursor``; ``BadRequest`` naming ``cursor`` if it is not ours."""
    invalid = BadRequest(
        "The cursor is invalid; use the URL from the Link header as it is.",
        parameter="cursor",
    )
    try:
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    # Base64 has several spellings of the same bytes (unused low bits of the last
    # character, stray characters the decoder skips): only ours is accepted, so any
    # change to a cursor is refused.
    canonical = base64.urlsafe_b64encode(token).rstrip(b"=").decode()
    payload, dot, mac = token.partition(b".")
    if canonical != cursor or not dot or not payload.isdigit():
        raise invalid
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise invalid
    return int(payload)
