"""Browser: the home page is the day's work, not a copy of the navigation. Practice
staff see their own practice's appointments today, conversations waiting for a person,
running campaigns with their progress and texts in doubt; an admin sees every practice;
an analyst sees campaign progress only. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.clock import FixedClock
from app.data.models import Conversation
from app.services import campaigns
from tests.builders import (
    STAFF_PASSWORD,
    add_booking,
    add_inbound,
    add_patient,
    add_practice,
    add_slot,
    add_user,
    queue_outbound,
)
from tests.conftest import DEFAULT_NOW, make_test_config
from tests.web.browser import ARTIFACTS, CHROMIUM, launch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def live_url(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(sqlite_url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    db = app.extensions["nudge.db"]
    with db.transaction() as session:
        a = add_practice(session, ods="A00001", name="Riverside Medical Centre")
        b = add_practice(session, ods="B00001", name="Hillside Surgery")
        add_user(session, "admin@example.nhs.uk", "admin")
        add_user(session, "gp@example.nhs.uk", "practice", [a])
        add_user(session, "analyst@example.nhs.uk", "analyst")
        for practice, who, mobile, hour in (
            (a, ("Ada", "Lovelace"), "+447700900401", 14),
            (b, ("Bertha", "Bloggs"), "+447700900402", 15),
        ):
            patient = add_patient(
                session, practice, given_name=who[0], family_name=who[1], mobile=mobile
            )
            slot = add_slot(session, practice, datetime(2026, 1, 14, hour, 0, tzinfo=UTC))
            add_booking(session, patient, slot, source="sms")
            add_inbound(session, mobile, "is it fasting?")
            session.add(
                Conversation(
                    number=mobile,
                    practice_id=practice.id,
                    flagged_at=DEFAULT_NOW,
                    flag_reason="unclear",
                )
            )
            message = queue_outbound(session, mobile, "Booked", kind="confirmation")
            message.patient_id = patient.id
            message.status = "uncertain"
        for i in range(4):
            add_patient(session, a, mobile=f"+44770090050{i}", dob=date(1970, 3, 1 + i))
            add_patient(session, b, mobile=f"+44770090060{i}", dob=date(1970, 3, 1 + i))
    spec = campaigns.CampaignSpec(
        name="Winter checks", practices=["A00001", "B00001"], lawful_basis="Public task"
    )
    campaign_id = campaigns.create(db, spec, now=DEFAULT_NOW, actor="test")
    campaigns.approve(db, campaign_id, now=DEFAULT_NOW, actor="test")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    db.dispose()


def _home(live_url: str, email: str, shot: str) -> tuple[str, list[str]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{live_url}/sign-in")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Today’s work").is_visible()
        page.screenshot(path=str(ARTIFACTS / f"home-{shot}.png"), full_page=True)
        text: Any = page.locator("main").inner_text()
        browser.close()
    return text, errors


def test_practice_staff_see_their_practices_day(live_url: str) -> None:
    text, errors = _home(live_url, "gp@example.nhs.uk", "practice")
    assert (
        "1 appointment today, 1 conversation waiting for a person, 1 campaign running,"
        " 1 text to check." in text
    )
    assert "14:00\tAda Lovelace" in text  # 14:00 UTC in January is 14:00 in London
    assert "Ada Lovelace\tUnclear reply" in text
    assert "Winter checks\tActive\t5\t0 (0%)\t0\t0" in text  # their practice's 5 members
    assert "Ada Lovelace\tConfirmation" in text
    assert "Bertha" not in text and "Hillside" not in text
    assert errors == []


def test_an_admin_sees_every_practice_and_an_analyst_only_campaign_progress(
    live_url: str,
) -> None:
    text, errors = _home(live_url, "admin@example.nhs.uk", "admin")
    assert "2 appointments today, 2 conversations waiting for a person" in text
    assert "Bertha Bloggs\tHillside Surgery" in text
    assert "Winter checks\tActive\t10\t0 (0%)" in text
    assert errors == []
    text, errors = _home(live_url, "analyst@example.nhs.uk", "analyst")
    assert "Winter checks\tActive\t10" in text
    for private in ("Ada", "Bertha", "appointments", "Texts to check"):
        assert private not in text
    assert errors == []
