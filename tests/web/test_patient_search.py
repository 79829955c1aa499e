"""Patient search: a patient who has left the practice list says so, with the date (and a
screenshot in tests/artifacts/ to look at)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.builders import STAFF_PASSWORD, add_patient, add_practice, add_user
from tests.web.browser import ARTIFACTS, launch
from tests.web.staff import post, sign_in


def test_a_patient_who_left_the_list_is_shown_as_left_and_not_to_be_invited(client, db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
        gone = add_patient(session, practice, given_name="Gwen")
        gone.left_list_at = datetime(2026, 1, 10, 12, tzinfo=UTC)
        stays = add_patient(session, practice, given_name="Stella")
        numbers = gone.nhs_number, stays.nhs_number
    sign_in(client, "admin@example.nhs.uk")
    page = post(client, "/patients", {"nhs_number": numbers[0]}).get_data(as_text=True)
    assert "Left the list" in page and "since 10 January 2026: will not be invited" in page
    assert "Left the practice list" in page  # the timeline event
    page = post(client, "/patients", {"nhs_number": numbers[1]}).get_data(as_text=True)
    assert "Stella" in page and "Left the list" not in page


@pytest.mark.browser
def test_the_left_the_list_tag_in_chromium(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    with app.extensions["nudge.db"].transaction() as session:
        practice = add_practice(session, name="Riverside Medical Centre")
        add_user(session, "admin@example.nhs.uk", "admin")
        gone = add_patient(session, practice, given_name="Gwen", family_name="Moved")
        gone.left_list_at = datetime(2026, 1, 10, 12, tzinfo=UTC)
        number = gone.nhs_number
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{base}/sign-in")
        page.fill("#email", "admin@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/patients")
        page.fill("#nhs_number", number)
        page.click("button[type=submit]")
        tag = page.locator(".nhsuk-tag", has_text="Left the list")
        tag.wait_for()
        colour = tag.evaluate("e => getComputedStyle(e).backgroundColor")
        page.screenshot(path=str(ARTIFACTS / "patient-left-list.png"), full_page=True)
        browser.close()
    assert colour not in {"", "rgba(0, 0, 0, 0)"}  # styled as a tag, not bare text
