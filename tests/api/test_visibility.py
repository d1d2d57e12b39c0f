"""Who may see an event (issue 16), over HTTP, on every backend: every way an event leaves the
service, for a reader of each kind.

An event is ``public`` (the default), ``members`` (anyone signed in) or ``private`` (its
owner, admins and the accounts registered for it). A reader who may not see it is answered
as for an id that does not exist, on every route: the read, the listings, searches and their
counts, the calendar feeds, the registrations' routes, ``/changes``. A change that hides the
event from a reader reaches them as its deletion, one that shows it as its creation. The
stream is ``tests/stream/test_stream_visibility.py``; the storage filter
``tests/contract/test_visibility.py``.
"""

# The people fixtures are test_event_authorization's, imported by name (pytest finds them so).
# ruff: noqa: F811

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from eventsapi.auth.principal import OPERATOR, Principal
from eventsapi.auth.service import AccountService
from eventsapi.domain.accounts import Role, Scope
from tests.api.asserts import assert_problem
from tests.api.test_event_authorization import (  # noqa: F401 - fixtures
    People,
    Person,
    accounts,
    people,
    send,
    settings,
)
from tests.support import START

SOON = (START + timedelta(days=7)).isoformat()
MERGE_PATCH = "application/merge-patch+json"
VISIBILITIES = ("public", "members", "private")
PASSWORD = "violet tractor humming seashell"  # noqa: S105 - test accounts'


@dataclass(frozen=True)
class Cast:
    """Every kind of reader: ``alice`` owns the events, ``carol`` registered for them (with
    her account, while they were public), ``bob`` is another member, ``root`` an admin."""

    alice: Person
    bob: Person
    carol: Person
    root: Person
    anonymous: Person
    write_only: Person
    """Bob's API token with ``events:write`` but not ``events:read``."""

    def readers(self) -> dict[str, Person]:
        return {
            "anonymous": self.anonymous,
            "other member": self.bob,
            "owner": self.alice,
            "admin": self.root,
            "registrant": self.carol,
        }


SEES = {
    "public": {"anonymous", "other member", "owner", "admin", "registrant"},
    "members": {"other member", "owner", "admin", "registrant"},
    "private": {"owner", "admin", "registrant"},
}


@pytest.fixture
def cast(client: TestClient, people: People, accounts: AccountService) -> Cast:
    async def make() -> tuple[Person, Person]:
        user = await accounts.admin.create_user("carol", PASSWORD, role=Role.MEMBER, actor=OPERATOR)
        _, _, token = await accounts.signin.login(
            "carol", PASSWORD, client="test", user_agent="pytest"
        )
        carol = Person(user.id, {"Authorization": f"Bearer {token}"})
        bob_session = people.bob.headers["Authorization"].removeprefix("Bearer ")
        principal = await accounts.signin.authenticate(bob_session)
        assert isinstance(principal, Principal)
        _, value = await accounts.own.create_token(principal, "bot", [Scope.EVENTS_WRITE], None)
        return carol, Person(people.bob.id, {"Authorization": f"Bearer {value}"})

    carol, write_only = client.portal.call(make)  # type: ignore[union-attr]
    return Cast(people.alice, people.bob, carol, people.root, Person("", {}), write_only)


def made(client: TestClient, cast: Cast, event_id: str, visibility: str) -> dict[str, Any]:
    """An event of Alice's, made public, with Carol registered, then given ``visibility``."""
    body = {"id": event_id, "title": "Board games", "starts_at": SOON, "tags": ["games"]}
    created = send(client, "POST", "/events", body, headers=cast.alice.headers)
    assert created.status_code == 201, created.text
    registration = {"email": f"carol-{event_id}@example.org"}
    url = f"/events/{event_id}/registrations"
    assert send(client, "POST", url, registration, headers=cast.carol.headers).status_code == 201
    return patched(client, cast.alice, event_id, {"visibility": visibility})


def patched(
    client: TestClient, person: Person, event_id: str, patch: dict[str, Any]
) -> dict[str, Any]:
    response = send(
        client, "PATCH", f"/events/{event_id}", patch, headers=person.headers, media=MERGE_PATCH
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def token_now(client: TestClient, person: Person) -> str:
    """A sync token after every change made so far: the listing's, moved past the changes
    it may be behind (on PostgreSQL, those not numbered yet when it was read)."""
    response = client.get("/events", params={"limit": 1}, headers=person.headers)
    assert response.status_code == 200
    token = response.headers["sync-token"]
    while True:
        page = client.get("/changes", params={"since": token}, headers=person.headers).json()
        token = str(page["next"])
        if not page["more"]:
            return token


def changes(client: TestClient, person: Person, since: str) -> list[dict[str, Any]]:
    response = client.get("/changes", params={"since": since}, headers=person.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["changes"]
    return found


def missing_as(client: TestClient, person: Person, template: str, event_id: str) -> bytes:
    """The answer at ``template`` (``{id}`` in it) for the unknown id ``nobody``, the id
    written back as ``event_id``: what an invisible event must look like, byte for byte."""
    response = client.get(template.format(id="nobody"), headers=person.headers)
    assert response.status_code == 404, response.text
    return response.content.replace(b"nobody", event_id.encode())


# --- every way out, every reader -------------------------------------------------------


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_every_way_out_shows_the_event_to_exactly_who_may_see_it(
    client: TestClient, cast: Cast, visibility: str
) -> None:
    document = made(client, cast, "ev", visibility)
    since = token_now(client, cast.root)
    document = patched(client, cast.alice, "ev", {"title": "Board games night"})
    etag = client.get("/events/ev", headers=cast.alice.headers).headers["etag"]
    wrong: list[str] = []

    def expect(way: str, who: str, shown: bool, seen: bool) -> None:
        if shown != seen:
            wrong.append(f"{way}: {who} {'sees' if shown else 'does not see'} it")

    for who, person in cast.readers().items():
        sees = who in SEES[visibility]
        headers = person.headers

        one = client.get("/events/ev", headers=headers)
        expect("GET /events/{id}", who, one.status_code == 200, sees)
        if sees:
            assert one.json() == document
        else:
            assert one.content == missing_as(client, person, "/events/{id}", "ev")
        head = client.head("/events/ev", headers=headers)
        expect("HEAD /events/{id}", who, head.status_code == 200, sees)
        conditional = client.get("/events/ev", headers={**headers, "If-None-Match": etag})
        expect("If-None-Match", who, conditional.status_code == 304, sees)
        if not sees:
            assert conditional.status_code == 404

        for params in ({}, {"q": "board"}, {"tag": "games"}, {"status": "scheduled"}):
            listed = client.get("/events", params={**params, "count": "exact"}, headers=headers)
            ids = [e["id"] for e in listed.json()]
            expect(f"GET /events {params}", who, ids == ["ev"], sees)
            expect(f"X-Total-Count {params}", who, listed.headers["x-total-count"] == "1", sees)
            assert listed.headers["x-total-count"] == ("1" if sees else "0")

        feed = client.get("/events.ics", headers=headers)
        expect("GET /events.ics", who, b"UID:ev@" in feed.content, sees)
        calendar = client.get("/events/ev.ics", headers=headers)
        expect("GET /events/{id}.ics", who, calendar.status_code == 200, sees)

        registrations = client.get("/events/ev/registrations", headers=headers)
        expect("GET /events/{id}/registrations", who, registrations.status_code == 200, sees)

        told = [c for c in changes(client, person, since) if c["id"] == "ev"]
        expect("GET /changes", who, [c["type"] for c in told] == ["event.updated"], sees)
        if sees:
            assert told[0]["event"] == document
        else:
            assert told == []

    assert wrong == []


@pytest.mark.parametrize("visibility", ["members", "private"])
def test_registrations_of_an_event_one_may_not_see_are_404_posting_included(
    client: TestClient, cast: Cast, visibility: str
) -> None:
    made(client, cast, "ev", visibility)
    [mine] = client.get("/me/registrations", headers=cast.carol.headers).json()
    count = len(client.get("/events/ev/registrations", headers=cast.alice.headers).json())
    refused = [cast.anonymous] if visibility == "members" else [cast.anonymous, cast.bob]
    for person in refused:
        body = {"email": "someone@example.org", "name": "Someone"}
        posted = send(client, "POST", "/events/ev/registrations", body, headers=person.headers)
        unknown = send(client, "POST", "/events/nobody/registrations", body, headers=person.headers)
        assert posted.status_code == unknown.status_code
        if person.headers:
            assert posted.content == unknown.content.replace(b"nobody", b"ev")
        one = f"/events/ev/registrations/{mine['id']}"
        assert_problem(client.get(one, headers=person.headers), 404)
        assert_problem(client.delete(one, headers=person.headers), 404)
    after = client.get("/events/ev/registrations", headers=cast.alice.headers).json()
    assert len(after) == count


def test_a_member_registers_for_a_members_event(client: TestClient, cast: Cast) -> None:
    made(client, cast, "ev", "members")
    body = {"email": "bob@example.org"}
    response = send(client, "POST", "/events/ev/registrations", body, headers=cast.bob.headers)
    assert response.status_code == 201, response.text


# --- what an outsider can learn ------------------------------------------------------------


def test_an_invisible_event_is_answered_byte_for_byte_as_an_unknown_id(
    client: TestClient, cast: Cast
) -> None:
    made(client, cast, "secret", "private")
    for person in (cast.anonymous, cast.bob, cast.write_only):
        for template in (
            "/events/{id}",
            "/events/{id}.ics",
            "/events/{id}/registrations",
            "/events/{id}/registrations/01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ):
            url = template.format(id="secret")
            hidden = client.get(url, headers={**person.headers, "If-None-Match": "*"})
            assert hidden.status_code == 404, (url, hidden.text)
            assert hidden.content == missing_as(client, person, template, "secret"), url
            unknown = client.get(template.format(id="nobody"), headers=person.headers)
            assert sorted(hidden.headers) == sorted(unknown.headers), url


def test_credentials_are_checked_on_every_read_whatever_the_id(
    client: TestClient, cast: Cast
) -> None:
    made(client, cast, "secret", "private")
    made(client, cast, "open", "public")
    stale = {"Authorization": "Bearer s_notavalidsession"}
    for url in ("/events/secret", "/events/open", "/events/nobody", "/events", "/events.ics"):
        assert_problem(client.get(url, headers=stale), 401)


def test_a_token_without_events_read_reads_as_anyone(client: TestClient, cast: Cast) -> None:
    made(client, cast, "m", "members")
    assert_problem(client.get("/events/m", headers=cast.write_only.headers), 404)
    assert client.get("/events", headers=cast.write_only.headers).json() == []


def test_answers_that_depend_on_the_reader_are_kept_from_shared_caches(
    client: TestClient, cast: Cast
) -> None:
    made(client, cast, "ev", "public")
    made(client, cast, "m", "members")
    for url in ("/events/ev", "/events", "/events.ics"):
        assert "cache-control" not in client.get(url).headers, url
        assert client.get(url, headers=cast.bob.headers).headers["cache-control"] == "private"
    # One event's calendar holds that event only: a public one's is everyone's, whoever asks.
    for headers in ({}, cast.bob.headers):
        assert "cache-control" not in client.get("/events/ev.ics", headers=headers).headers
    members = client.get("/events/m.ics", headers=cast.bob.headers)
    assert members.headers["cache-control"] == "private"


# --- changes of visibility reach each reader as creations and deletions --------------------


def test_a_change_of_visibility_is_a_deletion_or_a_creation_for_each_reader(
    client: TestClient, cast: Cast
) -> None:
    made(client, cast, "ev", "public")
    since = {who: token_now(client, cast.root) for who in cast.readers()}
    steps: list[tuple[str, dict[str, str]]] = [
        (
            "members",
            {"anonymous": "event.deleted", "other member": "event.updated"},
        ),
        (
            "private",
            {"other member": "event.deleted", "registrant": "event.updated"},
        ),
        (
            "members",
            {"other member": "event.created", "admin": "event.updated"},
        ),
        (
            "public",
            {"anonymous": "event.created", "registrant": "event.updated"},
        ),
    ]
    for visibility, expected in steps:
        document = patched(client, cast.alice, "ev", {"visibility": visibility})
        for who, kind in expected.items():
            person = cast.readers()[who]
            told = changes(client, person, since[who])
            assert [c["type"] for c in told] == [kind], (visibility, who)
            if kind == "event.deleted":
                assert told[0]["event"] is None
            else:
                assert told[0]["event"] == document
        since = {who: token_now(client, cast.root) for who in cast.readers()}


def test_a_reader_told_nothing_still_moves_on_and_misses_nothing(
    client: TestClient, cast: Cast
) -> None:
    made(client, cast, "hidden", "private")
    since = token_now(client, cast.bob)
    for n in range(3):
        patched(client, cast.alice, "hidden", {"title": f"Hidden {n}"})
    page = client.get("/changes", params={"since": since, "limit": 2}, headers=cast.bob.headers)
    assert page.json()["changes"] == []
    assert page.json()["more"] is True
    patched(client, cast.alice, "hidden", {"visibility": "members"})
    after = page.json()["next"]
    while True:
        page = client.get("/changes", params={"since": after}, headers=cast.bob.headers)
        after = page.json()["next"]
        if not page.json()["more"]:
            break
    told = changes(client, cast.bob, since)
    assert [(c["type"], c["event"]["title"]) for c in told] == [("event.created", "Hidden 2")]


def test_a_registrant_who_cancels_loses_a_private_event_as_a_deletion(
    client: TestClient, cast: Cast
) -> None:
    made(client, cast, "ev", "private")
    [mine] = client.get("/me/registrations", headers=cast.carol.headers).json()
    since = token_now(client, cast.carol)
    cancelled = client.delete(f"/events/ev/registrations/{mine['id']}", headers=cast.carol.headers)
    assert cancelled.status_code == 204
    assert_problem(client.get("/events/ev", headers=cast.carol.headers), 404)
    assert client.get("/events", headers=cast.carol.headers).json() == []
    told = changes(client, cast.carol, since)
    assert [(c["type"], c["event"]) for c in told] == [("event.deleted", None)]
    assert changes(client, cast.bob, since) == []  # never saw it: told nothing


def test_a_private_event_deleted_and_restored_reaches_its_registrants_only(
    client: TestClient, cast: Cast
) -> None:
    made(client, cast, "ev", "private")
    since = token_now(client, cast.root)
    assert client.delete("/events/ev", headers=cast.alice.headers).status_code == 204
    restored = client.post("/trash/ev/restore", headers=cast.alice.headers)
    assert restored.status_code == 201
    assert [c["type"] for c in changes(client, cast.carol, since)] == [
        "event.deleted",
        "event.restored",
    ]
    assert changes(client, cast.bob, since) == []
    assert changes(client, cast.anonymous, since) == []


def test_a_client_that_syncs_ends_with_what_it_may_see(client: TestClient, cast: Cast) -> None:
    for n, visibility in enumerate(VISIBILITIES * 2):
        made(client, cast, f"e{n}", visibility)
    for person in cast.readers().values():
        mirror = {e["id"]: e for e in listing(client, person)}
        since = token_now(client, person)
        patched(client, cast.alice, "e0", {"visibility": "private"})
        patched(client, cast.alice, "e1", {"visibility": "public"})
        patched(client, cast.alice, "e2", {"visibility": "members"})
        patched(client, cast.alice, "e3", {"title": "Renamed"})
        assert client.delete("/events/e4", headers=cast.alice.headers).status_code == 204
        for change in changes(client, person, since):
            if change["event"] is None:
                mirror.pop(change["id"], None)
            else:
                mirror[change["id"]] = change["event"]
        assert mirror == {e["id"]: e for e in listing(client, person)}
        # back as it was, for the next reader
        for n, visibility in enumerate(VISIBILITIES * 2):
            if n == 4:
                assert client.post("/trash/e4/restore", headers=cast.alice.headers).status_code
            patched(client, cast.alice, f"e{n}", {"visibility": visibility})


def listing(client: TestClient, person: Person) -> list[dict[str, Any]]:
    response = client.get("/events", params={"limit": 100}, headers=person.headers)
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()
    return found


# --- the member itself ------------------------------------------------------------------


def test_visibility_is_set_patched_and_refused_with_a_pointer(
    client: TestClient, cast: Cast
) -> None:
    body = {"id": "v", "title": "Launch", "visibility": "private"}
    created = send(client, "POST", "/events", body, headers=cast.alice.headers)
    assert created.json()["visibility"] == "private"
    bad = send(
        client,
        "POST",
        "/events",
        {"title": "x", "visibility": "secret"},
        headers=cast.alice.headers,
    )
    problem = assert_problem(bad, 422)
    assert [e["pointer"] for e in problem["errors"]] == ["#/visibility"]
    bad_patch = send(
        client,
        "PATCH",
        "/events/v",
        {"visibility": "everyone"},
        headers=cast.alice.headers,
        media=MERGE_PATCH,
    )
    assert [e["pointer"] for e in assert_problem(bad_patch, 422)["errors"]] == ["#/visibility"]
    public = patched(client, cast.alice, "v", {"visibility": None})
    assert "visibility" not in public
    assert client.get("/events/v").status_code == 200
    json_patch = send(
        client,
        "PATCH",
        "/events/v",
        [{"op": "add", "path": "/visibility", "value": "members"}],
        headers=cast.alice.headers,
        media="application/json-patch+json",
    )
    assert json_patch.json()["visibility"] == "members"


def test_an_event_that_was_always_public_keeps_its_document_and_etag(
    client: TestClient, cast: Cast
) -> None:
    body = {"id": "p", "title": "Launch"}
    created = send(client, "POST", "/events", body, headers=cast.alice.headers)
    assert b"visibility" not in created.content
    again = send(
        client, "PUT", "/events/p", {**body, "visibility": "public"}, headers=cast.alice.headers
    )
    assert again.json()["version"] == 1  # nothing changed
    assert again.headers["etag"] == created.headers["etag"]


def test_the_trash_is_its_owners_and_admins_whatever_the_visibility(
    client: TestClient, cast: Cast
) -> None:
    made(client, cast, "ev", "private")
    assert client.delete("/events/ev", headers=cast.alice.headers).status_code == 204

    def ids(person: Person) -> list[str]:
        return [t["id"] for t in client.get("/trash", headers=person.headers).json()]

    assert ids(cast.alice) == ["ev"]
    assert ids(cast.root) == ["ev"]
    assert ids(cast.carol) == []
    assert ids(cast.bob) == []


# --- the counts (registered, waitlisted, spots_left) go where the event goes ----------------


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_the_counts_of_an_event_reach_only_those_who_may_see_it(
    client: TestClient, cast: Cast, visibility: str
) -> None:
    made(client, cast, "ev", visibility)
    since = {who: token_now(client, person) for who, person in cast.readers().items()}
    guest = {"email": "guest@example.org"}
    url = "/events/ev/registrations"
    assert send(client, "POST", url, guest, headers=cast.alice.headers).status_code == 201

    for who, person in cast.readers().items():
        sees = who in SEES[visibility]
        one = client.get("/events/ev", headers=person.headers)
        listed = client.get("/events", headers=person.headers).json()
        told = changes(client, person, since[who])
        if sees:
            assert one.json()["registered"] == 2, who
            assert [event["registered"] for event in listed] == [2], who
            assert [(c["type"], c["event"]["registered"]) for c in told] == [
                ("registration.confirmed", 2)
            ], who
        else:
            assert one.status_code == 404, who
            assert listed == [], who
            assert told == [], who
