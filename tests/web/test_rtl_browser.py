"""Right-to-left texts in a browser: an Urdu resident books on the dev phone with Urdu
digits through the signed webhook, and staff read the conversation; both render the Urdu
right to left (dir="auto"). Screenshots go to tests/artifacts/ for a person to look at."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.clock import FixedClock
from app.data.models import Conversation, Patient
from app.domain.personalisation import personalise
from app.sms.rendering import render
from tests.builders import STAFF_PASSWORD, add_open_offer, add_user, queue_outbound
from tests.conftest import DEFAULT_NOW, make_test_config
from tests.web.browser import ARTIFACTS, CHROMIUM, launch

MOBILE = "+447700900077"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    clock = FixedClock(DEFAULT_NOW)
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_port}"
    config = make_test_config(
        sqlite_url, tmp_path, PUBLIC_BASE_URL=base, TRANSLATIONS_DEMO_APPROVED=True
    )
    app = create_app(config, clock=clock)
    server.app = app  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base, clock
    server.shutdown()
    app.extensions["nudge.db"].dispose()


def test_urdu_reads_right_to_left_on_the_dev_phone_and_the_conversation_page(served) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    app, base, clock = served
    db = app.extensions["nudge.db"]
    with db.transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")
        offer = add_open_offer(session, mobile=MOBILE, now=clock.now())
        patient = session.get(Patient, offer.patient_id)
        patient.language = "ur"
        patient.given_name = "Ayesha"
        starts = [clock.now() + timedelta(days=3, hours=25 * i) for i in range(3)]
        body = render(
            "invitation_control",
            language="ur",
            demo_approved=True,
            first_name="Ayesha",
            practice_name="Riverside Medical Centre",
            practice_phone="020 7946 0999",
            slots=starts,
            expiry=clock.now() + timedelta(hours=48),
            info_url="https://www.nhs.uk/conditions/nhs-health-check/",
            personal=personalise(age_band="45-49", sex="2", language="ur"),
        )
        invitation = queue_outbound(
            session, to=MOBILE, body=body, kind="invitation", now=clock.now(), offer_id=offer.id
        )
        invitation.status, invitation.provider_sid = "delivered", "OB" + "1" * 32
        invitation.created_at = clock.now() - timedelta(hours=1)
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(f"{base}/sign-in?next=/dev/phone")
        page.fill("#email", "admin@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("form[action*='sign-in'] button")
        page.wait_for_url(f"{base}/dev/phone")
        page.select_option("#number", MOBILE)
        page.click(".devphone__picker button")
        assert page.get_by_text("آپ کے لیے رکھے گئے اوقات").is_visible()
        page.fill("#body", "۲")  # Urdu's own digit two
        page.click("button.devphone__send")
        page.wait_for_selector("text=بک ہو گیا")
        page.screenshot(path=str(ARTIFACTS / "rtl-devphone.png"), full_page=True)
        directions = page.eval_on_selector_all(
            ".devphone__text",
            "els => els.map(e => [e.textContent.trim(), getComputedStyle(e).direction])",
        )
        # dir="auto": the Urdu texts run right to left; a lone digit has no direction
        assert [d for text, d in directions if text != "۲"] == ["rtl", "rtl"], directions

        with db.transaction() as session:
            key = session.scalars(
                select(Conversation.key).where(Conversation.number == MOBILE)
            ).one()
        page.goto(f"{base}/conversations/{key}")
        page.wait_for_selector("pre[dir=auto]")
        page.screenshot(path=str(ARTIFACTS / "rtl-conversation.png"), full_page=True)
        bodies = page.eval_on_selector_all(
            "pre[dir=auto]",
            "els => els.map(e => [e.textContent.trim(), getComputedStyle(e).direction])",
        )
        assert [d for text, d in bodies if text != "۲"] == ["rtl", "rtl"], bodies
        assert page.get_by_text("Urdu (اردو)").first.is_visible()
        browser.close()
