"""Write the deployment files that are generated from eventsapi's own code.

    .venv/bin/python deploy/generate.py          # write them
    .venv/bin/python deploy/generate.py --check  # exit 1, naming them, if any is out of date

- ``kustomize/components/monitoring/prometheusrule.yaml``: the ``PrometheusRule`` for the
  built-in SLOs (``eventsapi.slo.rules.prometheus_rule_object``, what ``eventsapi slo
  rules`` writes for Kubernetes), reading the metrics of the Prometheus job ``eventsapi``
  (the ServiceMonitor's ``jobLabel``).
- ``helm/eventsapi/files/prometheusrule-spec.yaml``: the same rule groups, for the chart's
  PrometheusRule template to include unparsed (its alert texts hold Prometheus' own
  ``{{ $value }}`` templates, which Helm must not read).
- ``compose/eventsapi-rules.yml``: the rule file for compose.yaml's Prometheus, as
  ``eventsapi slo rules --selector 'job="eventsapi"'`` writes it (its scrape job).
- ``compose/grafana/eventsapi-slo.json``: the dashboard of ``grafana/eventsapi-slo.json``
  with compose.yaml's Prometheus (uid ``prometheus``) in place of the import's input, for
  Grafana to provision as it is.
- ``helm/eventsapi/values.schema.json``: its ``settings`` object lists every setting of
  ``eventsapi.settings.Settings`` with its type, bounds, default and help, from msgspec's
  JSON Schema of that struct, less those the chart sets itself (CHART_SET_SETTINGS).

tests/deploy/test_manifests.py runs ``--check``; tests/deploy/test_compose.py compares the
compose rule file with the command's own output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import msgspec

from eventsapi.settings import Settings, parse_statuses
from eventsapi.slo.config import default_config
from eventsapi.slo.rules import dump_yaml, prometheus_rule_object, prometheus_rules

DEPLOY: Final = Path(__file__).resolve().parent
RULE_FILE: Final = DEPLOY / "kustomize/components/monitoring/prometheusrule.yaml"
CHART_RULES: Final = DEPLOY / "helm/eventsapi/files/prometheusrule-spec.yaml"
VALUES_SCHEMA: Final = DEPLOY / "helm/eventsapi/values.schema.json"
COMPOSE_RULES: Final = DEPLOY / "compose/eventsapi-rules.yml"
DASHBOARD: Final = DEPLOY / "grafana/eventsapi-slo.json"
COMPOSE_DASHBOARD: Final = DEPLOY / "compose/grafana/eventsapi-slo.json"
COMPOSE_DATASOURCE_UID: Final = "prometheus"
"""compose/grafana/datasource.yml's uid."""

JOB_SELECTOR: Final = 'job="eventsapi"'
LABELS: Final = {"app.kubernetes.io/instance": "eventsapi"}
CHART_SET_SETTINGS: Final = ("database", "host", "port", "rate_limit_redis", "trusted_proxies")
"""Settings the chart derives from other values (storage, the container's port, the Redis
Secret of rateLimitRedis, trustedProxies)."""


def prometheus_rule() -> dict[str, Any]:
    slos = default_config()
    statuses = parse_statuses(Settings().sli_error_statuses)
    return prometheus_rule_object(
        slos.slos, slos.policy, statuses, selector=JOB_SELECTOR, labels=LABELS
    )


def rule_file() -> str:
    return dump_yaml(prometheus_rule())


def chart_rules() -> str:
    return dump_yaml(prometheus_rule()["spec"])


def compose_rules() -> str:
    slos = default_config()
    statuses = parse_statuses(Settings().sli_error_statuses)
    return dump_yaml(prometheus_rules(slos.slos, slos.policy, statuses, selector=JOB_SELECTOR))


def compose_dashboard() -> str:
    # As docs/slo.md says to provision it: the input replaced, the rest byte for byte.
    text = DASHBOARD.read_text(encoding="utf-8")
    return text.replace("${DS_PROMETHEUS}", COMPOSE_DATASOURCE_UID)


def settings_properties() -> dict[str, Any]:
    schema = msgspec.json.schema(Settings)
    properties: dict[str, Any] = schema["$defs"]["Settings"]["properties"]
    return {name: p for name, p in properties.items() if name not in CHART_SET_SETTINGS}


def values_schema() -> str:
    schema = json.loads(VALUES_SCHEMA.read_text(encoding="utf-8"))
    schema["properties"]["settings"]["properties"] = settings_properties()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


OUTPUTS: Final[dict[Path, Callable[[], str]]] = {
    RULE_FILE: rule_file,
    CHART_RULES: chart_rules,
    VALUES_SCHEMA: values_schema,
    COMPOSE_RULES: compose_rules,
    COMPOSE_DASHBOARD: compose_dashboard,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path, make in OUTPUTS.items():
        text = make()
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(DEPLOY.parent))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path}")
    if args.check and stale:
        print("run: .venv/bin/python deploy/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
