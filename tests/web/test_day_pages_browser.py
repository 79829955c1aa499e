"""Bookings and a conversation in headless Chromium: jumping to a date, and a free-times
list that says where it stops and reaches later times. Screenshots in tests/artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.data.models import Conversation
from tests.builders import (
    BUILDER_NOW,
    STAFF_PASSWORD,
    add_booking,
    add_free_slots,
    add_inbound,
    add_patient,
    add_practice,
    add_slot,
    add_user,
)
from tests.web.browser import ARTIFACTS, launch

GP = "gp@example.nhs.uk"
NUMBER = "+447700900123"


def _populate(app: Any) -> int:
    with app.extensions["nudge.db"].transaction() as session:
        practice = add_practice(session)
        add_user(session, GP, "practice", [practice])
        patient = add_patient(session, practice, mobile=NUMBER, given_name="Grace")
        slot = add_slot(session, practice, datetime(2026, 3, 3, 9, 20, tzinfo=UTC))
        add_booking(session, patient, slot)
        add_inbound(session, NUMBER, "can I come in the evening?")
        session.add(
            Conversation(
                number=NUMBER,
                practice_id=practice.id,
                unclear_streak=2,
                flagged_at=BUILDER_NOW,
                flag_reason="unclear",
            )
        )
        # 15 days of 10 clinic times from Thu 15 Jan: 150 free times in the next 4 weeks
        starts = [
            datetime(2026, 1, 15, 9, 0, tzinfo=UTC) + timedelta(days=d, minutes=20 * i)
            for d in range(15)
            for i in range(10)
        ]
        add_free_slots(session, practice, starts)
        return practice.id


def _signed_in(p: Any, base: str) -> tuple[Any, Any]:
    browser = launch(p)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/sign-in")
    page.fill("#email", GP)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    return browser, page


@pytest.mark.browser
def test_bookings_jump_to_a_date_and_free_times_say_where_they_stop(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    _populate(app)
    with playwright.sync_playwright() as p:
        browser, page = _signed_in(p, base)
        page.goto(f"{base}/bookings")
        page.fill("#jump-day", "2026-03-03")
        page.click("text=Show bookings")
        bookings = page.locator("main").inner_text()
        page.screenshot(path=str(ARTIFACTS / "bookings-jump.png"), full_page=True)

        page.goto(f"{base}/conversations")
        page.click("a[href^='/conversations/']")
        first = page.locator("#book").locator("xpath=..").inner_text()
        listed = page.locator("#slot_id option").count()
        page.locator("#book").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "conversation-free-times.png"), full_page=True)
        page.click("text=show times from")
        later = [o.inner_text() for o in page.locator("#slot_id option").all()]
        later_hint = page.locator("#slot_id-hint").inner_text()
        page.screenshot(path=str(ARTIFACTS / "conversation-later-times.png"), full_page=True)
        browser.close()
    assert "Bookings on Tuesday 3 March 2026" in bookings and "1 appointment" in bookings
    assert listed == 100
    assert "The first 100 free times from Wed 14 Jan to Wed 11 Feb 2026: there are more" in first
    assert "show times from Sat 24 Jan" in first
    # from Sat 24 Jan: its 10 times and the 50 after them, the whole of what is left
    assert len(later) == 60 and later[0].startswith("Sat 24 Jan 09:00")
    assert later_hint.startswith("All 60 free times from Sat 24 Jan")
