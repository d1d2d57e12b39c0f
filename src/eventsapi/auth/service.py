"""Accounts as the API and the command line offer them, in three parts by who acts:

- ``signin`` (``SignIn``, ``auth/signin.py``): logging in and out, and who sends a token;
- ``own`` (``OwnAccount``, ``auth/own_account.py``): what signed-in users do with their own
  account (sessions, password, two-step verification, API tokens, audit log);
- ``admin`` (``Administration``, ``auth/administration.py``): what an admin or the
  operator (one ``Actor``) does to accounts (create, list, unlock, change roles).

No HTTP; all I/O through the store passed in. Every method returns domain objects
(``domain/accounts.py``) and raises the errors of ``errors.py``; the HTTP layer maps them.
The parts share one ``AccountCore`` (``auth/core.py``: ids, the audit log, hashing) and
count password checks alike (``auth/attempts.py``). What the rules are, and where they
come from, is in the modules these combine (``passwords``, ``password_policy``,
``throttle``, ``sessions``, ``totp``, ``recovery``, ``tokens``); each part's docstring
says the decisions made there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final

from eventsapi.auth.administration import Administration
from eventsapi.auth.attempts import Attempts
from eventsapi.auth.core import AccountCore
from eventsapi.auth.hashing import HashingGate
from eventsapi.auth.own_account import MAX_AUDIT_PAGE, MAX_TOKEN_NAME, OwnAccount
from eventsapi.auth.passwords import DEFAULT_HASHER, Hasher
from eventsapi.auth.principal import Principal
from eventsapi.auth.sessions import SessionPolicy
from eventsapi.auth.signin import TOKEN_USE_AUDIT_INTERVAL, SignIn
from eventsapi.auth.store import AccountStore
from eventsapi.auth.throttle import ClientBudget
from eventsapi.auth.usernames import normalize_username
from eventsapi.clock import Clock, system_clock

__all__ = [
    "ENDED_KEPT",
    "MAX_AUDIT_PAGE",
    "MAX_TOKEN_NAME",
    "TOKEN_USE_AUDIT_INTERVAL",
    "AccountService",
    "Principal",
    "normalize_username",
]

ENDED_KEPT: Final = timedelta(days=30)
"""How long sessions and API tokens are kept after they end (expire or are revoked):
expired tokens stay in their owner's list for that long, then ``prune_ended`` deletes
them (the audit log keeps what happened)."""


class AccountService:
    """Accounts on top of a store. One instance per process; any number of processes
    (replicas) may share a database: every decision reads the database; only the
    admission to password hashing is per process.

    ``hasher``: ``Hasher.for_tests()`` makes passwords cost microseconds in tests.
    ``hashing``: how many argon2 computations run and wait at once (each takes 19 MiB),
    per process and per client address (``HashingGate``).
    ``on_hash``: called with ``"verify"`` or ``"hash"`` for each argon2 computation of a
    password (the ``/metrics`` counter).
    """

    def __init__(
        self,
        store: AccountStore,
        clock: Clock = system_clock,
        *,
        hasher: Hasher = DEFAULT_HASHER,
        session_policy: SessionPolicy | None = None,
        client_budget: ClientBudget | None = None,
        hashing: HashingGate | None = None,
        on_hash: Callable[[str], None] | None = None,
    ) -> None:
        self._core = AccountCore(
            store,
            clock,
            hasher=hasher,
            session_policy=session_policy or SessionPolicy(),
            client_budget=client_budget or ClientBudget(),
            hashing=hashing or HashingGate(),
            on_hash=on_hash,
        )
        attempts = Attempts(self._core)
        self.signin = SignIn(self._core, attempts)
        self.own = OwnAccount(self._core, attempts)
        self.admin = Administration(self._core)

    @property
    def session_policy(self) -> SessionPolicy:
        return self._core.session_policy

    @property
    def hashing(self) -> HashingGate:
        return self._core.hashing

    async def prune_ended(self) -> tuple[int, int]:
        """Delete the sessions and API tokens that ended over ``ENDED_KEPT`` ago; how many
        of each went."""
        return await self._core.store.prune_ended(self._core.clock() - ENDED_KEPT)
