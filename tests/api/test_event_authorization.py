"""Who may change which event (issue 6), on every backend.

Writes need an account (``anonymous_writes="off"`` here); a member changes only the events
they own, and another member's event is answered exactly as a missing one; an admin changes
any; reads need no account (what they show: ``test_visibility.py``). The owner is the
server's: no body can set or change it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from eventsapi.auth.passwords import Hasher
from eventsapi.auth.principal import OPERATOR, Principal
from eventsapi.auth.service import AccountService
from eventsapi.domain.accounts import Role, Scope
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.api.asserts import PROBLEM_JSON, assert_problem
from tests.support import FakeClock

PROBES = 1_000
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Person:
    id: str
    headers: dict[str, str]  # Authorization: Bearer <their session>


@dataclass(frozen=True)
class People:
    alice: Person  # member
    bob: Person  # member
    root: Person  # admin
    reader: dict[str, str]  # Alice's API token with events:read only


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    mode: Literal["auto", "on", "off"] = getattr(request, "param", "off")
    # No rate limits: the probes are many requests from one client, and the clock stands.
    return Settings(database=str(tmp_path / "events.db"), anonymous_writes=mode, rate_limits=[])


@pytest.fixture
def accounts(app: Starlette, store: Backend, clock: FakeClock) -> AccountService:
    """The app's accounts with a cheap password hasher (argon2 at OWASP cost: ~50 ms)."""
    service = AccountService(store, clock.now, hasher=Hasher.for_tests())
    app.state.accounts = service
    app.state.authn.accounts = service
    return service


@pytest.fixture
def people(client: TestClient, accounts: AccountService) -> People:
    async def sign_up(name: str, role: Role) -> tuple[Person, str]:
        password = "violet tractor humming seashell"  # noqa: S105 - test accounts'
        user = await accounts.admin.create_user(name, password, role=role, actor=OPERATOR)
        _, _, token = await accounts.signin.login(
            name, password, client="test", user_agent="pytest"
        )
        return Person(user.id, {"Authorization": f"Bearer {token}"}), token

    async def make() -> People:
        alice, token = await sign_up("alice", Role.MEMBER)
        bob, _ = await sign_up("bob", Role.MEMBER)
        root, _ = await sign_up("root", Role.ADMIN)
        principal = await accounts.signin.authenticate(token)
        assert isinstance(principal, Principal)
        _, value = await accounts.own.create_token(principal, "reader", [Scope.EVENTS_READ], None)
        return People(alice, bob, root, {"Authorization": f"Bearer {value}"})

    return client.portal.call(make)  # type: ignore[union-attr]


def send(
    client: TestClient,
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    media: str = "application/json",
    raw: bytes | None = None,
) -> httpx2.Response:
    content = raw if raw is not None else None if body is None else json.dumps(body).encode()
    sent = {**(headers or {})}
    if content is not None:
        sent.setdefault("Content-Type", media)
    return client.request(method, url, content=content, headers=sent)


def create(client: TestClient, person: Person, **members: Any) -> dict[str, Any]:
    response = send(
        client, "POST", "/events", {"title": "Launch", **members}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def stored(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/events", params={"limit": 500})
    assert response.status_code == 200
    documents: list[dict[str, Any]] = response.json()
    return documents


WRITES = [
    ("POST", "/events"),
    ("POST", "/event"),
    ("PUT", "/events/e1"),
    ("PATCH", "/events/e1"),
    ("DELETE", "/events/e1"),
]


# --- who is writing --------------------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), WRITES)
@pytest.mark.parametrize("body", [b'{"title": "Launch"}', b"{not json", b""])
def test_a_write_without_an_account_is_401_whatever_the_body(
    client: TestClient, people: People, method: str, url: str, body: bytes
) -> None:
    create(client, people.alice, id="e1")
    before = stored(client)

    response = send(client, method, url, raw=body)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert stored(client) == before


@pytest.mark.parametrize(("method", "url"), WRITES)
def test_a_token_that_may_only_read_is_403_on_writes(
    client: TestClient, people: People, method: str, url: str
) -> None:
    create(client, people.alice, id="e1")
    before = stored(client)

    response = send(client, method, url, {"title": "Mine now"}, headers=people.reader)

    assert_problem(response, 403)
    assert stored(client) == before
    assert client.get("/events/e1", headers=people.reader).status_code == 200


def test_reads_need_no_account(client: TestClient, people: People) -> None:
    event = create(client, people.alice)

    assert client.get(f"/events/{event['id']}").json() == event
    assert client.get("/events").json() == [event]


@pytest.mark.parametrize("settings", ["on"], indirect=True)
def test_with_anonymous_writes_on_anyone_changes_any_event(
    client: TestClient, people: People
) -> None:
    owned = create(client, people.alice)
    anonymous = send(client, "POST", "/events", {"title": "Nobody's"})

    changed = send(client, "PATCH", f"/events/{owned['id']}", {"title": "Changed"})

    assert anonymous.status_code == 201
    assert "owner" not in anonymous.json()
    assert changed.status_code == 200
    assert changed.json()["owner"] == people.alice.id
    assert send(client, "DELETE", f"/events/{owned['id']}").status_code == 204


def test_a_request_authenticates_once_and_only_with_credentials(
    client: TestClient, people: People, accounts: AccountService
) -> None:
    """A read without credentials pays nothing for accounts; with them, one lookup (what a
    reader may see depends on who they are: docs/visibility.md), as a write does."""
    event = create(client, people.alice)
    calls: list[str] = []
    authenticate = accounts.signin.authenticate

    async def counted(token: str, **kwargs: Any) -> Principal | None:
        calls.append(token)
        return await authenticate(token, **kwargs)

    accounts.signin.authenticate = counted  # type: ignore[method-assign,assignment]
    client.get(f"/events/{event['id']}")
    client.get("/events")
    assert calls == []
    client.get(f"/events/{event['id']}", headers=people.alice.headers)
    client.get("/events", headers=people.alice.headers)
    assert len(calls) == 2
    send(client, "PATCH", f"/events/{event['id']}", {"title": "B"}, headers=people.alice.headers)
    assert len(calls) == 3
    send(client, "PATCH", f"/events/{event['id']}", {"title": "C"})
    assert len(calls) == 3


# --- owners ---------------------------------------------------------------------------


def test_the_creator_owns_the_event_on_every_create_route(
    client: TestClient, people: People
) -> None:
    posted = create(client, people.alice)
    tutorial = send(client, "POST", "/event", {"Title": "Go"}, headers=people.bob.headers)
    put = send(client, "PUT", "/events/p1", {"title": "Put"}, headers=people.root.headers)

    assert posted["owner"] == people.alice.id
    assert tutorial.json()["owner"] == people.bob.id
    assert put.status_code == 201
    assert put.json()["owner"] == people.root.id
    assert client.get(f"/events/{posted['id']}").json()["owner"] == people.alice.id


def test_a_member_changes_and_deletes_their_own_events(client: TestClient, people: People) -> None:
    event = create(client, people.alice, id="e1")
    headers = people.alice.headers

    patched = send(client, "PATCH", "/events/e1", {"location": "Hall"}, headers=headers)
    put = send(client, "PUT", "/events/e1", {"title": "Again"}, headers=headers)
    deleted = send(client, "DELETE", "/events/e1", headers=headers)

    assert patched.status_code == 200
    assert put.status_code == 200
    assert put.json()["owner"] == event["owner"] == people.alice.id
    assert deleted.status_code == 204
    assert stored(client) == []


@pytest.mark.parametrize("settings", ["auto"], indirect=True)
def test_in_local_mode_a_member_cannot_change_an_event_that_has_no_owner(
    client: TestClient, people: People
) -> None:
    """An event made anonymously (local mode) has no owner, so it is no member's own."""
    made = send(client, "POST", "/events", {"title": "Nobody's"})
    assert made.status_code == 201
    assert "owner" not in made.json()
    url = f"/events/{made.json()['id']}"
    before = client.get(url).content
    headers = people.alice.headers
    missing = client.delete("/events/free", headers=headers).json()
    writes = [
        ("PATCH", {"title": "Mine now"}, MERGE_PATCH),
        ("PATCH", [{"op": "replace", "path": "/title", "value": "Mine now"}], JSON_PATCH),
        ("PUT", {"title": "Mine now"}, "application/json"),
        ("DELETE", None, "application/json"),
    ]

    for method, body, media in writes:
        response = send(client, method, url, body, headers=headers, media=media)
        assert assert_problem(response, 404) == _same_problem(missing, "free", made.json()["id"])
        assert client.get(url).content == before, method

    assert send(client, "DELETE", url, headers=people.root.headers).status_code == 204


def test_an_admin_changes_anyone_s_event_and_the_owner_stays(
    client: TestClient, people: People
) -> None:
    create(client, people.alice, id="e1")
    create(client, people.bob, id="e2")
    headers = people.root.headers

    patched = send(client, "PATCH", "/events/e1", {"location": "Hall"}, headers=headers)
    put = send(client, "PUT", "/events/e1", {"title": "Renamed"}, headers=headers)
    json_patch = send(
        client,
        "PATCH",
        "/events/e1",
        [{"op": "replace", "path": "/title", "value": "Patched"}],
        headers=headers,
        media=JSON_PATCH,
    )
    deleted = send(client, "DELETE", "/events/e2", headers=headers)

    assert [patched.status_code, put.status_code, json_patch.status_code] == [200, 200, 200]
    assert json_patch.json()["owner"] == people.alice.id
    assert json_patch.json()["version"] == 4
    assert deleted.status_code == 204
    assert [event["id"] for event in stored(client)] == ["e1"]


def test_an_admin_token_without_the_admin_scope_acts_as_a_member(
    client: TestClient, people: People, accounts: AccountService
) -> None:
    create(client, people.alice, id="e1")

    async def token() -> str:
        principal = await accounts.signin.authenticate(people.root.headers["Authorization"][7:])
        assert principal is not None
        _, value = await accounts.own.create_token(principal, "ci", [Scope.EVENTS_WRITE], None)
        return value

    value = client.portal.call(token)  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {value}"}

    assert send(client, "DELETE", "/events/e1", headers=headers).status_code == 404
    assert send(client, "POST", "/events", {"title": "CI"}, headers=headers).status_code == 201


# --- 1,000 cross-user probes ---------------------------------------------------------


def _bodies(rng: random.Random, document: dict[str, Any]) -> tuple[str, Any, str]:
    """A random write body for ``document``: (method, body, media type)."""
    choices: list[tuple[str, Any, str]] = [
        ("PUT", {"title": "Taken over"}, "application/json"),
        ("PUT", {**document, "title": "Taken over"}, "application/json"),
        ("PUT", {k: v for k, v in document.items() if k != "owner"}, "application/json"),
        ("PUT", {"title": ""}, "application/json"),
        ("PUT", {"title": "Mine", "owner": "someone"}, "application/json"),
        ("PATCH", {"title": "Taken over"}, MERGE_PATCH),
        ("PATCH", {"title": "Taken over"}, "application/json"),
        ("PATCH", {"owner": None}, MERGE_PATCH),
        ("PATCH", {"title": None}, MERGE_PATCH),
        ("PATCH", [{"op": "replace", "path": "/title", "value": "Taken over"}], JSON_PATCH),
        ("PATCH", [{"op": "remove", "path": "/owner"}], JSON_PATCH),
        ("PATCH", [{"op": "test", "path": "/version", "value": 1}], JSON_PATCH),
        ("PATCH", "not an object", MERGE_PATCH),
        ("DELETE", None, "application/json"),
    ]
    return rng.choice(choices)


def test_1000_cross_user_probes_change_nothing_and_look_like_missing_ids(
    client: TestClient, people: People
) -> None:
    rng = random.Random(6)  # noqa: S311 - reproducible probes, not secrets
    alices = [create(client, people.alice, id=f"a{n}", tags=[f"t{n}"]) for n in range(10)]
    tags = {event["id"]: client.get(f"/events/{event['id']}").headers["etag"] for event in alices}
    before = {event["id"]: client.get(f"/events/{event['id']}").content for event in alices}
    free = client.delete("/events/free", headers=people.bob.headers)
    assert free.status_code == 404
    not_found = {target: _same_problem(free.json(), "free", target) for target in before}
    refused = 0

    for probe in range(PROBES):
        event = rng.choice(alices)
        target, missing = event["id"], f"missing-{probe}"
        if rng.random() < 0.2:
            response = client.get(f"/events/{target}", headers=people.bob.headers)
            assert response.status_code == 200
            assert response.content == before[target]
            continue
        method, body, media = _bodies(rng, event)
        headers = dict(people.bob.headers)
        if rng.random() < 0.3:
            # the event's own tag, or one that no longer holds
            headers["If-Match"] = rng.choice([tags[target], '"1-0123456789abcdef"'])
        if rng.random() < 0.2:
            headers["Idempotency-Key"] = f"k{probe}"
        response = send(client, method, f"/events/{target}", body, headers=headers, media=media)
        reference = send(client, method, f"/events/{missing}", body, headers=headers, media=media)

        # Every answer is the not-found problem, or exactly what a free id gets (a refusal
        # that does not look at the event: a body or a header the service cannot take).
        assert response.headers["content-type"] == PROBLEM_JSON, (method, body, response.text)
        if response.status_code == 404:
            refused += 1
            assert response.json() == not_found[target]
        else:
            assert response.status_code == reference.status_code, (method, body)
            assert response.json() == _same_problem(reference.json(), missing, target)
        if method != "PUT":  # a PUT to a free id creates it: that cannot look the same
            assert response.status_code == reference.status_code, (method, body)
            assert response.json() == _same_problem(reference.json(), missing, target)

    after = {event["id"]: client.get(f"/events/{event['id']}").content for event in alices}
    assert after == before
    assert refused > PROBES // 2  # most probes reached the owner check


def _same_problem(problem: dict[str, Any], missing: str, target: str) -> dict[str, Any]:
    """``problem``, an answer about the id ``missing``, as said of ``target``."""
    detail = str(problem["detail"]).replace(repr(missing), repr(target))
    return {**problem, "detail": detail}


# --- mass assignment ----------------------------------------------------------------


@pytest.mark.parametrize(
    "members",
    [
        {"owner": "01JD7X3Q9M5T8V2W4Y6Z8A0B1C"},
        {"owner": None},
        {"owner": ""},
    ],
)
def test_a_create_cannot_choose_the_owner(
    client: TestClient, people: People, members: dict[str, Any]
) -> None:
    for route in ("/events", "/event"):
        response = send(
            client, "POST", route, {"title": "x", **members}, headers=people.bob.headers
        )
        assert assert_problem(response, 422)["errors"] == [
            {"pointer": "#/owner", "detail": "is set by the server and cannot be changed"}
        ]
    put = send(client, "PUT", "/events/n1", {"title": "x", **members}, headers=people.bob.headers)
    assert_problem(put, 422)
    assert stored(client) == []


def test_a_create_cannot_set_the_version_or_the_times(
    client: TestClient, people: People, clock: FakeClock
) -> None:
    forged = {
        "version": 99,
        "created_at": "1999-01-01T00:00:00Z",
        "updated_at": "2099-01-01T00:00:00Z",
    }

    event = create(client, people.bob, **forged)

    assert event["version"] == 1
    assert event["created_at"] == event["updated_at"]
    assert datetime.fromisoformat(event["created_at"]) == clock.now()
    assert client.get(f"/events/{event['id']}").json() == event


@pytest.mark.parametrize(
    ("media", "body"),
    [
        (MERGE_PATCH, {"owner": "PEOPLE.bob"}),
        (MERGE_PATCH, {"owner": None}),
        ("application/json", {"owner": "PEOPLE.bob", "title": "x"}),
        (JSON_PATCH, [{"op": "replace", "path": "/owner", "value": "PEOPLE.bob"}]),
        (JSON_PATCH, [{"op": "remove", "path": "/owner"}]),
        (JSON_PATCH, [{"op": "copy", "from": "/id", "path": "/owner"}]),
    ],
)
def test_an_owner_cannot_give_their_event_away_or_drop_its_owner(
    client: TestClient, people: People, media: str, body: Any
) -> None:
    create(client, people.alice, id="e1")
    before = client.get("/events/e1").content
    body = json.loads(json.dumps(body).replace("PEOPLE.bob", people.bob.id))

    response = send(client, "PATCH", "/events/e1", body, headers=people.alice.headers, media=media)

    errors = assert_problem(response, 422)["errors"]
    assert {"pointer": "#/owner", "detail": "is set by the server and cannot be changed"} in (
        errors
    ) or {"pointer": "#/owner", "detail": "is set by the server and cannot be removed"} in errors
    assert client.get("/events/e1").content == before


def test_a_put_cannot_change_the_owner_nor_the_id(client: TestClient, people: People) -> None:
    event = create(client, people.alice, id="e1")
    before = client.get("/events/e1").content
    headers = people.root.headers  # even an admin

    given_away = send(
        client, "PUT", "/events/e1", {**event, "owner": people.bob.id}, headers=headers
    )
    other_id = send(client, "PUT", "/events/e1", {**event, "id": "e2"}, headers=headers)

    assert assert_problem(given_away, 422)["errors"][0]["pointer"] == "#/owner"
    assert assert_problem(other_id, 422)["errors"][0]["pointer"] == "#/id"
    assert client.get("/events/e1").content == before
    assert client.get("/events/e2").status_code == 404


def test_a_fetched_event_can_be_sent_back_as_it_is(client: TestClient, people: People) -> None:
    create(client, people.alice, id="e1")
    fetched = client.get("/events/e1").json()

    put = send(client, "PUT", "/events/e1", fetched, headers=people.alice.headers)
    merge = send(client, "PATCH", "/events/e1", fetched, headers=people.alice.headers)

    assert put.status_code == merge.status_code == 200
    assert merge.json() == fetched  # nothing changed: the same version


# --- idempotency keys are per account -----------------------------------------------


def test_the_same_idempotency_key_of_two_accounts_never_replays_the_other_s(
    client: TestClient, people: People
) -> None:
    def post(person: Person, title: str) -> httpx2.Response:
        headers = {**person.headers, "Idempotency-Key": "same-key"}
        return send(client, "POST", "/events", {"title": title}, headers=headers)

    alices = post(people.alice, "Launch")
    bobs = post(people.bob, "Launch")
    bobs_other = post(people.bob, "Other")
    alices_retry = post(people.alice, "Launch")

    assert alices.status_code == bobs.status_code == 201
    assert "idempotent-replayed" not in bobs.headers
    assert bobs.json()["owner"] == people.bob.id
    assert bobs.json()["id"] != alices.json()["id"]
    assert bobs_other.status_code == 422  # Bob's own key, reused for another request
    assert alices_retry.headers["idempotent-replayed"] == "true"
    assert alices_retry.content == alices.content
    assert len(stored(client)) == 2


def test_a_patch_key_of_the_owner_is_not_replayed_to_another_member(
    client: TestClient, people: People
) -> None:
    create(client, people.alice, id="e1")

    def patch(person: Person) -> httpx2.Response:
        headers = {**person.headers, "Idempotency-Key": "k"}
        return send(
            client, "PATCH", "/events/e1", {"title": "Moved"}, headers=headers, media=MERGE_PATCH
        )

    assert patch(people.alice).status_code == 200
    assert patch(people.bob).status_code == 404
