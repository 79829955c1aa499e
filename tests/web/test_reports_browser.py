"""The report page in headless Chromium: charts draw under the CSP; screenshot kept."""

from __future__ import annotations

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

# (ethnic category, sex) -> members, of whom attended (take-up differs by group)
GROUPS = {
    ("A", "1"): (70, 18),
    ("A", "2"): (70, 29),
    ("H", "1"): (50, 10),
    ("H", "2"): (50, 19),
    ("M", "1"): (40, 9),
    ("M", "2"): (40, 15),
    ("D", "1"): (25, 9),
    ("D", "2"): (25, 10),
    ("R", "1"): (20, 4),
    ("R", "2"): (20, 9),
}


def _populate(app) -> int:  # type: ignore[no-untyped-def]
    db = app.extensions["nudge.db"]
    serial = 0
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice], name="Winter Health Checks")
        for (category, sex), (n, attended) in GROUPS.items():
            for i in range(n):
                serial += 1
                p = add_patient(
                    s, practice, sex=sex, ethnic_category=category, mobile=f"+447700900{serial:03d}"
                )
                m = add_member(s, campaign, p, variant="control" if i % 2 else "deadline")
                offer = add_invitation(s, m)
                if i < attended:
                    add_campaign_booking(s, m, state="attended", offer=offer)
        add_user(s, "analyst@example.nhs.uk", "analyst")
        return campaign.id


@pytest.mark.browser
def test_the_report_page_draws_its_charts_in_chromium(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    campaign_id = _populate(app)
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
        page.goto(f"{base}/reports?campaign={campaign_id}&by1=ethnic_group&by2=sex&within=sex")
        page.wait_for_function(
            "() => ['funnel-chart', 'takeup-chart'].every(id => {"
            "  const c = document.getElementById(id); return c && Chart.getChart(c); })"
        )
        drawn = page.evaluate(
            "() => ['funnel-chart', 'takeup-chart'].map(id => {"
            "  const chart = Chart.getChart(document.getElementById(id));"
            "  return [chart.config.type, chart.data.datasets.length,"
            "          chart.data.labels.length, chart.width > 200 && chart.height > 200]; })"
        )
        bars = page.evaluate(
            "() => Chart.getChart(document.getElementById('takeup-chart')).data.datasets[0].data[0]"
        )
        page.screenshot(path=str(ARTIFACTS / "reports.png"), full_page=True)
        page.screenshot(path=str(ARTIFACTS / "reports-top.png"))
        page.locator("#takeup-chart").screenshot(path=str(ARTIFACTS / "reports-takeup-chart.png"))
        page.locator("[data-testid=breakdown-table]").screenshot(
            path=str(ARTIFACTS / "reports-breakdown-table.png")
        )
        disclosure = page.locator("[data-testid=disclosure]").first.inner_text()
        browser.close()
    assert problems == []
    assert drawn[0] == ["bar", 1, 6, True]
    assert drawn[1] == ["barWithErrorBars", 2, 5, True]  # Male, Female over 5 groups
    assert set(bars) == {"y", "yMin", "yMax"} and bars["yMin"] < bars["y"] < bars["yMax"]
    assert "Suppressed figures" in disclosure
