"""Personalisation lines per language: every language has every line, a translated
invitation carries its own language's line, and an English fallback carries English."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain import languages, segments
from app.domain.personalisation import RULES, longest, personalise
from app.domain.personalisation_lines import LINES
from app.services.invitations import InvitationFacts, render_invitation
from app.sms.template_check import render_worst, worst_case
from app.sms.translations import TEMPLATE_DIR

ENGLISH_LINES = {rule.line for rule in RULES}


def _facts(language: str, variant: str = "control") -> InvitationFacts:
    return InvitationFacts(
        variant=variant,
        first_name="Adam",
        practice_name="Park Road Surgery",
        practice_phone=None,
        slot_starts=[datetime(2026, 9, 30, 9, 20, tzinfo=UTC)] * 3,
        expires_at=datetime(2026, 9, 30, 11, 30, tzinfo=UTC),
        info_url="https://www.nhs.uk/conditions/nhs-health-check/",
        age_band="40-44",
        sex="1",
        language=language,
    )


def test_each_rule_names_its_line_once() -> None:
    assert len(ENGLISH_LINES) == len(RULES)


@pytest.mark.parametrize("code", languages.TRANSLATED)
def test_every_language_has_every_line_the_english_has(code: str) -> None:
    assert set(LINES[code]) == ENGLISH_LINES
    assert all(text.strip() and "{" not in text for text in LINES[code].values())
    assert set(personalise(age_band="70-74", sex="2", language=code)) == set(
        personalise(age_band="70-74", sex="2")
    )


def test_somali_lines_stay_gsm7() -> None:
    for text in LINES["so"].values():
        assert segments.count(text).encoding == "GSM-7", text


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("pl", "Mężczyźni w Twoim wieku zyskują najwięcej."),
        ("ur", "آپ کی عمر کے مردوں کو اس کا سب سے زیادہ فائدہ ہوتا ہے۔"),
    ],
)
@pytest.mark.parametrize("variant", ["control", "deadline"])
def test_a_translated_invitation_carries_the_translated_benefit_line(
    code: str, line: str, variant: str
) -> None:
    text = render_invitation(_facts(code, variant), demo_approved=True)
    assert line == LINES[code]["men_40_54"]
    assert line in text
    assert "gain the most" not in text


@pytest.mark.parametrize("code", ["pl", "ur"])
def test_without_approval_the_invitation_falls_back_to_the_english_line(code: str) -> None:
    text = render_invitation(_facts(code))
    assert "offers you a free NHS Health Check. Men your age gain the most." in text
    assert LINES[code]["men_40_54"] not in text


@pytest.mark.parametrize("code", languages.TRANSLATED)
def test_the_worst_case_uses_the_languages_longest_line(code: str) -> None:
    longest_line = max(LINES[code].values(), key=len)
    assert longest(code) == {"benefit": longest_line}
    assert worst_case(code)["personal"] == {"benefit": longest_line}
    assert longest_line in render_worst(TEMPLATE_DIR / code, "invitation_control", worst_case(code))


def test_english_worst_case_is_the_english_longest_line() -> None:
    assert longest() == {"benefit": max((r.value for r in RULES), key=len)}
