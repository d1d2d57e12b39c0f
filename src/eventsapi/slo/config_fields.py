"""The SLO file's fields: names, durations, windows, shares, URLs, methods and routes.

Each ``check_*`` and ``parse_*`` returns its value, or raises ``ValueError`` saying what the
field takes; the reader (:mod:`eventsapi.slo.config_read`) adds the field's place.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from urllib.parse import urlsplit

from eventsapi.domain.sli import bound_index
from eventsapi.slo.spec import CalendarWindow, RollingWindow, Window

__all__ = [
    "FORMAT_VERSION",
    "check_credit",
    "check_methods",
    "check_route_template",
    "check_share",
    "check_slo_name",
    "check_threshold",
    "check_webhook",
    "format_duration",
    "format_window",
    "parse_duration",
    "parse_window",
]

FORMAT_VERSION = 1
"""The version of the SLO file's format this code reads and writes."""

_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_DURATION = re.compile(r"([1-9][0-9]{0,8})([mhdw])")
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_ROLLING = re.compile(r"([1-9][0-9]{0,5})d")
_METHOD = re.compile(r"[A-Za-z]+")


def check_slo_name(name: str) -> str:
    """``name`` if it can name an SLO: what a DNS label (and OpenSLO's metadata.name) allows,
    lower-case letters, digits and ``-``, 63 at most, starting and ending alphanumeric."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an SLO name: use lower-case letters, digits and '-' "
            "(at most 63, starting and ending with a letter or digit)"
        )
    return name


def parse_duration(text: str) -> timedelta:
    """``5m``, ``1h``, ``3d`` or ``1w`` as a timedelta (whole minutes, at least one)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"a duration is a whole number and a unit, m, h, d or w (5m, 1h, 3d), not {text!r}"
        )
    return int(match[1]) * _UNITS[match[2]]


def format_duration(value: timedelta) -> str:
    """The shortest spelling :func:`parse_duration` reads back (``1d``, ``6h``, ``30m``)."""
    for unit in ("d", "h", "m"):
        count, rest = divmod(value, _UNITS[unit])
        if not rest and count >= 1:
            return f"{count}{unit}"
    raise ValueError(f"a duration is whole minutes, at least one, not {value}")


def parse_window(text: str) -> Window:
    """``30d`` (rolling, whole days), ``month`` or ``quarter`` (calendar, UTC)."""
    text = text.strip()
    if text in ("month", "quarter"):
        return CalendarWindow(text)  # type: ignore[arg-type]  # narrowed by the test above
    match = _ROLLING.fullmatch(text)
    if match is None:
        raise ValueError(
            f"a window is rolling, <N>d (30d), or calendar, month or quarter; not {text!r}"
        )
    return RollingWindow(int(match[1]))


def format_window(window: Window) -> str:
    """How the SLO file spells ``window``."""
    if isinstance(window, RollingWindow):
        return f"{window.days}d"
    return window.period


def check_share(value: float) -> float:
    if not math.isfinite(value) or not 0 < value < 1:
        raise ValueError(f"strictly between 0 and 1 (0.999 is 99.9 %), not {value!r}")
    return value


def check_credit(value: float) -> float:
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(f"a percentage of the period's fee, 0 to 100, not {value!r}")
    return value


def check_webhook(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the webhook is an http:// or https:// URL, not {url!r}")
    return url


def check_threshold(value: float) -> float:
    bound_index(value)
    return float(value)


def check_methods(methods: list[str]) -> frozenset[str]:
    for method in methods:
        if not _METHOD.fullmatch(method):
            raise ValueError(f"an HTTP method is letters only (GET, HEAD), not {method!r}")
    return frozenset(method.upper() for method in methods)


def check_route_template(template: str) -> str:
    if not template.startswith("/"):
        raise ValueError(f"a route template starts with '/' (/events/{{id}}), not {template!r}")
    return template
