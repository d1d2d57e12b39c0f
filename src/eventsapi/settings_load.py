"""Where settings come from: CLI > ``EVENTSAPI_*`` environment > TOML file > defaults.

The schema and its checks are :class:`eventsapi.settings.Settings`; this only gathers the
values and hands them to msgspec to convert.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import msgspec

from eventsapi.errors import ConfigurationError
from eventsapi.settings import CONFIG_ENV, ENV_PREFIX, RESOLVED_SETTINGS_ENV, Settings
from eventsapi.settings_info import schema

__all__ = ["load_settings"]

_NOT_SETTINGS: Final = (CONFIG_ENV, RESOLVED_SETTINGS_ENV)

logger = logging.getLogger("eventsapi")


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    infos = schema()
    names = {info.name for info in infos}
    lists = {info.name for info in infos if info.type_name.startswith("list[")}
    found: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key not in _NOT_SETTINGS:
            name = key.removeprefix(ENV_PREFIX).lower()
            if name not in names:
                # Not an error: platforms add variables with our prefix (Kubernetes
                # service links add EVENTSAPI_SERVICE_HOST for a service named eventsapi).
                logger.warning("ignoring %s: eventsapi has no setting %r", key, name)
                continue
            if name in lists:  # comma-separated: a,b
                found[name] = [part.strip() for part in value.split(",") if part.strip()]
            else:
                found[name] = value
    return found


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the settings file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"The settings file {path} is not valid TOML: {exc}") from None


def load_settings(
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve settings: CLI > environment > file > defaults. ``None`` CLI values are unset."""
    environ = environ if environ is not None else {}
    if config_file is None and environ.get(CONFIG_ENV):
        config_file = Path(environ[CONFIG_ENV])
    merged: dict[str, Any] = {}
    if config_file is not None:
        merged.update(_from_file(config_file))
    merged.update(_from_env(environ))
    merged.update({k: v for k, v in (cli or {}).items() if v is not None})
    try:
        return msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"Invalid setting: {exc}") from None
