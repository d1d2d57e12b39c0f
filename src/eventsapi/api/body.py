"""Reading request bodies: media type first, then size, then bytes."""

from __future__ import annotations

from starlette.requests import Request

from eventsapi.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


def media_type(request: Request) -> str | None:
    """The request's media type without parameters, lower-cased; ``None`` if absent."""
    raw = request.headers.get("content-type")
    if raw is None:
        return None
    return raw.split(";", 1)[0].strip().lower()


async def read_body(request: Request, *, accepted: tuple[str, ...], limit: int) -> bytes:
    """The body, if its media type is accepted and it is at most ``limit`` bytes.

    A missing ``Content-Type`` is read as the first accepted type (RFC 9110
    section 8.3 lets a recipient assume one); any other type gets 415.
    """
    given = media_type(request)
    if given is not None and given not in accepted:
        raise UnsupportedMediaType(
            f"Content-Type {given!r} is not accepted here; send one of: "
            f"{', '.join(accepted)} (with curl: -H 'Content-Type: {accepted[0]}').",
            accepted=accepted,
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is {declared} bytes; at most {limit} are accepted.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is over {limit} bytes.")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise BadRequest("The request body is empty; send a JSON document.")
    return body
