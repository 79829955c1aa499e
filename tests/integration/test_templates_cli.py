"""`templates check` and `templates count`: segment budgets of every SMS template."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from app.domain.segments import count
from app.services.invitations import InvitationFacts, render_invitation
from app.sms.rendering import TEMPLATE_DIR
from app.sms.template_check import WORST_CASE, check_all


def test_every_shipped_template_is_within_the_segment_limit(runner) -> None:
    result = runner.invoke(args=["templates", "check"])
    assert result.exit_code == 0, result.output
    assert "invitation_control: GSM-7" in result.output


def test_invitations_are_gsm7_and_two_segments_with_the_longest_names() -> None:
    assert len(WORST_CASE["first_name"]) >= 19 and len(WORST_CASE["practice_name"]) >= 40
    reports = {r.name: r for r in check_all(TEMPLATE_DIR)}
    invitations = [r for name, r in reports.items() if name.startswith("invitation_")]
    assert len(invitations) >= 2
    for report in invitations:
        assert report.encoding == "GSM-7", report
        assert report.characters <= 306 and report.segments <= 2, report
        assert report.unknown_names == (), report


def test_each_invitation_keeps_what_the_pilot_carried() -> None:
    """The practice, why it matters, three times, how to reply, the link, the opt-out."""
    for variant in ("control", "deadline", "social_norm"):
        facts = InvitationFacts(
            variant=variant,
            first_name="Alexandra-Charlotte",
            practice_name="St Bartholomew's Park Road Medical Centre",
            practice_phone=None,
            slot_starts=[datetime(2026, 9, 30, 9, 20, tzinfo=UTC)] * 3,
            expires_at=datetime(2026, 9, 30, 11, 30, tzinfo=UTC),
            info_url="https://www.nhs.uk/conditions/nhs-health-check/",
            age_band="40-44",
            sex="1",
        )
        text = render_invitation(facts)
        assert count(text).segments == 2, text
        assert "St Bartholomew's Park Road Medical Centre" in text and "Alexandra" in text
        why = "About half of people invited go." if variant == "social_norm" else "gain the most"
        assert why in text and "Reply 1, 2 or 3" in text and "STOP to opt out" in text
        assert "1) Wed 30 Sep 10:20" in text and "3) Wed 30 Sep 10:20" in text
        assert "https://www.nhs.uk/conditions/nhs-health-check/" in text
        assert "over half" not in text.lower()


def test_a_three_segment_invitation_fails_the_check(runner, tmp_path: Path) -> None:
    (tmp_path / "invitation_long.txt.j2").write_text("{{ practice_name }} " * 8)
    (tmp_path / "reminder.txt.j2").write_text("{{ practice_name }} " * 6)
    result = runner.invoke(args=["templates", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL invitation_long: GSM-7, 335 characters, 3 segments (limit 2)" in result.output
    assert "ok   reminder: GSM-7, 251 characters, 2 segments (limit 3)" in result.output


def test_check_fails_on_an_emoji_laden_template_and_names_the_characters(
    runner, tmp_path: Path
) -> None:
    (tmp_path / "fine.txt.j2").write_text("Hello {{ first_name }}, reply STOP to opt out")
    (tmp_path / "party.txt.j2").write_text(
        "{# Purpose: a bad example #}\n"
        "🎉 Hi {{ first_name }}! It’s time for your check 🩺 at {{ practice_name }}. "
        + "Times: {{ slots[0] }}, {{ slots[1] }}, {{ slots[2] }} 👍 "
        * 4
    )
    result = runner.invoke(args=["templates", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "ok   fine: GSM-7" in result.output
    assert "FAIL party: UCS-2" in result.output
    assert "'🎉' (U+1F389)" in result.output and "'’' (U+2019)" in result.output


def test_count_prints_twilio_style_json(runner) -> None:
    result = runner.invoke(args=["templates", "count", "a" * 170, "--json"])
    assert result.exit_code == 0
    assert result.output.strip() == '{"encoding": "GSM-7", "characters": 170, "segments": 2}'
    emoji = runner.invoke(args=["templates", "count", "Hi 😀", "--json"])
    assert json.loads(emoji.output) == {"encoding": "UCS-2", "characters": 4, "segments": 1}
