"""Reading the SLO file: YAML, its shape, and every value checked, problems by place.

The file is read with ``yaml.safe_load`` (plus a check for keys given twice), its shape
checked with msgspec (unknown keys are errors, so a typo cannot pass silently), and its
values with the same rules as the structs in :mod:`eventsapi.slo.spec` and
:mod:`eventsapi.slo.sla`. Every problem is reported with its place in the file
(``slos[1].threshold_ms: ...``), all of them at once, as one
:class:`~eventsapi.errors.ConfigurationError`.
"""

from __future__ import annotations

import difflib
import io
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple, TypeVar

import msgspec
import yaml

from eventsapi.domain.sli import LATENCY_BOUNDS_MS
from eventsapi.errors import ConfigurationError
from eventsapi.slo.config_fields import (
    FORMAT_VERSION,
    check_credit,
    check_methods,
    check_route_template,
    check_share,
    check_slo_name,
    check_threshold,
    check_webhook,
    parse_duration,
    parse_window,
)
from eventsapi.slo.sla import CreditTier, SLAContract
from eventsapi.slo.spec import (
    DEFAULT_ALERT_POLICY,
    DEFAULT_MIN_REQUESTS,
    AlertPolicy,
    AlertRule,
    RouteMatch,
    Routes,
    SLIKind,
    SLOSpec,
)

__all__ = ["FileParts", "parse_file", "read_yaml"]

T = TypeVar("T")


class FileParts(NamedTuple):
    """What an SLO file says, in the order of :class:`~eventsapi.slo.config.SLOConfig`."""

    slos: tuple[SLOSpec, ...]
    policy: AlertPolicy
    webhook: str | None
    contracts: tuple[SLAContract, ...]
    descriptions: Mapping[str, str]


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
        template = problems.check(f"{where}[{j}].route", check_route_template, route.route)
        methods = problems.check(f"{where}[{j}].methods", check_methods, route.methods)
        if template is not None and methods is not None:
            routes.append(RouteMatch(template, methods))
    return tuple(routes) if len(routes) == len(raw) else None


def _parse_slo(raw: _SLOFile, where: str, problems: _Problems) -> SLOSpec | None:
    before = len(problems.items)
    problems.check(f"{where}.name", check_slo_name, raw.name)
    problems.check(f"{where}.target", check_share, raw.target)
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
            threshold = problems.check(f"{where}.threshold_ms", check_threshold, raw.threshold_ms)
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
        webhook = problems.check("alerting.webhook", check_webhook, raw.webhook)
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
    problems.check(f"{where}.target", check_share, raw.target)
    for m, tier in enumerate(raw.credits):
        problems.check(f"{where}.credits[{m}].below", check_share, tier.below)
        problems.check(f"{where}.credits[{m}].credit", check_credit, tier.credit)
    if len(problems.items) > before:
        return None
    tiers = tuple(CreditTier(tier.below, float(tier.credit)) for tier in raw.credits)
    # What is left to check is how the tiers sit together, and with the target.
    return problems.check(f"{where}.credits", SLAContract, raw.slo, raw.period, raw.target, tiers)


def parse_file(text: str, source: str) -> FileParts:
    """What ``text`` (an SLO file) says, every value checked.

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
    return FileParts(
        slos=tuple(s for s in slos if s is not None),
        policy=policy,
        webhook=webhook,
        contracts=tuple(c for c in contracts if c is not None),
        descriptions={slo.name: slo.description for slo in raw.slos if slo.description},
    )
