"""Who is making a request: the user, how they proved it, and what they may do; and who
administers accounts (an ``Actor``: an admin's principal, or the operator).

A session (a login) carries every scope of its user's role. An API token carries the
scopes it was created with, but never more than its user's role has now: a token made by
an admin who is later demoted loses ``admin`` at once, without being revoked.
"""

from __future__ import annotations

from typing import Final, TypeAlias

import msgspec

from eventsapi.domain.accounts import ApiToken, Role, Scope, Session, User

__all__ = ["OPERATOR", "Actor", "Operator", "Principal", "role_scopes"]

_ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.MEMBER: frozenset({Scope.EVENTS_READ, Scope.EVENTS_WRITE}),
}


def role_scopes(role: Role) -> frozenset[Scope]:
    """Every scope a user with ``role`` has (what a session of theirs may do)."""
    return _ROLE_SCOPES[role]


class Principal(msgspec.Struct, frozen=True):
    """An authenticated caller: exactly one of ``session`` and ``token`` is set.

    ``client_address``: where the current request comes from (for the audit log); empty
    when the caller did not say.
    """

    user: User
    session: Session | None
    token: ApiToken | None
    scopes: frozenset[Scope]
    client_address: str = ""

    def __post_init__(self) -> None:
        if (self.session is None) == (self.token is None):
            raise ValueError("a principal holds exactly one of a session and an API token")

    def can(self, scope: Scope) -> bool:
        """Whether this caller may act with ``scope``."""
        return scope in self.scopes


class Operator(msgspec.Struct, frozen=True):
    """The operator on the machine (the command line), who needs no account: whoever can
    run commands there can open the database anyway. Audited with no ``by`` and no client
    address."""


OPERATOR: Final = Operator()

Actor: TypeAlias = Principal | Operator
"""Who administers accounts: an admin over the API (a principal, which needs the
``admin`` scope), or the operator on the command line."""
