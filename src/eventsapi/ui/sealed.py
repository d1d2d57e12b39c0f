"""What the sign-in's second step carries: the username and password typed in the first,
sealed, so the person types only their code next.

The API checks the password and the code together (``POST /auth/login``), and nothing is
kept on the server between the two steps (any worker or replica may answer the second).
So the second step's form carries them, encrypted and authenticated with AES-GCM under a
key derived from the browser's CSRF key (``csrf.py``), which is in an ``HttpOnly`` cookie
only: the page alone (a copy left in a cache, a screenshot of its source) reveals nothing,
and the seal is refused after ``MAX_AGE``, or once the CSRF key changes (at sign-in and
sign-out).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["MAX_AGE", "Credentials", "seal", "unseal"]

MAX_AGE: Final = timedelta(minutes=5)
_PURPOSE: Final = b"eventsapi-ui-sign-in-step"
_NONCE: Final = 12
_MAX_SEALED: Final = 8192  # characters: a password is at most a few hundred


class Credentials(msgspec.Struct, frozen=True):
    username: str
    password: str
    sealed_at: float
    """Seconds since the epoch."""


def _cipher(key: str) -> AESGCM:
    return AESGCM(hmac.new(key.encode(), _PURPOSE, hashlib.sha256).digest())


def seal(key: str, username: str, password: str, now: datetime) -> str:
    """``username`` and ``password``, sealed under the CSRF ``key`` (text for a form)."""
    nonce = secrets.token_bytes(_NONCE)
    plain = msgspec.json.encode(Credentials(username, password, now.timestamp()))
    sealed = nonce + _cipher(key).encrypt(nonce, plain, _PURPOSE)
    return base64.urlsafe_b64encode(sealed).decode()


def unseal(key: str, sealed: str, now: datetime) -> Credentials | None:
    """What ``seal`` sealed under ``key``, if it is intact and younger than ``MAX_AGE``."""
    if len(sealed) > _MAX_SEALED:
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        plain = _cipher(key).decrypt(raw[:_NONCE], raw[_NONCE:], _PURPOSE)
        found = msgspec.json.decode(plain, type=Credentials)
    except (UnicodeEncodeError, binascii.Error, ValueError, InvalidTag, msgspec.DecodeError):
        return None
    age = now.timestamp() - found.sealed_at
    return found if 0 <= age <= MAX_AGE.total_seconds() else None
