"""Sync tokens: a position in the change log, opaque to clients, signed like the cursors.

``GET /events`` sends one in its ``Sync-Token`` header; ``GET /changes`` takes one as
``since`` and answers the next; the stream uses them as its messages' ``id:``. A token is
signed with the database's instance key (shared by every replica of one database), so a
token made by another database, or altered, fails its check. Every token that cannot be
continued from is ``SyncTokenExpired`` (410): the client must sync again in full, and is
never answered as if nothing had changed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Final

from eventsapi.errors import SyncTokenExpired

_MAC_BYTES: Final = 12
_PURPOSE: Final = b"eventsapi sync token v1\x00"
"""Signed into every MAC, so that a token can never pass for a cursor, nor a cursor for it."""
_MAX_TEXT: Final = 64


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _PURPOSE + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_sync_token(key: bytes, position: int) -> str:
    """The token of ``position`` (0: before the first change), signed with ``key``."""
    if position < 0:
        raise ValueError("a change log position is never negative")
    payload = position.to_bytes(8, "big")
    return base64.urlsafe_b64encode(_mac(key, payload) + payload).rstrip(b"=").decode()


def decode_sync_token(key: bytes, text: str) -> int:
    """The position in ``text``; ``SyncTokenExpired`` unless ``key`` signed it.

    Whether the change log still holds the changes after it is the store's to say."""
    expired = SyncTokenExpired(
        "The sync token is not one this service issued for this database, or it was "
        "altered; sync again in full."
    )
    if not text or len(text) > _MAX_TEXT or not text.isascii():
        raise expired
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise expired from None
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if len(payload) != 8 or not hmac.compare_digest(mac, _mac(key, payload)):
        raise expired
    return int.from_bytes(payload, "big")
