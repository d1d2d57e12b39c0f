"""The SLO file (YAML): SLOs, their alert policy and webhook, and SLAs.

Pure apart from :func:`load_slo_config` reading a file. Reading it, with every problem
reported by its place (``slos[1].threshold_ms: ...``), all at once, is
:mod:`eventsapi.slo.config_read`; writing it, :mod:`eventsapi.slo.config_write`; the syntax
of its fields (names, durations, windows), :mod:`eventsapi.slo.config_fields`.

:func:`dump_slo_config` writes a file that :func:`parse_slo_config` reads back to the same
:class:`SLOConfig`, with comments that explain each field (what ``eventsapi slo init``
writes). The schema is version 1::

    version: 1                   # required
    slos:                        # required (may be empty)
      - name: availability       # required: lower-case letters, digits, '-' (63 at most)
        description: ...         # optional
        kind: availability       # required: availability | latency
        target: 0.999            # required: strictly between 0 and 1
        window: 30d              # optional (30d): <N>d | month | quarter
        routes: all              # optional (all): or [{route: /events/{id}, methods: [GET]}]
        threshold_ms: 300        # latency only, required there: one of LATENCY_BOUNDS_MS
    alerting:                    # optional: DEFAULT_ALERT_POLICY, no webhook
      min_requests: 100          # optional (100)
      webhook: null              # optional: an http(s) URL
      rules: [...]               # optional (table 5-8); [] = no alerts
    sla: [...]                   # optional (none)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec

from eventsapi.errors import ConfigurationError
from eventsapi.slo.config_fields import (
    FORMAT_VERSION,
    check_slo_name,
    check_webhook,
    format_duration,
    format_window,
    parse_duration,
    parse_window,
)
from eventsapi.slo.sla import CreditTier, SLAContract
from eventsapi.slo.spec import DEFAULT_ALERT_POLICY, AlertPolicy, SLOSpec, default_slos

__all__ = [
    "FORMAT_VERSION",
    "SLOConfig",
    "check_slo_name",
    "default_config",
    "dump_slo_config",
    "format_duration",
    "format_window",
    "load_slo_config",
    "parse_duration",
    "parse_slo_config",
    "parse_window",
    "read_yaml",
]


class SLOConfig(msgspec.Struct, frozen=True):
    """Everything the SLO file says.

    ``descriptions`` maps an SLO's name to its description, for people (SLOs without one are
    absent). ``webhook`` receives a JSON POST per alert transition; ``None``: log only.
    """

    slos: tuple[SLOSpec, ...]
    policy: AlertPolicy = DEFAULT_ALERT_POLICY
    webhook: str | None = None
    contracts: tuple[SLAContract, ...] = ()
    descriptions: Mapping[str, str] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "slos", tuple(self.slos))
        msgspec.structs.force_setattr(self, "contracts", tuple(self.contracts))
        msgspec.structs.force_setattr(
            self,
            "descriptions",
            MappingProxyType({name: text for name, text in self.descriptions.items() if text}),
        )
        names = [slo.name for slo in self.slos]
        if len(set(names)) != len(names):
            raise ValueError("SLO names are unique")
        for name in self.descriptions:
            if name not in names:
                raise ValueError(f"a description for {name!r}, which is no SLO")
        for contract in self.contracts:
            if contract.slo not in names:
                raise ValueError(f"an SLA for {contract.slo!r}, which is no SLO")
        if self.webhook is not None:
            check_webhook(self.webhook)

    def slo(self, name: str) -> SLOSpec:
        """The SLO called ``name``; ``KeyError`` if there is none."""
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise KeyError(name)

    def description(self, name: str) -> str:
        """The description of SLO ``name``, ``""`` if it has none."""
        return self.descriptions.get(name, "")


def _standard_credits(first: float, second: float, third: float) -> tuple[CreditTier, ...]:
    return (CreditTier(first, 10.0), CreditTier(second, 25.0), CreditTier(third, 100.0))


def default_config() -> SLOConfig:
    """What applies without an SLO file: :func:`default_slos`, the table 5-8 alerts, no
    webhook, and a monthly SLA on each SLO with 10 / 25 / 100 % credit tiers."""
    return SLOConfig(
        slos=default_slos(),
        policy=DEFAULT_ALERT_POLICY,
        webhook=None,
        contracts=(
            SLAContract("availability", "month", 0.999, _standard_credits(0.999, 0.99, 0.95)),
            SLAContract("latency", "month", 0.99, _standard_credits(0.99, 0.95, 0.90)),
        ),
        descriptions={
            "availability": "Requests answered without a server error",
            "latency": "Requests answered within 300 ms",
        },
    )


# The reader and the writer import PyYAML (about 1 MB) when first used: a service with the
# built-in SLOs never reads YAML (docs/benchmarks.md, "Idle memory and start-up").


def read_yaml(text: str, source: str, *, many: bool = False) -> Any:
    """The YAML document in ``text`` (``config_read.read_yaml``)."""
    from eventsapi.slo import config_read

    return config_read.read_yaml(text, source, many=many)


def dump_slo_config(config: SLOConfig) -> str:
    """``config`` as an SLO file (``config_write.dump_slo_config``)."""
    from eventsapi.slo import config_write

    return config_write.dump_slo_config(config)


def parse_slo_config(text: str, source: str) -> SLOConfig:
    """The :class:`SLOConfig` that ``text`` (an SLO file) describes.

    ``ConfigurationError`` listing every problem with its place (``slos[1].threshold_ms:
    ...``); ``source`` (the file's name) starts the message.
    """
    from eventsapi.slo.config_read import parse_file

    return SLOConfig(*parse_file(text, source))


def load_slo_config(path: Path | None) -> SLOConfig:
    """The SLO file at ``path``; :func:`default_config` for ``None``.

    ``ConfigurationError`` if the file cannot be read or is not valid.
    """
    if path is None:
        return default_config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot read the SLO file {path}: {exc.strerror or exc}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"The SLO file {path} is not UTF-8 text: {exc}") from None
    return parse_slo_config(text, str(path))
