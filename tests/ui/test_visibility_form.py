"""The event form's visibility (issue 17, docs/visibility.md): chosen when creating an
event, changed when editing it, shown to the owner on the event's page; the API's rule
(who may see it) then applies to the pages."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.ui.pages import add_user, post_form, sign_in
from tests.ui.test_event_pages import create
from tests.ui.test_owner_pages import api_event, form_of

NEW = "/ui/new-event"


def made_on_the_form(ui: TestClient, visibility: str) -> str:
    """An event created on the new-event page with ``visibility``; its id."""
    form = ui.get(NEW).text
    fields = {**form_of(form, NEW), "title": "Board games", "visibility": visibility}
    answer = post_form(ui, NEW, fields, page=form)
    assert answer.status_code == 303, answer.text
    found = re.match(r"/ui/events/([^?]+)\?notice=created", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def test_the_form_offers_the_three_choices_public_first(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    form = ui.get(NEW).text

    assert re.findall(r'<option value="(\w+)"', form) == ["public", "members", "private"]
    assert '<option value="public" selected>' in form
    assert 'aria-describedby="f-visibility-hint"' in form


def test_an_event_is_created_for_members_or_privately(ui: TestClient) -> None:
    add_user(ui, "ann")
    add_user(ui, "bob")
    sign_in(ui, "ann")
    club = made_on_the_form(ui, "members")
    secret = made_on_the_form(ui, "private")
    open_one = made_on_the_form(ui, "public")

    assert api_event(ui, club)["visibility"] == "members"
    assert api_event(ui, secret)["visibility"] == "private"
    assert "visibility" not in api_event(ui, open_one)  # the API leaves public out
    assert "Private: you, admins" in ui.get(f"/ui/events/{secret}").text

    ui.cookies.clear()
    sign_in(ui, "bob")
    assert ui.get(f"/ui/events/{club}").status_code == 200
    assert ui.get(f"/ui/events/{secret}").status_code == 404
    # Only the owner is told who can see it.
    assert 'id="visibility"' not in ui.get(f"/ui/events/{club}").text


def test_an_event_edited_to_private_is_a_404_page_for_anyone_else(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui, title="Jazz night")
    action = f"/ui/events/{event_id}/edit"
    page = ui.get(action).text
    assert '<option value="public" selected>' in page

    saved = post_form(ui, action, {**form_of(page, action), "visibility": "private"}, page=page)

    assert saved.status_code == 303, saved.text
    assert api_event(ui, event_id)["visibility"] == "private"
    assert '<option value="private" selected>' in ui.get(action).text
    ui.cookies.clear()
    gone = ui.get(f"/ui/events/{event_id}")
    assert gone.status_code == 404
    assert "Jazz night" not in gone.text


def test_a_visibility_the_api_refuses_is_said_beside_the_select(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    form = ui.get(NEW).text
    fields = {**form_of(form, NEW), "title": "Board games", "visibility": "friends"}

    refused = post_form(ui, NEW, fields, page=form)

    assert refused.status_code == 422
    assert 'id="f-visibility-error"' in refused.text
    assert 'aria-describedby="f-visibility-hint f-visibility-error"' in refused.text
    assert '<a href="#f-visibility">Who can see it:' in refused.text


def test_the_conflict_view_names_the_visibilities_as_the_form_does(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui, title="Jazz night")
    action = f"/ui/events/{event_id}/edit"
    first, second = ui.get(action).text, ui.get(action).text
    post_form(ui, action, {**form_of(first, action), "visibility": "members"}, page=first)

    conflict = post_form(
        ui, action, {**form_of(second, action), "visibility": "private"}, page=second
    )

    assert conflict.status_code == 409, conflict.text
    table = conflict.text[conflict.text.index('<table id="changes">') :]
    row = re.search(r"Who can see it</a>.*?</tr>", table, re.S)
    assert row, table
    assert re.findall(r"<td>([^<]*)</td>", row.group(0)) == ["Public", "Members", "Private"]
