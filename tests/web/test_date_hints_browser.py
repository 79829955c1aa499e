"""Date fields in an en-US browser (which shows mm/dd/yyyy): the hints give a date in
words that is not in the past, never a YYYY-MM-DD the box does not show, and a date
typed in the box's own order arrives as the right day."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from tests.builders import STAFF_PASSWORD, add_practice, add_user
from tests.web.browser import ARTIFACTS, launch

ISO = re.compile(r"\b20\d\d-\d\d-\d\d\b")


@pytest.mark.browser
def test_date_hints_match_what_the_browser_shows(live_server, clock):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    with app.extensions["nudge.db"].transaction() as s:
        add_user(s, "admin@example.nhs.uk", "admin", [add_practice(s)])
    today = clock.now().date()
    with playwright.sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/sign-in")
        page.fill("#email", "admin@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        hints = {}
        for path, field in (
            ("/slots/pattern", "first_day"),
            ("/bookings/export", "first"),
            ("/campaigns/new", "on"),
        ):
            page.goto(f"{base}{path}")
            hints[path] = page.locator(f"#{field}-hint").inner_text()
        page.goto(f"{base}/slots/pattern")
        page.click("#first_day")
        page.keyboard.type("03142026")  # the en-US box's order: month, day, year
        typed = page.input_value("#first_day")
        page.locator("#first_day").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "date-hints-en-us.png"))
        browser.close()
    assert typed == "2026-03-14"  # the browser submits ISO whatever it shows
    for path, hint in hints.items():
        assert not ISO.search(hint), (path, hint)
        found = re.search(r"(\d{1,2} [A-Z][a-z]+ 20\d\d)", hint)
        assert found, (path, hint)
        assert datetime.strptime(found.group(1), "%d %B %Y").date() >= today, (path, hint)
    assert isinstance(today, date)
