"""The settings schema read back: each setting's name, type, default and help (for the docs,
``eventsapi settings`` and the CLI's options), and settings as JSON for worker processes."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec

from eventsapi.settings import ENV_PREFIX, Settings


class SettingInfo(msgspec.Struct, frozen=True):
    """One setting as documented: name, type, default, help, environment variable."""

    name: str
    type_name: str
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


def schema() -> list[SettingInfo]:
    """Every setting, in declaration order."""
    infos = []
    for field in msgspec.structs.fields(Settings):
        base, meta = field.type, None
        if get_origin(base) is Annotated:
            base, *extras = get_args(base)
            meta = next((e for e in extras if isinstance(e, msgspec.Meta)), None)
        if get_origin(base) is Literal:
            type_name = " | ".join(repr(choice) for choice in get_args(base))
        elif get_origin(base) is not None:
            type_name = str(base)  # list[str]
        else:
            type_name = getattr(base, "__name__", str(base))
        # msgspec keeps an empty-list default ([]) as a factory.
        factory = field.default_factory
        default = field.default if factory is msgspec.NODEFAULT else factory()
        infos.append(SettingInfo(field.name, type_name, default, (meta and meta.description) or ""))
    return infos


def encode(settings: Settings) -> str:
    """Settings as JSON, to hand resolved settings to worker processes."""
    return msgspec.json.encode(settings).decode()


def decode(text: str) -> Settings:
    return msgspec.json.decode(text, type=Settings)
