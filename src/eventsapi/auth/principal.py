"""Who is making a request: the user, how they proved it, and what they may do.

A session (a login) carries every scope of its user's role. An API token carries the
scopes it was created with, but never more than its user's role has now: a token made by
an admin who is later demoted loses ``admin`` at once, without being revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventsapi.domain.accounts import ApiToken, Role, Scope, Session, User

__all__ = ["Principal", "role_scopes"]

_ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.MEMBER: frozenset({Scope.EVENTS_READ, Scope.EVENTS_WRITE}),
}


def role_scopes(role: Role) -> frozenset[Scope]:
    """Every scope a user with ``role`` has (what a session of theirs may do)."""
    return _ROLE_SCOPES[role]


@dataclass(frozen=True, slots=True)
class Principal:
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
