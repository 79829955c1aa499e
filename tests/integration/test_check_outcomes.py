"""Outcomes of checks: an events file imported after the checks links each outcome to
the attended booking it follows; staff record the main outcome when marking attended."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import CheckOutcome, Patient
from app.services import attendance, importing
from app.services.attendance import AttendanceError
from app.services.practices import add_practice
from app.settings import Settings
from tests.builders import add_booking, add_member, add_slot, add_trial_campaign, nhs_numbers

N = nhs_numbers(4, start=51_000)
LISTING = "NHS Number,Date of Birth,Mobile\n" + "".join(
    f"{n},1970-03-0{i + 1},07700 900{i:03d}\n" for i, n in enumerate(N)
)
CHECK_AT = datetime(2025, 11, 3, 10, 0, tzinfo=UTC)


def _import(db: Database, clock: FixedClock, events: str, window: int = 90):  # type: ignore[no-untyped-def]
    return importing.import_patients(
        db, io.StringIO(LISTING), practice_ods="F84003", now=clock.now(),
        allow_test_numbers=True, events=io.StringIO(events), file_name="list.csv",
        events_file_name="events.csv",
        settings=Settings.from_config({"OUTCOME_WINDOW_DAYS": window}),
    )  # fmt: skip


@pytest.fixture
def checked(db: Database, clock: FixedClock) -> dict[str, int]:
    """The list imported, then the first two patients' checks attended on 3 November."""
    add_practice(db, ods="F84003", name="Test Practice", now=clock.now())
    importing.import_patients(
        db, io.StringIO(LISTING), practice_ods="F84003", now=clock.now(),
        allow_test_numbers=True, file_name="list.csv",
    )  # fmt: skip
    bookings: dict[str, int] = {}
    with db.transaction() as session:
        patients = {p.nhs_number: p for p in session.scalars(select(Patient))}
        practice = patients[N[0]].practice
        campaign = add_trial_campaign(session, [practice])
        for i, nhs in enumerate(N[:3]):
            member = add_member(session, campaign, patients[nhs])
            slot = add_slot(session, practice, CHECK_AT.replace(minute=20 * i))
            booking = add_booking(
                session, patients[nhs], slot, state="attended" if i < 2 else "did_not_attend",
                campaign_id=campaign.id,
            )  # fmt: skip
            bookings[nhs] = booking.id  # type: ignore[attr-defined]
            bookings[f"member:{nhs}"] = member.id  # type: ignore[attr-defined]
    return bookings


def _outcomes(db: Database) -> list[tuple[int, int | None, str, str | None, float | None, str]]:
    with db.transaction() as session:
        rows = session.scalars(select(CheckOutcome).order_by(CheckOutcome.id))
        return [(o.booking_id, o.member_id, o.kind, o.cluster, o.value, o.source) for o in rows]


def test_events_after_the_check_become_its_outcomes(
    db: Database, clock: FixedClock, checked: dict[str, int]
) -> None:
    events = "\n".join(
        [
            "NHS Number,SNOMED Code,Date,Value",
            f"{N[0]},1085871000000105,2025-11-03,21.4",  # QRISK3 on the day
            f"{N[0]},271649006,2025-11-03,148",  # systolic BP
            f"{N[0]},994351000000103,2025-11-03,6.1",  # total cholesterol
            f"{N[0]},999791000000106,2025-11-20,44",  # HbA1c
            f"{N[0]},700449008,2025-11-20,",  # non-diabetic hyperglycaemia: new
            f"{N[0]},10562009,2026-01-10,",  # hypertension 68 days later: new
            f"{N[1]},10562009,2019-05-01,",  # hypertension long before the check
            f"{N[1]},162659009,2020-05-01,",  # ... resolved, so they were eligible
            f"{N[1]},10562009,2025-11-10,",  # coded again: not new
            f"{N[1]},1085871000000105,2025-10-01,9.0",  # before the check: not an outcome
            f"{N[2]},1085871000000105,2025-11-03,30",  # did not attend: no check
            f"{N[3]},1085871000000105,2025-11-03,30",  # no booking at all
        ]
    )
    result = _import(db, clock, events + "\n")
    b0 = checked[N[0]]
    m0 = checked[f"member:{N[0]}"]
    assert result.outcomes_linked == 6
    assert sorted(_outcomes(db), key=str) == sorted(
        [
            (b0, m0, "qrisk", "QRISK", 21.4, "events"),
            (b0, m0, "systolic_bp", "SBP_QOF", 148.0, "events"),
            (b0, m0, "cholesterol", "CHOL2_COD", 6.1, "events"),
            (b0, m0, "hba1c", "IFCCHBAM_COD", 44.0, "events"),
            (b0, m0, "diagnosis", "NDH_COD", None, "events"),
            (b0, m0, "diagnosis", "HYP_COD", None, "events"),
        ],
        key=str,
    )
    # the same file again replaces, never duplicates; a shorter window drops the late one
    assert _import(db, clock, events + "\n", window=60).outcomes_linked == 5
    assert len(_outcomes(db)) == 5
    # a later file naming the patient with nothing relevant clears what was linked
    _import(db, clock, f"NHS Number,SNOMED Code,Date,Value\n{N[0]},195967001,2025-11-04,\n")
    assert _outcomes(db) == []


def test_staff_record_what_the_check_found_when_marking_attended(
    db: Database, clock: FixedClock, checked: dict[str, int]
) -> None:
    b1 = checked[N[1]]
    found = {"qrisk_band": "20_plus", "bp_high": "yes", "referred": "yes"}
    attendance.record_outcome(db, b1, "attended", now=clock.now(), actor="t", found=found)
    assert sorted(_outcomes(db)) == [
        (b1, checked[f"member:{N[1]}"], k, None, v, "staff")
        for k, v in sorted({"bp_high": 1.0, "qrisk_band": 20.0, "referred": 1.0}.items())
    ]
    # corrected: replaced, not added to
    found = {"qrisk_band": "10_to_19", "bp_high": "no", "referred": None}
    attendance.record_outcome(db, b1, "attended", now=clock.now(), actor="t", found=found)
    assert sorted((k, v) for _b, _m, k, _c, v, _s in _outcomes(db)) == [
        ("bp_high", 0.0), ("qrisk_band", 10.0),
    ]  # fmt: skip
    with pytest.raises(AttendanceError):
        attendance.record_outcome(
            db, b1, "attended", now=clock.now(), actor="t", found={"qrisk_band": "12"}
        )
    # marked not attended after all: what it found goes too
    attendance.record_outcome(db, b1, "did_not_attend", now=clock.now(), actor="t")
    assert _outcomes(db) == []
