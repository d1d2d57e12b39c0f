"""The OpenAPI description of ``GET /slo``, ``GET /sla`` and ``GET /metrics``: the
operations; their bodies' schemas are generated from the structs in ``slo/wire.py`` and
``slo/sla.py``."""

from __future__ import annotations

from typing import Any

import msgspec

from eventsapi.api.slo import PERIOD
from eventsapi.slo.sla import SLAReport
from eventsapi.slo.wire import SLOStatus

Schema = dict[str, Any]


def slo_schemas() -> dict[str, Schema]:
    """The bodies of ``GET /slo`` and ``GET /sla``, from the structs the server encodes."""
    _, schemas = msgspec.json.schema_components(
        (SLOStatus, SLAReport), ref_template="#/components/schemas/{name}"
    )
    return schemas


def slo_paths(
    common_errors: Schema, bad_request: Schema, not_found: Schema, unlimited_errors: Schema
) -> dict[str, Schema]:
    """``unlimited_errors``: ``common_errors`` without the 429 (``/metrics`` is never
    rate limited)."""
    return {
        "/sla": {
            "get": {
                "operationId": "slaReports",
                "summary": "SLA reports of a calendar month or quarter: compliance and credit owed",
                "parameters": [
                    {
                        "name": "period",
                        "in": "query",
                        "description": "A month (2026-11) or a quarter (2026-Q4), UTC; the "
                        "current month by default. A period in progress is reported to date.",
                        "schema": {
                            "type": "string",
                            "pattern": f"^{PERIOD.pattern}$",
                        },
                    },
                    {
                        "name": "slo",
                        "in": "query",
                        "description": "Only the SLA of this SLO (404 if no SLA measures it).",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "One report per SLA of the period's kind",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/SLAReport"},
                                }
                            }
                        },
                    },
                    "400": bad_request,
                    "404": not_found,
                    **common_errors,
                },
            }
        },
        "/slo": {
            "get": {
                "operationId": "sloStatus",
                "summary": "SLOs: SLI, error budget, burn rates and alerts, with alert history",
                "description": (
                    "Computed from every replica's per-minute counts over completed minutes, "
                    "request-weighted. See docs/slo.md."
                ),
                "responses": {
                    "200": {
                        "description": "The state of every SLO at the last completed minute",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SLOStatus"}
                            }
                        },
                    },
                    **common_errors,
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (text exposition format)",
                "description": "404 when the `metrics` setting is off.",
                "responses": {
                    "200": {
                        "description": "Request counts and latency histograms, all workers",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **unlimited_errors,
                },
            }
        },
    }
