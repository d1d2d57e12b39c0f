"""Usernames: one spelling per name, so that two accounts cannot differ by case or width.

A name is normalized as Unicode's NFKC_Casefold does it (NFKC, case folding, NFKC again:
"Alice" in full-width letters, "ALICE" and "alice" are one name), then stripped of white
space at either end, and must then be 1-64 characters, each a letter, a decimal digit,
``.``, ``_`` or ``-``. Letters of any script are allowed; names that merely look alike in
two scripts (a Latin "a" and a Cyrillic "a", U+0430) stay distinct names.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_USERNAME_LENGTH", "normalize_username"]

MAX_USERNAME_LENGTH = 64
_PUNCTUATION = frozenset("._-")


def normalize_username(text: str) -> str:
    """The stored form of the username ``text``; ``ValueError`` if it cannot be one."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    name = folded.strip()
    if not 1 <= len(name) <= MAX_USERNAME_LENGTH:
        raise ValueError(f"a username has 1 to {MAX_USERNAME_LENGTH} characters")
    for char in name:
        if not (char in _PUNCTUATION or char.isdecimal() or unicodedata.category(char)[0] == "L"):
            raise ValueError("a username has only letters, digits, '.', '_' and '-'")
    return name
