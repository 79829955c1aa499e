"""The audit log in headless Chromium: long entries wrap inside the page at desktop and
phone widths. Screenshots kept in tests/artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.services import audit
from tests.builders import STAFF_PASSWORD, add_user
from tests.web.browser import ARTIFACTS, launch

ADMIN = "admin@example.nhs.uk"


def _events(app) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)
    with app.extensions["nudge.db"].transaction() as session:
        add_user(session, ADMIN, "admin")
        add_user(session, "practice.manager.with.a.long.name@longpracticename.nhs.uk", "practice")
        for i in range(12):
            audit.record(
                session,
                now=at + timedelta(minutes=i),
                actor="practice.manager.with.a.long.name@longpracticename.nhs.uk",
                action="campaign.settings_changed" if i % 2 else "slots.import",
                target=f"campaign:{1000 + i}/practice:F84003",
                detail={
                    "file": "slots_export_from_emis_web_for_the_whole_of_february_2026.csv",
                    "changes": ["hold_hours", "min_notice_hours", "send_window", "cohort_as_of"],
                    "batch": 4000 + i,
                    "token": "x" * 64,
                },
                ip="2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            )


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_the_audit_log_fits_the_page(live_server, width):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    _events(app)
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(f"{base}/sign-in")
        page.fill("#email", ADMIN)
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/admin/audit")
        overflow = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
            " Math.max(...[...document.querySelectorAll('main table, main td')]"
            "   .map(e => e.getBoundingClientRect().right))]"
        )
        page.screenshot(path=str(ARTIFACTS / f"audit-{width}.png"), full_page=True)
        page.locator("main tbody tr").nth(1).screenshot(
            path=str(ARTIFACTS / f"audit-{width}-entry.png")
        )
        text = page.locator("main").inner_text()
        browser.close()
    scroll_width, client_width, rightmost = overflow
    assert scroll_width <= client_width, overflow
    assert rightmost <= client_width, overflow
    assert "slots_export_from_emis_web" in text
