"""Who may change which event: admins any, members their own, anonymous writers (when the
``anonymous_writes`` setting lets them) any, as the one user of a local service.

Another member's event is answered exactly as a missing one: ``NotFound`` with the
store's own message, so that a write never tells whether an id is taken by someone else.
The check is a ``Guard`` the store runs inside the write's transaction, on the event as
stored at that moment, so it cannot be raced.
"""

from __future__ import annotations

from eventsapi.auth.principal import Principal
from eventsapi.domain.accounts import Scope
from eventsapi.domain.events import UNSET, Event, UnsetType
from eventsapi.errors import NotFound
from eventsapi.storage.events import Guard

__all__ = ["manages", "new_owner", "ownership_guard"]


def new_owner(principal: Principal | None) -> str | UnsetType:
    """The owner of an event ``principal`` creates: their account, or none if anonymous."""
    return UNSET if principal is None else principal.user.id


def ownership_guard(principal: Principal | None) -> Guard | None:
    """A check that ``principal`` may change an event, or ``None`` if they may change any.

    Any: an anonymous writer (only there when anonymous writes are allowed) and an admin
    acting with the ``admin`` scope. An admin's API token without that scope acts as a
    member: a token gets only the power it was made for.
    """
    if principal is None or principal.can(Scope.ADMIN):
        return None
    user_id = principal.user.id

    def owned(event: Event) -> None:
        if event.owner != user_id:
            raise NotFound(f"No event with id {event.id!r}.")  # as the stores word it

    return owned


def manages(principal: Principal | None, owner: str | UnsetType, *, anonymous_writes: bool) -> bool:
    """Whether ``principal`` manages an event of ``owner``: sees all its registrations and
    may change it. An admin any, a member their own; an anonymous local client (while
    ``anonymous_writes`` lets them) those no account owns."""
    if principal is None:
        return anonymous_writes and isinstance(owner, UnsetType)
    return principal.can(Scope.ADMIN) or principal.user.id == owner
