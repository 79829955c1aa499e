"""The quarterly return page in headless Chromium: the table, the reconciliation line and
the definitions render under the CSP, suppressed for an analyst; screenshot kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.builders import (
    STAFF_PASSWORD,
    add_campaign_booking,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_trial_campaign,
    add_user,
)
from tests.web.browser import ARTIFACTS, launch

IN_Q1 = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
# practice -> (local authority, members, invited in Q1, attended of them)
PRACTICES = {
    ("F84003", "Alpha Surgery"): ("Southwark", 120, 90, 31),
    ("F84004", "Beta Health Centre"): ("Southwark", 80, 60, 17),
    ("F84005", "Gamma Practice"): ("Lambeth", 60, 44, 12),
    ("F84006", "Delta Medical"): ("Lambeth", 9, 6, 3),
}


def _populate(app) -> None:  # type: ignore[no-untyped-def]
    db = app.extensions["nudge.db"]
    serial = 0
    with db.transaction() as s:
        practices = []
        for (ods, name), (la, *_counts) in PRACTICES.items():
            practice = add_practice(s, ods=ods, name=name)
            practice.local_authority = la
            practices.append(practice)
        campaign = add_trial_campaign(s, practices, name="Winter Health Checks", now=IN_Q1)
        for practice, (_la, members, invited, attended) in zip(
            practices, PRACTICES.values(), strict=True
        ):
            for i in range(members):
                serial += 1
                p = add_patient(s, practice, mobile=f"+44770090{serial:04d}")
                m = add_member(s, campaign, p)
                if i < invited:
                    offer = add_invitation(s, m, now=IN_Q1, offer_state="booked")
                    if i < attended:
                        add_campaign_booking(s, m, state="attended", offer=offer, now=IN_Q1)
        add_user(s, "analyst@example.nhs.uk", "analyst")


@pytest.mark.browser
def test_the_quarterly_return_page_in_chromium(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    _populate(app)
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.goto(f"{base}/sign-in")
        page.fill("#email", "analyst@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/reports/quarterly")
        page.fill("#quarter", "2026Q1")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=quarterly-table]")
        rows = page.locator("[data-testid=quarterly-table] tbody tr").all_inner_texts()
        reconciliation = page.locator("[data-testid=reconciliation]").inner_text()
        disclosure = page.locator("[data-testid=disclosure]").inner_text()
        page.screenshot(path=str(ARTIFACTS / "quarterly.png"), full_page=True)
        browser.close()
    assert problems == []
    assert len(rows) == 4 + 2 + 1  # practices, two authority totals, the total
    delta = next(r for r in rows if "Delta Medical" in r)
    assert "*" in delta  # 6 offered and 3 received: small counts hidden
    total = rows[-1]
    assert "269" not in total and "270" in total  # eligible 269, rounded to 5
    assert "equal the offered and received totals" in reconciliation
    assert "Suppressed figures" in disclosure
