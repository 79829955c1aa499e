"""Take-up by language and by interpreter-needed: the same funnel, intervals, disclosure
control and variant comparison as the other dimensions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.data.db import Database
from app.domain.funnel import DIMENSIONS
from app.domain.suppression import Rule
from app.services import reports
from tests.builders import (
    BUILDER_NOW,
    add_campaign_booking,
    add_inbound,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_trial_campaign,
)

RULE = Rule()
NOW = BUILDER_NOW
# (language, interpreter needed, people, of whom booked)
GROUPS = [("en", False, 20, 8), ("pl", False, 12, 6), ("pl", True, 3, 1), ("ur", True, 10, 2)]


@pytest.fixture
def campaign(db: Database) -> int:
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice])
        n = 0
        for language, interpreter, people, booked in GROUPS:
            for i in range(people):
                n += 1
                patient = add_patient(
                    s,
                    practice,
                    mobile=f"+447700900{n:03d}",
                    language=language,
                    interpreter_needed=interpreter,
                )
                member = add_member(
                    s, campaign, patient, variant="control" if n % 2 else "deadline"
                )
                offer = add_invitation(s, member)
                if i < booked:
                    add_inbound(s, patient.mobile, "1", at=NOW + timedelta(hours=1))
                    add_campaign_booking(s, member, offer=offer)
        return campaign.id


def test_language_and_interpreter_are_report_dimensions() -> None:
    assert DIMENSIONS["language"] == "Language"
    assert DIMENSIONS["interpreter_needed"] == "Interpreter needed"


def test_take_up_by_language_counts_and_labels_each_language(db: Database, campaign: int) -> None:
    r = reports.uptake(db, campaign_ids=[campaign], by=["language"], raw=True, rule=RULE, now=NOW)
    got = {g.labels: (g.counts["eligible"], g.counts["booked"]) for g in r.groups}
    assert got == {
        ("English",): (20, 8),
        ("Polish (Polski)",): (15, 7),
        ("Urdu (اردو)",): (10, 2),
    }
    assert r.equity is not None and {x.labels for x in r.equity.rows} == set(got)


def test_take_up_by_interpreter_needed_crossed_with_language(db: Database, campaign: int) -> None:
    r = reports.uptake(
        db,
        campaign_ids=[campaign],
        by=["language", "interpreter_needed"],
        raw=True,
        rule=RULE,
        now=NOW,
    )
    cells = {g.labels: g.counts["eligible"] for g in r.groups if not g.is_margin}
    assert cells[("Polish (Polski)", "Interpreter needed")] == 3
    assert cells[("Polish (Polski)", "No interpreter needed")] == 12
    assert cells[("Urdu (اردو)", "Interpreter needed")] == 10


def test_small_language_groups_are_suppressed_like_any_other(db: Database, campaign: int) -> None:
    r = reports.uptake(
        db, campaign_ids=[campaign], by=["interpreter_needed", "language"], rule=RULE, now=NOW
    )
    three = next(g for g in r.groups if g.labels == ("Interpreter needed", "Polish (Polski)"))
    assert three.counts["eligible"] is None  # 3 people: below the threshold, not shown


def test_variants_are_compared_within_each_language(db: Database, campaign: int) -> None:
    t = reports.trial(db, campaign_ids=[campaign], within="language", raw=True, rule=RULE, now=NOW)
    groups = {c.group for c in t.comparisons}
    assert ("Polish (Polski)",) in groups and ("Urdu (اردو)",) in groups
    polish = [
        c
        for c in t.comparisons
        if c.group == ("Polish (Polski)",) and c.variant == "deadline" and c.low is not None
    ]
    assert polish and all(c.high is not None and c.low <= c.high for c in polish)
