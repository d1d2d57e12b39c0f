"""PATCH with ``application/json-patch+json`` (RFC 6902) over HTTP."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.api.asserts import assert_problem, create, get, send_json

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def test_a_json_patch_is_applied_and_answered_with_the_event(client: TestClient) -> None:
    create(client, id="e1", tags=["go"])
    operations = [
        {"op": "test", "path": "/version", "value": 1},
        {"op": "replace", "path": "/title", "value": "Go night"},
        {"op": "add", "path": "/tags/-", "value": "berlin"},
        {"op": "add", "path": "/capacity", "value": 40},
    ]

    response = send_json(client, "PATCH", "/events/e1", operations, JSON_PATCH)

    assert response.status_code == 200, response.text
    assert response.headers["etag"].startswith('"2-')
    assert get(client, "e1") == response.json()
    assert (response.json()["title"], response.json()["tags"]) == ("Go night", ["go", "berlin"])
    assert response.json()["capacity"] == 40


@pytest.mark.parametrize(
    ("operations", "status", "slug"),
    [
        ([{"op": "test", "path": "/version", "value": 7}], 409, "patch-test-failed"),
        ([{"op": "remove", "path": "/nothing"}], 409, "patch-conflict"),
        ([{"op": "replace", "path": "/version", "value": 9}], 422, "validation-failed"),
        ([{"op": "remove", "path": "/title"}], 422, "validation-failed"),
        ([{"op": "jump", "path": "/title"}], 400, "bad-request"),
        ({"title": "not an array"}, 400, "bad-request"),
    ],
)
def test_a_failing_json_patch_is_a_problem_and_changes_nothing(
    client: TestClient, operations: object, status: int, slug: str
) -> None:
    create(client, id="e1")
    before = get(client, "e1")

    response = send_json(client, "PATCH", "/events/e1", operations, JSON_PATCH)

    assert assert_problem(response, status)["type"] == f"/problems/{slug}"
    assert get(client, "e1") == before


def test_a_deeply_nested_body_is_400_not_500(client: TestClient) -> None:
    nested = b"[" * 5000 + b"]" * 5000
    for method, url in (("POST", "/events"), ("PUT", "/events/e1"), ("PATCH", "/events/e1")):
        response = client.request(
            method, url, content=nested, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 404, 422), (method, response.text)
    assert client.get("/events/e1").status_code == 404
