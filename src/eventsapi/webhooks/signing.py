"""Signing secrets and signatures, as the Standard Webhooks specification has them.

A secret is ``whsec_`` + the base64 of 32 random bytes; a signature is ``v1,`` + the base64
of HMAC-SHA256 over ``{webhook-id}.{webhook-timestamp}.{body}`` keyed with the secret's
decoded bytes. ``webhook-signature`` carries one signature per live secret, separated by
spaces: a receiver accepts the message if any of them verifies with its secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Final

__all__ = ["PREFIX", "new_secret", "signature", "signatures"]

PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32
"""The specification asks for 24 to 64 bytes."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``message_id.timestamp.body`` with ``secret``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(keys: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: a signature per secret of ``keys``, newest first."""
    return " ".join(signature(key, message_id, timestamp, body) for key in keys)
