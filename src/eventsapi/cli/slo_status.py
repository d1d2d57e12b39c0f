"""``eventsapi slo status`` (the numbers ``GET /slo`` gives, as a table) and
``eventsapi slo rules`` (Prometheus rules for the SLOs in effect)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import click
import msgspec

from eventsapi.cli.options import config_option, database_option, resolve
from eventsapi.cli.slo import slo_file_option, slo_group, write_output
from eventsapi.cli.stores import opened_store
from eventsapi.clock import system_clock
from eventsapi.errors import EventsAPIError
from eventsapi.settings import Settings, parse_statuses
from eventsapi.slo.config import load_slo_config
from eventsapi.slo.service import SLOService
from eventsapi.slo.wire import SLOReport, SLORollingWindow, SLOStatus


def _service_status(settings: Settings) -> SLOReport:
    async def run() -> SLOReport:
        async with opened_store(settings) as store:
            service = SLOService(
                store,
                system_clock,
                config=load_slo_config(Path(settings.slo_file) if settings.slo_file else None),
                error_statuses=parse_statuses(settings.sli_error_statuses),
                retention=timedelta(days=settings.sli_retention_days),
            )
            return await service.status()

    try:
        return asyncio.run(run())
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None


def _percent(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f} %"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _budget_colour(remaining: float | None) -> str | None:
    if remaining is None:
        return None
    return "red" if remaining < 0 else "yellow" if remaining < 0.25 else "green"


def render_status(status: SLOReport) -> str:
    """The status as lines for a terminal, coloured (click drops colours off a terminal)."""
    lines = [f"SLOs at {status.evaluated_at:%Y-%m-%d %H:%M} UTC (completed minutes)"]
    if isinstance(status, SLOStatus) and status.drill:
        lines.append(click.style(f"FAULT-INJECTION DRILL ON: {status.drill}", fg="red"))
    for slo in status.slos:
        budget = slo.error_budget
        window = (
            slo.window.length if isinstance(slo.window, SLORollingWindow) else slo.window.period
        )
        what = f"under {slo.threshold_ms:g} ms" if slo.kind == "latency" else "available"
        lines.append("")
        lines.append(
            click.style(slo.name, bold=True) + f"  {slo.target * 100:g} % {what} over {window}"
        )
        sli = _percent(slo.sli)
        met = slo.sli is None or slo.sli >= slo.target
        lines.append(
            f"  SLI            {click.style(sli, fg='green' if met else 'red')}"
            f"  ({slo.requests.bad} bad of {slo.requests.total} requests)"
        )
        remaining = budget.remaining
        lines.append(
            "  budget left    "
            + click.style(_percent(remaining, 1), fg=_budget_colour(remaining))
            + f"  (consumed {_percent(budget.consumed, 1)})"
        )
        rates = "  ".join(f"{w} {_rate(r)}" for w, r in slo.burn_rates.items())
        lines.append(f"  burn rates     {rates}")
        for alert in slo.alerts:
            state = (
                click.style("FIRING", fg="red", bold=True)
                if alert.firing
                else click.style("ok", fg="green")
            )
            guard = "" if alert.enough_traffic else "  (too little traffic to alert)"
            lines.append(
                f"  {alert.name:<14} {state}  {alert.severity}: burn >= "
                f"{alert.burn_rate_threshold:g} over {alert.long_window} and "
                f"{alert.short_window} (now {_rate(alert.long_burn_rate)} / "
                f"{_rate(alert.short_burn_rate)}){guard}"
            )
    return "\n".join(lines) + "\n"


@click.command("status")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people (coloured on a terminal), or JSON as GET /slo gives it.",
)
@slo_file_option
@database_option
@config_option
def status_command(
    fmt: str, slo_file: str | None, database: str | None, config: Path | None
) -> None:
    """Show each SLO's SLI, error budget, burn rates and alerts, from the database.

    The same numbers as GET /slo on any replica: every worker's and replica's
    counts, over completed minutes.
    """
    settings = resolve(config, database=database, slo_file=slo_file)
    status = _service_status(settings)
    if fmt == "json":
        # json.dumps, not msgspec: the spaced layout this command has always printed
        click.echo(json.dumps(msgspec.to_builtins(status)))
    else:
        click.echo(render_status(status), nl=False)


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="'--label'")
        labels[key] = text
    return labels


@click.command("rules")
@click.option(
    "-o",
    "--output",
    default="-",
    metavar="FILE",
    help="Where to write (default: standard output).",
)
@click.option(
    "--kubernetes",
    is_flag=True,
    help="A PrometheusRule object (monitoring.coreos.com/v1) for the Prometheus Operator, "
    "instead of a rule file.",
)
@click.option(
    "--selector",
    default="",
    metavar="MATCHERS",
    help="Label matchers added to every metric the rules read, e.g. 'job=\"eventsapi\"', "
    "when one Prometheus scrapes several deployments.",
)
@click.option("--name", default=None, help="--kubernetes: the object's name (eventsapi-slos).")
@click.option("--namespace", default=None, help="--kubernetes: the object's namespace.")
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="--kubernetes: a label of the object, e.g. release=prometheus for the Operator's "
    "ruleSelector; repeatable.",
)
@slo_file_option
@config_option
def rules_command(
    output: str,
    kubernetes: bool,
    selector: str,
    name: str | None,
    namespace: str | None,
    labels: tuple[str, ...],
    slo_file: str | None,
    config: Path | None,
) -> None:
    """Write Prometheus recording and alerting rules for the SLOs in effect.

    Sloth-style names (slo:sli_error:ratio_rate5m ... 30d), request-weighted at
    every window, and the multiwindow, multi-burn-rate alerts of the SLO file
    with its traffic guard. They read the metrics of GET /metrics. Check them
    with `promtool check rules FILE`.
    """
    from eventsapi.slo.rules import dump_yaml, prometheus_rule_object, prometheus_rules

    settings = resolve(config, slo_file=slo_file)
    try:
        loaded = load_slo_config(Path(settings.slo_file) if settings.slo_file else None)
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None
    statuses = parse_statuses(settings.sli_error_statuses)
    if kubernetes:
        document = prometheus_rule_object(
            loaded.slos,
            loaded.policy,
            statuses,
            selector=selector,
            name=name,
            namespace=namespace,
            labels=_labels(labels),
        )
    else:
        document = prometheus_rules(loaded.slos, loaded.policy, statuses, selector=selector)
    text = dump_yaml(document)
    # Generated output: rewriting the file is what re-running the command is for.
    write_output(text, output, force=True)


# `eventsapi slo` is looked up here (cli/__init__.py), so that the group has these too.
slo_group.add_command(status_command)
slo_group.add_command(rules_command)
