"""Usernames: one spelling per name, compared as RFC 8265 compares them.

A name is enforced in the PRECIS UsernameCaseMapped profile (RFC 8265, section 3.3; the
``precis-i18n`` library): full-width letters become their usual width, letters become
lower case (Unicode toLowerCase, so "ß" stays "ß" and a final sigma stays final), the
result is NFC, and the IdentifierClass of RFC 8264 refuses spaces, controls, symbols,
compatibility characters ("ﬁ", "①") and the rest of what cannot tell names apart. On top
of the profile, as RFC 8265 lets an application restrict it further: white space at
either end is ignored (as it always was), a name has 1-64 characters, each a letter, a
decimal digit, ``.``, ``_`` or ``-``.

A *new* name must also be written in one script (``check_new_username``): UTS #39's
"highly restrictive" level, so "p\u0430ypal" with a Cyrillic "a" (U+0430) cannot be created
beside "paypal"; Latin may go with Chinese, Japanese or Korean writing, as in "tanaka田中".

Names stored before this profile were NFKC case-folded (``legacy_username``); for a few
names the two differ ("Straße": "straße" now, "strasse" then; Cherokee letters, whose
case folding is upper case). Stored names are not rewritten: ``lookup_names`` tries the
profile's spelling, then the old one, so every existing account is found by what its user
has always typed, and a new name whose old spelling is taken is taken.
"""

from __future__ import annotations

import contextlib
import functools
import unicodedata
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # both imported at the first username checked (docs/benchmarks.md,
    import regex  # "Idle memory and start-up")

__all__ = [
    "MAX_USERNAME_LENGTH",
    "check_new_username",
    "legacy_username",
    "lookup_names",
    "normalize_username",
]

MAX_USERNAME_LENGTH: Final = 64
_PUNCTUATION: Final = frozenset("._-")
_LENGTH_RULE: Final = f"a username has 1 to {MAX_USERNAME_LENGTH} characters"
_CHARACTER_RULE: Final = "a username has only letters, digits, '.', '_' and '-'"

# UTS #39, section 5.1: characters of every script (Common, Inherited) go with any, and
# the scripts of Chinese, Japanese and Korean writing are one "augmented" script each.
_ANY_SCRIPT: Final = frozenset({"Zyyy", "Zinh"})
_AUGMENTED: Final = {
    "Hani": {"Hanb", "Jpan", "Kore"},
    "Hira": {"Jpan"},
    "Kana": {"Jpan"},
    "Hang": {"Kore"},
    "Bopo": {"Hanb"},
}
_WITH_LATIN: Final = frozenset({"Hanb", "Jpan", "Kore"})  # "highly restrictive" (5.2)


def normalize_username(text: str) -> str:
    """The stored form of the username ``text``; ``ValueError`` if it cannot be one."""
    stripped = text.strip()
    if not 1 <= len(stripped) <= MAX_USERNAME_LENGTH * 4:
        raise ValueError(_LENGTH_RULE)  # before the profile: its work grows with the text
    try:
        name: str = _profile().enforce(stripped)
    except UnicodeEncodeError:
        raise ValueError(_CHARACTER_RULE) from None
    _check_characters(name)
    return name


def legacy_username(text: str) -> str | None:
    """``text`` as names were stored before the PRECIS profile (NFKC case-folded and
    stripped), or ``None`` if it was no name then either."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    name = folded.strip()
    try:
        _check_characters(name)
    except ValueError:
        return None
    return name


def lookup_names(text: str) -> list[str]:
    """The stored names ``text`` may be, best first: its spelling in the profile, then its
    old spelling (when that differs); none if it can be no name."""
    names = []
    with contextlib.suppress(ValueError):
        names.append(normalize_username(text))
    if len(text) <= MAX_USERNAME_LENGTH * 4:
        legacy = legacy_username(text)
        if legacy is not None and legacy not in names:
            names.append(legacy)
    return names


def check_new_username(text: str) -> str:
    """The stored form of a new account's name: ``normalize_username``, and written in
    one script (``ValueError`` naming the scripts it mixes)."""
    name = normalize_username(text)
    scripts = _mixed_scripts(name)
    if scripts:
        raise ValueError(f"a username is written in one script; this one mixes {scripts}")
    return name


def _check_characters(name: str) -> None:
    if not 1 <= len(name) <= MAX_USERNAME_LENGTH:
        raise ValueError(_LENGTH_RULE)
    for char in name:
        if not (char in _PUNCTUATION or char.isdecimal() or unicodedata.category(char)[0] == "L"):
            raise ValueError(_CHARACTER_RULE)


@functools.cache
def _profile() -> Any:
    """RFC 8265's UsernameCaseMapped profile (precis-i18n, imported then)."""
    from precis_i18n import get_profile

    return get_profile("UsernameCaseMapped")


@functools.cache
def _script_patterns() -> tuple[tuple[str, str, regex.Pattern[str], regex.Pattern[str]], ...]:
    """Each script's code, name, and patterns of its Script_Extensions and Script: the
    regex module carries Unicode's tables (on every platform the image is built for)."""
    import regex

    text = resources.files("eventsapi.auth").joinpath("data/scripts.txt").read_text("utf-8")
    found = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, name = line.split(" ", 1)
            found.append(
                (
                    code,
                    name,
                    regex.compile(rf"\p{{scx={code}}}"),
                    regex.compile(rf"\p{{sc={code}}}"),
                )
            )
    return tuple(found)


@functools.lru_cache(maxsize=4096)
def _scripts(char: str) -> frozenset[str]:
    """The scripts ``char`` is used in (Unicode's Script_Extensions), augmented."""
    found = {code for code, _, extensions, _ in _script_patterns() if extensions.match(char)}
    found -= _ANY_SCRIPT
    return frozenset(found.union(*(_AUGMENTED.get(script, ()) for script in found)))


def _script_name(char: str) -> str:
    """The name of ``char``'s script (its Script property), for a message."""
    for _, name, _, script in _script_patterns():
        if script.match(char):
            return name
    return "Unknown"


def _resolved(chars: str) -> set[str] | None:
    """UTS #39's resolved script set of ``chars`` (``None``: any script would do)."""
    resolved: set[str] | None = None
    for char in chars:
        scripts = _scripts(char)
        if scripts:
            resolved = set(scripts) if resolved is None else resolved & scripts
    return resolved


def _mixed_scripts(name: str) -> str:
    """The scripts that ``name`` mixes, for a message (empty if it is in one, or in Latin
    with one of the scripts of Chinese, Japanese or Korean)."""
    if _resolved(name) != set():
        return ""
    without_latin = _resolved("".join(c for c in name if "Latn" not in _scripts(c)))
    if without_latin is None or without_latin & _WITH_LATIN:
        return ""
    names = sorted({_script_name(c) for c in name if _scripts(c)})
    return " and ".join(names)
