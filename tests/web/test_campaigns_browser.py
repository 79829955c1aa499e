"""Browser: campaigns that explain themselves. In headless Chromium an admin sees every
form error at once on its own field, is asked why for a risky cohort date or send window,
sees what approval will do before it texts anyone, is told why a running campaign is not
inviting, edits and deletes drafts, and reads the cohort's exclusion reasons; screenshots
go to tests/artifacts/ for a person to look at."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.clock import FixedClock
from app.data.models import AuditEvent, Campaign
from app.services import campaigns
from tests.builders import (
    STAFF_PASSWORD,
    add_free_slots,
    add_patient,
    add_practice,
    add_user,
    clinic_starts,
)
from tests.conftest import DEFAULT_NOW, make_test_config
from tests.web.browser import ARTIFACTS, CHROMIUM, launch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]
LAWFUL_BASIS = "UK GDPR Article 6(1)(e) public task; Article 9(2)(h) health care"


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(sqlite_url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    db = app.extensions["nudge.db"]
    with db.transaction() as session:
        riverside = add_practice(session, name="Riverside Medical Centre")
        add_practice(session, ods="Y12345", name="Hillside Surgery")
        add_user(session, "admin@example.nhs.uk", "admin")
        for i in range(6):
            add_patient(session, riverside, mobile=f"+44770090030{i}", dob=date(1970, 3, 1 + i))
        add_patient(session, riverside, mobile=None)  # eligible, not textable
        add_patient(session, riverside, dob=date(1995, 1, 1), mobile="+447700900310")
        add_patient(session, riverside, conditions="diabetes", mobile="+447700900311")
        add_patient(session, riverside, last_health_check=date(2024, 1, 1), mobile="+447700900312")
        add_patient(session, riverside, opted_out_at=DEFAULT_NOW, mobile="+447700900313")
        add_patient(
            session, riverside, unrecognised_conditions="funny turns", mobile="+447700900314"
        )
        # Monday 19 to Friday 23 January, four a day: 20 free slots
        add_free_slots(session, riverside, clinic_starts(date(2026, 1, 19), 5))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", db
    server.shutdown()
    db.dispose()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


def _admin(browser: Any, base: str) -> tuple[Any, list[str]]:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "server responded with a status of 4" not in m.text
            else None
        ),
    )
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address").fill("admin@example.nhs.uk")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page, errors


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"campaign-{name}.png"), full_page=True)


def _draft(db: Any, ods: str = "F84003", **options: Any) -> int:
    spec = campaigns.CampaignSpec(
        name="Spring checks", practices=[ods], lawful_basis=LAWFUL_BASIS, **options
    )
    return campaigns.create(db, spec, now=DEFAULT_NOW, actor="test")


def test_every_form_error_shows_at_once_on_its_own_field_in_plain_words(browser, world):
    base, db = world
    page, errors = _admin(browser, base)
    page.goto(f"{base}/campaigns/new")
    page.get_by_label("Hours the three times are held").fill("0")
    page.get_by_label("Reminder after this many hours").fill("soon")
    page.get_by_label("Send days").fill("funday")
    page.get_by_label("Information link in the text").fill("www.nhs.uk")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_load_state()
    summary = page.locator(".nhsuk-error-summary")
    links = summary.get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    # in the order of the form, each linking to its own field
    assert hrefs == [
        "#name",
        "#practices",
        "#lawful_basis",
        "#hold_hours",
        "#reminder_hours",
        "#send_days",
        "#info_url",
    ]
    for field, words in (
        ("hold_hours", "Hours the three times are held must be from 1 to 336"),
        ("reminder_hours", "Enter the reminder delay as a whole number of hours"),
        ("send_days", "Enter the send days as day names or ranges, like mon-sat"),
        ("info_url", "Enter the information link as a full address starting https://"),
    ):
        assert words in page.locator(f"#{field}-error").inner_text()
    assert "funday" not in summary.inner_text() and ": 0" not in summary.inner_text()
    _shot(page, "campaign-form-errors")
    summary.get_by_role("link", name=re.compile("Hours the three times")).click()
    assert page.evaluate("document.activeElement.id") == "hold_hours"
    assert errors == []


def test_a_risky_cohort_date_or_send_window_needs_a_reason_which_is_audited(browser, world):
    base, db = world
    page, errors = _admin(browser, base)
    page.goto(f"{base}/campaigns/new")
    page.get_by_label("Campaign name").fill("Night owls")
    page.get_by_label("Riverside Medical Centre (F84003)").check()
    page.get_by_label("Cohort date", exact=True).fill("2020-01-01")
    page.get_by_label("Lawful basis for processing").fill(LAWFUL_BASIS)
    page.get_by_label("Send window (UK time)").fill("02:00-03:00")
    page.get_by_label("Send days").fill("sun")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_load_state()
    on_error = page.locator("#on-error").inner_text()
    assert "The cohort date is 1 January 2020, not today" in on_error
    window_error = page.locator("#send_window-error").inner_text()
    assert "it starts at 02:00, before 08:00" in window_error
    assert "it sends on Sundays" in window_error
    assert page.locator("#unusual_window_reason-error").is_visible()
    _shot(page, "campaign-risky-settings")
    page.get_by_label("Reason for a cohort date other than today").fill("Audit of the 2020 list")
    page.get_by_label("Reason for sending before 08:00").fill("Night-shift workers asked")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+$"))
    assert page.get_by_text("Draft campaign created").is_visible()
    page.get_by_role("link", name="Approve and start").click()
    assert "Eligibility is worked out as of 1 January 2020" in (
        page.locator("#stale-cohort-date").inner_text()
    )
    _shot(page, "campaign-approve-stale-date")
    with db.transaction() as session:
        detail = session.scalar(
            select(AuditEvent.detail).where(AuditEvent.action == "campaign.create")
        )
        assert detail["on_reason"] == "Audit of the 2020 list"
        assert detail["unusual_window_reason"] == "Night-shift workers asked"
    assert errors == []


def test_approval_shows_what_it_will_do_before_anyone_is_texted(browser, world):
    base, db = world
    campaign_id = _draft(db)
    page, errors = _admin(browser, base)
    page.goto(f"{base}/campaigns/{campaign_id}")
    page.get_by_role("link", name="Approve and start").click()
    page.wait_for_url(re.compile(r"/approve$"))
    assert page.locator("#approval-summary").inner_text() == (
        "6 eligible, 1 not textable; 20 free slots in the next 14 days: the first wave invites 6."
    )
    assert page.get_by_text("Wednesday 14 January 2026 at 10:00").is_visible()
    assert page.get_by_text("starting after Friday 16 January at 22:00").is_visible()
    assert page.locator("#stale-cohort-date").count() == 0  # the cohort date is today
    with db.transaction() as session:
        assert session.get(Campaign, campaign_id).state == "draft"  # looking changes nothing
    _shot(page, "campaign-approve-confirm")
    page.get_by_role("button", name="Approve and start").click()
    page.wait_for_load_state()
    assert page.locator("h1 strong.nhsuk-tag", has_text="Active").is_visible()
    # running, in the window, with slots and people waiting: nothing to explain
    assert page.locator("#not-inviting").count() == 0
    assert errors == []


def test_a_running_campaign_that_cannot_invite_says_why(browser, world):
    base, db = world
    campaign_id = _draft(db, ods="Y12345")
    campaigns.approve(db, campaign_id, now=DEFAULT_NOW, actor="test")
    page, errors = _admin(browser, base)
    page.goto(f"{base}/campaigns/{campaign_id}")
    reasons = page.locator("#not-inviting").inner_text()
    # Hillside has nobody on its list: that alone is the reason
    assert reasons.endswith(
        "The cohort is empty: nobody at its practices was eligible and textable."
    )
    campaign_id = _draft(db)
    campaigns.approve(db, campaign_id, now=DEFAULT_NOW, actor="test")
    campaigns.pause(db, campaign_id, now=DEFAULT_NOW, actor="test")
    with db.transaction() as session:
        from app.data.models import Slot

        for slot in session.scalars(select(Slot)):
            slot.state = "cancelled"
    page.goto(f"{base}/campaigns/{campaign_id}")
    reasons = page.locator("#not-inviting").inner_text()
    assert "It is paused" in reasons
    assert "There are no free slots to offer" in reasons
    assert "Add slots for Riverside Medical Centre" in reasons
    _shot(page, "campaign-not-inviting")
    assert errors == []


def test_a_draft_shows_exclusion_reasons_and_plausible_times_and_can_be_edited_and_deleted(
    browser, world
):
    base, db = world
    campaign_id = _draft(db)
    page, errors = _admin(browser, base)
    page.goto(f"{base}/campaigns/{campaign_id}")
    rows = page.locator("#exclusions tbody tr")
    table = {
        rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").nth(1).inner_text()
        for i in range(rows.count())
    }
    assert table == {
        "Age outside 40 to 74": "1",
        "A condition that excludes them (for example diabetes)": "1",
        "A health check in the last 5 years": "1",
        "Opted out": "1",
        "Held for review (a condition Nudge does not recognise)": "1",
    }
    message = page.locator("pre.nudge-pre").first.inner_text()
    # sent Wednesday 14th 10:00, held 48 hours to Friday 10:00, 12 hours' notice: the
    # example times are Monday to Wednesday in clinic hours
    assert "1) Mon 19 Jan 09:30\n2) Tue 20 Jan 14:10\n3) Wed 21 Jan 10:50" in message, message
    assert "by Fri 16 Jan, 10am" in message
    _shot(page, "campaign-draft-preview")
    page.get_by_role("link", name="Change settings").click()
    page.wait_for_url(re.compile(r"/edit$"))
    assert page.get_by_label("Campaign name").input_value() == "Spring checks"
    assert page.get_by_label("Riverside Medical Centre (F84003)").is_checked()
    page.get_by_label("Campaign name").fill("Spring checks (east)")
    page.get_by_label("Hours the three times are held").fill("72")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+$"))
    assert page.get_by_role("heading", name=re.compile("Spring checks \\(east\\)")).is_visible()
    _shot(page, "campaign-draft-edited")
    page.get_by_role("link", name="Delete draft").click()
    page.wait_for_url(re.compile(r"/delete$"))
    assert page.get_by_role("heading", name="Delete “Spring checks (east)”?").is_visible()
    _shot(page, "campaign-delete-confirm")
    page.get_by_role("button", name="Delete draft").click()
    page.wait_for_url(re.compile(r"/campaigns$"))
    assert page.get_by_text("Draft campaign “Spring checks (east)” deleted.").is_visible()
    with db.transaction() as session:
        assert session.get(Campaign, campaign_id) is None
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {"campaign.create", "campaign.edit", "campaign.delete"} <= actions
    # an approved campaign cannot be edited or deleted
    approved = _draft(db)
    campaigns.approve(db, approved, now=DEFAULT_NOW, actor="test")
    page.goto(f"{base}/campaigns/{approved}/edit")
    assert page.get_by_text("Only a draft can be approved, changed or deleted").is_visible()
    assert page.get_by_role("link", name="Change settings").count() == 0
    assert errors == []


def test_approval_waits_for_draft_translations_or_english_accepted_for_them(browser, world):
    base, db = world
    from app.data.models import Patient

    with db.transaction() as session:
        first = session.scalars(select(Patient).where(Patient.mobile.is_not(None))).first()
        first.language = "pl"
    campaign_id = _draft(db)
    page, errors = _admin(browser, base)
    page.goto(f"{base}/campaigns/{campaign_id}/approve")
    drafts = page.locator("#draft-translations")
    assert "Polish (Polski): send the English text to 1 person" in drafts.inner_text()
    _shot(page, "approve-draft-translations")
    page.get_by_role("button", name="Approve and start").click()
    page.wait_for_load_state()
    with db.transaction() as session:
        assert session.get(Campaign, campaign_id).state == "draft"  # refused: a draft
    assert page.get_by_text("Polish").first.is_visible()
    page.goto(f"{base}/campaigns/{campaign_id}/approve")
    page.get_by_label("Polish (Polski): send the English text to 1 person").check()
    page.get_by_role("button", name="Approve and start").click()
    page.wait_for_load_state()
    assert page.locator("h1 strong.nhsuk-tag", has_text="Active").is_visible()
    with db.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "campaign.approve")
        ).one()
        assert event.detail["english_accepted_for"] == {"pl": 1}
    assert errors == []


def test_held_conditions_are_read_again_from_the_page_not_a_command(browser, world):
    base, db = world
    campaign_id = _draft(db)
    page, errors = _admin(browser, base)
    page.goto(f"{base}/campaigns/{campaign_id}")
    main = page.locator("main").inner_text()
    assert "1 held for review" in main and "flask" not in main and "--" not in main
    page.get_by_role("button", name="Read held conditions again").click()
    page.wait_for_load_state()
    assert page.get_by_text(
        "Conditions read again: 0 changed, 1 still held for review."
    ).is_visible()
    _shot(page, "recheck-conditions")
    with db.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patients.conditions_rechecked")
        ).one()
        assert event.actor == "admin@example.nhs.uk"
    assert errors == []


def test_a_variant_always_in_english_can_be_trialled_against_the_translations(browser, world):
    base, db = world
    page, errors = _admin(browser, base)
    page.goto(f"{base}/campaigns/new")
    page.get_by_label("Campaign name").fill("English or translated")
    page.get_by_label("Riverside Medical Centre (F84003)").check()
    page.get_by_label("Lawful basis for processing").fill(LAWFUL_BASIS)
    page.get_by_role(
        "checkbox", name="Control, always in English (to compare with translations)"
    ).check()
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_load_state()
    with db.transaction() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.variants == {"control": 1, "control_english": 1}
    assert errors == []
