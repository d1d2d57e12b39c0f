"""An event's pages for its owner: edit (with If-Match, and the conflict view when someone
changed it meanwhile), the registrations with their CSV, delete with an undo; the trash."""

from __future__ import annotations

import csv
import functools
import html
import io
import re

from starlette.testclient import TestClient

from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from eventsapi.domain.accounts import Role
from tests.api.asserts import send_json
from tests.ui.pages import PASSWORD, add_user, error_of, post_form, sign_in, value_of
from tests.ui.test_event_pages import create

_INPUT = re.compile(r"<input\b([^>]*)>")
_ATTRIBUTE = re.compile(r'(\w[\w-]*)="([^"]*)"')


def add_admin(client: TestClient, name: str) -> None:
    accounts: AccountService = client.app.state.accounts  # type: ignore[attr-defined]
    make = functools.partial(
        accounts.admin.create_user, name, PASSWORD, role=Role.ADMIN, actor=OPERATOR
    )
    client.portal.call(make)  # type: ignore[union-attr]


def form_of(page: str, action: str) -> dict[str, str]:
    """The fields of the page's form posting to ``action``, as a browser would send them
    untouched."""
    start = page.index(f'action="{action}"')
    body = page[start : page.index("</form>", start)]
    fields = {}
    for found in _INPUT.finditer(body):
        attributes = dict(_ATTRIBUTE.findall(found.group(1)))
        if "name" in attributes:
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
    for name, text in re.findall(
        r'<textarea id="f-\w+" name="(\w+)"[^>]*>(.*?)</textarea>', body, re.S
    ):
        fields[name] = html.unescape(text)
    for name, options in re.findall(
        r'<select id="f-\w+" name="(\w+)"[^>]*>(.*?)</select>', body, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        fields[name] = html.unescape(chosen.group(1)) if chosen else ""
    return fields


def api_event(ui: TestClient, event_id: str) -> dict[str, object]:
    answer = ui.get(f"/events/{event_id}")
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def test_the_owner_edits_an_event_with_if_match(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(
        ui, title="Jazz night", location="Cellar", tags=["music"], timezone="Europe/Paris"
    )
    before = ui.get(f"/events/{event_id}")

    page = ui.get(f"/ui/events/{event_id}/edit")
    assert page.status_code == 200
    assert value_of(page.text, "title") == "Jazz night"
    assert value_of(page.text, "starts_at") == "2031-06-01T20:00"  # 18:00Z in Paris
    assert value_of(page.text, "tags") == "music"
    fields = form_of(page.text, f"/ui/events/{event_id}/edit")
    assert fields["etag"] == before.headers["etag"]
    saved = post_form(
        ui, f"/ui/events/{event_id}/edit", {**fields, "title": "Jazz evening"}, page=page.text
    )

    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/ui/events/{event_id}?notice=saved"
    assert "Your changes are saved." in ui.get(saved.headers["location"]).text
    after = api_event(ui, event_id)
    assert after["title"] == "Jazz evening"
    assert after["location"] == "Cellar"
    assert after["starts_at"] == "2031-06-01T18:00:00Z"  # untouched: not sent
    assert after["version"] == 2


def test_an_edit_the_api_refuses_is_said_beside_its_field(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui, title="Jazz night")
    page = ui.get(f"/ui/events/{event_id}/edit").text
    fields = form_of(page, f"/ui/events/{event_id}/edit")

    refused = post_form(
        ui,
        f"/ui/events/{event_id}/edit",
        {**fields, "capacity": "-3", "location": "Upstairs"},
        page=page,
    )

    assert refused.status_code == 422
    assert error_of(refused.text, "capacity")
    assert value_of(refused.text, "capacity") == "-3"
    assert value_of(refused.text, "location") == "Upstairs"
    assert api_event(ui, event_id).get("location") is None


def test_two_people_editing_at_once_lose_nothing(ui: TestClient) -> None:
    add_user(ui, "ann")
    add_admin(ui, "root")
    sign_in(ui, "ann")
    event_id = create(ui, title="Jazz night", location="Cellar", capacity=40)
    action = f"/ui/events/{event_id}/edit"
    first = ui.get(action).text
    second = ui.get(action).text  # the same form, opened before the first is sent

    one = post_form(ui, action, {**form_of(first, action), "title": "Jazz evening"}, page=first)
    assert one.status_code == 303
    typed = {**form_of(second, action), "location": "Roof", "capacity": "30"}
    conflict = post_form(ui, action, typed, page=second)

    assert conflict.status_code == 409, conflict.text
    assert "Someone changed this event while you were editing it" in conflict.text
    table = conflict.text[conflict.text.index('<table id="changes">') :]
    assert re.search(r"Title</a></th>\s*<td>Jazz night</td>\s*<td>Jazz evening</td>", table)
    assert "Place</a>" not in table  # only the other person changed the title
    # Theirs is taken in the field this person left alone; this person's edit is kept.
    assert value_of(conflict.text, "title") == "Jazz evening"
    assert value_of(conflict.text, "location") == "Roof"
    assert value_of(conflict.text, "capacity") == "30"
    assert api_event(ui, event_id)["location"] == "Cellar"  # nothing saved

    again = post_form(ui, action, form_of(conflict.text, action), page=conflict.text)

    assert again.status_code == 303, again.text
    event = api_event(ui, event_id)
    assert (event["title"], event["location"], event["capacity"]) == ("Jazz evening", "Roof", 30)


def test_a_field_both_changed_keeps_what_this_person_typed(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui, title="Jazz night")
    action = f"/ui/events/{event_id}/edit"
    first, second = ui.get(action).text, ui.get(action).text
    post_form(ui, action, {**form_of(first, action), "title": "Theirs"}, page=first)

    conflict = post_form(ui, action, {**form_of(second, action), "title": "Mine"}, page=second)

    assert conflict.status_code == 409
    assert "you both changed it" in conflict.text
    assert "<td>Theirs</td>" in conflict.text
    assert value_of(conflict.text, "title") == "Mine"
    post_form(ui, action, form_of(conflict.text, action), page=conflict.text)
    assert api_event(ui, event_id)["title"] == "Mine"


def test_others_are_answered_as_the_api_answers_them(ui: TestClient) -> None:
    add_user(ui, "ann")
    add_user(ui, "bob")
    sign_in(ui, "ann")
    event_id = create(ui, title="Ann's")
    ann_page = ui.get(f"/ui/events/{event_id}").text
    assert "Edit the event" in ann_page
    edit = ui.get(f"/ui/events/{event_id}/edit").text
    ui.cookies.clear()

    assert ui.get(f"/ui/events/{event_id}/edit").status_code == 401
    sign_in(ui, "bob")
    bob_page = ui.get(f"/ui/events/{event_id}").text
    assert "Edit the event" not in bob_page
    assert "Delete the event" not in bob_page
    for path in ("edit", "registrations", "registrations.csv"):
        shown = ui.get(f"/ui/events/{event_id}/{path}")
        assert shown.status_code == 404, path
        assert "Not found" in shown.text
    fields = {**form_of(edit, f"/ui/events/{event_id}/edit"), "title": "Bob's now"}
    bob_page_token = ui.get("/ui/new-event").text
    assert (
        post_form(ui, f"/ui/events/{event_id}/edit", fields, page=bob_page_token).status_code == 404
    )
    deleted = post_form(ui, f"/ui/events/{event_id}/delete", {}, page=bob_page_token)
    assert deleted.status_code == 404
    assert api_event(ui, event_id)["title"] == "Ann's"


def test_an_admin_manages_anyones_event(ui: TestClient) -> None:
    add_user(ui, "ann")
    add_admin(ui, "root")
    sign_in(ui, "ann")
    event_id = create(ui, title="Ann's")
    ui.cookies.clear()
    sign_in(ui, "root")

    assert "Edit the event" in ui.get(f"/ui/events/{event_id}").text
    assert ui.get(f"/ui/events/{event_id}/registrations").status_code == 200


def register(ui: TestClient, event_id: str, name: str, email: str) -> None:
    answer = send_json(
        ui,
        "POST",
        f"/events/{event_id}/registrations",
        {"name": name, "email": email},
        {"Origin": "http://testserver"},
    )
    assert answer.status_code == 201, answer.text


def test_the_owner_sees_the_registrations_and_downloads_the_clis_csv(ui: TestClient) -> None:
    add_user(ui, "ann")
    add_user(ui, "bob")
    add_user(ui, "carl")
    sign_in(ui, "ann")
    event_id = create(ui, title="Small room", capacity=1)
    ui.cookies.clear()
    sign_in(ui, "bob")
    register(ui, event_id, "Bob", "bob@example.org")
    ui.cookies.clear()
    sign_in(ui, "carl")
    register(ui, event_id, '=HYPERLINK("http://evil.example","x")', "-carl@example.org")
    ui.cookies.clear()
    sign_in(ui, "ann")

    page = ui.get(f"/ui/events/{event_id}/registrations")
    exported = ui.get(f"/ui/events/{event_id}/registrations.csv")

    assert page.status_code == 200
    rows = re.findall(
        r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page.text
    )
    assert [tuple(html.unescape(cell) for cell in row) for row in rows] == [
        ("Bob", "bob@example.org", "registered", ""),
        ('=HYPERLINK("http://evil.example","x")', "-carl@example.org", "waitlisted", "1"),
    ]
    assert 'href="/ui/events/' + event_id + '/registrations.csv"' in page.text
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="registrations-{event_id}.csv"'
    )
    lines = exported.content.split(b"\r\n")
    assert lines[0] == b'"id","status","position","name","email","created_at","updated_at"'
    table = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(r["name"], r["email"], r["status"], r["position"]) for r in table] == [
        ("Bob", "bob@example.org", "confirmed", ""),
        ('\'=HYPERLINK("http://evil.example","x")', "'-carl@example.org", "waitlisted", "1"),
    ]
    assert b'"\'=HYPERLINK(""http://evil.example"",""x"")"' in exported.content


def test_delete_goes_to_the_trash_and_undo_brings_it_back(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui, title="Jazz night")
    page = ui.get(f"/ui/events/{event_id}").text

    deleted = post_form(
        ui,
        f"/ui/events/{event_id}/delete",
        form_of(page, f"/ui/events/{event_id}/delete"),
        page=page,
    )

    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/ui/?notice=deleted&event={event_id}"
    assert ui.get(f"/events/{event_id}").status_code == 404
    listing = ui.get(deleted.headers["location"]).text
    assert "The event is deleted: it is in the trash." in listing
    assert f'action="/ui/trash/{event_id}/restore"' in listing
    undone = post_form(ui, f"/ui/trash/{event_id}/restore", {}, page=listing)
    assert undone.status_code == 303
    assert undone.headers["location"] == f"/ui/events/{event_id}?notice=restored"
    assert "The event is restored from the trash." in ui.get(undone.headers["location"]).text
    assert api_event(ui, event_id)["title"] == "Jazz night"


def test_a_delete_of_a_changed_event_deletes_nothing(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui, title="Jazz night")
    page = ui.get(f"/ui/events/{event_id}").text
    edit = ui.get(f"/ui/events/{event_id}/edit").text
    action = f"/ui/events/{event_id}/edit"
    post_form(ui, action, {**form_of(edit, action), "title": "Changed"}, page=edit)

    stale = post_form(
        ui,
        f"/ui/events/{event_id}/delete",
        form_of(page, f"/ui/events/{event_id}/delete"),
        page=page,
    )

    assert stale.status_code == 303
    assert stale.headers["location"] == f"/ui/events/{event_id}?notice=changed"
    assert api_event(ui, event_id)["title"] == "Changed"


def test_the_trash_restores_and_purges_after_asking(ui: TestClient) -> None:
    add_user(ui, "ann")
    add_user(ui, "bob")
    add_admin(ui, "root")
    sign_in(ui, "ann")
    kept = create(ui, title="Kept")
    gone = create(ui, title="Gone")
    for event_id in (kept, gone):
        assert (
            ui.delete(f"/events/{event_id}", headers={"Origin": "http://testserver"}).status_code
            == 204
        )

    trash = ui.get("/ui/trash").text
    assert re.findall(r"<td>(Kept|Gone)</td>", trash) == ["Gone", "Kept"]
    asked = post_form(ui, f"/ui/trash/{gone}/purge", {"title": "Gone"}, page=trash)
    assert asked.status_code == 200
    assert "Purge “Gone” for good?" in asked.text
    assert "<td>Gone</td>" in ui.get("/ui/trash").text  # asking purged nothing
    purged = post_form(ui, f"/ui/trash/{gone}/purge", {"confirm": "yes"}, page=asked.text)
    assert purged.status_code == 303
    after = ui.get(purged.headers["location"]).text
    assert "The event is purged for good." in after
    assert re.findall(r"<td>(Kept|Gone)</td>", after) == ["Kept"]

    ui.cookies.clear()
    sign_in(ui, "bob")
    assert "The trash is empty." in ui.get("/ui/trash").text  # not ann's
    bob_token = ui.get("/ui/trash").text
    assert post_form(ui, f"/ui/trash/{kept}/restore", {}, page=bob_token).status_code == 404
    ui.cookies.clear()
    sign_in(ui, "root")
    admin_trash = ui.get("/ui/trash").text
    assert re.findall(r"<td>(Kept|Gone)</td>", admin_trash) == ["Kept"]
    restored = post_form(ui, f"/ui/trash/{kept}/restore", {}, page=admin_trash)
    assert restored.status_code == 303
    assert api_event(ui, kept)["title"] == "Kept"
    assert ui.get(f"/events/{gone}").status_code == 404


def test_signed_out_people_are_asked_to_sign_in_for_the_trash(ui: TestClient) -> None:
    page = ui.get("/ui/trash")
    assert page.status_code == 401
    assert 'href="/ui/sign-in?next=%2Fui%2Ftrash"' in page.text


def test_the_owners_forms_refuse_another_sites_requests(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui, title="Jazz night")
    edit = ui.get(f"/ui/events/{event_id}/edit").text
    fields = {**form_of(edit, f"/ui/events/{event_id}/edit"), "title": "Forged"}
    elsewhere = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}

    attempts = [
        post_form(ui, f"/ui/events/{event_id}/edit", fields, headers=elsewhere),
        post_form(
            ui,
            f"/ui/events/{event_id}/edit",
            {k: v for k, v in fields.items() if k != "csrf_token"},
        ),
        post_form(ui, f"/ui/events/{event_id}/delete", {"etag": ""}),
        post_form(ui, f"/ui/events/{event_id}/delete", {"etag": "", "csrf_token": "forged"}),
    ]
    assert [attempt.status_code for attempt in attempts] == [403] * 4
    assert api_event(ui, event_id)["title"] == "Jazz night"
    ui.delete(f"/events/{event_id}", headers={"Origin": "http://testserver"})
    for step in ("restore", "purge"):
        refused = post_form(ui, f"/ui/trash/{event_id}/{step}", {"confirm": "yes"})
        assert refused.status_code == 403
    assert event_id in ui.get("/trash").text
