"""Every event response shows its registrations' counts (issue 16), and what that does to
ETags: a read's tag changes when someone registers (no stale ``spots_left`` from a 304), an
owner's ``If-Match`` edit made with the tag read before someone registered still goes ahead.

On every backend; ``GET /events/{id}`` both ways it can be answered (the hot path, and the
Starlette route the router keeps for it).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx2
import jsonschema_rs
import msgspec
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.api.asserts import JSON_HEADERS, MERGE_PATCH_HEADERS, assert_problem, send_json
from tests.support import START

SOON = (START + timedelta(days=7)).isoformat()
ETAG = re.compile(r'"(\d+)-[0-9a-f]{16}\.(\d+)\.(\d+)"')
JSON_PATCH_HEADERS = {"Content-Type": "application/json-patch+json"}


def counts(event: dict[str, Any]) -> tuple[Any, Any, Any]:
    return event["registered"], event["waitlisted"], event["spots_left"]


def new_event(client: TestClient, event_id: str = "e1", **members: Any) -> httpx2.Response:
    body = {"id": event_id, "title": "Launch party", "starts_at": SOON, **members}
    response = send_json(client, "POST", "/events", body)
    assert response.status_code == 201, response.text
    return response


def register(client: TestClient, n: int, event_id: str = "e1") -> None:
    body = {"name": f"Person {n}", "email": f"person{n}@example.org"}
    response = send_json(client, "POST", f"/events/{event_id}/registrations", body)
    assert response.status_code == 201, response.text


def shown(response: httpx2.Response, status: int = 200) -> tuple[Any, Any, Any]:
    """The counts an event response shows; its ETag must name them and the version."""
    assert response.status_code == status, response.text
    body = response.json()
    tag = ETAG.fullmatch(response.headers["etag"])
    assert tag is not None, response.headers["etag"]
    assert (int(tag[1]), int(tag[2]), int(tag[3])) == (
        body["version"],
        body["registered"],
        body["waitlisted"],
    )
    return counts(body)


def test_every_event_response_shows_the_counts(client: TestClient, app: Starlette) -> None:
    since = client.get("/events").headers["sync-token"]
    assert shown(new_event(client, capacity=2), 201) == (0, 0, 2)
    tutorial = send_json(client, "POST", "/event", {"ID": "t", "Title": "Tutorial"})
    assert shown(tutorial, 201) == (0, 0, None)
    for n in range(3):
        register(client, n)

    # GET one: the hot path (without gzip, and through the layers with it), the router.
    expected = (2, 1, 0)
    assert shown(client.get("/events/e1", headers={"Accept-Encoding": "identity"})) == expected
    assert shown(client.get("/events/e1", headers={"Accept-Encoding": "gzip"})) == expected
    assert shown(TestClient(app.router).get("/events/e1")) == expected
    # Listings and searches.
    listed = {e["id"]: counts(e) for e in client.get("/events").json()}
    assert listed == {"e1": expected, "t": (0, 0, None)}
    assert [counts(e) for e in client.get("/events?q=party&sort=title").json()] == [expected]
    # Writes: PATCH (merge, JSON Patch), PUT (replace, create).
    patched = client.patch("/events/e1", content=b'{"title": "Launch"}', headers=JSON_HEADERS)
    assert shown(patched) == expected
    op = [{"op": "replace", "path": "/capacity", "value": 3}]
    grown = send_json(client, "PATCH", "/events/e1", op, headers=JSON_PATCH_HEADERS)
    assert shown(grown) == (3, 0, 0)  # the waitlisted one was promoted by the change
    document = {k: v for k, v in grown.json().items() if k != "capacity"}
    assert shown(send_json(client, "PUT", "/events/e1", document)) == (3, 0, None)
    made = send_json(client, "PUT", "/events/p", {"title": "Put", "capacity": 9})
    assert shown(made, 201) == (0, 0, 9)
    # The trash, and back.
    assert client.delete("/events/e1").status_code == 204
    [trashed] = [t["event"] for t in client.get("/trash").json() if t["id"] == "e1"]
    assert counts(trashed) == (3, 0, None)
    assert shown(client.post("/trash/e1/restore"), 201) == (3, 0, None)
    # The change log (GET /changes; the stream and webhooks send the same documents).
    changes = client.get(f"/changes?since={since}").json()["changes"]
    with_event = [c for c in changes if c["event"] is not None]
    assert [c["type"] for c in with_event] == [
        "event.created",
        "event.created",
        "registration.confirmed",
        "registration.confirmed",
        "registration.waitlisted",
        "event.updated",
        "event.updated",
        "registration.promoted",
        "event.updated",
        "event.created",
        "event.restored",
    ]
    assert [counts(c["event"]) for c in with_event] == [
        (0, 0, 2),
        (0, 0, None),
        (1, 0, 1),
        (2, 0, 0),
        (2, 1, 0),
        (2, 1, 0),
        (2, 1, 1),
        (3, 0, 0),
        (3, 0, None),
        (0, 0, 9),
        (3, 0, None),
    ]


def test_registering_changes_the_etag_but_not_what_if_match_compares(
    client: TestClient,
) -> None:
    new_event(client, capacity=5)
    before = client.get("/events/e1").headers["etag"]
    assert client.get("/events/e1", headers={"If-None-Match": before}).status_code == 304

    register(client, 1)

    # A cached copy with the old counts is not revalidated: the new one comes, with its tag.
    fresh = client.get("/events/e1", headers={"If-None-Match": before})
    assert shown(fresh) == (1, 0, 4)
    after = fresh.headers["etag"]
    assert after != before
    assert client.get("/events/e1", headers={"If-None-Match": after}).status_code == 304
    # The owner's edit with the tag read before the registration goes ahead...
    edit = {"title": "Renamed"}
    edited = send_json(client, "PATCH", "/events/e1", edit, headers={"If-Match": before})
    assert shown(edited) == (1, 0, 4)
    # ...once: the event has changed since either tag was read.
    for stale in (before, after):
        again = send_json(client, "PATCH", "/events/e1", edit, headers={"If-Match": stale})
        assert_problem(again, 412)
    # Any tag of the event as it is now will do, a write's own answer's too; a tag without
    # counts (as issued before there were any) is the event's alone.
    current = edited.headers["etag"]
    assert client.get("/events/e1", headers={"If-None-Match": current}).status_code == 304
    register(client, 2)
    without_counts = current.split(".", 1)[0] + '"'
    for tag in (current, without_counts, f"W/{current}, {current}"):
        kept = send_json(client, "PATCH", "/events/e1", edit, headers={"If-Match": tag})
        assert shown(kept) == (2, 0, 3)  # the same title: no new version
    # If-None-Match on a write compares the event too: it exists in that version.
    put = send_json(client, "PUT", "/events/e1", edit, headers={"If-None-Match": current})
    assert_problem(put, 412)
    assert client.delete("/events/e1", headers={"If-Match": current}).status_code == 204


def test_counts_sent_back_are_ignored_as_the_version_is(client: TestClient) -> None:
    new_event(client, capacity=2)
    register(client, 1)
    fetched = client.get("/events/e1")
    body = fetched.json()

    # The event as GET gave it, counts and all, sent back: accepted, nothing changes.
    put = send_json(client, "PUT", "/events/e1", body)
    assert put.content == fetched.content
    assert put.headers["etag"] == fetched.headers["etag"]
    odd = {"registered": 99, "waitlisted": "many", "spots_left": None}
    merged = send_json(client, "PATCH", "/events/e1", odd, headers=MERGE_PATCH_HEADERS)
    assert merged.content == fetched.content
    created = new_event(client, "e2", **odd)
    assert shown(created, 201) == (0, 0, None)
    # A JSON Patch: the counts are not members of the event it patches.
    for operation, status in (
        ({"op": "add", "path": "/registered", "value": 0}, 422),
        ({"op": "test", "path": "/spots_left", "value": 1}, 409),
    ):
        response = send_json(client, "PATCH", "/events/e1", [operation], headers=JSON_PATCH_HEADERS)
        assert_problem(response, status)
    assert client.get("/events/e1").content == fetched.content


def test_an_event_without_registrations_shows_zero(client: TestClient) -> None:
    new_event(client)
    found = client.get("/events/e1")
    assert shown(found) == (0, 0, None)
    # The counts are the last members, after the event's own.
    assert list(msgspec.json.decode(found.content))[-3:] == [
        "registered",
        "waitlisted",
        "spots_left",
    ]


def test_the_openapi_event_schema_describes_the_counts_as_served(client: TestClient) -> None:
    """OpenAPI's ``Event`` requires the three counts (read only, ``spots_left`` nullable),
    and what the service serves, with and without a capacity, validates against it."""
    document = client.get("/openapi.json").json()
    event = document["components"]["schemas"]["Event"]
    for name in ("registered", "waitlisted", "spots_left"):
        assert name in event["required"], name
        assert event["properties"][name]["readOnly"] is True, name
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/Event", "components": document["components"]},
        validate_formats=True,
    )
    new_event(client, "full", capacity=1)
    new_event(client, "open")
    for n in (1, 2):
        register(client, n, "full")
    register(client, 3, "open")
    served = [client.get(f"/events/{event_id}").json() for event_id in ("full", "open")]
    assert [counts(body) for body in served] == [(1, 1, 0), (1, 0, None)]
    for body in served + client.get("/events").json():
        errors = [error.message for error in validator.iter_errors(body)]
        assert errors == [], (body, errors)
    # A count that is not one is what the schema rules out.
    assert not validator.is_valid({**served[0], "spots_left": -1})
    assert not validator.is_valid({k: v for k, v in served[1].items() if k != "registered"})
