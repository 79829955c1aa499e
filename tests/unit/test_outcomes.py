"""Check outcomes: which attended check an entry follows (the window), what is new."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain.coded import PatientCodes, national_clusters
from app.domain.outcomes import (
    Check,
    Entry,
    OutcomeError,
    check_followed,
    link,
    staff_values,
)

CHECK = date(2026, 3, 2)
CHECKS = [Check(1, 11, date(2025, 1, 6)), Check(2, 12, CHECK)]
HYP = "10562009"
NDH = "700449008"
QRISK3 = "1085871000000105"
SBP = "271649006"


@pytest.mark.parametrize(
    ("days_after", "booking"),
    [(-1, None), (0, 2), (1, 2), (89, 2), (90, 2), (91, None)],
)
def test_the_window_runs_from_the_check_day_to_window_days_after(
    days_after: int, booking: int | None
) -> None:
    on = CHECK + timedelta(days=days_after)
    if days_after == -1:
        # the day before the later check is long after the earlier one: no check
        assert check_followed(CHECKS, on, 90) is None
        return
    found = check_followed(CHECKS, on, 90)
    assert (found.booking_id if found else None) == booking


def test_an_entry_goes_to_the_latest_check_before_it() -> None:
    checks = [Check(1, None, date(2026, 1, 5)), Check(2, None, date(2026, 2, 5))]
    assert check_followed(checks, date(2026, 2, 10), 90) == checks[1]
    assert check_followed(checks, date(2026, 2, 4), 90) == checks[0]
    assert check_followed(checks, date(2026, 2, 10), 3) is None


def test_a_shorter_window_is_a_setting() -> None:
    entries = [Entry("QRISK", QRISK3, CHECK + timedelta(days=20), 12.5)]
    assert link(entries, CHECKS, window_days=30, first_coded={})
    assert not link(entries, CHECKS, window_days=14, first_coded={})


def test_measures_need_a_value_and_diagnoses_must_be_new() -> None:
    later = CHECK + timedelta(days=7)
    entries = [
        Entry("QRISK", QRISK3, later, 14.2),
        Entry("QRISK", QRISK3, later, None),  # no value: not an outcome
        Entry("SBP_QOF", SBP, CHECK, 152.0),
        Entry("HYP_COD", HYP, later, None),
        Entry("HYP_COD", HYP, later + timedelta(days=3), None),  # same diagnosis again
        Entry("NDH_COD", NDH, later, None),
    ]
    out = link(entries, CHECKS, window_days=90, first_coded={"HYP_COD": later, "NDH_COD": later})
    assert sorted((o.kind, o.cluster, o.value, o.booking_id, o.member_id) for o in out) == [
        ("diagnosis", "HYP_COD", None, 2, 12),
        ("diagnosis", "NDH_COD", None, 2, 12),
        ("qrisk", "QRISK", 14.2, 2, 12),
        ("systolic_bp", "SBP_QOF", 152.0, 2, 12),
    ]
    # hypertension coded before the check too: not something the check found
    before = {"HYP_COD": CHECK - timedelta(days=400), "NDH_COD": later}
    kept = link(entries, CHECKS, window_days=90, first_coded=before)
    assert {o.cluster for o in kept if o.kind == "diagnosis"} == {"NDH_COD"}


def test_the_events_fold_keeps_outcomes_only_from_the_given_date() -> None:
    clusters = national_clusters()
    record = PatientCodes()
    record.add(clusters, HYP, date(2019, 1, 1), None, CHECK)
    record.add(clusters, HYP, CHECK + timedelta(days=2), None, CHECK)
    record.add(clusters, QRISK3, CHECK + timedelta(days=2), 11.0, CHECK)
    record.add(clusters, "195967001", CHECK, None, CHECK)  # asthma: in no cluster
    assert record.first == {"HYP_COD": date(2019, 1, 1)}
    assert record.outcomes == [
        ("HYP_COD", HYP, CHECK + timedelta(days=2), None),
        ("QRISK", QRISK3, CHECK + timedelta(days=2), 11.0),
    ]
    plain = PatientCodes()
    plain.add(clusters, HYP, CHECK, None)
    assert plain.outcomes is None and plain.first is None


def test_staff_values() -> None:
    assert staff_values("10_to_19", "yes", "no") == {
        "qrisk_band": 10.0, "bp_high": 1.0, "referred": 0.0,
    }  # fmt: skip
    assert staff_values(None, "", None) == {}
    with pytest.raises(OutcomeError):
        staff_values("15", None, None)
    with pytest.raises(OutcomeError):
        staff_values(None, "maybe", None)
