"""Opaque bearer secrets: session tokens and API tokens.

A token is a prefix plus 256 random bits from ``secrets`` (``token_urlsafe(32)``: 43
URL-safe base64 characters). The client holds the value; the server stores only its
SHA-256 digest, so a copy of the database lets no one act as a user. A plain hash (no salt,
no argon2) is enough because the value is 256 random bits, not something a person chose:
there is nothing to guess, and a fast hash keeps every authenticated request cheap.
Looking a token up by its digest also means no comparison of secrets leaks timing.

The prefix says what a leaked value is (``eas_`` a session, ``eat_`` an API token), so
secret scanners (GitHub's, gitleaks, trufflehog) can be taught to recognise and report it,
and ``looks_like`` refuses anything of the wrong shape before any lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = [
    "API_TOKEN_PREFIX",
    "SESSION_PREFIX",
    "looks_like",
    "new_token",
    "token_hash",
]

SESSION_PREFIX = "eas_"
"""Session tokens (the cookie's value, or a bearer token from ``POST /auth/login``)."""
API_TOKEN_PREFIX = "eat_"  # noqa: S105 (a public prefix, not a secret)
"""Personal API tokens."""

_RANDOM_BYTES = 32
"""256 bits: the issue's floor, and OWASP's session ID guidance is 64 bits of entropy."""
_RANDOM_CHARS = 43
"""``secrets.token_urlsafe(32)`` is 32 bytes in unpadded URL-safe base64: 43 characters."""
_PREFIX = re.compile(r"[a-z]{2,8}_")
_RANDOM_PART = re.compile(rf"[A-Za-z0-9_-]{{{_RANDOM_CHARS}}}")


def new_token(prefix: str) -> tuple[str, bytes]:
    """A new token: the value to show the client once, and the digest to store."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"token prefix {prefix!r} is not 2-8 lowercase letters and '_'")
    value = prefix + secrets.token_urlsafe(_RANDOM_BYTES)
    return value, token_hash(value)


def token_hash(value: str) -> bytes:
    """The SHA-256 digest of a token's whole value (prefix included): what is stored."""
    return hashlib.sha256(value.encode()).digest()


def looks_like(value: str, prefix: str) -> bool:
    """Whether ``value`` has the shape of a token with ``prefix``: a cheap check, so
    garbage in a cookie or an ``Authorization`` header costs no hash and no lookup."""
    return value.startswith(prefix) and bool(_RANDOM_PART.fullmatch(value, len(prefix)))
