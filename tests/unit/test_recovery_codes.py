"""Recovery codes (``auth.recovery``): easy to read and type, 50 random bits each, stored
hashed, each usable once."""

from __future__ import annotations

import math
import re

import pytest
from argon2 import Type, extract_parameters

from eventsapi.auth.recovery import ALPHABET, hash_code, new_recovery_codes, use_code

FORMAT = re.compile(r"[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}")
"""Crockford's base32, lower case: no i, l, o or u."""


def test_ten_distinct_codes_by_default() -> None:
    codes = new_recovery_codes()

    assert len(codes) == 10
    assert len(set(codes)) == 10


def test_codes_are_two_groups_of_five_unambiguous_characters() -> None:
    for code in new_recovery_codes(50):
        assert FORMAT.fullmatch(code), code


def test_each_code_carries_at_least_50_bits() -> None:
    code = new_recovery_codes(1)[0]
    symbols = len(code.replace("-", ""))

    assert len(set(ALPHABET)) == len(ALPHABET) == 32
    assert not set("ilou") & set(ALPHABET)
    assert symbols * math.log2(len(ALPHABET)) >= 50


def test_codes_use_the_whole_alphabet() -> None:
    # 1,000 characters drawn uniformly miss one of 32 symbols with probability < 10^-12.
    drawn = "".join(new_recovery_codes(100)).replace("-", "")

    assert set(drawn) == set(ALPHABET)


def test_codes_are_stored_as_salted_argon2id_hashes() -> None:
    code = new_recovery_codes(1)[0]
    first, second = hash_code(code), hash_code(code)

    assert first.startswith("$argon2id$")
    assert first != second
    assert code not in first
    assert code.replace("-", "") not in first


def test_a_code_works_once() -> None:
    codes = new_recovery_codes()
    hashes = tuple(hash_code(code) for code in codes)

    remaining = use_code(hashes, codes[3])

    assert remaining == hashes[:3] + hashes[4:]
    assert use_code(remaining, codes[3]) is None
    assert use_code(remaining, codes[4]) == hashes[:3] + hashes[5:]


def test_every_code_works() -> None:
    codes = new_recovery_codes()
    hashes = tuple(hash_code(code) for code in codes)

    for code in codes:
        remaining = use_code(hashes, code)
        assert remaining is not None
        hashes = remaining
    assert hashes == ()


def test_a_wrong_code_is_refused() -> None:
    codes = new_recovery_codes(11)
    hashes = tuple(hash_code(code) for code in codes[:10])

    assert use_code(hashes, codes[10]) is None
    assert use_code((), codes[0]) is None


@pytest.mark.parametrize(
    "typed",
    [
        "01abc-defgh",
        "01abcdefgh",
        "01ABC-DEFGH",
        " 01abc defgh ",
        "01-ab-cd-ef-gh",
        "ol abc-defgh",
        "OI ABC DEFGH",
        "0Labcdefgh",
    ],
)
def test_what_users_type_is_normalized(typed: str) -> None:
    hashes = (hash_code("xxxxx-xxxxx"), hash_code("01abc-defgh"))

    assert use_code(hashes, typed) == hashes[:1]


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "01abc-defg",
        "01abc-defghj",
        "01abc-defgu",
        "01abc_defgh",
        "01abc.defgh",
        "\uff101abc-defgh",  # a fullwidth zero
        "01abc-defgh" + " " * 100,
    ],
)
def test_malformed_codes_are_refused(typed: str) -> None:
    hashes = (hash_code("01abc-defgh"),)

    assert use_code(hashes, typed) is None


def test_input_longer_than_64_characters_is_refused_before_any_work() -> None:
    """No code with spaces and dashes is that long; 64 is still read, spaces and all."""
    hashes = (hash_code("01abc-defgh"),)

    assert use_code(hashes, "01abc-defgh".ljust(64)) == ()
    assert use_code(hashes, "01abc-defgh".ljust(65)) is None


def test_only_a_code_can_be_hashed() -> None:
    with pytest.raises(ValueError, match=r"^not a recovery code$"):
        hash_code("correct horse battery staple")


def test_a_malformed_stored_hash_is_skipped_not_raised() -> None:
    code = new_recovery_codes(1)[0]
    stored = hash_code(code)

    assert use_code(("not a PHC string", stored), code) == ("not a PHC string",)
    assert use_code(("not a PHC string",), code) is None


def test_hashes_are_cheap_enough_to_check_ten_per_attempt() -> None:
    # A login that tries a recovery code may verify all ten: OWASP's password cost
    # (19 MiB, t=2, ~40 ms each) would make every attempt cost ~0.4 s of CPU.
    parameters = extract_parameters(hash_code(new_recovery_codes(1)[0]))

    assert parameters.type is Type.ID
    assert parameters.memory_cost <= 4096
    assert parameters.time_cost == 1
