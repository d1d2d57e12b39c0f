"""Import and export of events, as every backend does them: the outcome rule, written once.

An import stores events as they are (ids, times and versions too): all of them, or none, in
one transaction. Each backend reads the events one at a time inside its transaction and asks
``Tally.take`` what to do with each; ``Tally.result`` and ``Tally.keeps`` then say what was done
and whether it is kept. See the CLI's protocol (``cli/stores.py``) for the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

OnConflict = Literal["error", "skip", "replace"]
"""What ``import_events`` does with an event whose id is taken (see there)."""

Step = Literal["insert", "replace", "conflict"]
"""What an import does with one event."""


class ImportResult(msgspec.Struct, frozen=True):
    """What ``import_events`` did, or would have done when ``committed`` is false."""

    imported: int = 0
    """Events stored under ids that were free."""
    replaced: int = 0
    """Stored events replaced by an imported one (``on_conflict="replace"``)."""
    skipped: int = 0
    """Imported events left out because their id is taken (``on_conflict="skip"``)."""
    conflicts: tuple[str, ...] = ()
    """The taken ids that were not stored (``"error"`` and ``"skip"``), in the order met."""
    committed: bool = True
    """Whether the import was stored; when false, nothing at all was."""


class Tally(msgspec.Struct):
    """The outcome rule of one import, fed one event at a time."""

    on_conflict: OnConflict
    imported: int = 0
    replaced: int = 0
    conflicts: list[str] = msgspec.field(default_factory=list)

    def take(self, event_id: str, *, taken: bool) -> Step:
        """What to do with the event ``event_id`` (whose id is ``taken`` or free), counted."""
        if not taken:
            self.imported += 1
            return "insert"
        if self.on_conflict == "replace":
            self.replaced += 1
            return "replace"
        self.conflicts.append(event_id)
        return "conflict"

    def result(self) -> ImportResult:
        """What was done so far (before ``keeps`` decides whether it stays)."""
        return ImportResult(
            imported=self.imported,
            replaced=self.replaced,
            skipped=len(self.conflicts) if self.on_conflict == "skip" else 0,
            conflicts=tuple(self.conflicts),
        )

    def keeps(self, keep: Callable[[ImportResult], bool] | None) -> ImportResult:
        """The result once every event is read, ``committed`` saying whether it is stored:
        not with a conflict under ``"error"``, nor when ``keep(result)`` is false."""
        result = self.result()
        stored = not (self.on_conflict == "error" and self.conflicts) and (
            keep is None or keep(result)
        )
        return msgspec.structs.replace(result, committed=stored)
