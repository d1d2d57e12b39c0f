"""The password policy: NIST SP 800-63B-4 lengths, the blocklist, the username, and a
zxcvbn score of at least 2, with feedback a user can act on."""

from __future__ import annotations

from importlib import resources

import pytest

from eventsapi.auth import password_policy
from eventsapi.auth.password_policy import (
    MAX_LENGTH,
    SEVERAL_WORDS_ADVICE,
    PolicyResult,
    check_password,
    common_passwords,
)

GOOD_PHRASE = "plum orbit kayak velvet"


def check(password: str, *, username: str = "alice", two_factor: bool = False) -> PolicyResult:
    return check_password(password, username=username, two_factor=two_factor)


def mentions(result: PolicyResult, words: str) -> bool:
    return any(words in problem for problem in result.problems)


# Length


def test_15_characters_are_enough_without_two_factor() -> None:
    result = check("plum orbit kaya")
    assert len("plum orbit kaya") == 15
    assert result.ok, result.problems


def test_14_characters_are_too_few_without_two_factor() -> None:
    result = check("plum orbit kay")
    assert not result.ok
    assert result.problems == [
        "Use at least 15 characters (8 once two-step verification is on); this password has 14."
    ]


def test_8_characters_are_enough_with_two_factor() -> None:
    assert check("Qz7#vk!p", two_factor=True).ok
    assert mentions(check("Qz7#vk!", two_factor=True), "Use at least 8 characters")
    assert mentions(check("Qz7#vk!p", two_factor=False), "Use at least 15 characters")


def test_128_characters_are_allowed_and_129_are_not() -> None:
    words = "plum orbit kayak velvet thistle copper marmot lantern quarry saffron "
    longest = (words * 2)[:MAX_LENGTH]
    assert check(longest).ok
    too_long = check(longest + "x")
    assert not too_long.ok
    assert too_long.problems == ["Use at most 128 characters; this password has 129."]


def test_length_is_counted_in_code_points_not_bytes() -> None:
    # 15 characters, 45 bytes in UTF-8: long enough; 14 characters (42 bytes): not.
    fifteen = "日本語のパスワードは長くて安全"
    assert len(fifteen) == 15
    assert check(fifteen).ok
    assert mentions(check(fifteen[:14]), "this password has 14")


def test_length_is_counted_after_nfkc_normalization() -> None:
    # "e" + a combining accent is one character once normalized: 14, not 15.
    decomposed = "plum orbit kae\u0301"
    assert len(decomposed) == 15
    assert mentions(check(decomposed), "this password has 14")
    # The "ffi" ligature is one code point typed, three once normalized.
    assert check("plum orbit k\ufb03").ok


def test_spaces_symbols_and_emoji_are_allowed_without_composition_rules() -> None:
    assert check("lowercase words only here").ok
    assert check("🦊 jumps over 🐶 at dawn").ok


# Blocklist


@pytest.mark.parametrize("password", ["baseball", "trustno1", "BaseBall", "TRUSTNO1"])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    result = check(password, two_factor=True)
    assert not result.ok
    assert mentions(result, "one of the most commonly used passwords")


def test_a_long_common_password_is_refused_by_the_blocklist() -> None:
    result = check("qazwsxedcrfvtgb")  # a keyboard walk, 15 characters
    assert result.problems == [
        "This password is one of the most commonly used passwords; choose another one."
    ]


def test_variants_of_common_passwords_are_refused_as_too_easy_to_guess() -> None:
    # Not on the list, but zxcvbn sees "password" + a sequence: score 1.
    result = check("password123456", two_factor=True)
    assert not result.ok
    assert result.score < 2
    assert mentions(result, "too easy to guess")


def test_the_shipped_blocklist_is_lower_case_and_names_its_source() -> None:
    path = resources.files("eventsapi.auth").joinpath("data/common-passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert any("zxcvbn" in line and "MIT" in line for line in comments)
    entries = [line for line in lines if not line.startswith("#")]
    assert all(entry == entry.lower() and len(entry) >= 8 for entry in entries)
    assert common_passwords() == frozenset(entries)
    assert len(common_passwords()) > 10_000
    assert {"password", "iloveyou", "sunshine"} <= common_passwords()


# Username


def test_a_password_containing_the_username_is_refused() -> None:
    result = check("alice in wonderland 1865", username="Alice")
    assert result.problems == ["Don't put your username in your password, forwards or backwards."]
    assert mentions(check("the ECILA reversed trick", username="alice"), "username")


def test_the_username_reversed_is_refused() -> None:
    username = "quietmountainriver"
    result = check(username[::-1], username=username)
    assert not result.ok
    assert "Don't use your username as your password, forwards or backwards." in result.problems


def test_a_very_short_username_inside_a_password_is_not_refused() -> None:
    assert check("plum orbit kayak almond", username="al").ok  # "al" is no weakness
    assert not check("al", username="al", two_factor=True).ok


# Strength estimate and feedback


def test_a_good_passphrase_is_accepted_with_a_high_score() -> None:
    result = check(GOOD_PHRASE)
    assert result.ok
    assert result.problems == []
    assert result.score >= 3
    assert result.crack_time == "centuries"
    assert result.suggestions == []


def test_a_guessable_password_of_valid_length_is_refused_with_feedback() -> None:
    result = check("aaaaaaaaaaaaaaaa")
    assert not result.ok
    assert result.score == 0
    assert result.problems == [
        'This password is too easy to guess. Repeats like "aaa" are easy to guess.'
    ]
    assert "Avoid repeated words and characters." in result.suggestions
    assert SEVERAL_WORDS_ADVICE in result.suggestions


def test_score_1_is_refused_and_score_2_is_accepted() -> None:
    keyboard_walk = check("qwertyuiopasdfgh")
    assert keyboard_walk.score == 1
    assert not keyboard_walk.ok
    somewhat_guessable = check("Password123456!")
    assert somewhat_guessable.score == 2
    assert somewhat_guessable.ok
    # Accepted, with advice to do better.
    assert SEVERAL_WORDS_ADVICE in somewhat_guessable.suggestions


def test_a_short_password_gets_the_passphrase_advice() -> None:
    result = check("Qz7#vk!p")
    assert SEVERAL_WORDS_ADVICE in result.suggestions
    assert result.crack_time


def test_the_estimate_uses_the_username() -> None:
    # zxcvbn counts the username as a word an attacker knows.
    stranger = check("quietmountainriver 42", username="bob")
    owner = check("quietmountainriver 42", username="quietmountain")
    assert owner.score < stranger.score


def test_a_password_that_is_not_valid_text_is_refused() -> None:
    result = check("plum orbit kayak\ud800")
    assert mentions(result, "not valid text")


def test_symbol_heavy_passwords_are_estimated_on_a_bounded_part() -> None:
    # zxcvbn alone spends ~10 s on this one (its l33t matching); the policy estimates a
    # prefix whose matching cost is within the budget (a cost model, not a timing).
    symbols = "7%350354|+17@9{<@98899[7+6{4%@+<+0[25@|<!(<+7+<$(|95$412|94[<1+{" * 2
    part = password_policy._estimated_part(symbols)
    assert password_policy._estimate_cost(symbols) > password_policy._ESTIMATE_BUDGET
    assert password_policy._estimate_cost(part) <= password_policy._ESTIMATE_BUDGET
    assert symbols.startswith(part)
    assert check(symbols).ok


def test_an_empty_password_is_refused_for_its_length() -> None:
    result = check("")
    assert not result.ok
    assert mentions(result, "at least 15 characters")


def test_the_words_of_the_policy() -> None:
    """What the user reads, word for word (problems and advice are shown as they are)."""
    short = check_password("Qz7#vk!", username="alice", two_factor=True)
    invalid = check_password("\ud800 violet tractor humming", username="alice", two_factor=False)
    empty = check_password("", username="alice", two_factor=True)

    assert short.problems[0] == "Use at least 8 characters; this password has 7."
    assert invalid.problems[0] == (
        "This password contains characters that are not valid text; type it again."
    )
    assert empty.problems == [
        "Use at least 8 characters; this password has 0.",
        "This password is too easy to guess.",
    ]
    assert (empty.score, empty.crack_time) == (0, "less than a second")
    assert SEVERAL_WORDS_ADVICE == (
        "Try a passphrase: four or more unrelated words, such as three random nouns and a verb,"
        " are long, easy to remember and hard to guess."
    )


def test_a_three_letter_username_inside_the_password_is_refused() -> None:
    result = check_password("violet tractor bob humming seashell", username="bob", two_factor=False)

    assert "Don't put your username in your password, forwards or backwards." in result.problems
