"""Translated templates: the same kinds as English, approval before use, English fallback,
per-language segments and cost, and the campaign approval that waits for translations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.data.models import AuditEvent, Message
from app.domain import languages, segments, spelling, timefmt
from app.services import campaigns, offers
from app.settings import Settings
from app.sms import translations
from app.sms.rendering import render
from app.sms.template_check import check_language, worst_case
from app.sms.translations import TEMPLATE_DIR
from tests.builders import add_free_slots, add_patient, add_practice, add_user, clinic_starts
from tests.web.staff import sign_in

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
DEMO = Settings(translations_demo_approved=True)


@pytest.mark.parametrize("code", languages.TRANSLATED)
def test_each_language_has_every_english_kind_and_each_renders(code: str) -> None:
    english = set(translations.english_kinds())
    assert set(translations.english_kinds(TEMPLATE_DIR / code)) == english
    for report in check_language(TEMPLATE_DIR, code):
        assert report.report.error is None, report
        assert report.report.unknown_names == (), report
        # the shipped translations are drafts for a qualified translator
        assert report.status == translations.DRAFT


@pytest.mark.parametrize("code", languages.TRANSLATED)
def test_segments_per_language_are_the_twilio_exact_count_of_the_worst_case(code: str) -> None:
    from app.sms.template_check import render_worst

    for report in check_language(TEMPLATE_DIR, code):
        text = render_worst(TEMPLATE_DIR / code, report.report.name, worst_case(code))
        counted = segments.count(text)
        assert (report.report.encoding, report.report.segments) == (
            counted.encoding,
            counted.segments,
        )
        assert report.flagged == (counted.segments >= 4)
    invitation = next(r for r in check_language(TEMPLATE_DIR, code) if "control" in r.report.name)
    # three times, a link and a long practice name cannot fit three UCS-2 parts: flagged
    assert invitation.report.encoding == ("GSM-7" if code == "so" else "UCS-2")


def test_ucs2_boundaries_in_other_scripts() -> None:
    assert segments.count("ক" * 70).segments == 1
    assert segments.count("ক" * 71).segments == 2
    assert segments.count("ش" * 134).segments == 2
    assert segments.count("ش" * 135).segments == 3
    assert segments.count("ą" + "a" * 69).encoding == "UCS-2"


def test_romanian_is_offered_plain_letters_with_the_trade_off() -> None:
    text = "Răspundeți STOP pentru dezabonare. Mulțumim, ştim că aţi fost informaţi."
    offer = spelling.offer("ro", text)
    assert offer is not None
    assert offer.text.startswith("Raspundeti STOP") and "stim ca ati" in offer.text
    assert (offer.before.encoding, offer.after.encoding) == ("UCS-2", "GSM-7")
    assert "comma-below" in offer.trade_off and "ambiguous" in offer.trade_off
    assert spelling.offer("ar", "مرحبا") is None
    assert spelling.offer("pl", "plain already") is None


def test_the_header_records_approval_and_without_it_a_translation_is_a_draft(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "pl"
    folder.mkdir()
    (tmp_path / "help.txt.j2").write_text("Help {{ practice_name }}")
    (tmp_path / "unclear.txt.j2").write_text("Unclear")
    (tmp_path / "stop_ack.txt.j2").write_text("Stopped")
    (folder / "help.txt.j2").write_text(
        "{#\napproved-by: A. Tłumacz, NHS translation service\napproved-on: 2026-11-02\n#}\n"
        "Pomoc {{ practice_name }}"
    )
    (folder / "unclear.txt.j2").write_text("{#\napproved-by:\napproved-on:\n#}\nNie rozumiem")
    translations.catalogue.cache_clear()
    try:
        assert translations.read_header((folder / "help.txt.j2").read_text()) == (
            "A. Tłumacz, NHS translation service",
            date(2026, 11, 2),
        )
        pick = translations.template_for
        assert pick("help", "pl", demo_approved=False, directory=tmp_path) == (
            "pl/help.txt.j2",
            "pl",
        )
        # a draft is never sent, unless the demo approves it
        assert pick("unclear", "pl", demo_approved=False, directory=tmp_path)[1] == "en"
        assert pick("unclear", "pl", demo_approved=True, directory=tmp_path)[1] == "pl"
        # a missing kind falls back to English, never to a broken text
        assert pick("stop_ack", "pl", demo_approved=True, directory=tmp_path) == (
            "stop_ack.txt.j2",
            "en",
        )
        status = translations.language_status("pl", demo_approved=False, directory=tmp_path)
        assert (status.approved, status.drafts, status.missing) == (
            ("help",),
            ("unclear",),
            ("stop_ack",),
        )
        assert not status.sendable and "draft" in status.summary
        assert translations.read_header("{#\napproved-by: X\napproved-on: soon\n#}")[1] is None
    finally:
        translations.catalogue.cache_clear()


def test_rendering_falls_back_to_english_with_english_times_for_a_draft() -> None:
    when = datetime(2026, 12, 3, 10, 20, tzinfo=UTC)
    fields = {"practice_name": "Park Road", "slot_time": when}
    english = render("already_booked", language="pl", **fields)
    assert english.startswith("You're booked") and "Thu 3 Dec 10:20" in english
    polish = render("already_booked", language="pl", demo_approved=True, **fields)
    assert polish.startswith("Masz umówione") and "czw., 3 gru 10:20" in polish


def test_babel_writes_day_and_month_names_in_uk_time() -> None:
    summer = datetime(2026, 7, 2, 9, 20, tzinfo=UTC)  # 10:20 in London (BST)
    assert timefmt.slot_time(summer) == "Thu 2 Jul 10:20"
    assert timefmt.slot_time(summer, "pl") == "czw., 2 lip 10:20"
    assert timefmt.slot_time(summer, "ro") == "joi, 2 iul. 10:20"
    assert "جولائی" in timefmt.slot_time(summer, "ur")
    assert "10:20" in timefmt.slot_time(summer, "ar")
    assert "\u202f" not in timefmt.slot_time(summer, "so")


@pytest.fixture
def practice(db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_patient(session, practice, mobile="+447700900101")
        add_patient(session, practice, mobile="+447700900102", language="pl")
        add_patient(session, practice, mobile="+447700900103", language="pl")
        add_patient(session, practice, mobile="+447700900104", language="ur")
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 19), 5))
        return practice


def _draft_campaign(db) -> int:
    spec = campaigns.CampaignSpec(
        name="Languages",
        practices=["F84003"],
        lawful_basis="Direct care: GP practice public task (UK GDPR 6(1)(e), 9(2)(h))",
        variants=(("control", 1),),
        seed=7,
    )
    return campaigns.create(db, spec, now=NOW, actor="test")


def test_approval_is_blocked_by_drafts_until_english_is_accepted(db, practice) -> None:
    campaign_id = _draft_campaign(db)
    with pytest.raises(campaigns.CampaignError) as refused:
        campaigns.approve(db, campaign_id, now=NOW, actor="test", settings=Settings())
    assert "Polish (2 people)" in str(refused.value) and "Urdu (1 person)" in str(refused.value)
    with pytest.raises(campaigns.CampaignError):
        campaigns.approve(
            db, campaign_id, now=NOW, actor="test", settings=Settings(), english_for=("pl",)
        )
    result = campaigns.approve(
        db, campaign_id, now=NOW, actor="test", settings=Settings(), english_for=("pl", "ur")
    )
    assert result.eligible == 4
    with db.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "campaign.approve")
        ).one()
        assert event.detail["english_accepted_for"] == {"pl": 2, "ur": 1}

    # drafts are never sent: everyone's invitation is English
    assert offers.plan_wave(db, campaign_id, now=NOW, settings=Settings()) == 4
    with db.transaction() as session:
        bodies = session.scalars(select(Message.body).where(Message.kind == "invitation")).all()
    assert len(bodies) == 4 and all("offers you a free NHS Health Check" in b for b in bodies)


def test_demo_approval_sends_each_patient_their_language(db, practice) -> None:
    campaign_id = _draft_campaign(db)
    campaigns.approve(db, campaign_id, now=NOW, actor="test", settings=DEMO)
    assert offers.plan_wave(db, campaign_id, now=NOW, settings=DEMO) == 4
    with db.transaction() as session:
        rows = session.execute(
            select(Message.to_number, Message.body).where(Message.kind == "invitation")
        ).all()
    by_number = dict(rows)
    assert "offers you" in by_number["+447700900101"]
    assert "zaprasza na bezpłatne badanie" in by_number["+447700900102"]
    assert "مدعو کرتا ہے" in by_number["+447700900104"]
    assert "Odpisz 1, 2 lub 3" in by_number["+447700900103"]


def test_the_campaign_review_shows_each_language_with_people_and_what_they_get(
    client, db, practice
) -> None:
    campaign_id = _draft_campaign(db)
    with db.transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")
    sign_in(client, "admin@example.nhs.uk")
    page = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'id="languages"' in page
    assert "Polish (Polski)" in page and "Urdu (اردو)" in page
    assert "English: the translation is a draft" in page
    confirm = client.get(f"/campaigns/{campaign_id}/approve").get_data(as_text=True)
    assert 'name="english_for" type="checkbox" value="pl"' in confirm
    assert 'dir="rtl" lang="ur"' in page
    assert "4+ segments" in page and "plain letters (GSM-7)" in page


def test_templates_check_reports_each_language(runner) -> None:
    result = runner.invoke(args=["templates", "check", "--language", "ro", "--language", "ar"])
    assert result.exit_code == 0, result.output
    assert "Romanian (Română) [ro, ltr]:" in result.output
    assert "Arabic (العربية) [ar, rtl]:" in result.output
    assert "FLAG ro/invitation_control [draft]: UCS-2" in result.output
    assert "GSM-7 spelling trade-off: Romanian without diacritics" in result.output
    assert "ar: 23 templates, 23 drafts" in result.output


def test_the_review_form_approves_only_with_english_accepted(client, db, practice) -> None:
    from tests.web.staff import post

    campaign_id = _draft_campaign(db)
    with db.transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")
    sign_in(client, "admin@example.nhs.uk")
    refused = post(client, f"/campaigns/{campaign_id}/approve", follow_redirects=True)
    assert "draft translations for Polish (2 people), Urdu (1 person)" in refused.get_data(
        as_text=True
    )
    post(client, f"/campaigns/{campaign_id}/approve", {"english_for": ["pl", "ur"]})
    with db.transaction() as session:
        from app.data.models import Campaign

        assert session.get(Campaign, campaign_id).state == "active"


def test_a_campaign_randomises_english_against_the_translation(db, practice) -> None:
    from app.data.models import CampaignMember, Offer

    spec = campaigns.CampaignSpec(
        name="English or Polish",
        practices=["F84003"],
        lawful_basis="Direct care: GP practice public task (UK GDPR 6(1)(e), 9(2)(h))",
        variants=(("control", 1), ("control_english", 1)),
        seed=3,
    )
    campaign_id = campaigns.create(db, spec, now=NOW, actor="test")
    campaigns.approve(db, campaign_id, now=NOW, actor="test", settings=DEMO)
    assert offers.plan_wave(db, campaign_id, now=NOW, settings=DEMO) == 4
    with db.transaction() as session:
        rows = session.execute(
            select(Offer.mobile, CampaignMember.variant, Message.body)
            .join(CampaignMember, CampaignMember.id == Offer.member_id)
            .join(Message, Message.offer_id == Offer.id)
        ).all()
    polish = {
        (variant, "zaprasza" in body)
        for mobile, variant, body in rows
        if mobile in ("+447700900102", "+447700900103")
    }
    assert polish <= {("control", True), ("control_english", False)}
    assert {variant for _, variant, _ in rows} == {"control", "control_english"}
    assert all("offers you" in body for _, variant, body in rows if variant == "control_english")
    with pytest.raises(campaigns.CampaignError):
        campaigns.create(
            db,
            campaigns.CampaignSpec(
                name="No such",
                practices=["F84003"],
                lawful_basis="Direct care",
                variants=(("nothing_english", 1),),
            ),
            now=NOW,
            actor="test",
        )
