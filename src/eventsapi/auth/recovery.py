"""Recovery codes: single-use codes that stand in for the second factor when the phone is lost.

A code is 10 characters from Crockford's base32 alphabet (digits and lower-case letters
without i, l, o, u), shown as ``xxxxx-xxxxx``: 50 random bits from ``secrets``. What a
user types is normalized: case, spaces and dashes are ignored, and the letters people
confuse with digits are read as those digits (o as 0; i and l as 1), as Crockford's
decoding does.

Codes are stored as argon2id PHC strings by the password hasher (``auth.passwords``),
but with modest parameters (4 MiB, one pass, ~4 ms): a code is 50 random bits, not a
human choice, so a slow hash adds nothing against guessing it; with these parameters an
offline search of one code still takes about 10^5 core-years. OWASP's password
parameters (19 MiB, two passes, ~40 ms) would instead cost up to 10 verifications,
~0.4 s of CPU, per attempt: a gift to anyone flooding the login. The PHC string records
its parameters, so they can change later without invalidating stored codes.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
from typing import TYPE_CHECKING

from eventsapi.auth.passwords import Hasher

if TYPE_CHECKING:
    from argon2 import Parameters

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "hash_code",
    "new_recovery_codes",
    "recovery_code_parameters",
    "use_code",
]

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
"""Crockford's base32: 32 symbols, so each character carries 5 bits."""
CODE_LENGTH = 10
"""Characters per code: 50 bits."""

_GROUP = CODE_LENGTH // 2
_CONFUSABLE = str.maketrans({"o": "0", "i": "1", "l": "1"})
_DASHES = str.maketrans("", "", "-")
_MAX_INPUT_CHARS = 64
"""Longer input is refused before any work: no code with spaces and dashes is that long."""


def recovery_code_parameters() -> Parameters:
    """argon2id for 50-bit random codes: see the module's docstring for why this is enough."""
    from eventsapi.auth.passwords import OWASP_PARAMETERS

    return dataclasses.replace(OWASP_PARAMETERS, time_cost=1, memory_cost=4096)  # KiB: 4 MiB


@functools.cache
def _hasher() -> Hasher:
    # Made at the first code: argon2 is imported then (auth/passwords.py).
    return Hasher(recovery_code_parameters())


def new_recovery_codes(count: int = 10) -> list[str]:
    """``count`` distinct new codes, formatted ``xxxxx-xxxxx``, to show the user once."""
    codes: set[str] = set()
    while len(codes) < count:
        codes.add("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))
    return [f"{code[:_GROUP]}-{code[_GROUP:]}" for code in codes]


def hash_code(code: str) -> str:
    """The PHC string to store for ``code`` (hashed in its normalized form)."""
    normalized = _normalize(code)
    if normalized is None:
        raise ValueError("not a recovery code")
    return _hasher().hash(normalized)


def use_code(hashes: tuple[str, ...], code: str) -> tuple[str, ...] | None:
    """The stored hashes without the one ``code`` matches, or ``None`` if none matches.

    The caller stores the result in place of ``hashes`` in the same transaction that
    reads them, so a code works once even when two requests race with it.
    """
    normalized = _normalize(code)
    if normalized is None:
        return None
    for index, stored in enumerate(hashes):
        if _hasher().verify(stored, normalized):
            return hashes[:index] + hashes[index + 1 :]
    return None


def _normalize(code: str) -> str | None:
    """The code as generated (no dash, lower case), or ``None`` if it cannot be one."""
    if len(code) > _MAX_INPUT_CHARS:
        return None
    typed = "".join(code.split()).lower().translate(_DASHES).translate(_CONFUSABLE)
    if len(typed) != CODE_LENGTH or not all(char in ALPHABET for char in typed):
        return None
    return typed
