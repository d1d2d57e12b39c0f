"""The second factor of a login: a TOTP code or a recovery code, checked and then spent.

Checking and spending are two steps. ``check`` does the work that takes time (argon2 for a
recovery code) on the user as read, outside any transaction; it returns a ``Proof``. The
proof is then spent inside the transaction that records the login (``store.update_user``):
``holds`` re-checks it against the row as it is now, a compare-and-set, so of two requests
racing with one code only one wins, and ``spend`` stores what makes the code unusable (the
TOTP step as ``totp_last_step``, or the recovery code's hash removed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import anyio.to_thread
import msgspec

from eventsapi.auth import recovery, totp
from eventsapi.domain.accounts import User

__all__ = ["Proof", "check"]


class Proof(msgspec.Struct, frozen=True):
    """A second factor that was right for the user as read.

    ``kind``: which one; ``step``: the TOTP step it matched; ``spent_code``: the stored hash
    of the recovery code it matched.
    """

    kind: Literal["totp", "recovery_code"]
    secret: str
    step: int | None = None
    spent_code: str | None = None

    def holds(self, current: User) -> bool:
        """Whether the proof is still good for ``current``: the same secret, and the step
        or the recovery code not used since it was checked."""
        if not current.totp_enabled or current.totp_secret != self.secret:
            return False
        if self.step is not None:
            return current.totp_last_step is None or self.step > current.totp_last_step
        return self.spent_code in current.recovery_codes

    def spend(self, current: User) -> User:
        """``current`` with the code used up (call only when ``holds(current)``)."""
        if self.step is not None:
            return msgspec.structs.replace(current, totp_last_step=self.step)
        remaining = tuple(code for code in current.recovery_codes if code != self.spent_code)
        return msgspec.structs.replace(current, recovery_codes=remaining)


async def check(user: User, code: str, now: datetime) -> Proof | None:
    """A proof if ``code`` is a TOTP code or an unused recovery code of ``user`` at ``now``.

    Six digits are only ever a TOTP code (recovery codes have ten characters), so a wrong
    one costs no argon2 verification.
    """
    secret = user.totp_secret
    if not user.totp_enabled or secret is None:
        return None
    step = totp.verify(secret, code, now, user.totp_last_step)
    if step is not None:
        return Proof("totp", secret, step=step)
    if _looks_like_totp(code):
        return None
    remaining = await anyio.to_thread.run_sync(recovery.use_code, user.recovery_codes, code)
    if remaining is None:
        return None
    [spent] = [stored for stored in user.recovery_codes if stored not in remaining]
    return Proof("recovery_code", secret, spent_code=spent)


def _looks_like_totp(code: str) -> bool:
    typed = "".join(code.split())
    return len(typed) == totp.DIGITS and typed.isascii() and typed.isdigit()
