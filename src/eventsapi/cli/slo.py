"""``eventsapi slo`` (the SLO file: write, check, OpenSLO export and import) and
``eventsapi sla`` (SLA reports per calendar period from the recorded requests).

The file's format and the math are in ``eventsapi.slo``; this module reads and writes files
and opens the store.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import click

from eventsapi.cli.options import config_option, database_option, resolve, setting_option
from eventsapi.cli.stores import opened_store
from eventsapi.clock import system_clock
from eventsapi.errors import EventsAPIError
from eventsapi.settings import Settings, parse_statuses
from eventsapi.slo.config import (
    SLOConfig,
    default_config,
    dump_slo_config,
    format_window,
    load_slo_config,
)
from eventsapi.slo.openslo import config_from_openslo, to_openslo
from eventsapi.slo.service import sla_reports
from eventsapi.slo.sla import (
    NoSuchSLA,
    SLAContract,
    SLAReport,
    parse_period,
    period_kind,
    render_csv,
    render_json,
    render_table,
    select_contracts,
)
from eventsapi.slo.spec import RollingWindow, SLIKind, SLOSpec, exact
from eventsapi.slo.windows import budget_duration

DEFAULT_PATH: Final = "slo.yaml"
"""Where ``slo init`` writes when no path is given."""

slo_file_option = setting_option("slo_file", metavar="PATH")


def _slo_file(settings: Settings) -> Path | None:
    """The SLO file in effect (the setting ``slo_file``); ``None``: the built-in one."""
    return Path(settings.slo_file) if settings.slo_file else None


def _error_statuses(settings: Settings) -> frozenset[int]:
    """The statuses counted as errors (the setting ``sli_error_statuses``, 5xx by default)."""
    return parse_statuses(settings.sli_error_statuses)


def _load(path: Path | None) -> SLOConfig:
    try:
        return load_slo_config(path)
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None


def _where(path: Path | None) -> str:
    return str(path) if path is not None else "the built-in SLOs (no SLO file)"


def write_output(text: str, output: str, *, force: bool) -> None:
    """``text`` to standard output (``-``) or to a new file (an existing one needs force)."""
    if output == "-":
        click.echo(text, nl=False)
        return
    target = Path(output)
    if target.exists() and not force:
        raise click.ClickException(f"{output} exists already; --force replaces it")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"Cannot write {output}: {exc.strerror or exc}") from None


# -- eventsapi slo --------------------------------------------------------------------------


@click.group("slo")
def slo_group() -> None:
    """Service level objectives: write, check, export and import the SLO file."""


@slo_group.command("init")
@click.argument(
    "path", type=click.Path(dir_okay=False, allow_dash=True), default=DEFAULT_PATH, required=False
)
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def init_command(path: str, force: bool) -> None:
    """Write the built-in SLOs, alerts and SLAs to PATH (slo.yaml; - for standard output).

    Every field is explained by a comment. Nothing is overwritten without --force.
    """
    write_output(dump_slo_config(default_config()), path, force=force)
    if path == "-":
        return
    click.echo(
        f"Wrote {path}. Edit it, check it with `eventsapi slo check {path}`, and point the "
        "setting slo_file at it.",
        err=True,
    )


def _describe_slo(slo: SLOSpec) -> str:
    what = "available" if slo.kind is SLIKind.AVAILABILITY else f"within {slo.threshold_ms:g} ms"
    routes = (
        "all routes"
        if slo.routes == "all"
        else ", ".join(
            f"{'|'.join(sorted(r.methods)) + ' ' if r.methods else ''}{r.template}"
            for r in slo.routes
        )
    )
    text = f"{_percent(slo.target)} {what} over {format_window(slo.window)}, {routes}"
    if isinstance(slo.window, RollingWindow):
        budget = budget_duration(slo.target, slo.window.length)
        text += f"; budget: {budget} of total outage"
    return text


def _percent(value: float) -> str:
    return f"{float(exact(value) * 100):g} %"


def _describe_contract(contract: SLAContract) -> str:
    tiers = ", ".join(f"<{_percent(t.below)}: {t.credit:g} %" for t in contract.credits)
    return (
        f"{contract.slo} per {contract.period}, {_percent(contract.target)}"
        f"{'; credits ' + tiers if tiers else ''}"
    )


@slo_group.command("check")
@click.argument(
    "path", type=click.Path(dir_okay=False, path_type=Path), default=None, required=False
)
@config_option
def check_command(path: Path | None, config: Path | None) -> None:
    """Check an SLO file (PATH, or the setting slo_file) and summarize it.

    Every problem is listed with its place in the file (slos[1].threshold_ms:
    ...), and the exit status is 1.
    """
    if path is None:
        path = _slo_file(resolve(config))
    loaded = _load(path)
    click.echo(f"{_where(path)}: valid.")
    click.echo(f"SLOs ({len(loaded.slos)}):")
    width = max((len(s.name) for s in loaded.slos), default=0)
    for item in loaded.slos:
        click.echo(f"  {item.name:<{width}}  {_describe_slo(item)}")
    rules = loaded.policy.rules
    click.echo(
        f"Alerts: {len(rules)} rules ({', '.join(r.name for r in rules) or 'none'}), "
        f"min_requests {loaded.policy.min_requests}, webhook {loaded.webhook or 'none'}"
    )
    click.echo(f"SLAs ({len(loaded.contracts)}):")
    for contract in loaded.contracts:
        click.echo(f"  {_describe_contract(contract)}")


@slo_group.command("export")
@click.option(
    "--openslo",
    is_flag=True,
    help="Write OpenSLO v1 YAML (the one format there is, for now; required).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    metavar="FILE",
    help="Write to FILE instead of standard output (-, the default).",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option(
    "--service",
    default="eventsapi",
    show_default=True,
    help="The OpenSLO service the SLOs belong to.",
)
@slo_file_option
@config_option
def export_command(
    openslo: bool,
    output: str,
    force: bool,
    service: str,
    slo_file: str | None,
    config: Path | None,
) -> None:
    """Write the SLOs in effect as OpenSLO v1 documents, one per SLO.

    Each SLO becomes a ratioMetric of Prometheus queries on the metrics
    /metrics exposes (eventsapi_http_requests_total and
    eventsapi_http_request_duration_seconds). Alerts and SLAs have no OpenSLO
    form and are left out.
    """
    if not openslo:
        raise click.UsageError("Name the format: --openslo.")
    settings = resolve(config, slo_file=slo_file)
    loaded = _load(_slo_file(settings))
    text = to_openslo(loaded, service=service, error_statuses=_error_statuses(settings))
    write_output(text, output, force=force)


@slo_group.command("import")
@click.argument("openslo_file", type=click.File("r", encoding="utf-8"), metavar="OPENSLO_FILE")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    metavar="FILE",
    help="Write the SLO file to FILE instead of standard output (-, the default).",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@config_option
def import_command(openslo_file: Any, output: str, force: bool, config: Path | None) -> None:
    """Turn OpenSLO v1 SLOs (OPENSLO_FILE, - for standard input) into an SLO file.

    Reads what eventsapi measures: ratio metrics over its own Prometheus
    metrics, one objective, Occurrences, a rolling window of whole days or a
    UTC calendar month or quarter. Any other SLO is refused, naming its
    document. The file gets the default alerts and no SLA.
    """
    settings = resolve(config)
    name = "standard input" if openslo_file.name == "<stdin>" else openslo_file.name
    try:
        imported = config_from_openslo(
            openslo_file.read(), name, error_statuses=_error_statuses(settings)
        )
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None
    write_output(dump_slo_config(imported), output, force=force)
    click.echo(f"Imported {len(imported.slos)} SLOs from {name}.", err=True)


# -- eventsapi sla --------------------------------------------------------------------------


@click.group("sla")
def sla_group() -> None:
    """Service level agreements: compliance and credits per calendar period."""


def _contracts(
    loaded: SLOConfig, path: Path | None, period: str, only: str | None
) -> list[SLAContract]:
    """The API's selection (:func:`select_contracts`), where nothing to report is an error."""
    try:
        matching = select_contracts(loaded.contracts, period, only)
    except NoSuchSLA as exc:
        names = ", ".join(exc.measured) or "none"
        raise click.ClickException(
            f"{_where(path)} has no SLA for {only!r} (SLAs: {names})"
        ) from None
    if not matching:
        kind = period_kind(period)
        of = [c for c in loaded.contracts if only is None or c.slo == only]
        have = ", ".join(f"{c.slo} per {c.period}" for c in of) or "none"
        raise click.ClickException(f"{_where(path)} has no SLA per {kind} (SLAs: {have})")
    return matching


async def _reports(
    settings: Settings,
    loaded: SLOConfig,
    contracts: list[SLAContract],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[SLAReport]:
    async with opened_store(settings) as store:  # a report only reads: no migration
        return await sla_reports(store, loaded, contracts, start, end, now)


_RENDER = {"table": render_table, "json": render_json, "csv": render_csv}


@sla_group.command("report")
@click.option(
    "--period",
    required=True,
    metavar="PERIOD",
    help="The calendar period in UTC: a month (2026-11) or a quarter (2026-Q4). A period "
    "in progress is reported to date.",
)
@click.option("--slo", "only", default=None, metavar="NAME", help="Only the SLA of the SLO NAME.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(_RENDER)),
    default="table",
    show_default=True,
    help="A table for people, or JSON or CSV (with a header row) for programs.",
)
@slo_file_option
@database_option
@config_option
def report_command(
    period: str,
    only: str | None,
    fmt: str,
    slo_file: str | None,
    database: str | None,
    config: Path | None,
) -> None:
    """Report each SLA of the period: compliance, bad minutes, budget used, credit owed.

    Compliance is good requests over all requests of the SLA's SLO in the
    period (request-weighted); a bad minute is one whose own compliance is
    under the target; the credit owed is the largest of the tiers whose
    `below` is above the compliance. The SLAs of the period's kind (monthly
    for 2026-11, quarterly for 2026-Q4) are reported.
    """
    settings = resolve(config, database=database, slo_file=slo_file)
    path = _slo_file(settings)
    loaded = _load(path)
    try:
        start, end = parse_period(period)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--period'") from None
    contracts = _contracts(loaded, path, period, only)
    try:
        reports = asyncio.run(_reports(settings, loaded, contracts, start, end, system_clock()))
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_RENDER[fmt](reports), nl=False)
