"""An analyst makes, uses and revokes their own API token on the web (shown once, stored
hashed, audited); the campaign page's buttons do not touch."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.data.models import AuditEvent, User
from tests.builders import STAFF_PASSWORD, add_practice, add_trial_campaign, add_user
from tests.web.browser import ARTIFACTS, launch


def _sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/sign-in")
    page.fill("#email", email)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.browser
def test_an_analyst_makes_uses_and_revokes_their_own_token(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    db = app.extensions["nudge.db"]
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice])
        add_user(s, "analyst@example.nhs.uk", "analyst")
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _sign_in(page, base, "analyst@example.nhs.uk")
        page.goto(f"{base}/reports")
        page.click("text=Make or revoke your API token")
        before = page.locator("[data-testid=token-state]").inner_text()
        page.click("button:has-text('Make a token')")
        token = page.locator(".nudge-token").inner_text().strip()
        page.screenshot(path=str(ARTIFACTS / "account-api-token.png"), full_page=True)
        api = f"{base}/api/reports/uptake?campaign={campaign.id}"
        bearer = {"Authorization": f"Bearer {token}"}
        used = p.request.new_context().get(api, headers=bearer).status
        page.goto(f"{base}/account/api-token")
        shown_again = page.locator(".nudge-token").count()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("button:has-text('Revoke my token')")
        revoked = page.locator("[data-testid=revoked]").inner_text()
        page.screenshot(path=str(ARTIFACTS / "account-api-token-revoked.png"), full_page=True)
        after = p.request.new_context().get(api, headers=bearer).status
        browser.close()
    assert "You have no token" in before
    assert token.startswith("nudge_") and used == 200 and shown_again == 0
    assert "revoked" in revoked and after == 401
    with db.transaction() as s:
        assert s.scalar(select(User.api_token_hash).where(User.role == "analyst")) is None
        actions = s.execute(select(AuditEvent.action, AuditEvent.actor)).all()
    assert ("api_token.issued", "analyst@example.nhs.uk") in actions
    assert ("api_token.revoked", "analyst@example.nhs.uk") in actions


@pytest.mark.browser
def test_the_campaign_page_buttons_do_not_touch(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    with app.extensions["nudge.db"].transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice])
        add_user(s, "admin@example.nhs.uk", "admin")
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _sign_in(page, base, "admin@example.nhs.uk")
        page.goto(f"{base}/campaigns/{campaign.id}")
        boxes = page.eval_on_selector_all(
            ".nhsuk-button-group .nhsuk-button",
            "els => els.map(e => {"
            " const r = e.getBoundingClientRect(); return [r.left, r.right]; })",
        )
        page.locator(".nhsuk-button-group").screenshot(path=str(ARTIFACTS / "campaign-buttons.png"))
        browser.close()
    assert len(boxes) == 2  # pause, close
    (_, first_right), (second_left, _) = sorted(boxes)
    assert second_left - first_right >= 12
