"""The seed tutorial's walk-through, request for request, as its curl commands send it."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from tests.api.asserts import assert_problem

FIRST = {
    "ID": "1",
    "Title": "Introduction to Golang",
    "Description": "Come join us for a chance to learn how golang works and get to eventually"
    " try it out",
}
SECOND = {"ID": "2", "Title": "Second event", "Description": "Made with POST /event"}
CHANGES = {"Title": "Second event, changed", "Description": "Changed with PATCH"}
CURL_JSON = {"Content-Type": "application/json"}


def test_the_tutorial_walk_through(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200

    empty = client.get("/events")
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("application/json")
    assert empty.json() == []

    created = client.post("/event", content=json.dumps(FIRST), headers=CURL_JSON)
    assert created.status_code == 201
    assert created.headers["location"] == "/events/1"
    assert created.json()["id"] == "1"
    assert created.json()["title"] == FIRST["Title"]
    assert created.json()["description"] == FIRST["Description"]

    second = client.post("/event", content=json.dumps(SECOND), headers=CURL_JSON)
    assert second.status_code == 201
    assert second.headers["location"] == "/events/2"

    fetched = client.get("/events/2")
    assert fetched.status_code == 200
    assert fetched.json() == second.json()

    listed = client.get("/events")
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()] == ["1", "2"]

    patched = client.patch("/events/2", content=json.dumps(CHANGES), headers=CURL_JSON)
    assert patched.status_code == 200
    assert patched.json()["title"] == CHANGES["Title"]
    assert patched.json()["description"] == CHANGES["Description"]
    assert patched.json()["version"] == second.json()["version"] + 1

    after_patch = client.get("/events")
    assert after_patch.status_code == 200
    assert after_patch.json() == [created.json(), patched.json()]

    deleted = client.delete("/events/1")
    assert deleted.status_code == 204
    assert deleted.content == b""

    again = client.delete("/events/1")
    assert_problem(again, 404)

    assert [e["id"] for e in client.get("/events").json()] == ["2"]
    assert_problem(client.get("/events/1"), 404)


def test_the_tutorial_keys_come_in_and_lower_case_keys_go_out(client: TestClient) -> None:
    """As the README says: ``ID``/``Title``/``Description`` accepted, one spelling answered."""
    put = client.put("/events/1", content=json.dumps(FIRST), headers=CURL_JSON)
    assert put.status_code in (200, 201), put.text
    both = {"ID": "2", "id": "2", "Title": "Both"}

    answered = [put.json(), client.get("/events/1").json(), *client.get("/events").json()]

    for document in answered:
        assert not {"ID", "Title", "Description"} & document.keys()
        assert (document["id"], document["title"]) == (FIRST["ID"], FIRST["Title"])
    refused = assert_problem(client.post("/events", json=both), 422)
    assert [error["pointer"] for error in refused["errors"]] == ["#/id"]
