"""Published uptake tables, audited: no hidden count can be worked out from what is shown.

The audit (tests/disclosure_audit.py) bounds each hidden cell by integer programming over
every published cell of the selection, the margins and the rounding rule.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from app.data.db import Database
from app.domain import ethnicity
from app.domain.funnel import STAGES, UptakeReport
from app.domain.suppression import ALL, Rule
from app.services import reports
from tests import disclosure_audit
from tests.builders import (
    add_campaign_booking,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_trial_campaign,
)

EXACT = Rule(suppress_below=8, round_to=1)


def _attenders(db: Database, people: list[tuple[str, str, bool]]) -> int:
    """A campaign with one member per (sex, ethnic category, attended) tuple."""
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice])
        for i, (sex, category, attended) in enumerate(people):
            patient = add_patient(
                s, practice, mobile=f"+4477009{i:05d}", sex=sex, ethnic_category=category
            )
            member = add_member(s, campaign, patient)
            offer = add_invitation(s, member)
            if attended:
                add_campaign_booking(s, member, state="attended", offer=offer)
        return campaign.id


def _cells(report: UptakeReport, width: int) -> dict[tuple[Any, str], int | None]:
    """Every published count of a report, keyed (group key padded with ALL, stage)."""
    out: dict[tuple[Any, str], int | None] = {}
    for row in [report.total, *report.groups]:
        key = row.key + (ALL,) * (width - len(row.key))
        for stage, value in row.counts.items():
            out[(key, stage)] = value
    return out


def _selection(
    db: Database, campaign: int, by: tuple[str, str], rule: Rule
) -> tuple[dict[tuple[Any, str], int | None], dict[tuple[Any, str], int]]:
    """The funnel, both one-way tables and the two-way table of one selection, as the
    two-way table's cells; asserts that every cell published twice is published alike."""
    common: dict[str, Any] = {"campaign_ids": [campaign], "rule": rule, "now": reports_now()}
    two = reports.uptake(db, by=by, **common)
    true = _cells(reports.uptake(db, by=by, raw=True, **common), 2)
    published = _cells(two, 2)
    funnel = reports.uptake(db, **common)
    for stage, value in funnel.total.counts.items():
        assert published[((ALL, ALL), stage)] == value, ("funnel", stage)
    for i, d in enumerate(by):
        one = reports.uptake(db, by=[d], **common)
        for (key, stage), value in _cells(one, 1).items():
            wide = (key[0], ALL) if i == 0 else (ALL, key[0])
            assert published[(wide, stage)] == value, (d, key, stage)
    return published, true


def reports_now():  # type: ignore[no-untyped-def]
    from tests.builders import BUILDER_NOW

    return BUILDER_NOW


def test_a_hidden_margin_of_a_two_way_table_cannot_be_recovered_by_subtraction(
    db: Database,
) -> None:
    # attended: White men 3, White women 7, Asian men 2, Asian women 3 -> men 5, women 10
    people = (
        [("1", "A", True)] * 3
        + [("2", "A", True)] * 7
        + [("1", "H", True)] * 2
        + [("2", "H", True)] * 3
        + [("1", "A", False)] * 20
        + [("2", "A", False)] * 20
    )
    campaign = _attenders(db, people)
    published, true = _selection(db, campaign, ("ethnic_group", "sex"), EXACT)
    men, women, everyone = (published[((ALL, s), "attended")] for s in ("1", "2", ALL))
    assert true[((ALL, "1"), "attended")] == 5
    assert men is None
    assert not (women is not None and everyone is not None), "men = everyone - women"
    relations = disclosure_audit.report_relations({k for k, _s in published}, STAGES)
    assert disclosure_audit.pinned(published, true, relations, EXACT) == {}


@pytest.mark.parametrize("rule", [Rule(), EXACT], ids=["round-to-5", "round-to-1"])
def test_every_two_way_report_of_a_seeded_campaign_passes_the_audit(
    db: Database, rule: Rule
) -> None:
    rng = random.Random(20260114)
    categories = ["A", "B", "C", "D", "H", "J", "K", "M", "N", "R", "Z"]
    people = [(rng.choice("12"), rng.choice(categories), rng.random() < 0.3) for _ in range(160)]
    campaign = _attenders(db, people)
    for by in [("ethnic_group", "sex"), ("sex", "ethnic_category"), ("ethnic_group", "variant")]:
        published, true = _selection(db, campaign, by, rule)
        relations = disclosure_audit.report_relations({k for k, _s in published}, STAGES)
        assert disclosure_audit.pinned(published, true, relations, rule) == {}, by


def _ethnic_selection(
    db: Database, campaign: int, rule: Rule
) -> tuple[dict[tuple[Any, str], int | None], dict[tuple[Any, str], int], dict[int, dict]]:  # type: ignore[type-arg]
    """Ethnic group and ethnic category, each alone and by sex, as one table whose first
    axis holds categories, their groups ("group", g) and ALL; cells published twice are
    checked to be published alike."""
    common: dict[str, Any] = {"campaign_ids": [campaign], "rule": rule, "now": reports_now()}
    published: dict[tuple[Any, str], int | None] = {}
    true: dict[tuple[Any, str], int] = {}
    parents: dict[Any, Any] = {}
    for by in (
        ["ethnic_group"],
        ["ethnic_category"],
        ["ethnic_group", "sex"],
        ["ethnic_category", "sex"],
    ):
        shown = _cells(reports.uptake(db, by=by, **common), 2)
        raw = _cells(reports.uptake(db, by=by, raw=True, **common), 2)
        for (key, stage), value in shown.items():
            eth = key[0]
            if by[0] == "ethnic_group" and eth != ALL:
                eth = ("group", eth)
            elif eth != ALL:
                parents[eth] = ("group", ethnicity.group_of(eth))
            cell = ((eth, key[1]), stage)
            if cell in published:
                assert published[cell] == value, (by, cell)
            published[cell] = value
            true[cell] = raw[(key, stage)]
    return published, true, {0: parents}


def _ethnic_relations(
    published: dict[tuple[Any, str], int | None],
    parents: dict[int, dict],  # type: ignore[type-arg]
) -> list[disclosure_audit.Relation]:
    rows = {k for k, _s in published}
    relations: list[disclosure_audit.Relation] = []
    for stage in STAGES:
        for cells, total in disclosure_audit.table_relations(rows, parents):
            relations.append(([(c, stage) for c in cells], (total, stage)))
    for key in rows:
        relations.append((((key, "textable"), (key, "not_textable")), (key, "eligible")))
    return relations


def test_an_ethnic_category_cannot_be_recovered_from_its_group(db: Database) -> None:
    # Asian 15 = Indian 10 + Pakistani 5; White 34 = British 30 + Irish 4
    people = (
        [("1", "H", True)] * 10
        + [("1", "J", True)] * 5
        + [("1", "A", True)] * 30
        + [("1", "B", True)] * 4
    )
    campaign = _attenders(db, people)
    published, true, parents = _ethnic_selection(db, campaign, EXACT)
    relations = _ethnic_relations(published, parents)
    assert published[(("J", ALL), "attended")] is None
    assert disclosure_audit.pinned(published, true, relations, EXACT) == {}


@pytest.mark.parametrize("rule", [Rule(), EXACT], ids=["round-to-5", "round-to-1"])
def test_ethnic_groups_and_categories_of_a_seeded_campaign_pass_the_audit_together(
    db: Database, rule: Rule
) -> None:
    rng = random.Random(7)
    categories = ["A", "B", "C", "D", "H", "J", "K", "M", "N", "R", "Z"]
    people = [(rng.choice("12"), rng.choice(categories), rng.random() < 0.3) for _ in range(140)]
    campaign = _attenders(db, people)
    published, true, parents = _ethnic_selection(db, campaign, rule)
    relations = _ethnic_relations(published, parents)
    assert disclosure_audit.pinned(published, true, relations, rule) == {}
