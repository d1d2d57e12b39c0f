"""Password hashing: argon2id with OWASP's parameters, a verify that never raises, and an
unknown user that costs as much as a wrong password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import argon2.low_level
import pytest
from argon2 import Parameters, Type, extract_parameters
from argon2.exceptions import VerifyMismatchError

from eventsapi.auth.passwords import (
    DUMMY_HASH,
    OWASP_PARAMETERS,
    TEST_PARAMETERS,
    Hasher,
    hash_password,
    needs_rehash,
    verify_password,
    verify_unknown_user,
)

PHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def owasp_hash() -> str:
    return hash_password(PHRASE)


@pytest.fixture
def cheap() -> Hasher:
    return Hasher.for_tests()


def test_a_hash_is_an_argon2id_phc_string_with_owasp_parameters(owasp_hash: str) -> None:
    assert owasp_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_the_password_verifies_against_its_hash(owasp_hash: str) -> None:
    assert verify_password(owasp_hash, PHRASE) is True


def test_a_wrong_password_does_not_verify(owasp_hash: str) -> None:
    assert verify_password(owasp_hash, PHRASE + "!") is False
    assert verify_password(owasp_hash, PHRASE.upper()) is False
    assert verify_password(owasp_hash, "") is False


def test_each_hash_has_its_own_salt(cheap: Hasher) -> None:
    assert cheap.hash(PHRASE) != cheap.hash(PHRASE)


@pytest.mark.parametrize(
    "phc",
    [
        "",
        "not a hash",
        "$argon2id$v=19$m=19456,t=2,p=1$bad$bad",
        "$argon2id$v=19$m=19456,t=2,p=1$4Espw+ZmCRgDSAbhohhUMQ$",
        "$argon2id$v=19$m=oops,t=2,p=1$4Espw+ZmCRgDSAbhohhUMQ$GpxF54gIih0NftaP9Vw3hG",
        "$argon2id$é",
        "$2b$12$KIXQJmC7b0Nk3o9v3q1m5eM8r1v2sZQ0pQ7u2yZ8m2p7Qe1bq3i9e",  # bcrypt
    ],
)
def test_a_malformed_hash_verifies_false_without_raising(phc: str, cheap: Hasher) -> None:
    assert verify_password(phc, PHRASE) is False
    assert cheap.verify(phc, PHRASE) is False


def test_a_truncated_hash_verifies_false(cheap: Hasher) -> None:
    phc = cheap.hash(PHRASE)
    assert cheap.verify(phc[:-5], PHRASE) is False


def test_a_password_that_is_not_valid_text_verifies_false_and_cannot_be_hashed(
    cheap: Hasher,
) -> None:
    lone_surrogate = "abc\ud800def"
    assert cheap.verify(cheap.hash(PHRASE), lone_surrogate) is False
    with pytest.raises(ValueError, match="surrogates"):
        cheap.hash(lone_surrogate)


@pytest.mark.parametrize(
    ("typed_at_sign_up", "typed_at_login"),
    [
        ("caf\u00e9 au lait mug", "cafe\u0301 au lait mug"),  # composed vs combining accent
        ("o\ufb03ce chair lamp", "office chair lamp"),  # the "ffi" ligature
        ("\uff21\uff22\uff23 tower bridge", "ABC tower bridge"),  # full-width letters
    ],
)
def test_passwords_are_compared_after_nfkc_normalization(
    typed_at_sign_up: str, typed_at_login: str, cheap: Hasher
) -> None:
    assert cheap.verify(cheap.hash(typed_at_sign_up), typed_at_login) is True


def test_a_hash_with_current_parameters_needs_no_rehash(owasp_hash: str) -> None:
    assert needs_rehash(owasp_hash) is False


def test_a_hash_with_other_parameters_needs_a_rehash(cheap: Hasher, owasp_hash: str) -> None:
    assert needs_rehash(cheap.hash(PHRASE)) is True
    assert cheap.needs_rehash(owasp_hash) is True
    assert cheap.needs_rehash(cheap.hash(PHRASE)) is False


def test_a_rehashed_password_still_verifies_and_needs_no_more_rehash(cheap: Hasher) -> None:
    stronger = Hasher(
        Parameters(
            type=Type.ID,
            version=19,
            salt_len=16,
            hash_len=32,
            time_cost=2,
            memory_cost=16,
            parallelism=1,
        )
    )
    old = cheap.hash(PHRASE)
    assert stronger.verify(old, PHRASE) is True  # old hashes keep working
    assert stronger.needs_rehash(old) is True
    assert stronger.needs_rehash(stronger.hash(PHRASE)) is False


def test_a_malformed_hash_needs_a_rehash() -> None:
    assert needs_rehash("not a hash") is True


def test_the_test_hasher_uses_the_cheapest_parameters(cheap: Hasher) -> None:
    assert cheap.parameters == TEST_PARAMETERS
    assert cheap.hash(PHRASE).startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_only_argon2id_is_accepted() -> None:
    argon2i = Parameters(
        type=Type.I,
        version=19,
        salt_len=16,
        hash_len=32,
        time_cost=2,
        memory_cost=19456,
        parallelism=1,
    )
    with pytest.raises(ValueError, match=r"^passwords are hashed with argon2id only$"):
        Hasher(argon2i)


def test_the_dummy_hash_costs_what_a_real_hash_costs(cheap: Hasher) -> None:
    # Same parameters as the hasher's own hashes, so verifying it takes as long.
    assert needs_rehash(DUMMY_HASH) is False
    assert Hasher(OWASP_PARAMETERS).dummy_hash == DUMMY_HASH
    assert cheap.needs_rehash(cheap.dummy_hash) is False


def test_an_unknown_user_never_verifies(cheap: Hasher) -> None:
    assert verify_unknown_user(PHRASE) is False
    assert cheap.verify_unknown_user(PHRASE) is False
    assert cheap.verify_unknown_user("") is False


@dataclass(frozen=True)
class _Verification:
    parameters: Parameters
    outcome: type[BaseException] | None  # VerifyMismatchError: argon2 ran to the compare


def _verifications(monkeypatch: pytest.MonkeyPatch) -> list[_Verification]:
    """Every argon2 verification from now on, spied on (each still runs in full)."""
    seen: list[_Verification] = []

    def spy(phc: bytes, secret: bytes, kind: Type) -> Literal[True]:
        outcome: type[BaseException] | None = None
        try:
            return real(phc, secret, kind)
        except BaseException as exc:
            outcome = type(exc)
            raise
        finally:
            seen.append(_Verification(extract_parameters(phc.decode()), outcome))

    real = argon2.low_level.verify_secret
    # PasswordHasher.verify calls the name it imported from argon2.low_level
    monkeypatch.setattr("argon2._password_hasher.verify_secret", spy)
    return seen


def test_an_unknown_user_costs_one_full_verification_like_a_wrong_password(
    owasp_hash: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work, not the time (speed lives in the benchmarks): an unknown user's password
    goes through one whole argon2id verification with the parameters of a real hash."""
    seen = _verifications(monkeypatch)

    assert verify_password(owasp_hash, "wrong password") is False
    wrong_password = list(seen)
    seen.clear()
    assert verify_unknown_user("wrong password") is False

    assert wrong_password == [_Verification(OWASP_PARAMETERS, VerifyMismatchError)]
    assert seen == wrong_password
