"""`templates check` and `templates count`: segment budgets of every SMS template."""

from __future__ import annotations

import json
from pathlib import Path

from app.sms.rendering import TEMPLATE_DIR
from app.sms.template_check import check_all


def test_every_shipped_template_is_within_the_segment_limit(runner) -> None:
    result = runner.invoke(args=["templates", "check"])
    assert result.exit_code == 0, result.output
    assert "invitation_control: GSM-7" in result.output


def test_invitations_are_gsm7_and_at_most_three_segments_at_worst() -> None:
    reports = {r.name: r for r in check_all(TEMPLATE_DIR)}
    invitations = [r for name, r in reports.items() if name.startswith("invitation_")]
    assert len(invitations) >= 2
    for report in invitations:
        assert report.encoding == "GSM-7", report
        assert report.segments <= 3, report
        assert report.unknown_names == (), report


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
