"""Browser: the draft campaign page shows who is held for review and the terms, in
headless Chromium, with a screenshot to tests/artifacts/ for a person to look at."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.clock import FixedClock
from app.services import campaigns
from tests.builders import STAFF_PASSWORD, add_patient, add_practice, add_user
from tests.conftest import DEFAULT_NOW, make_test_config
from tests.web.browser import ARTIFACTS, CHROMIUM, launch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def draft_url(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(sqlite_url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    db = app.extensions["nudge.db"]
    with db.transaction() as session:
        practice = add_practice(session, name="Riverside Medical Centre")
        add_user(session, "admin@example.nhs.uk", "admin")
        for i in range(4):
            add_patient(session, practice, mobile=f"+44770090030{i}", dob=date(1970, 3, 1 + i))
        for i, terms in enumerate(["funny turns", "funny turns; heart trouble", "palpitations"]):
            add_patient(session, practice, mobile=f"+44770090040{i}", unrecognised_conditions=terms)
    spec = campaigns.CampaignSpec(
        name="Spring checks", practices=["F84003"], lawful_basis="Direct care (6(1)(e), 9(2)(h))"
    )
    campaign_id = campaigns.create(db, spec, now=DEFAULT_NOW, actor="test")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/campaigns/{campaign_id}"
    server.shutdown()
    db.dispose()


def test_an_admin_sees_the_people_held_for_review_and_their_terms(draft_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        base = draft_url.split("/campaigns/")[0]
        page.goto(f"{base}/sign-in")
        page.get_by_label("Email address").fill("admin@example.nhs.uk")
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.goto(draft_url)
        callout = page.locator(".nhsuk-warning-callout")
        assert "3 held for review" in callout.inner_text()
        rows = callout.locator("tbody tr").all_inner_texts()
        assert rows == ["funny turns\t2", "heart trouble\t1", "palpitations\t1"]
        callout.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "campaign-held-for-review.png"), full_page=True)
        browser.close()
