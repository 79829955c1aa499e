"""Slots pages in headless Chromium as practice staff use them: a recurring pattern's
preview says what saving will do. Screenshots kept in tests/artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.data.models import Slot
from tests.builders import STAFF_PASSWORD, add_practice, add_user
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
