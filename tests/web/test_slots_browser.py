"""Slots pages in headless Chromium as practice staff use them: a recurring pattern's
preview says what saving will do. Screenshots kept in tests/artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.data.models import Slot
from tests.builders import (
    STAFF_PASSWORD,
    add_booking,
    add_free_slots,
    add_open_offer,
    add_patient,
    add_practice,
    add_sending_campaign,
    add_user,
)
from tests.web.browser import ARTIFACTS, launch

GP = "gp@example.nhs.uk"


def _practice(app: Any) -> int:
    with app.extensions["nudge.db"].transaction() as session:
        practice = add_practice(session)
        add_user(session, GP, "practice", [practice])
        return practice.id


def _signed_in(p: Any, base: str, width: int = 1280) -> Any:
    browser = launch(p)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{base}/sign-in")
    page.fill("#email", GP)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    return browser, page


def _fill_pattern(page: Any, first: str, last: str) -> None:
    for day in ("1", "3"):  # Tuesday, Thursday
        page.check(f"#weekdays-{day}")
    page.fill("#first_day", first)
    page.fill("#last_day", last)
    page.fill("#day_start", "09:00")
    page.fill("#day_end", "10:00")
    page.fill("#duration_minutes", "20")
    page.fill("#location", "Nurse room 2")


@pytest.mark.browser
def test_a_pattern_preview_says_what_saving_will_do(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    practice_id = _practice(app)
    with playwright.sync_playwright() as p:
        browser, page = _signed_in(p, base)
        page.goto(f"{base}/slots/pattern?practice={practice_id}")
        # the clock says Wed 14 Jan 2026 10:00: the week of 5 January is wholly past
        _fill_pattern(page, "2026-01-05", "2026-01-09")
        page.click("button[value=preview]")
        past = page.locator("main").inner_text()
        save_buttons = page.locator("button[value=save]").count()
        page.screenshot(path=str(ARTIFACTS / "slots-pattern-past.png"), full_page=True)

        page.fill("#first_day", "2026-01-12")
        page.fill("#last_day", "2026-01-16")
        page.click("button[value=preview]")
        mixed = page.locator("main").inner_text()
        page.screenshot(path=str(ARTIFACTS / "slots-pattern-mixed.png"), full_page=True)
        page.click("button[value=save]")
        saved = page.locator("main").inner_text()
        page.screenshot(path=str(ARTIFACTS / "slots-pattern-saved.png"), full_page=True)
        browser.close()
    assert "Preview: nothing to save" in past and save_buttons == 0
    assert "6 are in the past" in past and "None of them can be added" in past
    assert "Upload result" not in past and "Success" not in past
    assert "Preview: 3 new slots" in mixed and "Saving adds 3" in mixed
    assert "3 are in the past" in mixed and "Tue 13 Jan 09:00" in mixed
    assert "Save 3 slots" in mixed
    assert (
        "Saved 3 slots from the pattern (3 left out, as the preview said)." in saved
        and "Upload result" not in saved
    )
    with app.extensions["nudge.db"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(Slot)) == 3


def _busy_week(app: Any) -> int:
    """72 slots Mon-Sat in the week of 12 Jan 2026 (the clock: Wed 14 Jan 10:00), one
    booked by the practice's patient, one by another practice's, three held in an offer."""
    with app.extensions["nudge.db"].transaction() as session:
        practice = add_practice(session)
        other = add_practice(session, ods="Y00001", name="Other Surgery")
        add_user(session, GP, "practice", [practice])
        add_user(session, "other@example.nhs.uk", "practice", [other])
        campaign = add_sending_campaign(session, name="Winter Health Checks")
        campaign.practices.append(practice)
        starts = [
            datetime(2026, 1, 12, 9, 0, tzinfo=UTC) + timedelta(days=d, minutes=20 * i)
            for d in range(6)
            for i in range(12)
        ]
        ids = add_free_slots(session, practice, starts, location="Nurse room 2")
        grace = add_patient(session, practice, mobile="+447700900201", given_name="Grace")
        visitor = add_patient(session, other, mobile="+447700900202", given_name="Olive")
        add_booking(session, grace, session.get(Slot, ids[4 * 12]))  # Fri 09:00
        add_booking(session, visitor, session.get(Slot, ids[5 * 12 + 1]))  # Sat 09:20
        offer = add_open_offer(
            session,
            practice=practice,
            campaign=campaign,
            mobile="+447700900203",
            first_slot_at=datetime(2026, 1, 15, 16, 0, tzinfo=UTC),
            spare_slots=0,
            now=datetime(2026, 1, 14, 9, 0, tzinfo=UTC),
        )
        for slot in session.scalars(select(Slot).where(Slot.held_by_offer_id == offer.id)):
            slot.location, slot.duration_minutes = "Nurse room 2", 20  # one room all week
        return practice.id


@pytest.mark.browser
def test_the_week_is_a_compact_grid_saying_who_has_each_slot_and_what_is_too_soon(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    practice_id = _busy_week(app)
    with playwright.sync_playwright() as p:
        browser, page = _signed_in(p, base)
        page.goto(f"{base}/slots?practice={practice_id}&week=2026-01-12")
        height = page.locator("[data-testid=week-grid]").bounding_box()["height"]
        width = page.evaluate("() => document.documentElement.scrollWidth")
        rule = page.locator("[data-testid=offer-rule]").inner_text()
        friday = page.locator("[data-testid=week-grid] tbody td").nth(4).inner_text()
        saturday = page.locator("[data-testid=week-grid] tbody td").nth(5).inner_text()
        thursday = page.locator("[data-testid=week-grid] tbody td").nth(3).inner_text()
        page_text = page.locator("main").inner_text()
        page.screenshot(path=str(ARTIFACTS / "slots-week-grid.png"), full_page=True)
        phone = browser.new_page(viewport={"width": 375, "height": 800})
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{base}/slots?practice={practice_id}&week=2026-01-12")
        phone_width = phone.evaluate("() => document.documentElement.scrollWidth")
        phone.screenshot(path=str(ARTIFACTS / "slots-week-phone.png"))
        browser.close()
    assert height < 1000 and width <= 1280, (height, width)  # 75 slots
    assert phone_width <= 375
    # hold 48 hours from Wed 10:00 is Fri 10:00; 12 hours' notice: Fri 22:00
    assert "Free slots starting before 22:00 on Fri 16 Jan are not offered by text now" in rule
    assert "Winter Health Checks: held for 48 hours, then 12 hours' notice" in rule
    assert "Booked: Grace Patient" in friday and "Too soon to offer" in friday
    assert "Booked: a patient of another practice" in saturday and "Olive" not in saturday
    assert "16:00 on Thursday 15 January slot\nHeld: Test Patient, until Fri 09:00" in thursday
    assert (
        "Free, time passed" in page_text
        and "Every slot this week is 20 minutes, in Nurse room 2" in page_text
    )
