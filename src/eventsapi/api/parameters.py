"""Query parameters as every route reads them: known names only, each once, and bounded
whole numbers. A client's mistake is a 400 naming the parameter (``BadRequest``).

The one exception is ``_``, the cache buster jQuery (``cache: false``) and some proxies and
monitoring tools append (``?_=1714000000000``): it is accepted, any number of times, and
ignored, so that such clients work; it is left out of the OpenAPI document, as no client
needs to send it."""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import QueryParams

from eventsapi.errors import BadRequest

__all__ = ["CACHE_BUSTER", "single_values", "whole_number"]

CACHE_BUSTER = "_"


def single_values(
    query: QueryParams, allowed: Collection[str], *, repeatable: Collection[str] = ()
) -> dict[str, str]:
    """The value of each parameter given, by name: a name not in ``allowed`` or
    ``repeatable``, or one of ``allowed`` given twice, is refused. ``repeatable`` ones are
    left out (the caller reads them with ``getlist``), as is the cache buster."""
    found: dict[str, str] = {}
    for name, value in query.multi_items():
        if name in repeatable or name == CACHE_BUSTER:
            continue
        if name not in allowed:
            raise BadRequest(f"Unknown query parameter {name!r}.", parameter=name)
        if name in found:
            raise BadRequest(f"{name} may be given only once.", parameter=name)
        found[name] = value
    return found


def whole_number(name: str, value: str, low: int, high: int) -> int:
    """``value`` as a whole number from ``low`` to ``high``, written in ASCII digits."""
    # The length first: int() of thousands of digits is slow, and past 4,300 it raises.
    if not (len(value) <= len(str(high)) and value.isascii() and value.isdigit()) or not (
        low <= int(value) <= high
    ):
        raise BadRequest(f"{name} must be a whole number from {low} to {high}.", parameter=name)
    return int(value)
