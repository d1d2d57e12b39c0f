"""The optional parts of eventsapi, installed as pip extras: the PostgreSQL driver
(``eventsapi[postgres]``) and the Redis client (``eventsapi[redis]``). A plain install runs
on SQLite with limits kept in each process; the container image has both extras.

Asking for what an extra provides without it installed is a one-line configuration error
naming the extra, at start-up (``settings_values.py``) and wherever a database URL is
opened (``storage.load``), rather than an ``ImportError``'s traceback at first use.
"""

from __future__ import annotations

import importlib.util
from typing import Final

from eventsapi.errors import ConfigurationError

__all__ = ["EXTRAS", "require"]

EXTRAS: Final = {
    "postgres": ("psycopg", "psycopg_pool"),
    "redis": ("redis",),
}
"""Each extra's importable modules."""


def require(extra: str, what: str) -> None:
    """``ConfigurationError`` unless ``extra``'s modules are installed; ``what`` names the
    setting that asks for it."""
    missing = [module for module in EXTRAS[extra] if importlib.util.find_spec(module) is None]
    if missing:
        raise ConfigurationError(
            f"{what} needs the optional {extra} support, which is not installed "
            f"(no {', '.join(missing)}): pip install 'eventsapi[{extra}]'"
        )
