"""Where the schemathesis run is narrowed, and why (loaded through ``SCHEMATHESIS_HOOKS``).

The project's rule: when a test tool and a requirement disagree, keep the
requirement and narrow the tool. Only rules a schema cannot carry are narrowed:

- Cross-field rules. ``ends_at`` must not be before ``starts_at`` (for a PATCH,
  the stored event's members count too), and an ``id`` in a PUT or PATCH body
  must be the id in the URL. JSON Schema cannot compare two members, nor a
  member with a path parameter, so schemathesis generates "schema-valid" bodies
  that break these rules, and the server rightly answers 422.
- Server state. A ``cursor`` is an opaque, signed position that only the server
  issues; a generated one is refused with 400, rightly.

Each narrowing drops one failure kind (ST202, a schema-valid request rejected)
and only when the server's problem response names exactly that rule; any other
reason for the same status still fails the run, and every other check runs.
"""

from __future__ import annotations

from typing import Any, Final

import schemathesis

REJECTED_POSITIVE_DATA: Final = "ST202"

# (JSON Pointer, detail) of the 422 errors that only break a cross-field rule.
CROSS_FIELD_RULES: Final = frozenset(
    {
        ("#/ends_at", "must not be before starts_at"),
        ("#/id", "does not match the id in the URL"),
    }
)


def _problem(response: Any) -> dict[str, Any]:
    try:
        problem = response.json()
    except ValueError:
        return {}
    return problem if isinstance(problem, dict) else {}


def breaks_only_an_unstatable_rule(case: Any, response: Any) -> bool:
    """Whether the server refused ``case`` for a rule the schema cannot state, and no other."""
    problem = _problem(response)
    if response.status_code == 422:
        errors: list[Any] = problem.get("errors") or []
        return bool(errors) and all(
            (error.get("pointer"), error.get("detail")) in CROSS_FIELD_RULES for error in errors
        )
    if response.status_code == 400:
        return (
            case.operation.method.upper() == "GET"
            and case.operation.path == "/events"
            and problem.get("parameter") == "cursor"
        )
    return False


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a schema-valid request refused for an unstatable rule."""
    if failure.code != REJECTED_POSITIVE_DATA:
        return True
    return not breaks_only_an_unstatable_rule(case, response)
