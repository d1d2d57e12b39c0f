"""The SLO file (YAML): SLOs, their alert policy and webhook, and SLAs.

Pure apart from :func:`load_slo_config` reading a file. The file is read with
``yaml.safe_load`` (plus a check for keys given twice), its shape checked with msgspec
(unknown keys are errors, so a typo cannot pass silently), and its values with the same
rules as the dataclasses in :mod:`eventsapi.slo.spec` and :mod:`eventsapi.slo.sla`. Every
problem is reported with its place in the file (``slos[1].threshold_ms: ...``), all of them
at once, as one :class:`~eventsapi.errors.ConfigurationError`.

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

import difflib
import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import msgspec
import yaml

from eventsapi.errors import ConfigurationError
from eventsapi.slo.records import LATENCY_BOUNDS_MS, bound_index
from eventsapi.slo.sla import CreditTier, SLAContract
from eventsapi.slo.spec import (
    DEFAULT_ALERT_POLICY,
    DEFAULT_MIN_REQUESTS,
    AlertPolicy,
    AlertRule,
    CalendarWindow,
    RollingWindow,
    RouteMatch,
    Routes,
    SLIKind,
    SLOSpec,
    Window,
    default_slos,
)

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

T = TypeVar("T")

FORMAT_VERSION = 1
"""The version of the SLO file's format this code reads and writes."""


@dataclass(frozen=True, slots=True)
class SLOConfig:
    """Everything the SLO file says.

    ``descriptions`` maps an SLO's name to its description, for people (SLOs without one are
    absent). ``webhook`` receives a JSON POST per alert transition; ``None``: log only.
    """

    slos: tuple[SLOSpec, ...]
    policy: AlertPolicy = DEFAULT_ALERT_POLICY
    webhook: str | None = None
    contracts: tuple[SLAContract, ...] = ()
    descriptions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "slos", tuple(self.slos))
        object.__setattr__(self, "contracts", tuple(self.contracts))
        object.__setattr__(
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
            _check_webhook(self.webhook)

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


# -- field syntax ---------------------------------------------------------------------------

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


def _check_share(value: float) -> float:
    if not math.isfinite(value) or not 0 < value < 1:
        raise ValueError(f"strictly between 0 and 1 (0.999 is 99.9 %), not {value!r}")
    return value


def _check_credit(value: float) -> float:
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(f"a percentage of the period's fee, 0 to 100, not {value!r}")
    return value


def _check_webhook(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the webhook is an http:// or https:// URL, not {url!r}")
    return url


def _threshold(value: float) -> float:
    bound_index(value)
    return float(value)


def _methods(methods: list[str]) -> frozenset[str]:
    for method in methods:
        if not _METHOD.fullmatch(method):
            raise ValueError(f"an HTTP method is letters only (GET, HEAD), not {method!r}")
    return frozenset(method.upper() for method in methods)


def _route_template(template: str) -> str:
    if not template.startswith("/"):
        raise ValueError(f"a route template starts with '/' (/events/{{id}}), not {template!r}")
    return template


# -- the file's shape (msgspec) -------------------------------------------------------------


class _RouteFile(msgspec.Struct, forbid_unknown_fields=True):
    route: str
    methods: list[str] = msgspec.field(default_factory=list)


class _SLOFile(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    kind: Literal["availability", "latency"]
    target: float
    description: str | None = None
    window: str = "30d"
    routes: Literal["all"] | list[_RouteFile] = "all"
    threshold_ms: float | None = None


class _RuleFile(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    severity: Literal["page", "ticket"]
    long_window: str
    short_window: str
    burn_rate: float


class _AlertingFile(msgspec.Struct, forbid_unknown_fields=True):
    min_requests: int = DEFAULT_MIN_REQUESTS
    webhook: str | None = None
    rules: list[_RuleFile] | None = None


class _TierFile(msgspec.Struct, forbid_unknown_fields=True):
    below: float
    credit: float


class _SLAFile(msgspec.Struct, forbid_unknown_fields=True):
    slo: str
    period: Literal["month", "quarter"]
    target: float
    credits: list[_TierFile] = msgspec.field(default_factory=list)


class _File(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    slos: list[_SLOFile]
    alerting: _AlertingFile | None = None
    sla: list[_SLAFile] = msgspec.field(default_factory=list)


# The struct at each place of the file (indices left out), to list the keys it takes.
_SHAPES: dict[str, type[msgspec.Struct]] = {
    "": _File,
    "slos": _SLOFile,
    "slos.routes": _RouteFile,
    "alerting": _AlertingFile,
    "alerting.rules": _RuleFile,
    "sla": _SLAFile,
    "sla.credits": _TierFile,
}
_UNKNOWN = re.compile(r"Object contains unknown field `(.*)`")
_CHOICES = {
    "kind": "availability or latency",
    "severity": "page or ticket",
    "period": "month or quarter",
    "routes": "all, or a list of {route: ..., methods: [...]}",
}


def _shape_error(exc: msgspec.ValidationError) -> str:
    """msgspec's message as ``place: what``, with the keys allowed there for an unknown key."""
    message, _, where = str(exc).partition(" - at `$")
    where = where.removesuffix("`").lstrip(".")
    unknown = _UNKNOWN.fullmatch(message)
    choices = _CHOICES.get(where.rpartition(".")[2])
    if choices and (message.startswith("Invalid enum value") or "`str | array`" in message):
        return f"{where}: {choices}, not {message.rpartition(' ')[2]}"
    if unknown is None:
        return f"{where or 'the file'}: {message[0].lower()}{message[1:]}"
    shape = _SHAPES.get(re.sub(r"\[\d+\]", "", where), _File)
    allowed = [f.name for f in msgspec.structs.fields(shape)]
    close = difflib.get_close_matches(unknown[1], allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    place = where or "the top level"
    return f"{place}: unknown key {unknown[1]!r} (allowed: {', '.join(allowed)}){hint}"


class _Loader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses a key given twice (safe_load keeps the last silently)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice",
                key_node.start_mark,
            )
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_yaml(text: str, source: str, *, many: bool = False) -> Any:
    """The YAML document in ``text`` (every document, as a list, when ``many``).

    ``ConfigurationError`` naming ``source`` and the line for a syntax error or a key given
    twice.
    """
    stream = io.StringIO(text)
    stream.name = source  # so that YAML's messages name the file
    try:
        if many:
            return list(yaml.load_all(stream, Loader=_Loader))  # a SafeLoader
        return yaml.load(stream, Loader=_Loader)  # noqa: S506  # a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{source} is not valid YAML: {exc}") from None


# -- parsing --------------------------------------------------------------------------------


class _Problems:
    """The problems found so far, each as ``place: what``."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, where: str, parse: Callable[..., T], *args: Any) -> T | None:
        """``parse(*args)``, or ``None`` with the problem noted if it raises ValueError."""
        try:
            return parse(*args)
        except ValueError as exc:
            self.items.append(f"{where}: {exc}")
            return None


def _parse_routes(
    raw: Literal["all"] | list[_RouteFile], where: str, problems: _Problems
) -> Routes | None:
    if raw == "all":
        return "all"
    if not raw:
        problems.items.append(f"{where}: list at least one route, or write `all`")
        return None
    routes: list[RouteMatch] = []
    for j, route in enumerate(raw):
        template = problems.check(f"{where}[{j}].route", _route_template, route.route)
        methods = problems.check(f"{where}[{j}].methods", _methods, route.methods)
        if template is not None and methods is not None:
            routes.append(RouteMatch(template, methods))
    return tuple(routes) if len(routes) == len(raw) else None


def _parse_slo(raw: _SLOFile, where: str, problems: _Problems) -> SLOSpec | None:
    before = len(problems.items)
    problems.check(f"{where}.name", check_slo_name, raw.name)
    problems.check(f"{where}.target", _check_share, raw.target)
    window = problems.check(f"{where}.window", parse_window, raw.window)
    routes = _parse_routes(raw.routes, f"{where}.routes", problems)
    threshold: float | None = None
    if raw.kind == "latency":
        if raw.threshold_ms is None:
            problems.items.append(
                f"{where}.threshold_ms: a latency SLO needs one: a request answered within it "
                f"is good ({', '.join(map(str, LATENCY_BOUNDS_MS))} ms)"
            )
        else:
            threshold = problems.check(f"{where}.threshold_ms", _threshold, raw.threshold_ms)
    elif raw.threshold_ms is not None:
        problems.items.append(f"{where}.threshold_ms: only a latency SLO has a threshold")
    if len(problems.items) > before or window is None or routes is None:
        return None
    return problems.check(
        where,
        SLOSpec,
        raw.name,
        SLIKind(raw.kind),
        raw.target,
        window,
        routes,
        threshold,
    )


def _parse_rule(raw: _RuleFile, where: str, problems: _Problems) -> AlertRule | None:
    before = len(problems.items)
    if not raw.name.strip():
        problems.items.append(f"{where}.name: a rule needs a name")
    long = problems.check(f"{where}.long_window", parse_duration, raw.long_window)
    short = problems.check(f"{where}.short_window", parse_duration, raw.short_window)
    if not math.isfinite(raw.burn_rate) or raw.burn_rate <= 0:
        problems.items.append(f"{where}.burn_rate: a positive number (14.4), not {raw.burn_rate!r}")
    if len(problems.items) > before or long is None or short is None:
        return None
    if short >= long:
        problems.items.append(
            f"{where}.short_window: shorter than long_window ({raw.long_window}), "
            f"not {raw.short_window}"
        )
        return None
    return problems.check(
        where, AlertRule, raw.name, raw.severity, long, short, float(raw.burn_rate)
    )


def _parse_alerting(
    raw: _AlertingFile | None, problems: _Problems
) -> tuple[AlertPolicy | None, str | None]:
    """The policy and the webhook; the policy is ``None`` when a problem was noted."""
    if raw is None:
        return DEFAULT_ALERT_POLICY, None
    before = len(problems.items)
    webhook = None
    if raw.webhook is not None:
        webhook = problems.check("alerting.webhook", _check_webhook, raw.webhook)
    if raw.min_requests < 0:
        problems.items.append(
            "alerting.min_requests: a count >= 0 (0 turns the traffic guard off), "
            f"not {raw.min_requests}"
        )
    rules = DEFAULT_ALERT_POLICY.rules
    if raw.rules is not None:
        parsed = [
            _parse_rule(rule, f"alerting.rules[{k}]", problems) for k, rule in enumerate(raw.rules)
        ]
        names = [rule.name for rule in raw.rules]
        for k, name in enumerate(names):
            if name in names[:k]:
                problems.items.append(
                    f"alerting.rules[{k}].name: {name!r} is taken by "
                    f"alerting.rules[{names.index(name)}]"
                )
        rules = tuple(rule for rule in parsed if rule is not None)
    if len(problems.items) > before:
        return None, webhook
    return problems.check("alerting", AlertPolicy, rules, raw.min_requests), webhook


def _parse_sla(
    raw: _SLAFile, where: str, slo_names: list[str], problems: _Problems
) -> SLAContract | None:
    before = len(problems.items)
    if raw.slo not in slo_names:
        known = ", ".join(dict.fromkeys(slo_names)) or "none"
        problems.items.append(f"{where}.slo: no SLO is called {raw.slo!r} (SLOs: {known})")
    problems.check(f"{where}.target", _check_share, raw.target)
    for m, tier in enumerate(raw.credits):
        problems.check(f"{where}.credits[{m}].below", _check_share, tier.below)
        problems.check(f"{where}.credits[{m}].credit", _check_credit, tier.credit)
    if len(problems.items) > before:
        return None
    tiers = tuple(CreditTier(tier.below, float(tier.credit)) for tier in raw.credits)
    # What is left to check is how the tiers sit together, and with the target.
    return problems.check(f"{where}.credits", SLAContract, raw.slo, raw.period, raw.target, tiers)


def parse_slo_config(text: str, source: str) -> SLOConfig:
    """The :class:`SLOConfig` that ``text`` (an SLO file) describes.

    ``ConfigurationError`` listing every problem with its place (``slos[1].threshold_ms:
    ...``); ``source`` (the file's name) starts the message.
    """
    data = read_yaml(text, source)
    if data is None:
        raise ConfigurationError(
            f"{source} is empty; `eventsapi slo init` writes a file to start from"
        )
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{source}: the file is a mapping with the keys version, slos, alerting and sla"
        )
    if "version" not in data:
        raise ConfigurationError(f"{source}: version: missing; write `version: {FORMAT_VERSION}`")
    if data["version"] != FORMAT_VERSION or isinstance(data["version"], bool):
        raise ConfigurationError(
            f"{source}: version: {data['version']!r} is not a version this eventsapi reads "
            f"(it reads {FORMAT_VERSION})"
        )
    try:
        raw = msgspec.convert(data, _File)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"{source}: {_shape_error(exc)}") from None

    problems = _Problems()
    slos = [_parse_slo(slo, f"slos[{i}]", problems) for i, slo in enumerate(raw.slos)]
    names = [slo.name for slo in raw.slos]
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.items.append(f"slos[{i}].name: {name!r} is taken by slos[{names.index(name)}]")
    policy, webhook = _parse_alerting(raw.alerting, problems)
    contracts = [_parse_sla(sla, f"sla[{k}]", names, problems) for k, sla in enumerate(raw.sla)]
    seen: dict[tuple[str, str], int] = {}
    for k, sla in enumerate(raw.sla):
        if (sla.slo, sla.period) in seen:
            problems.items.append(
                f"sla[{k}]: a second {sla.period}ly SLA for {sla.slo!r} "
                f"(the first is sla[{seen[(sla.slo, sla.period)]}])"
            )
        seen.setdefault((sla.slo, sla.period), k)
    if problems.items:
        listing = "\n".join(f"  {item}" for item in problems.items)
        raise ConfigurationError(f"{source} is not a valid SLO file:\n{listing}")
    assert policy is not None  # noqa: S101  # no problem noted means every part parsed
    return SLOConfig(
        slos=tuple(s for s in slos if s is not None),
        policy=policy,
        webhook=webhook,
        contracts=tuple(c for c in contracts if c is not None),
        descriptions={slo.name: slo.description for slo in raw.slos if slo.description},
    )


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


# -- writing --------------------------------------------------------------------------------


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
