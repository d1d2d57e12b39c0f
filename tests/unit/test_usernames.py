"""Usernames in the PRECIS UsernameCaseMapped profile (RFC 8265), one script per new name
(UTS #39), and the spelling names had before (NFKC case folding), which still finds them."""

from __future__ import annotations

import pytest

from eventsapi.auth.usernames import (
    check_new_username,
    legacy_username,
    lookup_names,
    normalize_username,
)

# RFC 8265, section 3.5: the examples of UsernameCaseMapped, and what each becomes.
RFC_8265_VALID = [
    ("fussball", "fussball"),
    ("fu\u00dfball", "fu\u00dfball"),  # ß is kept: not "fussball"
    ("\u03c0", "\u03c0"),  # π
    ("\u03a3", "\u03c3"),  # capital sigma is lower-cased to small sigma
    ("\u03c3", "\u03c3"),
    ("\u03c2", "\u03c2"),  # final sigma stays final sigma
]
RFC_8265_INVALID = [
    '"foo bar"',  # space
    "",
    "henry\u2163",  # ROMAN NUMERAL FOUR: a compatibility character
    "\u265a",  # BLACK CHESS KING: a symbol
]


@pytest.mark.parametrize(("typed", "stored"), RFC_8265_VALID)
def test_the_rfc_8265_examples_that_are_usernames(typed: str, stored: str) -> None:
    assert normalize_username(typed) == stored


@pytest.mark.parametrize("typed", RFC_8265_INVALID)
def test_the_rfc_8265_examples_that_are_not(typed: str) -> None:
    with pytest.raises(ValueError, match="username"):
        normalize_username(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\uff2a\uff35\uff2c\uff29\uff25\uff34", "juliet"),  # width mapping
        ("Juliet", "juliet"),  # case mapping
        ("Jos\u0065\u0301", "jos\u00e9"),  # NFC: the decomposed accent composed
        ("\u0391\u039b\u0395\u039e\u0399\u03a3", "\u03b1\u03bb\u03b5\u03be\u03b9\u03c2"),  # ΑΛΕΞΙΣ
        ("  dana ", "dana"),  # white space at either end is ignored, as it always was
    ],
)
def test_the_profile_maps_width_case_and_composition(typed: str, stored: str) -> None:
    assert normalize_username(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "juliet@example.com",  # the profile allows it; this service's names do not
        "a\x00b",
        "a\u200bb",  # ZERO WIDTH SPACE
        "\ufb01x",  # LATIN SMALL LIGATURE FI: a compatibility character
        "a" * 65,
        "a" * 100_000,
    ],
)
def test_names_the_profile_or_the_service_refuses(typed: str) -> None:
    with pytest.raises(ValueError, match="username"):
        normalize_username(typed)


@pytest.mark.parametrize(
    ("name", "mixes"),
    [
        ("p\u0430ypal", "Cyrillic and Latin"),
        ("\u0455\u0441ott", "Cyrillic and Latin"),  # Cyrillic dze and es: "scott"
        ("\u03bfpen", "Greek and Latin"),  # Greek omicron
        ("\u0430\u03b1", "Cyrillic and Greek"),
        ("\u0c05\u0915", "Devanagari and Telugu"),
    ],
)
def test_a_new_name_that_mixes_scripts_is_refused(name: str, mixes: str) -> None:
    with pytest.raises(ValueError, match=f"one script; this one mixes {mixes}$"):
        check_new_username(name)


@pytest.mark.parametrize(
    "name",
    [
        "paypal",
        "\u043f\u0430\u0432\u0435\u043b",  # Cyrillic only
        "\u03b1\u03b8\u03b7\u03bd\u03b1",  # Greek only
        "tanaka\u7530\u4e2d",  # Latin with Han (UTS #39: highly restrictive)
        "\u3084\u307e\u3060\u30bf\u30ed\u30a6\u5c71",  # Hiragana, Katakana and Han: Japanese
        "\ud55c\uae00\u6f22\u5b57",  # Hangul and Han: Korean
        "kim\ud55c\uae00",  # Latin with Hangul
        "r2-d2_v1.0",  # digits and punctuation go with any script
        "\u0438\u0432\u0430\u043d-42",
    ],
)
def test_a_new_name_in_one_script_is_allowed(name: str) -> None:
    assert check_new_username(name) == normalize_username(name)


def test_existing_names_with_mixed_scripts_are_still_found() -> None:
    # Creation refuses them; an account made before keeps its name and its login.
    assert lookup_names("P\u0430ypal") == ["p\u0430ypal"]


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("Alice", ["alice"]),
        ("Stra\u00dfe", ["stra\u00dfe", "strasse"]),  # the old spelling case-folded ß
        ("\u13e3\u13b3\u13a9", ["\uabb3\uab83\uab79", "\u13e3\u13b3\u13a9"]),  # Cherokee
        ("\ufb01x", ["fix"]),  # the profile refuses the ligature; the old spelling had "fi"
        ("a\x00b", []),
        ("a" * 100_000, []),
    ],
)
def test_a_name_is_looked_up_in_the_profile_then_in_its_old_spelling(
    typed: str, names: list[str]
) -> None:
    assert lookup_names(typed) == names


def test_the_old_spelling_is_nfkc_case_folded() -> None:
    assert legacy_username("\uff21\uff2c\uff29\uff23\uff25") == "alice"
    assert legacy_username("Stra\u00dfe") == "strasse"
    assert legacy_username("al ice") is None
