"""Where the schemathesis run is narrowed, and why (loaded through ``SCHEMATHESIS_HOOKS``).

The project's rule: when a test tool and a requirement disagree, keep the
requirement and narrow the tool. Only rules a schema cannot carry are narrowed:

- Cross-field rules. ``ends_at`` must not be before ``starts_at`` (for a PATCH,
  the stored event's members count too), and an ``id`` in a PUT or PATCH body
  must be the id in the URL. JSON Schema cannot compare two members, nor a
  member with a path parameter, so schemathesis generates "schema-valid" bodies
  that break these rules, and the server rightly answers 422. So too for a JSON
  Patch ``move`` whose ``path`` is inside its ``from`` (RFC 6902 section 4.4: a
  value cannot be moved into itself): a malformed patch, 400.
- Rules of text a JSON Schema pattern cannot carry (its regex dialect has no Unicode
  categories or scripts in the generator schemathesis uses): a new username is mapped
  by RFC 8265's PRECIS profile and stripped before it is checked, so "schema-valid"
  white space, or a name that grows past 64 characters, is refused; it may hold only
  letters, digits, ``.``, ``_`` and ``-``, all of one script (UTS #39): 422 for
  ``#/username``. A new
  password must pass the policy (NIST SP 800-63B-4: a blocklist, a strength
  estimate, not the username): 422 ``password-rejected``.
- Server state, which a schema describes but a generator cannot know:

  - a ``cursor`` is an opaque, signed position that only the server issues; a
    generated one is refused with 400;
  - so is a sync token (``GET /changes?since=``): a generated one is not one the
    server signed, and is answered 410 ``sync-token-expired`` (sync again in full);
  - an ``If-Match`` / ``If-None-Match`` entity tag is the stored event's
    current ``ETag``; a generated one does not match (and ``*`` does not hold
    for an event that does not exist, nor ``If-None-Match: *`` for one that
    does), so the write is refused with 412. RFC 9110 section 13.2.1 evaluates
    preconditions before the content, so a request whose body is invalid too
    also gets 412 (a refusal: nothing changed);
  - an ``Idempotency-Key`` names the first request sent with it; schemathesis
    reuses its keys with other bodies (the coverage phase sends one key with
    every body of an operation), which is refused with 422;
  - a JSON Patch applies to the stored event, so a schema-valid patch can leave
    an event that breaks a rule: 422.

``before_call`` below also changes two things schemathesis sends, so that these
refusals do not hide every generated body (see its docstring), and reads the live stream
(``GET /changes/stream``, which never ends) for a second rather than the run's timeout.

Each narrowing drops one failure kind (ST202, a schema-valid request rejected;
for 412 also ST201, a schema-invalid request refused with a status schemathesis
does not count as a refusal) and only when the server's problem response names
exactly that reason and the request carries what it is about; any other reason
for the same status still fails the run, and every other check runs.

The 409s of server state (a JSON Patch ``test`` that fails or a path the event
lacks, an Idempotency-Key still in use, an id taken) need no narrowing:
schemathesis already counts 409 as an answer to a valid request.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Final

import schemathesis

REJECTED_POSITIVE_DATA: Final = "ST202"
ACCEPTED_NEGATIVE_DATA: Final = "ST201"
JSON_PATCH: Final = "application/json-patch+json"

# (JSON Pointer, detail) of the 422 errors that only break a cross-field rule.
CROSS_FIELD_RULES: Final = frozenset(
    {
        ("#/ends_at", "must not be before starts_at"),
        ("#/registration_closes_at", "must not be before registration_opens_at"),
        ("#/id", "does not match the id in the URL"),
    }
)
# (JSON Pointer, detail) of the 422 errors of a username the schema cannot describe.
USERNAME_RULES: Final = frozenset(
    {
        ("#/username", "a username has 1 to 64 characters"),
        ("#/username", "a username has only letters, digits, '.', '_' and '-'"),
    }
)
# (JSON Pointer, detail) of the 422 errors of a registrant the schema cannot describe: a
# name is trimmed and must hold no control character (a Unicode category), and is required
# without an account (with one, the username is its default); an address is trimmed, then
# must have an e-mail address's form.
REGISTRANT_RULES: Final = frozenset(
    {
        ("#/name", "must be 1-200 characters without control characters"),
        ("#/email", "must be an e-mail address (name@example.org)"),
    }
)
# A new username in more than one script (UTS #39): the detail names the scripts.
MIXED_SCRIPTS: Final = re.compile(r"^a username is written in one script; this one mixes ")
PASSWORD_REJECTED: Final = "/problems/password-rejected"  # noqa: S105 - a problem type
PRECONDITION_FAILED: Final = "/problems/precondition-failed"
STREAM_READ_SECONDS: Final = 1.0
KEY_REUSED: Final = "/problems/idempotency-key-reused"
VALIDATION_FAILED: Final = "/problems/validation-failed"
SYNC_TOKEN: Final = "/problems/sync-token-expired"  # noqa: S105 - a problem type
MOVE_INTO_ITSELF: Final = re.compile(r"^operation \d+: move: 'path' is inside 'from'")


def _problem(response: Any) -> dict[str, Any]:
    try:
        problem = response.json()
    except ValueError:
        return {}
    return problem if isinstance(problem, dict) else {}


def _sent(case: Any, header: str) -> bool:
    headers = case.headers or {}
    return any(name.lower() == header.lower() for name in headers)


def _is_json_patch(case: Any) -> bool:
    return bool(case.operation.method.upper() == "PATCH" and case.media_type == JSON_PATCH)


def _sets_a_password(case: Any) -> bool:
    """A new account or a password change: the requests the password policy applies to."""
    operation = (case.operation.method.upper(), case.operation.path)
    return operation in {("POST", "/users"), ("POST", "/auth/password")}


def _is_precondition_failed(case: Any, response: Any) -> bool:
    """412 because a generated entity tag is not the event's current one."""
    return (
        response.status_code == 412
        and _problem(response).get("type") == PRECONDITION_FAILED
        and (_sent(case, "If-Match") or _sent(case, "If-None-Match"))
    )


def _only_pointer(problem: dict[str, Any], pointer: str) -> bool:
    errors: list[Any] = problem.get("errors") or []
    return bool(errors) and all(error.get("pointer") == pointer for error in errors)


def breaks_only_an_unstatable_rule(case: Any, response: Any) -> bool:
    """Whether the server refused ``case`` for a rule the schema cannot state, and no other."""
    problem = _problem(response)
    if _is_precondition_failed(case, response):
        return True
    if response.status_code == 422:
        if problem.get("type") == KEY_REUSED:
            return _sent(case, "Idempotency-Key")
        if problem.get("type") == VALIDATION_FAILED and _is_json_patch(case):
            return True
        if problem.get("type") == PASSWORD_REJECTED:
            return _sets_a_password(case)
        if case.operation.path.startswith("/webhooks") and _only_pointer(problem, "#/url"):
            # A webhook URL's host must resolve, to public addresses only (docs/security.md,
            # SSRF): the network's answer, which no schema can state.
            return True
        errors: list[Any] = problem.get("errors") or []
        unstatable = CROSS_FIELD_RULES | USERNAME_RULES | REGISTRANT_RULES
        return bool(errors) and all(
            (error.get("pointer"), error.get("detail")) in unstatable
            or (
                error.get("pointer") == "#/username"
                and MIXED_SCRIPTS.match(str(error.get("detail")))
            )
            for error in errors
        )
    if response.status_code == 410:
        return case.operation.path.startswith("/changes") and problem.get("type") == SYNC_TOKEN
    if response.status_code == 400:
        if _is_json_patch(case) and MOVE_INTO_ITSELF.search(str(problem.get("detail", ""))):
            return True
        return (
            case.operation.method.upper() == "GET"
            and problem.get("parameter") == "cursor"
            and "cursor" in (case.query or {})
        )
    return False


_SENT: Final = itertools.count()


def _valid_key(key: object) -> bool:
    """What the server takes as an Idempotency-Key (api/idempotency.py)."""
    return isinstance(key, str) and 1 <= len(key) <= 255 and key.isascii() and key.isprintable()


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Keep server state from masking the bodies schemathesis generates.

    The coverage phase sends one Idempotency-Key, and on PUT both ``If-Match: *``
    and ``If-None-Match: *`` (which never hold together), with every body of an
    operation: after the first success every case would be refused for the key
    or the precondition, and its body never read. A valid key is made unique per
    request (malformed keys are sent as generated, to test their 400), and of the
    two contradictory preconditions only If-Match is kept. Replays of a key are
    the state-machine test's job (tests/stateful).
    """
    if case.operation.path == "/changes/stream":
        # An open stream never ends: schemathesis reads it until its request timeout, then
        # cuts it (not a failure). Read each for a second, not the run's ten.
        kwargs["timeout"] = STREAM_READ_SECONDS
    headers = case.headers
    if not headers:
        return
    key = headers.get("Idempotency-Key")
    if _valid_key(key):
        suffix = f"-{next(_SENT)}"
        headers["Idempotency-Key"] = str(key)[: 255 - len(suffix)] + suffix
    if (
        case.operation.method.upper() == "PUT"
        and str(headers.get("If-Match", "")).strip() == "*"
        and str(headers.get("If-None-Match", "")).strip() == "*"
    ):
        del headers["If-None-Match"]


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a request refused for an unstatable rule."""
    if failure.code == REJECTED_POSITIVE_DATA:
        return not breaks_only_an_unstatable_rule(case, response)
    if failure.code == ACCEPTED_NEGATIVE_DATA:
        return not _is_precondition_failed(case, response)
    return True
