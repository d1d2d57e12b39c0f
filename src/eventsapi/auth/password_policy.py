"""Which passwords we accept: NIST SP 800-63B-4 (3.1.1.2), with feedback a user can act on.

The rules:

- **Length**, counted in Unicode code points after NFKC normalization (``passwords.
  normalize``, what is hashed): at least 15, or 8 when the account has two-step
  verification; at most 128 (NIST: allow at least 64). Any character is allowed, spaces
  and emoji included, and there are no composition rules (no "one digit, one symbol"):
  NIST forbids them, they make passwords harder to remember, not to guess.
- **Blocklist**: not one of the common passwords in ``data/common-passwords.txt``
  (zxcvbn's list of the most used passwords in a 10 million password leak), compared
  case-insensitively.
- **Context**: not containing the username, or the username reversed.
- **Guessability**: zxcvbn's score must be at least 2. NIST asks for a blocklist rather
  than composition rules; zxcvbn is that blocklist's reach into the variants an attacker
  tries first (repeats like "passwordpassword", keyboard walks like "qwertyuiopasdfgh",
  sequences, dates, common words with digits appended). Scores 0 and 1 mean fewer than
  10^6 guesses: such a password is in effect on the list, so we refuse it. Score 2
  (under 10^8 guesses) survives a throttled online attack, which is what the login
  allows; we accept it and suggest better.

The score also gives a crack-time estimate, for an attacker with the hash database at
10^4 guesses a second (argon2id at OWASP's cost on a few hundred cores).

zxcvbn's cost grows with the square of the length, and its l33t matching multiplies it by
the number of substitution sets the password's symbols allow (up to ~700: 128 characters
of "4@8({[<3691!|70$5%+2" took it 3 to 11 s). So the estimate looks at the first 64 code
points at most, fewer when the symbols would make it costly: a prefix has no more guesses
than the whole password, so the score is a lower bound, never flattery. That keeps a
check under ~0.2 s (~2-10 ms for a usual password); run ``check_password`` off the event
loop all the same (``anyio.to_thread``).
"""

from __future__ import annotations

import functools
import threading
from importlib import resources
from typing import Any

import msgspec

from eventsapi.auth.passwords import normalize

__all__ = [
    "ESTIMATE_LENGTH",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "MIN_LENGTH_WITH_TWO_FACTOR",
    "MIN_SCORE",
    "SEVERAL_WORDS_ADVICE",
    "PolicyResult",
    "check_password",
    "common_passwords",
]

MIN_LENGTH = 15
"""NIST SP 800-63B-4: 15 characters when the password is the only factor."""
MIN_LENGTH_WITH_TWO_FACTOR = 8
"""NIST SP 800-63B-4: 8 characters when the password is one of two factors."""
MAX_LENGTH = 128
"""NIST asks to allow at least 64; more than 128 is not a password someone types."""
MIN_SCORE = 2
"""Lowest zxcvbn score accepted (0-4); see the module docstring for why."""
ESTIMATE_LENGTH = 64
"""Code points the strength estimate looks at, at most (see the module docstring)."""
MIN_USERNAME_IN_PASSWORD = 3
"""Usernames shorter than this are only refused as the whole password: two letters
inside a long password add no weakness worth a refusal."""

SEVERAL_WORDS_ADVICE = (
    "Try a passphrase: four or more unrelated words, such as three random nouns and a verb,"
    " are long, easy to remember and hard to guess."
)

_BLOCKLIST = ("eventsapi.auth", "data/common-passwords.txt")
_CRACK_TIME_SCENARIO = "offline_slow_hashing_1e4_per_second"
_ESTIMATE_BUDGET = 8 * ESTIMATE_LENGTH**2
"""Substitution sets x length^2: ~0.1 s of zxcvbn's l33t matching on this machine."""

# zxcvbn puts each call's user inputs in a module-global dictionary before matching: two
# threads estimating at once could match against each other's usernames.
_zxcvbn_lock = threading.Lock()


class PolicyResult(msgspec.Struct, frozen=True):
    """The verdict on a new password.

    - ``ok``: whether it is accepted (``problems`` is empty).
    - ``problems``: why not, each a sentence the user can act on.
    - ``score``: zxcvbn's strength estimate, 0 (too guessable) to 4 (very unguessable).
    - ``crack_time``: how long an attacker with the hash database would take, in words
      ("3 hours", "centuries").
    - ``suggestions``: how to choose a better one (empty when there is nothing to add).
    """

    ok: bool
    problems: list[str] = msgspec.field(default_factory=list)
    score: int = 0
    crack_time: str = ""
    suggestions: list[str] = msgspec.field(default_factory=list)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped blocklist, lower case, read once."""
    package, name = _BLOCKLIST
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return frozenset(
        line for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password(password: str, *, username: str, two_factor: bool) -> PolicyResult:
    """Whether ``password`` may be set for the account ``username``; ``two_factor``: the
    account has two-step verification on (the minimum length is then 8, not 15)."""
    normalized = normalize(password)
    problems: list[str] = []

    if not _is_valid_text(normalized):
        problems.append("This password contains characters that are not valid text; type it again.")
    problems.extend(_length_problems(len(normalized), two_factor=two_factor))

    folded = normalized.casefold()
    blocklisted = folded in common_passwords()
    if blocklisted:
        problems.append(
            "This password is one of the most commonly used passwords; choose another one."
        )
    problems.extend(_username_problems(folded, normalize(username).casefold()))

    estimate = _estimate(_estimated_part(normalized), username)
    score: int = estimate["score"]
    feedback: dict[str, Any] = estimate["feedback"]
    warning: str = feedback["warning"]
    if score < MIN_SCORE and not blocklisted:
        problems.append(f"This password is too easy to guess. {warning}".strip())

    suggestions: list[str] = []
    if problems or score < MIN_SCORE + 1:
        if warning and score >= MIN_SCORE:
            suggestions.append(warning)
        suggestions.extend(feedback["suggestions"])
        suggestions.append(SEVERAL_WORDS_ADVICE)
    return PolicyResult(
        ok=not problems,
        problems=problems,
        score=score,
        crack_time=str(estimate["crack_times_display"][_CRACK_TIME_SCENARIO]),
        suggestions=list(dict.fromkeys(suggestions)),
    )


def _length_problems(length: int, *, two_factor: bool) -> list[str]:
    minimum = MIN_LENGTH_WITH_TWO_FACTOR if two_factor else MIN_LENGTH
    if length < minimum:
        unless = (
            ""
            if two_factor
            else f" ({MIN_LENGTH_WITH_TWO_FACTOR} once two-step verification is on)"
        )
        return [f"Use at least {minimum} characters{unless}; this password has {length}."]
    if length > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters; this password has {length}."]
    return []


def _username_problems(folded_password: str, folded_username: str) -> list[str]:
    if not folded_username:
        return []
    reversed_username = folded_username[::-1]
    if folded_password in (folded_username, reversed_username):
        return ["Don't use your username as your password, forwards or backwards."]
    if len(folded_username) >= MIN_USERNAME_IN_PASSWORD and (
        folded_username in folded_password or reversed_username in folded_password
    ):
        return ["Don't put your username in your password, forwards or backwards."]
    return []


def _is_valid_text(password: str) -> bool:
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: nothing a keyboard sends
        return False
    return True


def _estimated_part(password: str) -> str:
    part = password[:ESTIMATE_LENGTH]
    while len(part) > MIN_LENGTH_WITH_TWO_FACTOR and _estimate_cost(part) > _ESTIMATE_BUDGET:
        part = part[: len(part) * 3 // 4]
    return part


def _estimate_cost(password: str) -> int:
    """zxcvbn's dictionary lookups, in units of one pass over the password's substrings."""
    from zxcvbn import matching  # type: ignore[import-untyped]

    table = matching.relevant_l33t_subtable(password, matching.L33T_TABLE)
    substitution_sets = len(matching.enumerate_l33t_subs(table))
    return max(1, substitution_sets) * len(password) ** 2


def _estimate(password: str, username: str) -> dict[str, Any]:
    if not password:  # zxcvbn raises IndexError on an empty string; nothing to estimate
        return {
            "score": 0,
            "feedback": {"warning": "", "suggestions": []},
            "crack_times_display": {_CRACK_TIME_SCENARIO: "less than a second"},
        }
    # Imported on first use: its word lists cost every process ~14 MB, and passwords are
    # checked only when set.
    from zxcvbn import zxcvbn

    with _zxcvbn_lock:
        result: dict[str, Any] = zxcvbn(password, user_inputs=[username], max_length=MAX_LENGTH)
    return result
