"""Opaque tokens: 256 random bits behind a recognisable prefix, stored as SHA-256."""

from __future__ import annotations

import base64
import hashlib

import pytest

from eventsapi.auth.tokens import (
    API_TOKEN_PREFIX,
    SESSION_PREFIX,
    looks_like,
    new_token,
    token_hash,
)


@pytest.mark.parametrize("prefix", [SESSION_PREFIX, API_TOKEN_PREFIX])
def test_a_token_is_its_prefix_and_256_random_bits(prefix: str) -> None:
    value, digest = new_token(prefix)

    assert value.startswith(prefix)
    random_part = value.removeprefix(prefix)
    assert len(base64.urlsafe_b64decode(random_part + "=")) == 32
    assert digest == hashlib.sha256(value.encode()).digest()
    assert digest == token_hash(value)


def test_session_and_api_token_prefixes_differ_so_a_leak_says_what_it_is() -> None:
    assert (SESSION_PREFIX, API_TOKEN_PREFIX) == ("eas_", "eat_")


def test_tokens_do_not_repeat() -> None:
    values = {new_token(SESSION_PREFIX)[0] for _ in range(2000)}
    assert len(values) == 2000


def test_the_stored_digest_is_not_the_token_and_differs_per_token() -> None:
    value, digest = new_token(API_TOKEN_PREFIX)
    _, other_digest = new_token(API_TOKEN_PREFIX)

    assert value.encode() not in digest
    assert digest != other_digest
    assert len(digest) == 32


@pytest.mark.parametrize("prefix", ["", "eas", "EAS_", "e_", "toolongprefix_", "ea-_"])
def test_a_prefix_must_be_a_short_lowercase_word_and_underscore(prefix: str) -> None:
    with pytest.raises(
        ValueError, match=r"^token prefix '.*' is not 2-8 lowercase letters and '_'$"
    ):
        new_token(prefix)


def test_looks_like_accepts_only_a_token_of_that_kind() -> None:
    session, _ = new_token(SESSION_PREFIX)

    assert looks_like(session, SESSION_PREFIX)
    assert not looks_like(session, API_TOKEN_PREFIX)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "eas_",
        "eas_" + "A" * 42,
        "eas_" + "A" * 44,
        "eas_" + "A" * 42 + "=",
        "eas_" + "A" * 42 + ";",
        "eas_" + "A" * 42 + "\n",
        "eas_" + "é" * 43,
        "EAS_" + "A" * 43,
        " eas_" + "A" * 42,
    ],
)
def test_looks_like_refuses_anything_of_another_shape(value: str) -> None:
    assert not looks_like(value, SESSION_PREFIX)


def test_looks_like_accepts_every_url_safe_character() -> None:
    assert looks_like("eas_" + "az09AZ-_" * 5 + "abc", SESSION_PREFIX)
