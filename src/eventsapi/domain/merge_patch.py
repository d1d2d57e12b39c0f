"""JSON Merge Patch (RFC 7396), and its use on an event."""

from __future__ import annotations

from typing import Any

import msgspec

from eventsapi.domain.events import (
    LEGACY_KEYS,
    OWNER,
    OWNER_FIXED,
    Event,
    EventInput,
    decode_json,
    editable_document,
    parse_input,
)
from eventsapi.errors import FieldError, ValidationFailed

_MEMBERS = frozenset(field.encode_name for field in msgspec.structs.fields(EventInput))


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply ``patch`` to ``target`` as RFC 7396 section 2 defines it; inputs are not changed."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def patch_event(event: Event, body: bytes) -> EventInput:
    """The event document after applying a merge patch body, validated as a whole."""
    patch = decode_json(body)
    if not isinstance(patch, dict):
        raise ValidationFailed([FieldError("", "a merge patch for an event must be a JSON object")])
    # An unknown member set to null vanishes in the merge (it removes a member that is
    # not there), so the typo in ``{"descripton": null}`` is reported from here; the
    # other unknown members reach ``parse_input``, which reports them.
    refused = [
        FieldError(key, "unknown field")
        for key, value in patch.items()
        if value is None and key not in _MEMBERS
    ]
    # The owner may be sent back as it is (a fetched event sent as a patch), never changed;
    # ``null`` would vanish in the merge like the other server-owned members, so it is
    # refused here rather than silently ignored.
    if OWNER in patch and patch[OWNER] != event.owner:
        refused.append(FieldError(OWNER, OWNER_FIXED))
    for legacy, ours in LEGACY_KEYS.items():
        if legacy in patch:
            if ours in patch:
                raise ValidationFailed(
                    [FieldError(ours, f"given twice, as {ours!r} and as {legacy!r}")]
                )
            patch[ours] = patch.pop(legacy)
    patched = merge_patch(editable_document(event), patch)
    try:
        data = parse_input(msgspec.json.encode(patched))
    except ValidationFailed as exc:
        raise ValidationFailed(refused + exc.errors) from None
    if refused:
        raise ValidationFailed(refused)
    return data
