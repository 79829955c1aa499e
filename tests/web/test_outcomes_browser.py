"""Outcomes in headless Chromium: staff record what a check found when marking it
attended, and the report shows the outcome stages by group; screenshots kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.builders import (
    STAFF_PASSWORD,
    add_booking,
    add_campaign_booking,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_slot,
    add_trial_campaign,
    add_user,
)
from tests.web.browser import ARTIFACTS, launch


def _populate(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from app.services.check_outcomes import record_staff_outcome

    db = app.extensions["nudge.db"]
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice], name="Winter Health Checks")
        for i in range(60):
            p = add_patient(s, practice, sex="1" if i % 2 else "2", mobile=f"+447700901{i:03d}")
            m = add_member(s, campaign, p)
            offer = add_invitation(s, m, offer_state="booked")
            if i < 40:
                b = add_campaign_booking(s, m, state="attended", offer=offer)
                band = ("20_plus", "10_to_19", "under_10")[i % 3]
                record_staff_outcome(
                    s, b.id, qrisk_band=band, bp_high=None,  # type: ignore[attr-defined]
                    referred="yes" if i % 4 == 0 else "no", now=datetime.now(UTC),
                )  # fmt: skip
        ada = add_patient(s, practice, given_name="Ada", family_name="Lovelace")
        slot = add_slot(s, practice, datetime(2026, 1, 14, 9, 0, tzinfo=UTC))
        add_booking(s, ada, slot)
        add_user(s, "admin@example.nhs.uk", "admin")
        return {"practice": practice.id, "campaign": campaign.id}


@pytest.mark.browser
def test_staff_record_what_the_check_found_and_the_report_shows_it(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    ids = _populate(app)
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.goto(f"{base}/sign-in")
        page.fill("#email", "admin@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/bookings?practice={ids['practice']}&day=2026-01-14")
        page.get_by_label("QRISK band").select_option("20_plus")
        page.get_by_label("Blood pressure high").select_option("yes")
        page.get_by_label("Referred").select_option("yes")
        page.get_by_role("button", name=re.compile(r"^Attended\W+Ada Lovelace$")).click()
        page.wait_for_load_state()
        assert page.get_by_text("Outcome saved.").is_visible()
        kept = page.get_by_label("QRISK band").input_value()
        page.screenshot(path=str(ARTIFACTS / "outcomes-attendance.png"), full_page=True)
        page.goto(f"{base}/reports?campaign={ids['campaign']}&by1=sex")
        table = page.locator("[data-testid=outcomes-table]")
        table.wait_for()
        text = table.inner_text()
        table.screenshot(path=str(ARTIFACTS / "outcomes-report-table.png"))
        browser.close()
    assert problems == []
    assert kept == "20_plus"
    assert "Detections per 100 invited" in text and "Found at 20%+ CVD risk" in text
