"""Writing the SLO file: each field explained by a comment where it first appears.

What ``eventsapi slo init`` writes; :func:`~eventsapi.slo.config.parse_slo_config` reads it
back to an equal :class:`~eventsapi.slo.config.SLOConfig`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import yaml

from eventsapi.domain.sli import LATENCY_BOUNDS_MS
from eventsapi.slo.config_fields import FORMAT_VERSION, format_duration, format_window

if TYPE_CHECKING:
    from eventsapi.slo.config import SLOConfig

__all__ = ["dump_slo_config"]


def _plain(value: object) -> object:
    """Whole floats as integers (``burn_rate: 6``, ``credit: 10``); parsing reads them back
    as equal floats."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _one_line(value: object) -> str:
    """``value`` as one line of YAML (a scalar, or a flow list or mapping), quoted as needed."""
    options: dict[str, Any] = {
        "default_flow_style": True,
        "allow_unicode": True,
        "width": math.inf,
        "sort_keys": False,
    }
    text = str(yaml.safe_dump(_plain(value), **options))
    text = text.removesuffix("\n").removesuffix("\n...")
    if "\n" in text:  # a string YAML would spread over lines: double quotes keep it on one
        text = str(yaml.safe_dump(_plain(value), default_style='"', **options))
        text = text.removesuffix("\n")
    return text


class _Writer:
    """Lines of YAML, each field explained by a comment the first time it appears."""

    COLUMN = 36

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._explained: set[str] = set()

    def line(self, text: str, key: str = "", comment: str = "") -> None:
        if comment and key not in self._explained:
            self._explained.add(key)
            text = f"{text:<{self.COLUMN - 2}}  # {comment}"
        self.lines.append(text)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


_BOUNDS = ", ".join(map(str, LATENCY_BOUNDS_MS))


def _write_slos(out: _Writer, config: SLOConfig) -> None:
    out.line("# Each SLO promises a share of good requests over a window; its error budget is")
    out.line("# the rest (99.9 % over 30 days lets 0.1 % of the requests fail). Errors are the")
    out.line("# statuses of the setting sli_error_statuses (5xx by default). A latency threshold")
    out.line("# is one of the latency histogram's bounds, in milliseconds:")
    out.line(f"# {_BOUNDS}.")
    if not config.slos:
        out.line("slos: []", "slos", "no SLOs: nothing is measured against a target")
        return
    out.line("slos:")
    for slo in config.slos:
        out.line(
            f"  - name: {_one_line(slo.name)}", "name", "unique: lower-case letters, digits, '-'"
        )
        if description := config.description(slo.name):
            out.line(f"    description: {_one_line(description)}", "description", "for people")
        out.line(
            f"    kind: {slo.kind.value}",
            "kind",
            "availability: not an error status | latency: fast enough",
        )
        if slo.threshold_ms is not None:
            out.line(
                f"    threshold_ms: {_one_line(slo.threshold_ms)}",
                "threshold_ms",
                "ms; a request answered within it is good",
            )
        out.line(
            f"    target: {_one_line(slo.target)}",
            "target",
            "share of good requests (0.999 = 99.9 %)",
        )
        out.line(
            f"    window: {format_window(slo.window)}",
            "window",
            "rolling: <N>d ; calendar (UTC): month | quarter",
        )
        if slo.routes == "all":
            out.line(
                "    routes: all",
                "routes",
                "all, or a list of {route: /events/{id}, methods: [GET]}",
            )
        else:
            out.line("    routes:", "routes", "no methods: every method of the route")
            for route in slo.routes:
                fields: dict[str, object] = {"route": route.template}
                if route.methods:
                    fields["methods"] = sorted(route.methods)
                out.line(f"      - {_one_line(fields)}")


def _write_alerting(out: _Writer, config: SLOConfig) -> None:
    out.line("")
    out.line("# Multiwindow, multi-burn-rate alerts, evaluated for every SLO. A rule fires when")
    out.line("# the burn rate over both its windows reaches burn_rate (1 = spending the budget")
    out.line("# exactly by the end of the window). Defaults: SRE Workbook, table 5-8.")
    out.line("alerting:")
    out.line(
        f"  min_requests: {config.policy.min_requests}",
        "min_requests",
        "fire only with this many requests in the long window",
    )
    out.line(
        f"  webhook: {_one_line(config.webhook)}",
        "webhook",
        "http(s) URL: a JSON POST per alert transition; null: log only",
    )
    if not config.policy.rules:
        out.line("  rules: []", "rules", "no alert rules")
        return
    out.line("  rules:", "rules", "severity: page | ticket; windows: 5m, 1h, 3d")
    for rule in config.policy.rules:
        fields = {
            "name": rule.name,
            "severity": rule.severity,
            "long_window": format_duration(rule.long_window),
            "short_window": format_duration(rule.short_window),
            "burn_rate": rule.burn_rate,
        }
        out.line(f"    - {_one_line(fields)}")


def _write_sla(out: _Writer, config: SLOConfig) -> None:
    out.line("")
    out.line("# Service level agreements, measured per calendar period by `eventsapi sla report`.")
    out.line("# When compliance misses the target, the largest credit among the tiers whose")
    out.line("# `below` is above the compliance is owed.")
    if not config.contracts:
        out.line("sla: []", "sla", "no SLAs")
        return
    out.line("sla:")
    for contract in config.contracts:
        out.line(f"  - slo: {_one_line(contract.slo)}", "slo", "the SLO whose requests count")
        out.line(f"    period: {contract.period}", "period", "month | quarter (calendar, UTC)")
        out.line(
            f"    target: {_one_line(contract.target)}",
            "sla.target",
            "compliance promised per period",
        )
        if not contract.credits:
            out.line("    credits: []", "credits", "nothing owed when the target is missed")
            continue
        out.line(
            "    credits:",
            "credits",
            "compliance below `below` owes `credit` % of the fee",
        )
        for tier in contract.credits:
            out.line(f"      - {_one_line({'below': tier.below, 'credit': tier.credit})}")


def dump_slo_config(config: SLOConfig) -> str:
    """``config`` as an SLO file, each field explained by a comment where it first appears.

    :func:`parse_slo_config` reads it back to an equal :class:`SLOConfig`.
    """
    out = _Writer()
    out.line("# eventsapi SLO file: service level objectives, their alerts, and SLAs.")
    out.line("# `eventsapi slo check FILE` validates it; an unknown key is an error, so a typo")
    out.line("# cannot pass unnoticed. Durations are whole minutes: 5m, 1h, 3d.")
    out.line(f"version: {FORMAT_VERSION}", "version", "the format of this file")
    out.line("")
    _write_slos(out, config)
    _write_alerting(out, config)
    _write_sla(out, config)
    return out.text()
