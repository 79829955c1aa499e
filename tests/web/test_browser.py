"""Browser tests: headless Chromium signs in as each role and walks the main path (load
slots, approve a campaign, see a booking, mark attended), saving screenshots to
tests/artifacts/ for a person to look at."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.clock import FixedClock
from app.data.models import Conversation
from tests.builders import (
    STAFF_PASSWORD,
    add_booking,
    add_inbound,
    add_patient,
    add_practice,
    add_slot,
    add_user,
)
from tests.conftest import DEFAULT_NOW, make_test_config
from tests.web.browser import ARTIFACTS, CHROMIUM, launch

nhs_numbers: dict[str, str] = {}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def live_url(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(sqlite_url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    db = app.extensions["nudge.db"]
    with db.transaction() as session:
        practice = add_practice(session, name="Riverside Medical Centre")
        add_user(session, "admin@example.nhs.uk", "admin")
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
        add_user(session, "analyst@example.nhs.uk", "analyst")
        for i in range(6):
            add_patient(session, practice, mobile=f"+44770090030{i}", dob=date(1970, 3, 1 + i))
        patient = add_patient(
            session, practice, given_name="Ada", family_name="Lovelace", mobile="+447700900399"
        )
        slot = add_slot(session, practice, datetime(2026, 1, 14, 9, 30, tzinfo=UTC))
        add_booking(session, patient, slot, source="sms")
        add_inbound(session, "+447700900399", "can i come tuesday instead?")
        session.add(
            Conversation(
                number="+447700900399",
                practice_id=practice.id,
                unclear_streak=2,
                flagged_at=DEFAULT_NOW,
                flag_reason="unclear",
            )
        )
        nhs_numbers["ada"] = patient.nhs_number
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    db.dispose()


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


def _page(browser, live_url: str, email: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    # console errors (a CSP violation, a script failing) fail the test; a 4xx page that
    # the test asks for on purpose (a form error, a forbidden page) is not one
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "server responded with a status of 4" not in m.text
            else None
        ),
    )
    page.goto(f"{live_url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page, errors


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_practice_staff_load_slots_see_a_booking_and_mark_attended(browser, live_url, tmp_path):
    page, errors = _page(browser, live_url, "gp@example.nhs.uk")
    assert page.locator(".nhsuk-header__account").get_by_text("gp@example.nhs.uk").is_visible()
    _shot(page, "practice-01-home")
    page.get_by_role("link", name="Slots").first.click()
    page.get_by_role("link", name="Upload slots (CSV)").click()
    csv_file = tmp_path / "slots.csv"
    csv_file.write_text(
        "date,start,duration_minutes,location\n"
        "2026-01-15,09:00,20,Nurse room\n2026-01-15,09:20,20,Nurse room\n"
        "2026-01-16,09:00,20,Nurse room\n2026-01-16,31:00,20,Nurse room\n"
    )
    page.get_by_label("CSV file of slots").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload slots").click()
    page.wait_for_load_state()
    assert page.get_by_text("is not HH:MM").is_visible()
    _shot(page, "practice-02-slot-upload-report")
    page.get_by_role("link", name="See the week's slots").click()
    page.wait_for_url(re.compile(r"/slots\?"))
    assert page.locator(".nudge-slot--free").count() == 3
    assert page.locator(".nudge-slot--booked").count() == 1
    _shot(page, "practice-03-slots-week")
    page.get_by_role("link", name="Bookings").first.click()
    page.wait_for_url(re.compile(r"/bookings"))
    assert page.get_by_role("cell", name="Ada Lovelace", exact=True).is_visible()
    _shot(page, "practice-04-bookings-day")
    # the visually hidden name tells a screen reader whose outcome the button records
    page.get_by_role("button", name=re.compile(r"^Attended\W+Ada Lovelace$")).click()
    page.wait_for_load_state()
    assert page.get_by_text("Outcome saved.").is_visible()
    assert page.locator("strong.nhsuk-tag", has_text="Attended").is_visible()
    _shot(page, "practice-05-marked-attended")
    page.get_by_role("link", name="Conversations").first.click()
    page.get_by_role("link", name="Ada Lovelace").click()
    page.wait_for_url(re.compile(r"/conversations/"))
    assert page.get_by_text("can i come tuesday instead?").is_visible()
    _shot(page, "practice-06-conversation")
    page.get_by_role("link", name="Patients").first.click()
    page.get_by_label("NHS number").fill(nhs_numbers["ada"])
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert nhs_numbers["ada"] not in page.url
    assert page.get_by_role("heading", name="Ada Lovelace").is_visible()
    _shot(page, "practice-07-patient-timeline")
    assert errors == []


def test_an_admin_creates_and_approves_a_campaign(browser, live_url):
    page, errors = _page(browser, live_url, "admin@example.nhs.uk")
    page.get_by_role("link", name="Campaigns").first.click()
    page.get_by_role("link", name="Create a campaign").click()
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_load_state()
    assert page.get_by_text("There is a problem").is_visible()
    _shot(page, "admin-01-campaign-errors")
    page.get_by_label("Campaign name").fill("Winter NHS Health Checks")
    page.get_by_label("Riverside Medical Centre (F84003)").check()
    page.get_by_label("Lawful basis for processing").fill(
        "UK GDPR Article 6(1)(e) public task; Article 9(2)(h) health care"
    )
    page.get_by_label("Deadline", exact=True).check()
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_load_state()
    assert page.get_by_text("eligible and textable").is_visible()
    _shot(page, "admin-02-campaign-review")
    page.get_by_role("link", name="Approve and start").click()
    page.wait_for_url(re.compile(r"/approve$"))
    page.get_by_role("button", name="Approve and start").click()
    page.wait_for_load_state()
    assert page.locator("h1 strong.nhsuk-tag", has_text="Active").is_visible()
    _shot(page, "admin-03-campaign-active")
    page.get_by_role("link", name="Audit log").first.click()
    page.wait_for_url(re.compile(r"/admin/audit"))
    assert page.get_by_text("campaign.approve").is_visible()
    _shot(page, "admin-04-audit-log")
    assert errors == []


def test_an_analyst_sees_no_patient_pages(browser, live_url):
    page, errors = _page(browser, live_url, "analyst@example.nhs.uk")
    assert page.get_by_role("link", name="Slots").count() == 0
    _shot(page, "analyst-01-home")
    page.goto(f"{live_url}/bookings")
    assert page.get_by_text("You cannot see this page").is_visible()
    _shot(page, "analyst-02-forbidden")
    assert errors == []


def test_the_sign_in_page_shows_the_generic_error(browser, live_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_url}/sign-in")
    page.get_by_label("Email address").fill("gp@example.nhs.uk")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Enter a correct email address and password").is_visible()
    _shot(page, "sign-in-error")


def test_practice_staff_upload_a_list_with_its_coded_events(browser, live_url, tmp_path):
    from tests.builders import nhs_numbers

    page, errors = _page(browser, live_url, "gp@example.nhs.uk")
    people = nhs_numbers(3, start=60_000)
    listing, events = tmp_path / "list.csv", tmp_path / "events.csv"
    listing.write_text(
        "NHS Number,Date of Birth,Mobile\n"
        + "".join(f"{n},1970-03-01,07700 90020{i}\n" for i, n in enumerate(people))
    )
    events.write_text(
        "NHS Number,SNOMED Code,Term,Date\n"
        f"{people[0]},10273003,Acute infarction of papillary muscle,2015-01-01\n"
        f"{people[1]},523221000000100,NHS Health Check completed,2030-01-01\n"
        f"{nhs_numbers(1, start=61_000)[0]},10273003,,2015-01-01\n"
    )
    page.goto(f"{live_url}/patients/upload")
    page.get_by_label("CSV file of the patient list").set_input_files(str(listing))
    page.get_by_label("Coded events CSV (optional)").set_input_files(str(events))
    page.get_by_role("button", name="Upload patient list").click()
    page.wait_for_load_state()
    summary = page.get_by_test_id("events-summary")
    assert "3 read, 2 in a cluster Nudge uses, 1 not loaded; patients not on the list: 1" in (
        summary.inner_text()
    )
    assert page.get_by_text("date 2030-01-01 is in the future").is_visible()
    _shot(page, "practice-05-list-upload-with-coded-events")
    assert errors == []
