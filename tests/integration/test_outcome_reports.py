"""Outcome stages in the uptake report, checked against a direct computation from the
members, bookings and outcomes the scenario made (raw), and disclosed like every stage."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

import pytest

from app.data.db import Database
from app.data.models import CheckOutcome
from app.domain import report_csv
from app.domain.funnel import OUTCOME_STAGES
from app.domain.suppression import ALL, Rule
from app.services import reports
from app.services.check_outcomes import record_staff_outcome
from tests.builders import (
    BUILDER_NOW,
    add_campaign_booking,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_trial_campaign,
)

RULE = Rule()
OUTCOME_ONLY = [s for s in OUTCOME_STAGES if s != "invited"]


def _flags(attended: bool, found: list[tuple[str, str | None, float | None]]) -> set[str]:
    """The stages one invited member reaches, straight from the rules as written."""
    if not attended:
        return set()
    flags = {"checks_completed"}
    for kind, cluster, value in found:
        if kind in ("qrisk", "qrisk_band") and value is not None and value >= 10:
            flags |= {"risk_10", "detected"}
        if kind in ("qrisk", "qrisk_band") and value is not None and value >= 20:
            flags.add("risk_20")
        if kind == "diagnosis" and cluster == "HYP_COD":
            flags |= {"new_hypertension", "detected"}
        if kind == "diagnosis" and cluster in ("DM_COD", "NDH_COD"):
            flags |= {"new_diabetes", "detected"}
        if kind == "referred" and value == 1:
            flags.add("referred")
    return flags


@pytest.fixture
def scenario(db: Database) -> tuple[int, dict[tuple[Any, ...], Counter[str]]]:
    """80 members: some invited, some attended, with coded and staff outcomes; returns
    the campaign and the expected counts per (sex, IMD quintile)."""
    rng = random.Random(15)
    expected: dict[tuple[Any, ...], Counter[str]] = {}
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice])
        for i in range(80):
            sex = rng.choice("12")
            quintile = rng.randint(1, 5)
            patient = add_patient(s, practice, mobile=f"+447700902{i:03d}", sex=sex)
            member = add_member(s, campaign, patient, imd_quintile=quintile)
            key = (sex, quintile)
            counts = expected.setdefault(key, Counter())
            counts["eligible"] += 1
            if rng.random() < 0.2:
                continue  # never invited
            offer = add_invitation(s, member)
            counts["invited"] += 1
            state = rng.choice(["attended", "attended", "did_not_attend", "booked"])
            booking: Any = add_campaign_booking(s, member, state=state, offer=offer)
            found: list[tuple[str, str | None, float | None]] = []
            if state == "attended":
                if rng.random() < 0.6:
                    value = round(rng.uniform(2, 30), 1)
                    found.append(("qrisk", "QRISK", value))
                for cluster in ("HYP_COD", "DM_COD", "NDH_COD", "CHD_COD"):
                    if rng.random() < 0.15:
                        found.append(("diagnosis", cluster, None))
                for kind, cluster, value in found:
                    s.add(
                        CheckOutcome(
                            booking_id=booking.id, member_id=member.id,  # type: ignore[attr-defined]
                            patient_id=patient.id, kind=kind, cluster=cluster, value=value,
                            recorded_on=date(2026, 1, 16), source="events",
                            created_at=BUILDER_NOW,
                        )
                    )  # fmt: skip
                if rng.random() < 0.5:
                    band = rng.choice(["under_10", "10_to_19", "20_plus"])
                    referred = rng.choice(["yes", "no"])
                    values = record_staff_outcome(
                        s, booking.id, qrisk_band=band, bp_high=None, referred=referred,
                        now=BUILDER_NOW,
                    )  # fmt: skip
                    found += [(k, None, v) for k, v in values.items()]
            counts.update(_flags(state == "attended", found))
        return campaign.id, expected


def _expected_by(expected: dict[tuple[Any, ...], Counter[str]], index: int | None) -> Counter[Any]:
    out: Counter[Any] = Counter()
    for key, counts in expected.items():
        group = ALL if index is None else key[index]
        for stage, n in counts.items():
            out[(group, stage)] += n
    return out


def test_outcome_stages_match_a_direct_computation(db: Database, scenario: Any) -> None:
    campaign_id, expected = scenario
    overall = _expected_by(expected, None)
    assert overall[(ALL, "detected")] > 0 and overall[(ALL, "referred")] > 0
    report = reports.uptake(db, campaign_ids=[campaign_id], raw=True, rule=RULE, now=BUILDER_NOW)
    for stage in OUTCOME_STAGES:
        assert report.total.counts[stage] == overall[(ALL, stage)], stage
    detection = report.total.rates["detection"]
    assert detection.value == pytest.approx(overall[(ALL, "detected")] / overall[(ALL, "invited")])
    assert detection.low is not None and detection.low < detection.value  # type: ignore[operator]
    for index, dim in ((0, "sex"), (1, "imd_quintile")):
        by = reports.uptake(
            db, campaign_ids=[campaign_id], by=[dim], raw=True, rule=RULE, now=BUILDER_NOW
        )
        want = _expected_by(expected, index)
        for g in by.groups:
            for stage in OUTCOME_STAGES:
                assert g.counts[stage] == want[(g.key[0], stage)], (dim, g.key, stage)
    # crossed: every cell as computed
    both = reports.uptake(
        db, campaign_ids=[campaign_id], by=["sex", "imd_quintile"], raw=True, rule=RULE,
        now=BUILDER_NOW,
    )  # fmt: skip
    for g in both.groups:
        if ALL in g.key:
            continue
        for stage in OUTCOME_ONLY:
            assert g.counts[stage] == expected.get(g.key, Counter())[stage], (g.key, stage)


def test_outcome_stages_are_disclosed_like_every_stage(db: Database, scenario: Any) -> None:
    campaign_id, _expected = scenario
    raw = reports.uptake(
        db, campaign_ids=[campaign_id], by=["sex"], raw=True, rule=RULE, now=BUILDER_NOW
    )
    shown = reports.uptake(
        db, campaign_ids=[campaign_id], by=["sex"], raw=False, rule=RULE, now=BUILDER_NOW
    )
    pairs = list(zip([*raw.groups, raw.total], [*shown.groups, shown.total], strict=True))
    for r, s in pairs:
        for stage in OUTCOME_STAGES:
            exact, published = r.counts[stage], s.counts[stage]
            assert exact is not None
            if published is None:  # hidden (a small count, or to protect one)
                continue
            assert published % RULE.round_to == 0
            assert (published == 0) == (exact == 0)
            assert abs(published - exact) <= RULE.round_to / 2
        if s.counts["detected"] is None or s.counts["invited"] is None:
            assert s.rates["detection"].suppressed
    # the same figures reach the CSV (and so the CLI and the API, which share it)
    text = report_csv.uptake_csv(shown)
    header = text.splitlines()[0]
    assert "Detections per 100 invited" in header and "New diabetes or NDH" in header
