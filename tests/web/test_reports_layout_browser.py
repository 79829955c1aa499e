"""The report page at 1280 px: when the figures were counted and "Refresh now", nothing
clipped or overlapping, the chart marking groups as the table does, and the newest
campaign with data ticked by default."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.builders import (
    BUILDER_NOW,
    STAFF_PASSWORD,
    add_member,
    add_patient,
    add_practice,
    add_trial_campaign,
)
from tests.web.browser import ARTIFACTS, launch
from tests.web.test_reports_browser import _populate

SHOTS = ARTIFACTS


def _boxes(page, selector: str):  # type: ignore[no-untyped-def]
    return page.eval_on_selector(
        selector,
        "e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }",
    )


@pytest.mark.browser
def test_the_report_says_when_it_was_counted_and_lays_out_at_1280(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    campaign_id = _populate(app)
    with app.extensions["nudge.db"].transaction() as s:
        practice = add_practice(s, ods="Z00009", name="Empty Practice")
        empty = add_trial_campaign(
            s, [practice], name="Spring (nobody invited yet)", now=BUILDER_NOW + timedelta(days=1)
        )
        add_member(s, empty, add_patient(s, practice, mobile="+447700900990"))
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/sign-in")
        page.fill("#email", "analyst@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/reports")
        ticked = page.eval_on_selector_all(
            "input[name=campaign]:checked", "els => els.map(e => e.value)"
        )
        page.goto(f"{base}/reports?campaign={campaign_id}&by1=ethnic_group&by2=sex&within=sex")
        page.wait_for_function(
            "() => ['funnel-chart', 'takeup-chart'].every(id => {"
            "  const c = document.getElementById(id); return c && Chart.getChart(c); })"
        )
        as_of = page.locator("[data-testid=as-of]").inner_text()
        table = _boxes(page, "[data-testid=breakdown-table]")
        scroller = _boxes(page, ".nudge-scroll")
        caption = _boxes(page, "#takeup-chart ~ figcaption, .nudge-chart--wide figcaption")
        after = _boxes(page, ".nudge-chart--wide + .nudge-scroll")
        funnel_caption = _boxes(page, ".nudge-chart:not(.nudge-chart--wide) figcaption")
        rates = _boxes(page, "[data-testid=rates-table]")
        page.screenshot(path=str(SHOTS / "reports-1280.png"), full_page=True)
        page.locator("[data-testid=as-of]").screenshot(path=str(SHOTS / "reports-as-of.png"))
        top, bottom = caption[1] - 420, after[1] + 260
        page.screenshot(
            path=str(SHOTS / "reports-takeup-1280.png"),
            full_page=True,
            clip={"x": 0, "y": top, "width": 1280, "height": bottom - top},
        )
        page.click("text=Refresh now")
        page.wait_for_load_state()
        refreshed = page.locator("[data-testid=as-of]").inner_text()
        url = page.url
        page.goto(f"{base}/reports?campaign={empty.id}&by1=sex")
        page.wait_for_function("() => Chart.getChart(document.getElementById('takeup-chart'))")
        marks = page.evaluate(
            "() => Chart.getChart(document.getElementById('takeup-chart'))"
            ".data.datasets[0].data.map(p => [p.y, !!p.suppressed])"
        )
        cells = page.locator("[data-testid=breakdown-table] tbody tr").first.inner_text()
        page.screenshot(path=str(SHOTS / "reports-empty-campaign.png"), full_page=True)
        browser.close()
    assert ticked == [str(campaign_id)]  # not the newer, empty campaign
    assert "Figures as of" in as_of and "Refresh now" in as_of and "every 10 minutes" in as_of
    assert (
        "just now" in refreshed and f"campaign={campaign_id}" in url and "by1=ethnic_group" in url
    )
    assert table[0] >= scroller[0] >= 0 and table[2] <= 1280  # nothing clipped on the left
    assert caption[3] <= after[1], (caption, after)  # the caption ends before what follows
    assert funnel_caption[3] <= rates[1], (funnel_caption, rates)
    assert marks == [[None, False]] and "–" in cells  # nobody invited: "–", as in the table
