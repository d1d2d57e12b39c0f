"""JSON Patch (RFC 6902) and its use on events (``domain.json_patch``)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from eventsapi.api import problems
from eventsapi.domain.events import Event, EventInput, build_event, parse_input, revise
from eventsapi.domain.json_patch import MAX_COPIED, patch_event_json
from eventsapi.errors import (
    AlreadyExists,
    BadRequest,
    EventsAPIError,
    PatchConflict,
    PatchTestFailed,
    ValidationFailed,
)
from tests.support import START


def make_event(**members: Any) -> Event:
    document: dict[str, Any] = {"title": "Launch"}
    document.update(members)
    return build_event(parse_input(msgspec.json.encode(document)), event_id="e1", now=START)


def patched(event: Event, patch: Any) -> Event:
    """``event`` after ``patch``, as PATCH computes it."""
    return revise(event, patch_event_json(event, msgspec.json.encode(patch)), now=START)


def refused(error: type[EventsAPIError], event: Event, patch: Any) -> str:
    """The message of the ``error`` that applying ``patch`` to ``event`` raises."""
    body = patch if isinstance(patch, bytes) else msgspec.json.encode(patch)
    with pytest.raises(error) as caught:
        patch_event_json(event, body)
    return str(caught.value)


def bad_fields(event: Event, patch: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        patch_event_json(event, msgspec.json.encode(patch))
    return {e.field: e.message for e in caught.value.errors}


# --- the six operations, on RFC 6902 appendix A's examples that fit an event ------------


def test_add_an_object_member() -> None:  # A.1
    result = patched(make_event(), [{"op": "add", "path": "/location", "value": "Hall"}])

    assert result.location == "Hall"
    assert result.version == 2


def test_add_an_array_element_by_index() -> None:  # A.2
    event = make_event(tags=["bar", "baz"])

    result = patched(event, [{"op": "add", "path": "/tags/1", "value": "qux"}])

    assert result.tags == ("bar", "qux", "baz")


def test_add_at_the_end_of_an_array_with_dash() -> None:
    event = make_event(tags=["bar"])

    result = patched(
        event,
        [
            {"op": "add", "path": "/tags/-", "value": "baz"},
            {"op": "add", "path": "/tags/2", "value": "qux"},  # the end, by index
        ],
    )

    assert result.tags == ("bar", "baz", "qux")


def test_remove_an_object_member() -> None:  # A.3
    event = make_event(description="Old", location="Hall")

    result = patched(event, [{"op": "remove", "path": "/description"}])

    assert (result.description, result.location) == (None, "Hall")


def test_remove_an_array_element() -> None:  # A.4
    event = make_event(tags=["bar", "qux", "baz"])

    result = patched(event, [{"op": "remove", "path": "/tags/1"}])

    assert result.tags == ("bar", "baz")


def test_replace_a_value() -> None:  # A.5
    result = patched(make_event(), [{"op": "replace", "path": "/title", "value": "Renamed"}])

    assert result.title == "Renamed"


def test_move_a_value() -> None:  # A.6
    event = make_event(description="Hall")

    result = patched(event, [{"op": "move", "from": "/description", "path": "/location"}])

    assert (result.description, result.location) == (None, "Hall")


def test_move_an_array_element() -> None:  # A.7
    event = make_event(tags=["all", "grass", "cows", "eats"])

    result = patched(event, [{"op": "move", "from": "/tags/1", "path": "/tags/3"}])

    assert result.tags == ("all", "cows", "eats", "grass")


def test_copy_a_value() -> None:
    event = make_event(tags=["a"])

    result = patched(
        event,
        [
            {"op": "copy", "from": "/title", "path": "/description"},
            {"op": "copy", "from": "/title", "path": "/tags/0"},
        ],
    )

    assert (result.description, result.tags) == ("Launch", ("Launch", "a"))


def test_a_test_that_holds_lets_the_patch_apply() -> None:  # A.8
    event = make_event(tags=["a", "b"], capacity=10)

    result = patched(
        event,
        [
            {"op": "test", "path": "/version", "value": 1},
            {"op": "test", "path": "/tags", "value": ["a", "b"]},
            {"op": "test", "path": "/capacity", "value": 10.0},  # numbers compare by value
            {"op": "test", "path": "/description", "value": None},
            {"op": "replace", "path": "/title", "value": "Checked"},
        ],
    )

    assert result.title == "Checked"


def test_operations_apply_in_order() -> None:
    result = patched(
        make_event(),
        [
            {"op": "replace", "path": "/title", "value": "First"},
            {"op": "test", "path": "/title", "value": "First"},
            {"op": "copy", "from": "/title", "path": "/location"},
        ],
    )

    assert (result.title, result.location) == ("First", "First")


def test_extra_members_of_an_operation_are_ignored() -> None:  # A.11
    patch = [{"op": "add", "path": "/location", "value": "Hall", "xyz": 123}]

    assert patched(make_event(), patch).location == "Hall"


def test_the_patch_sees_the_event_as_clients_get_it() -> None:
    event = make_event(tags=["a"], starts_at="2025-06-01T18:00:00+02:00")
    as_served = msgspec.json.decode(msgspec.json.encode(event))

    assert patched(event, [{"op": "test", "path": "", "value": as_served}]) is event


def test_an_empty_patch_or_one_that_changes_nothing_keeps_the_event() -> None:
    event = make_event(description="Same")

    assert patched(event, []) is event
    assert patched(event, [{"op": "replace", "path": "/description", "value": "Same"}]) is event


def test_the_whole_document_can_be_replaced_as_with_put() -> None:
    event = make_event(description="Old")
    document = msgspec.json.decode(msgspec.json.encode(event))
    document.update(title="New", description=None)

    result = patched(event, [{"op": "replace", "path": "", "value": document}])

    assert (result.title, result.description, result.id) == ("New", None, "e1")


# --- test operations that fail -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/version", 2),  # an optimistic check that lost
        ("/version", True),  # true is not 1
        ("/capacity", "10"),  # A.15: a string is not a number
        ("/tags", ["b", "a"]),
        ("/title", "launch"),
    ],
)
def test_a_test_that_does_not_hold_fails_the_patch(path: str, value: Any) -> None:  # A.9
    event = make_event(capacity=10, tags=["a", "b"])
    patch = [
        {"op": "replace", "path": "/description", "value": "Not applied"},
        {"op": "test", "path": path, "value": value},
    ]

    message = refused(PatchTestFailed, event, patch)

    assert message == f"operation 1: test failed: the value at {path!r} is not the one given"


@pytest.mark.parametrize("path", ["/nope", "/tags/0", "/tags/-", "/title/x"])
def test_a_test_of_a_missing_location_fails(path: str) -> None:
    message = refused(PatchTestFailed, make_event(), [{"op": "test", "path": path, "value": 1}])

    assert message == f"operation 0: test failed: there is nothing at {path!r}"


# --- locations the event does not have ---------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ({"op": "remove", "path": "/nope"}, "remove: there is nothing at '/nope'"),
        ({"op": "remove", "path": "/tags/5"}, "remove: there is nothing at '/tags/5'"),
        ({"op": "remove", "path": "/tags/-"}, "remove: there is nothing at '/tags/-'"),
        ({"op": "replace", "path": "/nope", "value": 1}, "replace: there is nothing at '/nope'"),
        (
            {"op": "replace", "path": "/tags/-", "value": "x"},
            "replace: there is nothing at '/tags/-'",
        ),
        (
            {"op": "move", "from": "/nope", "path": "/location"},
            "move: there is nothing at 'from' '/nope'",
        ),
        (
            {"op": "copy", "from": "/tags/9", "path": "/location"},
            "copy: there is nothing at 'from' '/tags/9'",
        ),
        (  # A.12
            {"op": "add", "path": "/baz/bat", "value": "qux"},
            "add: there is nothing at '/baz' to add '/baz/bat' to",
        ),
        (
            {"op": "add", "path": "/tags/3", "value": "x"},
            "add: '/tags/3' is not a position in '/tags' (0 to 2, or '-' for the end)",
        ),
        (
            {"op": "add", "path": "/tags/01", "value": "x"},
            "add: '/tags/01' is not a position in '/tags' (0 to 2, or '-' for the end)",
        ),
        (
            {"op": "copy", "from": "/title", "path": "/title/x"},
            "copy: '/title' is a string, which has no members",
        ),
        (
            {"op": "move", "from": "/title", "path": "/nope/title"},
            "move: there is nothing at '/nope' to add '/nope/title' to",
        ),
        (  # the value is taken out first, which leaves /tags one shorter
            {"op": "move", "from": "/tags/0", "path": "/tags/2"},
            "move: '/tags/2' is not a position in '/tags' (0 to 1, or '-' for the end)",
        ),
    ],
)
def test_a_location_the_event_lacks_is_a_conflict(operation: dict[str, Any], expected: str) -> None:
    event = make_event(tags=["a", "b"])
    patch = [{"op": "test", "path": "/version", "value": 1}, operation]

    assert refused(PatchConflict, event, patch) == f"operation 1: {expected}"


# --- server-owned members -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "field", "message"),
    [
        ({"op": "replace", "path": "/version", "value": 7}, "version", "changed"),
        ({"op": "replace", "path": "/version", "value": "1"}, "version", "changed"),
        ({"op": "remove", "path": "/version"}, "version", "removed"),
        ({"op": "replace", "path": "/id", "value": "other"}, "id", "changed"),
        ({"op": "remove", "path": "/id"}, "id", "removed"),
        ({"op": "move", "from": "/id", "path": "/location"}, "id", "removed"),
        (
            {"op": "add", "path": "/created_at", "value": "1999-01-01T00:00:00Z"},
            "created_at",
            "changed",
        ),
        ({"op": "copy", "from": "/created_at", "path": "/updated_at"}, "updated_at", "changed"),
    ],
)
def test_server_owned_members_cannot_be_changed(
    operation: dict[str, Any], field: str, message: str
) -> None:
    event = make_event()
    later = revise(event, parse_input(b'{"title": "Later"}'), now=START.replace(year=2026))
    assert later.created_at != later.updated_at

    assert bad_fields(later, [operation]) == {
        field: f"is set by the server and cannot be {message}"
    }


def test_setting_a_server_owned_member_to_its_own_value_is_no_change() -> None:
    event = make_event()

    patch = [
        {"op": "replace", "path": "/id", "value": "e1"},
        {"op": "replace", "path": "/version", "value": 1.0},
    ]

    assert patched(event, patch) is event


def test_server_owned_changes_are_reported_with_the_other_broken_rules() -> None:
    patch = [
        {"op": "replace", "path": "/version", "value": 9},
        {"op": "replace", "path": "/id", "value": "not valid!"},
        {"op": "remove", "path": "/title"},
    ]

    assert set(bad_fields(make_event(), patch)) == {"version", "id", "title"}


# --- the patched event is validated as every write is -----------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "Old"),
        ("location", "Hall"),
        ("capacity", 5),
        ("timezone", "Europe/Berlin"),
        ("starts_at", "2025-06-01T18:00:00Z"),
        ("ends_at", "2025-06-01T18:00:00Z"),
    ],
)
def test_removing_an_optional_member_clears_it(field: str, value: Any) -> None:
    event = make_event(**{field: value})

    result = patched(event, [{"op": "remove", "path": f"/{field}"}])

    assert msgspec.to_builtins(result)[field] is None


def test_removing_tags_or_status_gives_the_defaults() -> None:
    event = make_event(tags=["a"], status="cancelled")

    result = patched(
        event, [{"op": "remove", "path": "/tags"}, {"op": "remove", "path": "/status"}]
    )

    assert (result.tags, result.status) == ((), "scheduled")


def test_removing_the_title_is_refused() -> None:
    assert bad_fields(make_event(), [{"op": "remove", "path": "/title"}]) == {"title": "required"}


@pytest.mark.parametrize(
    ("patch", "fields"),
    [
        ([{"op": "replace", "path": "/capacity", "value": -1}], {"capacity"}),
        ([{"op": "replace", "path": "/title", "value": "   "}], {"title"}),
        ([{"op": "add", "path": "/tags/-", "value": "a"}], {"tags"}),  # repeated
        ([{"op": "add", "path": "/tags/-", "value": ["x"]}], {"tags"}),  # A.16
        ([{"op": "add", "path": "/bogus", "value": 1}], {"bogus"}),
        ([{"op": "add", "path": "/a~1b~0c", "value": 1}], {"a/b~c"}),  # A.14's escapes
        ([{"op": "replace", "path": "/status", "value": "done"}], {"status"}),
        ([{"op": "replace", "path": "/ends_at", "value": "2025-06-01T17:00:00Z"}], {"ends_at"}),
        ([{"op": "replace", "path": "", "value": ["not", "an", "object"]}], {""}),
    ],
)
def test_a_patched_event_that_breaks_a_rule_is_refused(patch: Any, fields: set[str]) -> None:
    event = make_event(tags=["a"], starts_at="2025-06-01T18:00:00Z")

    assert set(bad_fields(event, patch)) == fields


# --- malformed patch documents ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'[{"op": "add", ', "The body is not valid JSON"),
        (
            b'{"op": "add", "path": "/title", "value": "x"}',
            "a JSON array of operations, not an object",
        ),
        (b'"add"', "a JSON array of operations, not a string"),
        (b"[1]", "operation 0: an operation is a JSON object, not a number"),
        (b'[{"path": "/title"}]', "operation 0: the 'op' member is missing"),
        (b'[{"op": 1, "path": "/title"}]', "operation 0: 'op' is a string, not a number"),
        (b'[{"op": "append", "path": "/title"}]', "operation 0: unknown op 'append'; RFC 6902"),
        (b'[{"op": "add", "value": 1}]', "operation 0: add needs a 'path' member"),
        (b'[{"op": "add", "path": "/title"}]', "operation 0: add needs a 'value' member"),
        (b'[{"op": "replace", "path": "/title"}]', "operation 0: replace needs a 'value'"),
        (b'[{"op": "test", "path": "/title"}]', "operation 0: test needs a 'value' member"),
        (b'[{"op": "move", "path": "/title"}]', "operation 0: move needs a 'from' member"),
        (b'[{"op": "copy", "path": "/title"}]', "operation 0: copy needs a 'from' member"),
        (b'[{"op": "remove", "path": null}]', "'path' is a JSON Pointer string, not null"),
        (b'[{"op": "remove", "path": "title"}]', "'title' is not a JSON Pointer: it must be"),
        (b'[{"op": "remove", "path": "/t~2"}]', "'/t~2' is not a JSON Pointer: '~' must be"),
        (b'[{"op": "copy", "from": "/t~", "path": "/x"}]', "copy: 'from' '/t~' is not a JSON"),
        (b'[{"op": "move", "from": "/tags", "path": "/tags/0"}]', "cannot be moved into itself"),
        (b'[{"op": "move", "from": "", "path": "/x"}]', "cannot be moved into itself"),
        (b'[{"op": "remove", "path": ""}]', "the whole document cannot be removed"),
    ],
)
def test_a_malformed_patch_is_a_bad_request(body: bytes, expected: str) -> None:
    assert expected in refused(BadRequest, make_event(), body)


def test_a_malformed_operation_is_named_by_its_index_and_nothing_is_applied() -> None:
    patch = [
        {"op": "test", "path": "/version", "value": 99},  # would fail, but is never run
        {"op": "add", "path": "/location", "value": "Hall"},
        {"op": "add", "path": "/description"},
    ]

    assert refused(BadRequest, make_event(), patch) == "operation 2: add needs a 'value' member"


def test_a_long_path_is_cut_short_in_messages() -> None:
    path = "/" + "x" * 5000

    message = refused(PatchConflict, make_event(), [{"op": "remove", "path": path}])

    assert len(message) < 200


# --- patches that would grow without bound -----------------------------------------------


def test_copies_that_keep_doubling_the_document_are_refused() -> None:
    patch = [{"op": "add", "path": "/x", "value": [0]}]
    patch += [{"op": "copy", "from": "/x", "path": "/x/-"}] * 40  # 2**41 values

    message = refused(BadRequest, make_event(), patch)

    # copy n copies the 2**n values /x has: the first 13 copy 2**14 - 2 values in all
    assert message == (
        f"operation 13: the patch copies more than {MAX_COPIED} values in all; "
        "no event is that large"
    )


def test_values_nested_too_deeply_to_copy_are_refused() -> None:
    deep: Any = []
    for _ in range(600):
        deep = [deep]

    message = refused(BadRequest, make_event(), [{"op": "add", "path": "/x", "value": deep}])

    assert message == "operation 0: the document nests too deeply"


def test_a_document_built_too_deep_to_encode_is_refused() -> None:
    patch: list[dict[str, Any]] = [{"op": "add", "path": "/x", "value": []}]
    for _ in range(1000):
        patch += [
            {"op": "move", "from": "/x", "path": "/y"},
            {"op": "add", "path": "/x", "value": []},
            {"op": "move", "from": "/y", "path": "/x/0"},
        ]

    assert refused(BadRequest, make_event(), patch) == "The patched event nests too deeply."


def test_a_body_nested_too_deeply_to_decode_is_a_bad_request() -> None:
    refused(BadRequest, make_event(), b"[" * 5000 + b"]" * 5000)


# --- no library error escapes --------------------------------------------------------------

_POINTERS = st.sampled_from(
    [
        "",
        "/",
        "/title",
        "/tags",
        "/tags/0",
        "/tags/1",
        "/tags/-",
        "/tags/9",
        "/x",
        "/x/y",
        "/version",
        "/id",
        "/description",
        "/title/0",
        "/tags/0/a",
        "~",
        "/~2",
        "x",
    ]
)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
_OPERATIONS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "nope"])},
    optional={"path": _POINTERS | _VALUES, "from": _POINTERS, "value": _VALUES},
)


@settings(max_examples=300, deadline=None)
@given(patch=st.lists(_OPERATIONS, max_size=5) | _VALUES)
def test_any_patch_gives_an_event_input_or_one_of_our_errors(patch: Any) -> None:
    event = make_event(tags=["a", "b"], description="d")

    try:
        result = patch_event_json(event, msgspec.json.encode(patch))
    except (BadRequest, PatchConflict, PatchTestFailed, ValidationFailed):
        return
    assert isinstance(result, EventInput)


# --- problem details -----------------------------------------------------------------------

_REQUEST = Request({"type": "http", "method": "PATCH", "path": "/events/e1", "headers": []})


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (PatchTestFailed("operation 0: test failed"), 409, "patch-test-failed"),
        (PatchConflict("operation 0: remove: there is nothing at '/x'"), 409, "patch-conflict"),
        (BadRequest("operation 0: the 'op' member is missing"), 400, "bad-request"),
        (AlreadyExists("taken"), 409, "already-exists"),  # still the usual 409
    ],
)
def test_patch_errors_map_to_documented_problem_types(
    error: EventsAPIError, status: int, slug: str
) -> None:
    response = problems.from_error(_REQUEST, error)

    assert response.status_code == status
    assert response.headers["content-type"] == problems.PROBLEM_JSON
    problem = msgspec.json.decode(response.body)
    assert problem["type"] == f"/problems/{slug}"
    assert problem["status"] == status
    assert problem["detail"] == str(error)
    described = problems.PROBLEM_TYPES[slug]
    assert (described.status, problem["title"]) == (status, described.title)
