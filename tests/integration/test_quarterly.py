"""The quarterly return: offered, received and take-up on the eligible population per
local authority and practice, checked against a direct computation, reconciled with the
campaign funnels, disclosed, and the same through the CLI and the API."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.data.db import Database
from app.domain.quarterly import QuarterError, parse_quarter
from app.domain.suppression import Rule
from app.services import quarterly
from tests.builders import (
    add_campaign_booking,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_trial_campaign,
    add_user,
)
from tests.web.staff import sign_in

RULE = Rule()
IN_Q1 = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
IN_Q4 = datetime(2025, 12, 10, 10, 0, tzinfo=UTC)
LATE_Q4 = datetime(2025, 12, 30, 10, 0, tzinfo=UTC)  # attended (+2 days) in Q1
NOW = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
Q1_START = datetime(2026, 1, 1, tzinfo=UTC)
Q1_END = datetime(2026, 4, 1, tzinfo=UTC)  # London is on GMT at both ends


def test_quarters_are_calendar_quarters() -> None:
    q = parse_quarter("2026Q3")
    assert (q.first_day.isoformat(), q.end_day.isoformat()) == ("2026-07-01", "2026-10-01")
    assert q.financial == "2026/27 Q2"
    assert parse_quarter("2027q1").financial == "2026/27 Q4"
    assert parse_quarter(" 2026-Q4 ").end_day.isoformat() == "2027-01-01"
    for bad in ("2026Q5", "Q3", "2026-07", ""):
        with pytest.raises(QuarterError):
            parse_quarter(bad)


@pytest.fixture
def scenario(db: Database) -> dict[str, dict[str, set[int]]]:
    """Three practices (two in one local authority, one with none), two campaigns that
    share some people; returns the expected sets of patients per practice."""
    rng = random.Random(7)
    expected: dict[str, dict[str, set[int]]] = {}
    with db.transaction() as s:
        practices = [add_practice(s, ods=f"F8400{i}", name=f"Practice {i}") for i in range(3)]
        practices[0].local_authority = practices[1].local_authority = "Southwark"
        first = add_trial_campaign(s, practices, name="Autumn", now=IN_Q4 - timedelta(days=20))
        second = add_trial_campaign(s, practices[:1], name="Winter", now=IN_Q4)
        for p_index, practice in enumerate(practices):
            sets = expected.setdefault(
                f"{practice.ods_code} {practice.name}",
                {"eligible": set(), "offered": set(), "received": set()},
            )
            for i in range(30):
                patient = add_patient(s, practice, mobile=f"+44770090{p_index}{i:03d}")
                campaigns = [first] + ([second] if p_index == 0 and i < 12 else [])
                for campaign in campaigns:
                    removed = rng.random() < 0.05
                    member = add_member(
                        s, campaign, patient, state="removed" if removed else "waiting"
                    )
                    if removed:
                        continue
                    sets["eligible"].add(patient.id)
                    when = rng.choice([None, IN_Q1, IN_Q4, LATE_Q4])
                    if when is None:
                        continue
                    offer = add_invitation(s, member, now=when, offer_state="booked")
                    if Q1_START <= when < Q1_END:
                        sets["offered"].add(patient.id)
                    if rng.random() < 0.5:
                        add_campaign_booking(s, member, state="attended", offer=offer, now=when)
                        if Q1_START <= when + timedelta(days=2) < Q1_END:
                            sets["received"].add(patient.id)
        add_user(s, "analyst@example.nhs.uk", "analyst")
    return expected


def test_the_return_matches_a_direct_computation_and_reconciles(
    db: Database, scenario: dict[str, dict[str, set[int]]]
) -> None:
    result = quarterly.quarterly_return(db, quarter="2026Q1", rule=RULE, now=NOW, raw=True)
    by_practice = {r.practice: r for r in result.rows if r.practice is not None}
    assert set(by_practice) == set(scenario)
    for name, sets in scenario.items():
        for measure, people in sets.items():
            assert by_practice[name].counts[measure] == len(people), (name, measure)
    southwark = next(
        r for r in result.rows if r.practice is None and r.local_authority == "Southwark"
    )
    names = [n for n in scenario if not n.startswith("F84002")]
    for measure in ("eligible", "offered", "received"):
        want = sum(len(scenario[n][measure]) for n in names)
        assert southwark.counts[measure] == want
        assert result.total.counts[measure] == sum(len(v[measure]) for v in scenario.values())
    assert [r.local_authority for r in result.rows][-2:] == ["Not known", "Not known"]
    take_up = result.total.rates["take_up"]
    assert take_up.value == pytest.approx(
        result.total.counts["received"] / result.total.counts["offered"]  # type: ignore[operator]
    )
    rec = result.reconciliation
    assert rec.campaigns == 2 and rec.offered_repeats > 0
    assert result.reconciled and "reconciled" in result.reconciliation_line
    assert rec.funnel_offered - rec.offered_repeats == result.total.counts["offered"]


def test_the_suppressed_return_hides_small_counts_and_keeps_totals_safe(
    db: Database, scenario: dict[str, dict[str, set[int]]]
) -> None:
    raw = quarterly.quarterly_return(db, quarter="2026Q1", rule=RULE, now=NOW, raw=True)
    shown = quarterly.quarterly_return(db, quarter="2026Q1", rule=RULE, now=NOW)
    for r, s in zip([*raw.rows, raw.total], [*shown.rows, shown.total], strict=True):
        for measure, exact in r.counts.items():
            published = s.counts[measure]
            assert exact is not None
            if published is None:
                continue
            assert published % RULE.round_to == 0 and abs(published - exact) <= 2
            assert not 0 < exact < RULE.suppress_below
    hidden = [r for r in shown.rows if None in r.counts.values()]
    for row in hidden:  # a hidden practice cannot be recovered from its authority's total
        la_rows = [x for x in shown.rows if x.local_authority == row.local_authority]
        assert sum(x.counts["received"] is None for x in la_rows) != 1
    assert "equal" in shown.reconciliation_line and str(raw.exact_offered) not in (
        shown.reconciliation_line
    )
    text = quarterly.quarterly_csv(shown)
    assert text.splitlines()[2].startswith("Local authority,Practice,Eligible population")


def test_cli_and_api_give_the_same_return(app: Any, client: Any, scenario: Any) -> None:
    runner = app.test_cli_runner()
    out = runner.invoke(args=["report", "quarterly", "--quarter", "2026Q1", "--format", "json"])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.output)
    bad = runner.invoke(args=["report", "quarterly", "--quarter", "2026Q9"])
    assert bad.exit_code != 0 and "2026Q3" in bad.output
    sign_in(client, "analyst@example.nhs.uk")
    api = client.get("/api/reports/quarterly?quarter=2026Q1").get_json()
    assert api["rows"] == cli["rows"] and api["total"] == cli["total"]
    assert api["suppressed"] is True and api["reconciliation"]["reconciled"] is True
    assert client.get("/api/reports/quarterly?quarter=2026Q1&raw=1").status_code == 403
    page = client.get("/reports/quarterly?quarter=2026Q1")
    assert page.status_code == 200 and b"Eligible population" in page.data
    csv_text = client.get("/reports/quarterly?quarter=2026Q1&format=csv").get_data(as_text=True)
    assert "Southwark" in csv_text
