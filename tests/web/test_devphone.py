"""The dev phone: a clickable journey through the real, signed webhook; never in production."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import func, select

from app import create_app
from app.data.models import Booking
from tests.builders import STAFF_PASSWORD, add_open_offer, add_practice, add_user
from tests.conftest import make_test_config
from tests.web.browser import ARTIFACTS, launch
from tests.web.staff import post, sign_in

MOBILE = "+447700900001"


def csrf_from(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return match.group(1) if match else ""


PRODUCTION_ON_SQLITE = {
    "ENV": "production",
    "SECRET_KEY": "x" * 32,
    "ALLOW_SQLITE_IN_PRODUCTION": True,
    "ALLOW_OUTBOX_IN_PRODUCTION": True,
}


@pytest.fixture
def admin(db):
    with db.transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")
        add_user(session, "gp@example.nhs.uk", "practice", [add_practice(session)])


def _open(client, number: str):
    """Choose the demo patient by form post, as the picker does; then show the phone."""
    post(client, "/dev/phone/open", {"number": number})
    return client.get("/dev/phone")


def test_the_dev_phone_is_not_found_in_production(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(sqlite_url, tmp_path, **PRODUCTION_ON_SQLITE))
    client = app.test_client()
    assert client.get("/dev/phone").status_code == 404
    # refused before it reaches us (CSRF) or by us (404): never sent to the webhook
    posted = client.post("/dev/phone/send", data={"number": MOBILE, "body": "1"})
    assert posted.status_code in (400, 404)
    app.extensions["nudge.db"].dispose()


def test_the_dev_phone_needs_a_signed_in_admin(client, db, admin):
    assert "/sign-in" in client.get("/dev/phone").headers["Location"]
    anonymous = client.post("/dev/phone/send", data={"body": "STOP"})
    assert anonymous.status_code in (302, 400)  # CSRF first, then sign-in
    sign_in(client, "gp@example.nhs.uk")
    assert client.get("/dev/phone").status_code == 403
    assert post(client, "/dev/phone/send", {"body": "STOP"}).status_code == 403


def test_the_dev_phone_takes_no_number_from_its_url(client, db, clock, admin):
    with db.transaction() as session:
        add_open_offer(session, mobile=MOBILE, now=clock.now())
    sign_in(client, "admin@example.nhs.uk")
    page = client.get("/dev/phone?number=%2B447700900999")
    assert "+447700900999" not in page.text  # the query string is ignored
    assert "?number=" not in page.text and "number=%2B" not in page.text
    assert "/dev/phone?" not in _open(client, MOBILE).request.url


def test_a_reply_from_the_dev_phone_books_through_the_signed_webhook(client, db, clock, admin):
    with db.transaction() as session:
        add_open_offer(session, mobile=MOBILE, now=clock.now())
    sign_in(client, "admin@example.nhs.uk")
    page = _open(client, MOBILE)
    assert page.status_code == 200 and "Test Patient (+447700900001)" in page.text
    answer = client.post("/dev/phone/send", data={"body": "2", "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 302
    with db.sessions() as session:
        assert session.scalar(select(func.count(Booking.id))) == 1
    shown = client.get("/dev/phone").text
    assert "read as choice" in shown and "Booked: your free NHS Health Check" in shown
    assert re.search(r'<a href="https://nudge.example.test/c/[\w-]+\.ics">', shown)


def test_the_dev_phone_only_speaks_for_drama_range_numbers(client, db, admin):
    sign_in(client, "admin@example.nhs.uk")
    assert post(client, "/dev/phone/open", {"number": "+447400123456"}).status_code == 400


@pytest.mark.browser
def test_the_whole_journey_is_clickable_in_a_browser(live_server, clock):
    """Invitation on the phone, reply 2, confirmation appears, the calendar link downloads."""
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    db = app.extensions["nudge.db"]
    with db.transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")
        offer = add_open_offer(session, mobile=MOBILE, now=clock.now())
        from tests.builders import queue_outbound

        invitation = queue_outbound(
            session,
            to=MOBILE,
            body="Hi Test, Test Medical Centre invites you to a free NHS Health Check.\n"
            "Times held for you:\n1) Sat 17 Jan 10:00\n2) Sun 18 Jan 11:00\n3) Mon 19 Jan 12:00\n"
            "Reply 1, 2 or 3 to book, MORE for other times or NO if not for you.",
            kind="invitation",
            now=clock.now(),
            offer_id=offer.id,
        )
        # the dispatcher sent it an hour ago; the resident replies now
        invitation.status, invitation.provider_sid = "delivered", "OB" + "0" * 32
        invitation.created_at = clock.now() - timedelta(hours=1)
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 1000}, accept_downloads=True)
        page.goto(f"{base}/sign-in?next=/dev/phone")
        page.fill("#email", "admin@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("form[action*='sign-in'] button")
        page.wait_for_url(f"{base}/dev/phone")
        page.select_option("#number", MOBILE)
        page.click(".devphone__picker button")
        assert page.get_by_text("Times held for you").is_visible()
        page.fill("#body", "2")
        page.click("button.devphone__send")
        page.wait_for_selector("text=Booked: your free NHS Health Check")
        page.screenshot(path=str(ARTIFACTS / "devphone.png"), full_page=True)
        link = page.locator("a[href$='.ics']")
        with page.expect_download() as download_info:
            link.click()
        ics = Path(download_info.value.path()).read_bytes()
        browser.close()
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert "Test Medical Centre" in str(event["SUMMARY"])
