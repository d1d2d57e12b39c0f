"""The OpenAPI description of ``GET /slo``, ``GET /sla`` and ``GET /metrics``."""

from __future__ import annotations

from typing import Any

from eventsapi.api.slo import PERIOD

Schema = dict[str, Any]

_RATIO = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_RATE = {"type": ["number", "null"], "minimum": 0}
_INSTANT = {"type": "string", "format": "date-time"}
_WINDOW_LABEL = {"type": "string", "pattern": "^[0-9]+[mhd]$"}


def _object(properties: dict[str, Schema], **extra: Any) -> Schema:
    return {"type": "object", "properties": properties, "required": list(properties), **extra}


def slo_schemas() -> dict[str, Schema]:
    alert = _object(
        {
            "name": {"type": "string"},
            "severity": {"enum": ["page", "ticket"]},
            "firing": {"type": "boolean"},
            "burn_rate_threshold": {"type": "number", "exclusiveMinimum": 0},
            "long_window": _WINDOW_LABEL,
            "short_window": _WINDOW_LABEL,
            "long_burn_rate": _RATE,
            "short_burn_rate": _RATE,
            "long_requests": {"type": "integer", "minimum": 0},
            "enough_traffic": {"type": "boolean"},
        }
    )
    transition = _object(
        {
            "slo": {"type": "string"},
            "alert": {"type": "string"},
            "severity": {"enum": ["page", "ticket"]},
            "state": {"enum": ["firing", "resolved"]},
            "at": _INSTANT,
            "long_burn_rate": _RATE,
            "short_burn_rate": _RATE,
        }
    )
    slo = _object(
        {
            "name": {"type": "string"},
            "kind": {"enum": ["availability", "latency"]},
            "target": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "threshold_ms": {"type": ["number", "null"]},
            "window": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["rolling", "calendar"]},
                    "length": _WINDOW_LABEL,
                    "period": {"enum": ["month", "quarter"]},
                    "start": _INSTANT,
                    "end": _INSTANT,
                },
                "required": ["type", "start", "end"],
            },
            "routes": {
                "oneOf": [
                    {"const": "all"},
                    {
                        "type": "array",
                        "items": _object(
                            {
                                "route": {"type": "string"},
                                "methods": {"type": "array", "items": {"type": "string"}},
                            }
                        ),
                    },
                ]
            },
            "sli": {**_RATIO, "description": "Good / total over the window; null without traffic"},
            "requests": _object(
                {
                    "total": {"type": "integer", "minimum": 0},
                    "bad": {"type": "integer", "minimum": 0},
                }
            ),
            "error_budget": _object(
                {
                    "allowed_ratio": {"type": "number"},
                    "total_requests": {"type": "number"},
                    "consumed_requests": {"type": "integer"},
                    "remaining_requests": {"type": "number"},
                    "consumed": {"type": ["number", "null"]},
                    "remaining": {"type": ["number", "null"]},
                }
            ),
            "burn_rates": {"type": "object", "additionalProperties": _RATE},
            "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/SLOAlert"}},
        }
    )
    status = _object(
        {
            "evaluated_at": _INSTANT,
            "slos": {"type": "array", "items": {"$ref": "#/components/schemas/SLOState"}},
            "history": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/SLOAlertTransition"},
            },
            "drill": {"type": ["string", "null"]},
        }
    )
    report = _object(
        {
            "slo": {"type": "string"},
            "period": {"type": "string", "examples": ["2026-11", "2026-Q4"]},
            "start": _INSTANT,
            "end": _INSTANT,
            "complete": {"type": "boolean", "description": "The period is over"},
            "total_requests": {"type": "integer", "minimum": 0},
            "bad_requests": {"type": "integer", "minimum": 0},
            "compliance": {**_RATIO, "description": "Good / total; null without traffic"},
            "target": {"type": "number"},
            "met": {"type": "boolean"},
            "bad_minutes": {"type": "integer", "minimum": 0},
            "budget_requests": {"type": "number", "minimum": 0},
            "budget_used": {"type": ["number", "null"], "minimum": 0},
            "credit_percent": {"type": "number", "minimum": 0, "maximum": 100},
        }
    )
    return {
        "SLAReport": report,
        "SLOStatus": status,
        "SLOState": slo,
        "SLOAlert": alert,
        "SLOAlertTransition": transition,
    }


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
