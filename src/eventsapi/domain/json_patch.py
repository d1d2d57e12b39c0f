"""JSON Patch (RFC 6902), and its use on an event.

A patch applies to the event as clients see it: every member, the server's own
included, so ``{"op": "test", "path": "/version", "value": 3}`` checks the version
before anything changes. The patched document must keep ``id``, ``version``,
``created_at``, ``updated_at`` and ``owner`` as they were (an event without an owner
must stay without one), and is then checked as every write is (``parse_input``):
removing an optional member clears it, removing ``title`` is refused. The counts GET
shows beside the event (``registered``, ``waitlisted``, ``spots_left``) are not members
of the event: they change without a new version, so a patch that tests one finds no such
member (409), and one that adds one is refused as a change to a server-owned member.

The operations are the ``jsonpatch`` library's. This module checks the whole patch
document first (a malformed one changes nothing, RFC 6902 section 3), then applies
it one operation at a time so that a failure names its operation, counted from 0 as
the patch's own JSON Pointers count: ``operation 2`` is ``/2`` of the patch.

- a malformed patch document: :class:`BadRequest`;
- a ``test`` that does not hold: :class:`PatchTestFailed`;
- a location the event does not have (a member to remove, replace, move or copy,
  the parent to add into, an index past the end of an array): :class:`PatchConflict`;
- a patched event that breaks a rule: :class:`ValidationFailed`.

A patch can build values no event can hold: ``copy`` can double the document at each
operation, so copies adding more than :data:`MAX_COPIED` values in all are refused
before they are made, and a document nested too deeply to copy or encode is refused
as well (:class:`BadRequest`).
"""

from __future__ import annotations

from typing import Any, Final

import jsonpatch
import msgspec
from jsonpointer import EndOfList, JsonPointer, JsonPointerException

from eventsapi.domain.events import (
    COUNTS,
    SERVER_OWNED,
    Event,
    EventInput,
    decode_json,
    parse_input,
)
from eventsapi.errors import (
    BadRequest,
    FieldError,
    PatchConflict,
    PatchTestFailed,
    ValidationFailed,
)

FIXED: Final = ("id", *SERVER_OWNED, *COUNTS)
"""The members a patch must leave as they are."""
MAX_COPIED: Final = 10_000
"""How many values the ``copy`` operations of one patch may add in all."""

_MEMBERS: Final = {
    "add": ("path", "value"),
    "remove": ("path",),
    "replace": ("path", "value"),
    "move": ("from", "path"),
    "copy": ("from", "path"),
    "test": ("path", "value"),
}
_MISSING: Final = object()
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def patch_event_json(current: Event, body: bytes) -> EventInput:
    """The event document after applying a JSON Patch body, validated as a whole."""
    try:
        patch = decode_json(body)
    except RecursionError:
        raise BadRequest("The body nests too deeply to be read.") from None
    operations = _operations(patch)
    # as clients see it: the JSON they GET (to_builtins would keep tags a tuple)
    document: Any = _decode(_encode(current))
    fixed = {key: document.get(key, _MISSING) for key in FIXED}
    patched = _apply(document, operations)
    errors = _fixed_changes(fixed, patched)
    try:
        encoded = msgspec.json.encode(patched)
    except RecursionError:
        raise BadRequest("The patched event nests too deeply.") from None
    try:
        data = parse_input(encoded)
    except ValidationFailed as exc:
        reported = {error.field for error in errors}
        raise ValidationFailed(
            errors + [e for e in exc.errors if e.field not in reported]
        ) from None
    if errors:
        raise ValidationFailed(errors)
    return data


def _operations(patch: Any) -> list[dict[str, Any]]:
    """``patch`` if it is a well-formed JSON Patch document; :class:`BadRequest` if not."""
    if not isinstance(patch, list):
        raise BadRequest(f"A JSON Patch is a JSON array of operations, not {_kind(patch)}.")
    for index, operation in enumerate(patch):
        problem = _malformed(operation)
        if problem is None:
            try:
                jsonpatch.JsonPatch([operation])
            except (jsonpatch.JsonPatchException, JsonPointerException) as exc:
                problem = str(exc)
        if problem is not None:
            raise BadRequest(f"operation {index}: {problem}")
    return patch


def _malformed(operation: Any) -> str | None:
    """What is wrong with ``operation`` as an RFC 6902 operation object, if anything.

    Members other than the operation's own are ignored (RFC 6902 section 4)."""
    if not isinstance(operation, dict):
        return f"an operation is a JSON object, not {_kind(operation)}"
    if "op" not in operation:
        return "the 'op' member is missing"
    op = operation["op"]
    if not isinstance(op, str):
        return f"'op' is a string, not {_kind(op)}"
    if op not in _MEMBERS:
        return f"unknown op {_shown(op)}; RFC 6902 defines {', '.join(_MEMBERS)}"
    for member in _MEMBERS[op]:
        if member not in operation:
            return f"{op} needs a {member!r} member"
        if member in ("path", "from"):
            problem = _pointer_problem(operation[member])
            if problem is not None:
                return f"{op}: {member!r} {problem}"
    path = operation["path"]
    if op == "move" and path.startswith(operation["from"] + "/"):
        return "move: 'path' is inside 'from', and a value cannot be moved into itself"
    if op == "remove" and path == "":
        return "remove: the whole document cannot be removed"
    return None


def _pointer_problem(pointer: Any) -> str | None:
    if not isinstance(pointer, str):
        return f"is a JSON Pointer string, not {_kind(pointer)}"
    if pointer and not pointer.startswith("/"):
        return f"{_shown(pointer)} is not a JSON Pointer: it must be empty or start with '/'"
    try:
        JsonPointer(pointer)
    except JsonPointerException:
        return f"{_shown(pointer)} is not a JSON Pointer: '~' must be followed by '0' or '1'"
    return None


def _apply(document: Any, operations: list[dict[str, Any]]) -> Any:
    copied = 0
    for index, operation in enumerate(operations):
        op = operation["op"]
        if op in ("move", "copy"):
            source = _resolve(document, operation["from"])
            if source is _MISSING:
                raise PatchConflict(
                    f"operation {index}: {op}: there is nothing at 'from' "
                    f"{_shown(operation['from'])}"
                )
            if op == "copy":
                copied += _count(source, MAX_COPIED - copied)
                if copied > MAX_COPIED:
                    raise BadRequest(
                        f"operation {index}: the patch copies more than {MAX_COPIED} values "
                        "in all; no event is that large"
                    )
        try:
            document = jsonpatch.JsonPatch([operation]).apply(document, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            raise PatchTestFailed(
                f"operation {index}: test failed: {_test_failure(document, operation)}"
            ) from None
        except (jsonpatch.JsonPatchException, JsonPointerException):
            raise PatchConflict(f"operation {index}: {_conflict(document, operation)}") from None
        except RecursionError:
            raise BadRequest(f"operation {index}: the document nests too deeply") from None
    return document


def _count(value: Any, budget: int) -> int:
    """How many values ``value`` holds, itself included; counting stops past ``budget``."""
    count = 0
    pending = [value]
    while pending and count <= budget:
        item = pending.pop()
        count += 1
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def _resolve(document: Any, pointer: str) -> Any:
    """The value at ``pointer``, or ``_MISSING`` (also for the ``-`` past an array's end)."""
    found = JsonPointer(pointer).resolve(document, _MISSING)
    return _MISSING if isinstance(found, EndOfList) else found


def _test_failure(document: Any, operation: dict[str, Any]) -> str:
    path = operation["path"]
    if _resolve(document, path) is _MISSING:
        return f"there is nothing at {_shown(path)}"
    return f"the value at {_shown(path)} is not the one given"


def _conflict(document: Any, operation: dict[str, Any]) -> str:
    """Why ``operation`` could not be applied to ``document``.

    Its ``from``, if any, exists (``_apply`` checks it first), so the failure is at
    ``path``. A move that fails has already taken its value from ``from`` (RFC 6902
    section 4.4 adds it to the document without it), so ``path`` is described in
    that document, as the add saw it."""
    op, path = operation["op"], operation["path"]
    if op in ("remove", "replace"):
        return f"{op}: there is nothing at {_shown(path)}"
    parent = path.rsplit("/", 1)[0]
    container = _resolve(document, parent)
    if container is _MISSING:
        return f"{op}: there is nothing at {_shown(parent)} to add {_shown(path)} to"
    if isinstance(container, list):
        return (
            f"{op}: {_shown(path)} is not a position in {_shown(parent)} "
            f"(0 to {len(container)}, or '-' for the end)"
        )
    return f"{op}: {_shown(parent)} is {_kind(container)}, which has no members"


def _fixed_changes(fixed: dict[str, Any], patched: Any) -> list[FieldError]:
    """A field error for each member of ``fixed`` the patch changed, removed or added
    (``_MISSING``: the event has no such member)."""
    if not isinstance(patched, dict):
        return []  # parse_input reports that the document is not an object
    return [
        FieldError(
            key,
            "is set by the server and cannot be removed"
            if key not in patched
            else "is set by the server and cannot be changed",
        )
        for key, value in fixed.items()
        if (key in patched) != (value is not _MISSING)
        or (key in patched and not _same(value, patched[key]))
    ]


def _same(ours: Any, theirs: Any) -> bool:
    """JSON equality of a scalar: numbers by value, ``true`` only equal to itself."""
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours is theirs
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return ours == theirs
    return type(ours) is type(theirs) and bool(ours == theirs)


def _kind(value: Any) -> str:
    kinds = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    return kinds.get(type(value), "a number")


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short if long (it comes from the client)."""
    return repr(text if len(text) <= 60 else text[:57] + "...")
