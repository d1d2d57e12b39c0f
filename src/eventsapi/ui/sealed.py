"""What the sign-in's second step carries: the username and password typed in the first,
sealed, so the person types only their code next.

The API checks the password and the code together (``POST /auth/login``), and nothing is
kept on the server between the two steps (any worker or replica may answer the second).
So the second step's form carries them, encrypted and authenticated with libsodium's
``secretbox`` (XSalsa20-Poly1305, through PyNaCl) under a key derived from the browser's
CSRF key (``csrf.py``), which is in an ``HttpOnly`` cookie only: the page alone (a copy
left in a cache, a screenshot of its source) reveals nothing, and the seal is refused
after ``MAX_AGE``, or once the CSRF key changes (at sign-in and sign-out).

PyNaCl rather than ``cryptography``'s AES-GCM: the same guarantee (authenticated
encryption, a random nonce per seal) for 0.7 MB of the container image instead of 12 MB
(both stripped), which kept the image within its 150 MB budget (docs/benchmarks.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import msgspec

if TYPE_CHECKING:  # PyNaCl is imported at the first sign-in's second step
    from nacl.secret import SecretBox

__all__ = ["MAX_AGE", "Credentials", "seal", "unseal"]

MAX_AGE: Final = timedelta(minutes=5)
_PURPOSE: Final = b"eventsapi-ui-sign-in-step"
_MAX_SEALED: Final = 8192  # characters: a password is at most a few hundred


class Credentials(msgspec.Struct, frozen=True):
    username: str
    password: str
    sealed_at: float
    """Seconds since the epoch."""
    code: str | None = None
    """The two-step code of the second step, carried to the third (a new password after a
    reset: the API checks the code again with it)."""


def _box(key: str) -> SecretBox:
    from nacl.secret import SecretBox

    # A key of this purpose only: the CSRF key itself is never a cipher's key.
    return SecretBox(hmac.new(key.encode(), _PURPOSE, hashlib.sha256).digest())


def seal(key: str, username: str, password: str, now: datetime, code: str | None = None) -> str:
    """``username`` and ``password`` (and ``code``), sealed under the CSRF ``key`` (text
    for a form)."""
    plain = msgspec.json.encode(Credentials(username, password, now.timestamp(), code))
    sealed = _box(key).encrypt(plain)  # a random 24-byte nonce, then the sealed text
    return base64.urlsafe_b64encode(bytes(sealed)).decode()


def unseal(key: str, sealed: str, now: datetime) -> Credentials | None:
    """What ``seal`` sealed under ``key``, if it is intact and younger than ``MAX_AGE``."""
    if len(sealed) > _MAX_SEALED:
        return None
    from nacl.exceptions import CryptoError

    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        plain = _box(key).decrypt(raw)
        found = msgspec.json.decode(plain, type=Credentials)
    except (UnicodeEncodeError, binascii.Error, ValueError, CryptoError, msgspec.DecodeError):
        return None
    age = now.timestamp() - found.sealed_at
    return found if 0 <= age <= MAX_AGE.total_seconds() else None
