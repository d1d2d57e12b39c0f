"""Password hashing: argon2id PHC strings, a verify that never raises, equal time for
unknown users.

The parameters are OWASP's for argon2id (Password Storage Cheat Sheet,
https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html:
"m=19456 (19 MiB), t=2, p=1"), about 50 ms and 19 MiB per hash. Each PHC string records
the parameters it was made with, so stored hashes keep verifying after they change;
``needs_rehash`` tells the login to store a new hash while it holds the password.

Passwords are NFKC-normalized before hashing (NIST SP 800-63B-4, 3.1.1.2: normalize
Unicode, then hash), so the same password typed with composed or decomposed accents, or
full-width letters, verifies. Nothing is truncated: argon2 takes input of any length.

A login for an unknown username calls ``verify_unknown_user``: one verification against
a hash with the same parameters, always ``False``, so it takes as long as a wrong
password for a real account and the response time does not tell which usernames exist.

``Hasher`` carries the parameters; the module functions use OWASP's. Tests that hash
many passwords build ``Hasher.for_tests()`` (a few microseconds per hash) and pass it on.

argon2-cffi (and its parameters, ``OWASP_PARAMETERS`` and ``TEST_PARAMETERS``) is imported
at the first hash, verification or use of a parameter: a service whose passwords nobody
checks (API tokens, or anonymous writes only) never needs it (0.4 MB; docs/benchmarks.md,
"Start-up and idle memory, continued").
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import Parameters, PasswordHasher

__all__ = [
    "DEFAULT_HASHER",
    "DUMMY_HASH",
    "OWASP_PARAMETERS",
    "TEST_PARAMETERS",
    "Hasher",
    "hash_password",
    "needs_rehash",
    "normalize",
    "verify_password",
    "verify_unknown_user",
]

OWASP_PARAMETERS: Parameters
"""OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1 (16-byte salt,
32-byte hash: argon2-cffi's defaults, RFC 9106's recommendation)."""

TEST_PARAMETERS: Parameters
"""The cheapest argon2id: for test suites only, never for stored passwords."""


@functools.cache
def _parameters() -> dict[str, Parameters]:
    from argon2 import Parameters, Type

    owasp = Parameters(
        type=Type.ID,
        version=19,
        salt_len=16,
        hash_len=32,
        time_cost=2,
        memory_cost=19456,  # KiB: 19 MiB
        parallelism=1,
    )
    return {
        "OWASP_PARAMETERS": owasp,
        # memory_cost in KiB: argon2's minimum (8 x parallelism)
        "TEST_PARAMETERS": dataclasses.replace(owasp, time_cost=1, memory_cost=8),
    }


def __getattr__(name: str) -> Parameters:
    """``OWASP_PARAMETERS`` and ``TEST_PARAMETERS``, made with argon2 when first asked for."""
    if name not in ("OWASP_PARAMETERS", "TEST_PARAMETERS"):  # the import system asks too
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _parameters()[name]


DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$4Espw+ZmCRgDSAbhohhUMQ"
    "$GpxF54gIih0NftaP9Vw3hG/mRxoFMS2ljuRuKMpRxzk"
)
"""A hash with OWASP's parameters of a random password nobody kept: what an unknown
user's login is verified against. Public on purpose: ``verify_unknown_user`` returns
``False`` whatever it verifies to."""


def normalize(password: str) -> str:
    """The password as it is hashed and counted: NFKC (NIST SP 800-63B-4, 3.1.1.2)."""
    return unicodedata.normalize("NFKC", password)


class Hasher:
    """Hashes and verifies passwords with one set of argon2id parameters (``None``:
    OWASP's, found at first use)."""

    def __init__(self, parameters: Parameters | None = None) -> None:
        if parameters is not None:
            _check(parameters)
        self._given = parameters

    @functools.cached_property
    def parameters(self) -> Parameters:
        return self._given if self._given is not None else _parameters()["OWASP_PARAMETERS"]

    @functools.cached_property
    def _hasher(self) -> PasswordHasher:
        from argon2 import PasswordHasher

        return PasswordHasher.from_parameters(self.parameters)

    @functools.cached_property
    def dummy_hash(self) -> str:
        """What an unknown user's password is verified against: it must cost what a real
        hash costs, so it has the same parameters. Made on first use: a hasher that never
        meets an unknown user (recovery codes') need not spend a hash at start-up."""
        if self.parameters == _parameters()["OWASP_PARAMETERS"]:
            return DUMMY_HASH
        return self._hasher.hash(secrets.token_urlsafe(32))

    @classmethod
    def for_tests(cls) -> Hasher:
        """A hasher with ``TEST_PARAMETERS``: microseconds per hash instead of ~50 ms."""
        return cls(_parameters()["TEST_PARAMETERS"])

    def hash(self, password: str) -> str:
        """The PHC string of ``password`` (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``).

        Raises ``ValueError`` if the password cannot be encoded as UTF-8 (a lone
        surrogate); the password policy refuses such passwords first.
        """
        return self._hasher.hash(normalize(password).encode("utf-8"))

    def verify(self, phc: str, password: str) -> bool:
        """Whether ``password`` matches ``phc``; ``False`` also for a malformed hash or a
        password that is not valid text, never an exception."""
        from argon2.exceptions import Argon2Error

        try:
            return self._hasher.verify(phc, normalize(password).encode("utf-8"))
        except (Argon2Error, ValueError):
            # VerifyMismatchError (wrong password), VerificationError (a hash argon2 could
            # not decode), InvalidHashError and UnicodeError (both ValueErrors: not a PHC
            # string, or a password with lone surrogates).
            return False

    def needs_rehash(self, phc: str) -> bool:
        """Whether ``phc`` was made with other parameters than this hasher's (then store
        a new hash after a successful login). ``True`` for a malformed hash too."""
        from argon2 import extract_parameters

        try:
            return extract_parameters(phc) != self.parameters
        except ValueError:
            return True

    def verify_unknown_user(self, password: str) -> bool:
        """Spend the time of one verification and return ``False``: the login of an
        unknown username then takes as long as a wrong password."""
        self.verify(self.dummy_hash, password)
        return False


def _check(parameters: Parameters) -> None:
    from argon2 import Type

    if parameters.type is not Type.ID:
        raise ValueError("passwords are hashed with argon2id only")


DEFAULT_HASHER = Hasher()
"""OWASP's parameters: what the module functions use."""


def hash_password(password: str) -> str:
    """The argon2id PHC string of ``password`` with OWASP's parameters."""
    return DEFAULT_HASHER.hash(password)


def verify_password(phc: str, password: str) -> bool:
    """Whether ``password`` matches ``phc``; never raises (``False`` when malformed)."""
    return DEFAULT_HASHER.verify(phc, password)


def needs_rehash(phc: str) -> bool:
    """Whether ``phc`` was made with other parameters than OWASP's current ones."""
    return DEFAULT_HASHER.needs_rehash(phc)


def verify_unknown_user(password: str) -> bool:
    """``False``, after as long as ``verify_password`` takes on a real hash."""
    return DEFAULT_HASHER.verify_unknown_user(password)
