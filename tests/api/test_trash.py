"""The trash over HTTP (issue 16): ``DELETE /events/{id}`` moves an event there; its owner
or an admin lists it (``GET /trash``), restores it or purges it. Another member is answered
as if it did not exist, an anonymous client needs to log in (``anonymous_writes="off"``).
"""

# The people fixtures are test_event_authorization's, imported by name (pytest finds them so).
# ruff: noqa: F811

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from starlette.testclient import TestClient

from eventsapi.storage import Backend, changes
from tests.api.asserts import assert_problem
from tests.api.test_event_authorization import (  # noqa: F401 - fixtures
    People,
    Person,
    accounts,
    people,
    send,
    settings,
)
from tests.support import FakeClock


def create(client: TestClient, person: Person, event_id: str, **members: Any) -> dict[str, Any]:
    body = {"id": event_id, "title": "Launch", **members}
    response = send(client, "POST", "/events", body, headers=person.headers)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def delete(client: TestClient, person: Person, event_id: str) -> None:
    response = client.delete(f"/events/{event_id}", headers=person.headers)
    assert response.status_code == 204, response.text


def trash_of(client: TestClient, person: Person, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/trash", params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def test_a_deleted_event_is_gone_everywhere_but_the_owners_trash(
    client: TestClient, people: People, clock: FakeClock
) -> None:
    created = create(client, people.alice, "a1", title="Board games", tags=["fun"])
    create(client, people.alice, "a2")
    delete(client, people.alice, "a1")

    assert_problem(client.get("/events/a1"), 404)
    assert_problem(client.get("/events/a1.ics"), 404)
    assert [e["id"] for e in client.get("/events").json()] == ["a2"]
    assert client.get("/events", params={"q": "board"}).json() == []
    assert (
        client.get("/events", params={"tag": "fun", "count": "exact"}).headers["x-total-count"]
        == "0"
    )
    assert b"a1" not in client.get("/events.ics").content
    assert_problem(client.delete("/events/a1", headers=people.alice.headers), 404)

    [item] = trash_of(client, people.alice)
    assert item["id"] == "a1"
    assert item["event"] == created
    assert item["deleted_by"] == people.alice.id
    kept = datetime.fromisoformat(item["purge_at"]) - datetime.fromisoformat(item["deleted_at"])
    assert kept == timedelta(days=30)  # trash_retention_days' default


def test_restore_brings_it_back_with_a_new_version_and_its_location(
    client: TestClient, people: People
) -> None:
    created = create(client, people.alice, "a1")
    delete(client, people.alice, "a1")

    response = client.post("/trash/a1/restore", headers=people.alice.headers)

    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/events/a1"
    restored = response.json()
    assert restored["version"] == created["version"] + 1
    assert {k: v for k, v in restored.items() if k not in ("version", "updated_at")} == {
        k: v for k, v in created.items() if k not in ("version", "updated_at")
    }
    served = client.get("/events/a1")
    assert served.json() == restored
    assert served.headers["etag"] == response.headers["etag"]
    assert trash_of(client, people.alice) == []
    assert_problem(client.post("/trash/a1/restore", headers=people.alice.headers), 404)


def test_purge_removes_it_for_good(client: TestClient, people: People) -> None:
    create(client, people.alice, "a1")
    delete(client, people.alice, "a1")

    assert client.delete("/trash/a1", headers=people.alice.headers).status_code == 204

    assert trash_of(client, people.alice) == []
    assert_problem(client.post("/trash/a1/restore", headers=people.alice.headers), 404)
    assert_problem(client.delete("/trash/a1", headers=people.alice.headers), 404)
    create(client, people.alice, "a1", title="A new one")  # the id is free again


def test_another_member_cannot_see_restore_or_purge_it(client: TestClient, people: People) -> None:
    create(client, people.alice, "a1")
    delete(client, people.alice, "a1")
    before = trash_of(client, people.alice)

    assert trash_of(client, people.bob) == []
    missing = client.post("/trash/never/restore", headers=people.bob.headers)
    for response in (
        client.post("/trash/a1/restore", headers=people.bob.headers),
        client.delete("/trash/a1", headers=people.bob.headers),
    ):
        # Exactly as an id that is in nobody's trash: nothing tells that it exists.
        assert assert_problem(response, 404)["detail"] == missing.json()["detail"].replace(
            "never", "a1"
        )
    assert trash_of(client, people.alice) == before
    assert_problem(client.get("/events/a1"), 404)


def test_an_admin_sees_and_handles_everyones_trash(client: TestClient, people: People) -> None:
    create(client, people.alice, "a1")
    create(client, people.bob, "b1")
    delete(client, people.alice, "a1")
    delete(client, people.root, "b1")  # an admin may delete any event

    assert sorted(item["id"] for item in trash_of(client, people.root)) == ["a1", "b1"]
    assert [item["deleted_by"] for item in trash_of(client, people.bob)] == [people.root.id]
    assert client.post("/trash/a1/restore", headers=people.root.headers).status_code == 201
    assert client.delete("/trash/b1", headers=people.root.headers).status_code == 204
    assert client.get("/events/a1").json()["owner"] == people.alice.id  # still Alice's


def test_anonymous_clients_and_read_only_tokens_are_refused(
    client: TestClient, people: People
) -> None:
    create(client, people.alice, "a1")
    delete(client, people.alice, "a1")

    for method, url in (("GET", "/trash"), ("POST", "/trash/a1/restore"), ("DELETE", "/trash/a1")):
        assert_problem(client.request(method, url), 401)
        assert_problem(client.request(method, url, headers=people.reader), 403)
    assert [item["id"] for item in trash_of(client, people.alice)] == ["a1"]


def test_an_id_in_the_trash_is_taken(client: TestClient, people: People) -> None:
    create(client, people.alice, "a1")
    delete(client, people.alice, "a1")

    for person in (people.alice, people.bob):
        for method, url in (("POST", "/events"), ("PUT", "/events/a1")):
            response = send(
                client, method, url, {"id": "a1", "title": "Mine"}, headers=person.headers
            )
            assert assert_problem(response, 409)["type"] == "/problems/in-trash"
    assert client.get("/problems/in-trash").status_code == 200
    assert client.post("/trash/a1/restore", headers=people.alice.headers).status_code == 201


def test_the_trash_pages_with_a_cursor_bound_to_its_reader(
    client: TestClient, people: People
) -> None:
    ids = [f"a{n}" for n in range(5)]
    for event_id in ids:
        create(client, people.alice, event_id)
        delete(client, people.alice, event_id)

    seen: list[str] = []
    response = client.get("/trash", params={"limit": 2}, headers=people.alice.headers)
    while True:
        assert response.status_code == 200
        seen += [item["id"] for item in response.json()]
        following = response.links.get("next")
        if following is None:
            break
        stolen = client.get(following["url"], headers=people.bob.headers)
        assert assert_problem(stolen, 400)["parameter"] == "cursor"
        response = client.get(following["url"], headers=people.alice.headers)

    assert sorted(seen) == ids


def test_bad_parameters_and_ids_are_problems(client: TestClient, people: People) -> None:
    for params in (
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "x"},
        {"cursor": "AAAA"},
        {"x": "1"},
    ):
        response = client.get("/trash", params=params, headers=people.alice.headers)
        assert assert_problem(response, 400)["parameter"] == next(iter(params))
    for bad in ("a" * 65, "%00", "x.ics", "a%20b"):
        assert_problem(client.post(f"/trash/{bad}/restore", headers=people.alice.headers), 404)
        assert_problem(client.delete(f"/trash/{bad}", headers=people.alice.headers), 404)


def test_retention_purges_in_the_daily_housekeeping(
    client: TestClient, people: People, store: Backend
) -> None:
    create(client, people.alice, "a1")
    delete(client, people.alice, "a1")

    purged = client.portal.call(store.purge_trash, changes.now() + timedelta(seconds=1))  # type: ignore[union-attr]

    assert purged == 1
    assert trash_of(client, people.alice) == []


def test_the_document_describes_the_trash(client: TestClient) -> None:
    document = msgspec.json.decode(client.get("/openapi.json").content)
    paths = document["paths"]

    assert paths["/trash"]["get"]["operationId"] == "listTrash"
    assert paths["/trash/{id}/restore"]["post"]["operationId"] == "restoreEvent"
    assert paths["/trash/{id}"]["delete"]["operationId"] == "purgeEvent"
    assert "TrashedEvent" in document["components"]["schemas"]
    assert set(paths["/trash/{id}/restore"]["post"]["responses"]) >= {"201", "401", "404", "409"}
